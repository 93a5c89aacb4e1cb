"""SYN queue full for real: what bounds a listener's SYN queue on this kernel, and what fixes it.

The client namespace drops every incoming SYN-ACK (iptables), so each connection stays
half-open on the server and the listener's SYN queue fills. These tests check the kernel facts
the syn-queue finding states (a reviewer showed the old advice, tcp_max_syn_backlog, did
nothing), then that the finding proposes what does help:

* the SYN queue limit is the listener's backlog, min(listen() backlog, somaxconn):
  listen(8) fills at 9 half-open connections even with tcp_max_syn_backlog=65535;
* somaxconn=8 caps listen(1024) at 8 (cookies sent); the proposed somaxconn, applied, and a
  new listen() hold all 40 half-open connections without a cookie;
* tcp_max_syn_backlog matters only with syncookies off: SYNs past 3/4 of it are dropped and
  counted as ListenDrops alone; tcp_syncookies=1 (proposed) ends that.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from nethelpers import NetnsLab, wait_for

from tui.core.counters import parse_proc_net
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.rules import Diagnosis, diagnose_namespace
from tui.core.sysctl import host_netns

SERVER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", int(sys.argv[1]))); s.listen(int(sys.argv[2]))
print("listening", flush=True)
time.sleep(30)                         # never accepts; the lab kills us long before
"""

CLIENT = """
import socket, sys, time
socks = []
for _ in range(40):                    # bounded: 40 connection attempts
    c = socket.socket(); c.setblocking(False)
    c.connect_ex(("198.51.100.1", int(sys.argv[1]))); socks.append(c)
time.sleep(8)                          # hold them half-open; the lab kills us at the end
print("done", flush=True)
"""


def sysctl(ns: str, *kv: str) -> None:
    for x in kv:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", x], check=True)


def half_open(ns: str, port: int) -> int:
    """SYN_RECV entries of the listener on port (its SYN queue), as ss sees them."""
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Htn", "state", "syn-recv", f"sport = :{port}"],
                         capture_output=True, text=True, check=True).stdout
    return len(out.splitlines())


class SynLab:
    """A server namespace and a client namespace that drops SYN-ACKs, with a counter reader."""

    def __init__(self, lab: NetnsLab) -> None:
        self.lab = lab
        self.srv, self.cli = lab.add("sq"), lab.add("sqc")
        lab.veth(self.srv, "198.51.100.1/24", self.cli, "198.51.100.2/24")
        subprocess.run(["ip", "netns", "exec", self.cli, "iptables", "-A", "INPUT", "-p", "tcp", "--tcp-flags", "SYN,ACK",
                        "SYN,ACK", "-j", "DROP"], check=True)
        path = f"/run/netns/{self.srv}"
        self.ns = NetNS(ns_inode_of_path(path) or 0, "netns", self.srv, path=path)
        self.reader = NetnsReader()

    def sample(self) -> tuple[bytes, ...]:
        got = self.reader.read_many([(self.ns.inode, self.ns.path or "")], ("netstat", "snmp"))[self.ns.inode]
        assert not isinstance(got, str), got
        return got

    def counter(self, key: str) -> int:
        return parse_proc_net(self.sample()[0]).get(key, 0)

    def serve(self, port: int, backlog: int) -> None:
        server = self.lab.python(self.srv, SERVER.replace("sys.argv[1]", str(port)).replace("sys.argv[2]", str(backlog)),
                                 stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"

    def connect(self, port: int) -> subprocess.Popen:
        return self.lab.spawn(self.cli, [sys.executable, "-c", CLIENT, str(port)], stdout=subprocess.PIPE, text=True)

    @staticmethod
    def stop(client: subprocess.Popen) -> None:
        """End a client we started (its own session, by pid), so its SYN retries stop."""
        os.killpg(client.pid, signal.SIGKILL)
        client.wait(timeout=10)

    def diagnose(self, h: NsHistory) -> Diagnosis:
        return diagnose_namespace(self.ns, h, reader=self.reader, host=host_netns())

    def close(self) -> None:
        self.reader.close()


def test_listen_backlog_not_max_syn_backlog_bounds_the_syn_queue(lab):
    """The reviewer's demo: tcp_max_syn_backlog=65535 (the old advice, and more) changes nothing."""
    s = SynLab(lab)
    try:
        sysctl(s.srv, "net.ipv4.tcp_syncookies=0", "net.ipv4.tcp_max_syn_backlog=65535")
        s.serve(7070, 8)
        h = NsHistory()
        h.ingest(0.0, s.sample())
        s.connect(7070)
        assert wait_for(lambda: s.counter("TcpExt.TCPReqQFullDrop") > 0, timeout=10)
        # the queue stopped at the listen() backlog (the kernel drops when it is *above* it)
        assert half_open(s.srv, 7070) == 9
        h.ingest(5.0, s.sample())
        d = s.diagnose(h)
        f = next(f for f in d.findings if f.id == "syn-queue")
        assert f.severity == "critical" and "TCPReqQFullDrop +" in f.evidence_text()
        got = {p.key: (p.current, p.value, p.scope, p.optional) for p in f.proposals}
        assert got == {"net.ipv4.tcp_syncookies": ("0", "1", "namespace", False)}, got
        # not tcp_max_syn_backlog (it is 65535 here and the queue stopped at 9), not somaxconn (4096
        # here: it is not the limit); the listener and its own backlog are named instead
        assert "198.51.100.1:7070 8" in f.explanation and "tcp_max_syn_backlog does not size it" in f.explanation
        assert any(a.startswith("port 7070: backlog 8 comes from the application's listen()") for a in f.advice)
        # the SYN-ACK retransmits of the half-open queue are neither path loss nor a client problem
        assert {x.id for x in d.findings} == {"syn-queue"}, [x.id for x in d.findings]
    finally:
        s.close()


def test_somaxconn_capping_the_backlog_is_proposed_and_applying_it_works(lab):
    s = SynLab(lab)
    try:
        sysctl(s.srv, "net.core.somaxconn=8")  # syncookies stay at their default, 1
        s.serve(7070, 1024)  # asks for 1024; somaxconn 8 wins
        h = NsHistory()
        h.ingest(0.0, s.sample())
        first = s.connect(7070)
        assert wait_for(lambda: s.counter("TcpExt.TCPReqQFullDoCookies") > 0, timeout=10)
        h.ingest(5.0, s.sample())
        d = s.diagnose(h)
        f = next(f for f in d.findings if f.id == "syn-queue")
        assert f.severity == "warning" and "TCPReqQFullDoCookies +" in f.evidence_text()
        (p,) = f.proposals
        assert (p.key, p.current, p.value, p.optional) == ("net.core.somaxconn", "8", "4096", False)
        assert "port 7070 (backlog 8)" in p.why
        assert any(a.startswith("port 7070: backlog 8 is capped by somaxconn (8)") for a in f.advice)
        assert d.sockets is not None and [(x.port, x.backlog) for x in d.sockets] == [(7070, 8)]

        # apply the proposal, restart the listener (a new one on 7071): 40 half-open, no cookie
        s.stop(first)  # its SYN retries would keep hitting the old, full listener
        sysctl(s.srv, f"net.core.somaxconn={p.value}")
        before = s.counter("TcpExt.TCPReqQFullDoCookies")
        s.serve(7071, 1024)
        s.connect(7071)
        assert wait_for(lambda: half_open(s.srv, 7071) == 40, timeout=10), half_open(s.srv, 7071)
        assert s.counter("TcpExt.TCPReqQFullDoCookies") == before
    finally:
        s.close()


def test_max_syn_backlog_matters_only_with_syncookies_off(lab):
    s = SynLab(lab)
    try:
        sysctl(s.srv, "net.ipv4.tcp_syncookies=0", "net.ipv4.tcp_max_syn_backlog=16")
        s.serve(7070, 4096)
        h = NsHistory()
        h.ingest(0.0, s.sample())
        first = s.connect(7070)
        assert wait_for(lambda: s.counter("TcpExt.ListenDrops") > 0, timeout=10)
        # the 3/4 rule: 16 - 16/4 = 12, one more gets in; no SYN-queue-full counter moves
        assert half_open(s.srv, 7070) == 13
        h.ingest(5.0, s.sample())
        assert h.total_delta("TcpExt.TCPReqQFullDrop") == 0 and h.total_delta("TcpExt.ListenOverflows") == 0
        d = s.diagnose(h)
        f = next(f for f in d.findings if f.id == "syn-queue")
        assert f.severity == "critical" and "3/4 of tcp_max_syn_backlog" in f.title
        got = {p.key: (p.current, p.value, p.optional) for p in f.proposals}
        assert got["net.ipv4.tcp_syncookies"] == ("0", "1", False)
        assert got["net.ipv4.tcp_max_syn_backlog"][:1] == ("16",) and got["net.ipv4.tcp_max_syn_backlog"][2] is True
        assert "net.core.somaxconn" not in got  # the backlog (4096) is not what dropped them

        # the proposed fix, syncookies on: the same 40 SYNs all wait in the queue, nothing dropped
        s.stop(first)
        sysctl(s.srv, "net.ipv4.tcp_syncookies=1")
        before = s.counter("TcpExt.ListenDrops")
        s.serve(7071, 4096)
        s.connect(7071)
        assert wait_for(lambda: half_open(s.srv, 7071) == 40, timeout=10), half_open(s.srv, 7071)
        assert s.counter("TcpExt.ListenDrops") == before
    finally:
        s.close()
