#!/usr/bin/env python3
"""What one sockets summary costs, the call the sockets view makes every tick.

    sudo python bench/bench_sockets.py [-n 1000] [--repeat 7]

Creates a namespace with n loopback connections in it (2n sockets and a listener, held by
one process), then times in one run, alternating:

  (a) sockets_summary(ns)   the whole call: setns thread, sock_diag dumps (IPv4, IPv6) with
                            tcp_info, the struct decode, grouping by peer, worst first
  (b) pyroute2 DiagSocket   the same dumps decoded by pyroute2 (what the listeners use), inside
                            the namespace the same way: the decoder we did not take

and prints ms per call, µs per socket and (b)/(a). Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core.namespaces import NetNS, ns_inode_of_path  # noqa: E402
from tui.core.netns import NetnsReader, run_in_namespace  # noqa: E402
from tui.core.sockets import sockets_summary  # noqa: E402

HOLDER = """
import socket, sys, time
n = int(sys.argv[1])
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(n + 16)
port = s.getsockname()[1]
held = []
for _ in range(n):                     # bounded: n connections, both ends held
    c = socket.create_connection(("127.0.0.1", port)); held += [c, s.accept()[0]]
print("ready", flush=True)
time.sleep(600)
"""


def pyroute2_dump() -> int:
    from pyroute2 import DiagSocket

    n = 0
    with DiagSocket() as ds:
        ds.bind()
        for fam in (socket.AF_INET, socket.AF_INET6):
            for m in ds.get_sock_stats(family=fam, states=0xFFF, extensions=1 << 1):
                info = m.get_attr("INET_DIAG_INFO")
                if info is not None:
                    _ = (info["tcpi_rtt"], info["tcpi_snd_cwnd"], info["tcpi_total_retrans"])
                n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000, help="loopback connections (default 1000: 2001 sockets)")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench needs root (it creates a network namespace)", file=sys.stderr)
        return 2
    name = f"ssbenchsock{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    holder = None
    reader = NetnsReader()
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        holder = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", textwrap.dedent(HOLDER), str(args.n)],
                                  stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        path = f"/run/netns/{name}"
        ns = NetNS(ns_inode_of_path(path) or 0, "netns", name, path=path)
        summary = sockets_summary(ns, reader)
        count = summary.total
        ours, theirs = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            sockets_summary(ns, reader)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            got = run_in_namespace(ns, pyroute2_dump, reader=reader)
            theirs.append(time.perf_counter() - t0)
        assert got == count, (got, count)
    finally:
        reader.close()
        if holder is not None:
            os.killpg(holder.pid, 9)  # the session we started
            holder.wait()
        subprocess.run(["ip", "netns", "del", name], check=False)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"synscope sockets benchmark — {count} sockets in one namespace, kernel {os.uname().release}")
    print(f"  (a) sockets_summary(ns)        {a * 1e3:8.1f} ms/call   {a / count * 1e6:6.1f} µs/socket")
    print(f"  (b) pyroute2 DiagSocket dump   {b * 1e3:8.1f} ms/call   {b / count * 1e6:6.1f} µs/socket   "
          f"{b / a:5.1f} x (a)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
