"""SYN queue full for real: the client never answers SYN-ACKs, syncookies are off.

The client namespace drops every incoming SYN-ACK (iptables), so each connection stays
half-open on the server. The SYN queue of a listen(8) socket fills at 8; with
tcp_syncookies=0 the kernel then drops SYNs (TCPReqQFullDrop). The finding must propose
tcp_syncookies=1 from the namespace's own value 0.
"""

from __future__ import annotations

import subprocess

from nethelpers import wait_for

from tui.core.counters import parse_proc_net
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.rules import diagnose_namespace
from tui.core.sampler import NetnsReader
from tui.core.sysctl import host_netns

SERVER = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", 7070)); s.listen(8)
print("listening", flush=True)
time.sleep(30)
"""

CLIENT = """
import socket, time
socks = []
for _ in range(40):                    # bounded: 40 connection attempts
    c = socket.socket(); c.setblocking(False)
    c.connect_ex(("198.51.100.1", 7070)); socks.append(c)
time.sleep(4)
print("done", flush=True)
"""


def test_syn_queue_full_without_syncookies(lab):
    srv, cli = lab.add("sq"), lab.add("sqc")
    lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    subprocess.run(["ip", "netns", "exec", srv, "sysctl", "-qw", "net.ipv4.tcp_syncookies=0"], check=True)
    subprocess.run(["ip", "netns", "exec", cli, "iptables", "-A", "INPUT", "-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN,ACK",
                    "-j", "DROP"], check=True)
    path = f"/run/netns/{srv}"
    ns = NetNS(ns_inode_of_path(path) or 0, "netns", srv, path=path)
    reader = NetnsReader()
    try:
        def sample() -> tuple[bytes, ...]:
            got = reader.read_many([(ns.inode, path)], ("netstat", "snmp"))[ns.inode]
            assert not isinstance(got, str), got
            return got

        server = lab.python(srv, SERVER, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        h = NsHistory()
        h.ingest(0.0, sample())
        lab.python(cli, CLIENT, stdout=subprocess.PIPE, text=True)
        assert wait_for(lambda: parse_proc_net(sample()[0])["TcpExt.TCPReqQFullDrop"] > 0, timeout=10)
        h.ingest(5.0, sample())
        d = diagnose_namespace(ns, h, reader=reader, host=host_netns())
        f = next(f for f in d.findings if f.id == "syn-queue")
        assert f.severity == "critical" and "TCPReqQFullDrop +" in f.evidence_text()
        got = {p.key: (p.current, p.value, p.scope) for p in f.proposals}
        assert got["net.ipv4.tcp_syncookies"] == ("0", "1", "namespace")
        assert "net.ipv4.tcp_max_syn_backlog" in got
        # the accept queue is not blamed: nothing completed the handshake
        assert "accept-queue" not in {x.id for x in d.findings}
    finally:
        reader.close()
