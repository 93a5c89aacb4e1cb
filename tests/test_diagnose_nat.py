"""NAT + timestamps for real: three clients behind a MASQUERADE router with 4 source ports.

    c0 203.0.113.1/30 ─┐
    c1 203.0.113.5/30 ─┼─ router (MASQUERADE --to-ports 40000-40003) 198.51.100.1 ── server 198.51.100.2:80
    c2 203.0.113.9/30 ─┘

The server answers and closes first, so it holds TIME_WAIT for 198.51.100.1:4000x. The
router's conntrack forgets closed connections after 1 s, so it hands the same four ports to
the next client at once. Every client namespace has its own random timestamp offset; when a
client's SYN carries an older timestamp than the TIME_WAIT socket remembers, the kernel
rejects it (PAWSTimewait) and the client retransmits. All traffic stays in TEST-NET
namespaces this test made; every loop is bounded in count and time.
"""

from __future__ import annotations

import subprocess
import sys

from nethelpers import ip

from tui.core.counters import parse_proc_net
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.rules import diagnose_namespace
from tui.core.sysctl import host_netns

SERVER = r"""
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.2", 80)); s.listen(128); s.settimeout(0.5)
print("listening", flush=True)
end = time.monotonic() + 25
while time.monotonic() < end:          # bounded in time
    try:
        c, _ = s.accept()
    except OSError:
        continue
    try:
        c.sendall(b"ok")
    except OSError:
        pass
    c.close()                          # the server closes first: TIME_WAIT stays here
"""

CLIENT = r"""
import socket, sys, time
n, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
ok = 0
for _ in range(n):                     # bounded in count and time
    if time.monotonic() > end:
        break
    c = socket.socket(); c.settimeout(1.5)  # long enough to see the SYN retransmit after a reject
    try:
        c.connect(("198.51.100.2", 80)); c.recv(10); ok += 1
    except OSError:
        pass
    finally:
        c.close()
print(ok, flush=True)
"""


def _sysctl(ns: str, kv: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", kv], check=True)


def test_nat_with_reused_ports_gives_timestamp_finding(lab):
    router, server_ns = lab.add("r"), lab.add("s")
    lab.veth(router, "198.51.100.1/24", server_ns, "198.51.100.2/24")
    clients = []
    for i in range(3):
        c = lab.add(f"c{i}")
        lab.veth(c, f"203.0.113.{4 * i + 1}/30", router, f"203.0.113.{4 * i + 2}/30")
        ip("-n", c, "route", "add", "default", "via", f"203.0.113.{4 * i + 2}")
        _sysctl(c, "net.ipv4.tcp_timestamps=1")
        clients.append(c)
    _sysctl(server_ns, "net.ipv4.tcp_timestamps=1")
    _sysctl(router, "net.ipv4.ip_forward=1")
    subprocess.run(["ip", "netns", "exec", router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "203.0.113.0/24",
                    "-p", "tcp", "-j", "MASQUERADE", "--to-ports", "40000-40003"], check=True)
    # conntrack lets go of closed connections at once: the router reuses the 4 ports immediately
    _sysctl(router, "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1")
    _sysctl(router, "net.netfilter.nf_conntrack_tcp_timeout_close=1")

    path = f"/run/netns/{server_ns}"
    ns = NetNS(ns_inode_of_path(path) or 0, "netns", server_ns, path=path)
    reader = NetnsReader()
    try:
        def sample() -> tuple[bytes, ...]:
            got = reader.read_many([(ns.inode, path)], ("netstat", "snmp"))[ns.inode]
            assert not isinstance(got, str), got
            return got

        srv = lab.python(server_ns, SERVER, stdout=subprocess.PIPE, text=True)
        assert srv.stdout is not None and srv.stdout.readline().strip() == "listening"
        h = NsHistory()
        h.ingest(0.0, sample())
        cli_paths = [(ns_inode_of_path(f"/run/netns/{c}") or 0, f"/run/netns/{c}") for c in clients]

        def client_syn_retrans() -> int:
            got = reader.read_many(cli_paths, ("netstat",))
            return sum(parse_proc_net(v[0])["TcpExt.TCPSynRetrans"] for v in got.values() if not isinstance(v, str))

        retrans_before = client_syn_retrans()
        procs = [lab.spawn(c, [sys.executable, "-c", CLIENT, "60", "8"], stdout=subprocess.PIPE, text=True) for c in clients]
        done = [int(p.communicate(timeout=30)[0].strip() or 0) for p in procs]
        h.ingest(10.0, sample())
        assert sum(done) > 0, "no client got through the router at all"
        # the clients' side of the story: their rejected SYNs were retransmitted
        assert client_syn_retrans() > retrans_before

        d = diagnose_namespace(ns, h, reader=reader, host=host_netns())
        moved = {k: h.total_delta(k) for k in ("TcpExt.PAWSTimewait", "TcpExt.TW")}
        assert moved["TcpExt.TW"] > 0, moved  # the server really closed first
        assert moved["TcpExt.PAWSTimewait"] > 0, moved  # and reused ports met TIME_WAIT with older timestamps
        f = next(f for f in d.findings if f.id == "nat-timestamps")
        assert f"PAWSTimewait +{moved['TcpExt.PAWSTimewait']}" in f.evidence_text()
        assert "TIME_WAIT" in f.explanation
        # this kernel has no tcp_tw_recycle: it is named as removed and never proposed
        assert d.sysctls is not None and not d.sysctls.has("net.ipv4.tcp_tw_recycle")
        assert any("removed in Linux 4.12" in a for a in f.advice)
        assert all(p.key != "net.ipv4.tcp_tw_recycle" for p in f.proposals)
        (p,) = f.proposals
        assert (p.key, p.current, p.value, p.optional) == ("net.ipv4.tcp_timestamps", "1", "0", True)
        # the old-kernel rule does not fire on a kernel without PAWSPassive
        assert "tw-recycle" not in {x.id for x in d.findings}
        assert "TcpExt.PAWSPassive" not in parse_proc_net(sample()[0])
    finally:
        reader.close()
