#!/usr/bin/env python3
"""What one incident bundle costs, against gathering the same by hand.

    sudo python bench/bench_bundle.py [--repeat 7]

Creates an idle named namespace (a veth to a second one, a listener), then times in one run,
alternating:

  (a) write_bundle(ns)    the core call the TUI's `w` makes, with no history and no pcap:
                          identity, every net.* sysctl in the namespace and on the host, the
                          sockets summary, ip addr / ip route / ip -s -s link / ip -j addr
                          inside the namespace, conntrack statistics, tar.gz
  (b) by hand             what an engineer runs for the same: `ip netns exec NS` with
                          `sysctl -a -r ^net`, `ss -tanpi`, `ip addr`, `ip route show table all`,
                          `ip -s -s link`, `cat /proc/net/stat/nf_conntrack`, plus `sysctl -a
                          -r ^net` on the host, output kept in memory

and prints the medians, (a)/(b) and the bundle's size. Everything it creates is removed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core.bundle import write_bundle  # noqa: E402
from tui.core.namespaces import NetNS, ns_inode_of_path  # noqa: E402

BY_HAND = [
    ["sysctl", "-a", "-r", "^net"],
    ["ss", "-tanpi"],
    ["ip", "addr"],
    ["ip", "route", "show", "table", "all"],
    ["ip", "-s", "-s", "link"],
    ["cat", "/proc/net/stat/nf_conntrack"],
]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def by_hand(name: str) -> None:
    for argv in BY_HAND:
        subprocess.run(["ip", "netns", "exec", name, *argv], capture_output=True, timeout=30)
    subprocess.run(["sysctl", "-a", "-r", "^net"], capture_output=True, timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 1
    tag = f"bb{os.getpid() % 100000}"
    a, b = f"{tag}a", f"{tag}b"
    out = tempfile.mkdtemp(prefix="synscope-bench-bundle-")
    listener = None
    try:
        ip("netns", "add", a)
        ip("netns", "add", b)
        ip("link", "add", f"{tag}x", "netns", a, "type", "veth", "peer", "name", f"{tag}y", "netns", b)
        ip("-n", a, "addr", "add", "198.51.100.1/24", "dev", f"{tag}x")
        ip("-n", a, "link", "set", f"{tag}x", "up")
        ip("-n", a, "link", "set", "lo", "up")
        listener = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c",
                                     "import socket,time; s=socket.socket(); s.bind(('198.51.100.1', 8080)); "
                                     "s.listen(8); time.sleep(600)"], start_new_session=True)
        ns = NetNS(ns_inode_of_path(f"/run/netns/{a}") or 0, "netns", a, path=f"/run/netns/{a}")
        bundle_s, hand_s, size = [], [], 0
        for i in range(args.repeat):
            t = time.perf_counter()
            r = write_bundle(ns, os.path.join(out, f"b{i}.tar.gz"))
            bundle_s.append(time.perf_counter() - t)
            size = r.size
            t = time.perf_counter()
            by_hand(a)
            hand_s.append(time.perf_counter() - t)
        ma, mb = statistics.median(bundle_s), statistics.median(hand_s)
        print(f"(a) write_bundle: {ma * 1000:.0f} ms (runs {min(bundle_s) * 1000:.0f}-{max(bundle_s) * 1000:.0f}), "
              f"{size / 1000:.0f} kB, {len(r.members)} members, notes: {len(r.notes)}")
        print(f"(b) by hand:      {mb * 1000:.0f} ms (runs {min(hand_s) * 1000:.0f}-{max(hand_s) * 1000:.0f})")
        print(f"(a)/(b) = {ma / mb:.2f}")
    finally:
        if listener is not None:
            os.killpg(listener.pid, 9)  # the session we started, by its pid
            listener.wait(timeout=10)
        for n in (a, b):
            subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=30)
        for f in os.listdir(out):
            os.unlink(os.path.join(out, f))
        os.rmdir(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
