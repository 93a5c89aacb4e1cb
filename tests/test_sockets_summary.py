"""The sockets summary of a namespace against what ss prints inside it, on a real lab.

In the server namespace: a listen(4) listener that never accepts, with 5 connections in its
accept queue (full); a listener whose clients drop its SYN-ACKs (3 half-open, SYN-RECV);
3 connections the server closed first (TIME-WAIT); and one connection that sent 512 KB to a
second client that drops every 5th segment from it (iptables statistic, nth mode: lossy but
not random), so it has retransmitted. Once all of that has settled, ``sockets_summary``
must say what ``ss -ltn``, ``ss -tn state syn-recv``, ``ss -tan`` and ``ss -ti`` say.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

from nethelpers import as_nobody, wait_for, wire_sized

from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.sockdiag import DiagSocket, TcpInfo
from tui.core.sockets import MAX_SHOWN_PER_PEER, sockets_summary, summarize_sockets

FULL_PORT, HALF_PORT, BULK_PORT, TW_PORT = 8001, 8002, 8003, 8004

SERVER = """
import socket, struct, fcntl, termios, time
def listener(port, backlog):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(backlog); return s
full = listener(8001, 4)               # never accepted: its queue fills
half = listener(8002, 16)              # its clients drop the SYN-ACKs: half-open
bulk = listener(8003, 4)
tw = listener(8004, 4)
print("listening", flush=True)
for _ in range(3):                     # accept and close first: TIME-WAIT here
    c, _ = tw.accept(); c.close()
c, _ = bulk.accept()
c.sendall(b"x" * 512 * 1024)           # bounded: 512 KB
end = time.monotonic() + 60
while time.monotonic() < end:          # until the peer acknowledged all of it
    if struct.unpack("i", fcntl.ioctl(c, termios.TIOCOUTQ, b"\\0" * 4))[0] == 0:
        break
    time.sleep(0.05)
print("sent", flush=True)
time.sleep(120)
"""

CLIENT = """
import socket, sys, time
full = [socket.create_connection(("198.51.100.1", 8001), timeout=10) for _ in range(5)]  # queue 5 of backlog 4
half = []
for _ in range(3):                     # SYN-ACKs dropped here: these stay SYN-SENT, the server SYN-RECV
    h = socket.socket(); h.setblocking(False); h.connect_ex(("198.51.100.1", 8002)); half.append(h)
for _ in range(3):
    t = socket.create_connection(("198.51.100.1", 8004), timeout=10); t.recv(1); t.close()
print("connected", flush=True)
time.sleep(120)
"""

BULK_READER = """
import socket, time
c = socket.create_connection(("203.0.113.1", 8003), timeout=30)
n = 0
while n < 512 * 1024:                  # bounded by what the server sends
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
print("read", n, flush=True)
time.sleep(120)
"""


def _ss(ns: str, *args: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-H", *args], capture_output=True, text=True, check=True,
                         timeout=10).stdout
    return out.splitlines()


def _ss_info(ns: str) -> dict[tuple[str, str], dict[str, str]]:
    """`ss -tni`: (local, peer) -> the -i fields we show (rto, rtt, cwnd, retrans...)."""
    lines = _ss(ns, "-tni")
    out: dict[tuple[str, str], dict[str, str]] = {}
    key = None
    for line in lines:
        if not line.startswith((" ", "\t")):
            parts = line.split()
            key = (parts[3], parts[4])
            out[key] = {"state": parts[0]}
        elif key is not None:
            for name in ("rto", "backoff", "rtt", "cwnd", "unacked", "retrans", "lost"):
                m = re.search(rf"(?<![\w_]){name}:(\S+)", line)
                if m:
                    out[key][name] = m.group(1)
    return out


def _lab(lab):
    srv, cli, bulk = lab.add("srv"), lab.add("cli"), lab.add("blk")
    lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    lab.veth(srv, "203.0.113.1/24", bulk, "203.0.113.2/24")
    wire_sized(srv)  # MSS-sized segments, so every 5th dropped is one segment
    for rule in (["-A", "INPUT", "-p", "tcp", "--sport", str(HALF_PORT), "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "DROP"],):
        subprocess.run(["ip", "netns", "exec", cli, "iptables", *rule], check=True, timeout=10)
    # loss on the data only, once the handshake is through (SYN-ACK and FIN left alone)
    subprocess.run(["ip", "netns", "exec", bulk, "iptables", "-A", "INPUT", "-p", "tcp", "--sport", str(BULK_PORT),
                    "--tcp-flags", "SYN,FIN", "NONE", "-m", "statistic", "--mode", "nth", "--every", "5", "--packet", "0",
                    "-j", "DROP"], check=True, timeout=10)
    server = lab.python(srv, SERVER, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "listening"
    client = lab.python(cli, CLIENT, stdout=subprocess.PIPE, text=True)
    assert client.stdout is not None and client.stdout.readline().strip() == "connected"
    reader = lab.python(bulk, BULK_READER, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdout.readline().strip() == f"read {512 * 1024}"
    assert server.stdout.readline().strip() == "sent"
    return srv


def test_summary_matches_what_ss_prints_in_the_namespace(lab):
    srv = _lab(lab)
    path = f"/run/netns/{srv}"
    ns = NetNS(ns_inode_of_path(path) or 0, "netns", srv, path=path)
    rd = NetnsReader()
    try:
        # the 3 half-open connections: each client SYN made one request socket
        assert wait_for(lambda: len(_ss(srv, "-tn", "state", "syn-recv")) == 3, timeout=10)
        s = sockets_summary(ns, rd)
        ss_listen = _ss(srv, "-ltn")
        ss_synrecv = _ss(srv, "-tn", "state", "syn-recv")
        ss_all = _ss(srv, "-tan")
        ss_info = _ss_info(srv)
        again = sockets_summary(ns, rd)
    finally:
        rd.close()
    assert s.ns_inode == ns.inode
    # nothing moved while ss ran (else the comparison below would prove nothing)
    assert (again.listeners, again.states, again.peers) == (s.listeners, s.states, s.peers)

    # ss -ltn: Recv-Q is the accept queue, Send-Q the backlog
    theirs = {(p[3], int(p[1]), int(p[2])) for p in (line.split() for line in ss_listen)}
    ours = {(x.endpoint, x.accept_queue, x.backlog) for x in s.listeners}
    assert ours == theirs
    by_port = {x.port: x for x in s.listeners}
    assert (by_port[FULL_PORT].accept_queue, by_port[FULL_PORT].backlog, by_port[FULL_PORT].full) == (5, 4, True)
    assert not by_port[HALF_PORT].full

    # ss -tn state syn-recv: the half-open ones, each under its listener
    per_port = Counter(int(line.split()[2].rpartition(":")[2]) for line in ss_synrecv)
    assert {x.port: x.syn_recv for x in s.listeners if x.syn_recv} == dict(per_port) == {HALF_PORT: 3}

    # ss -tan: every socket by state, TIME-WAIT included
    assert dict(s.states) == dict(Counter(line.split()[0] for line in ss_all))
    assert s.state_count("TIME-WAIT") == 3 and s.state_count("ESTAB") == 6 and s.total == len(ss_all)

    # ss -ti: every connection's numbers, and the lossy peer first
    shown = {(c.local, f"{g.address}:{c.peer_port}"): c for g in s.peers for c in g.worst}
    assert set(shown) == {k for k, v in ss_info.items() if v["state"] != "LISTEN"}
    for key, c in shown.items():
        t = ss_info[key]
        assert t["rtt"] == f"{c.rtt_ms:g}/{c.rttvar_ms:g}", key
        assert t["cwnd"] == str(c.cwnd), key
        assert t.get("retrans") == (f"{c.retrans}/{c.total_retrans}" if c.retrans or c.total_retrans else None), key
        assert t.get("unacked") == (str(c.unacked) if c.unacked else None), key
        if "rto" in t:
            assert t["rto"] == f"{c.rto_ms:g}", key
    worst = s.peers[0]
    assert worst.address == "203.0.113.2" and worst.connections == 1 and worst.total_retrans > 0
    assert {g.address for g in s.peers} == {"203.0.113.2", "198.51.100.2"}
    clean = next(g for g in s.peers if g.address == "198.51.100.2")
    assert clean.connections == 5 and clean.total_retrans == 0 and len(clean.worst) == min(5, MAX_SHOWN_PER_PEER)


def _sock(state: int, src: str, sport: int, dst: str = "0.0.0.0", dport: int = 0, rq: int = 0, wq: int = 0,
          retrans: int = 0, rtt: int = 1000, backoff: int = 0, info: bool = True) -> DiagSocket:
    ti = TcpInfo(0, retrans, rtt, rtt // 2, 10, 200_000, backoff, 0, 0) if info else None
    return DiagSocket(state, 10 if ":" in src else 2, src, sport, dst, dport, rq, wq, 0, ti)


def test_request_sockets_go_to_their_listener_and_peers_sort_worst_first():
    dump = [
        _sock(10, "0.0.0.0", 80, rq=2, wq=128),
        _sock(10, "::", 443, wq=64),
        _sock(10, "10.0.0.5", 8080, wq=8),
        _sock(3, "10.0.0.1", 80, "10.9.9.9", 5000, info=False),
        _sock(3, "::ffff:10.0.0.1", 443, "::ffff:10.9.9.9", 5001, info=False),  # v4 client of a dual-stack listener
        _sock(3, "10.0.0.5", 8080, "10.9.9.8", 5002, info=False),
        _sock(6, "10.0.0.1", 80, "10.9.9.9", 5003, info=False),
        _sock(1, "10.0.0.1", 80, "10.1.1.1", 6000, retrans=0, rtt=900),
        _sock(1, "10.0.0.1", 80, "10.1.1.1", 6001, retrans=0, rtt=300),
        _sock(1, "10.0.0.1", 80, "10.2.2.2", 6002, retrans=7, rtt=50_000),
        _sock(2, "10.0.0.1", 33000, "10.3.3.3", 80, retrans=2, backoff=2),  # SYN-SENT: unanswered SYNs
        _sock(1, "::ffff:10.0.0.1", 443, "::ffff:10.1.1.1", 6003),
    ]
    s = summarize_sockets(dump, now=0.0)
    assert [(x.endpoint, x.syn_recv) for x in s.listeners] == [("0.0.0.0:80", 1), ("[::]:443", 1), ("10.0.0.5:8080", 1)]
    assert dict(s.states) == {"ESTAB": 4, "SYN-SENT": 1, "SYN-RECV": 3, "TIME-WAIT": 1, "LISTEN": 3}
    assert [g.address for g in s.peers] == ["10.2.2.2", "10.3.3.3", "10.1.1.1"]  # retransmits first
    ones = s.peers[2]
    assert ones.connections == 3 and ones.rtt_ms_max == 1.0  # the v4-mapped one is the same peer
    assert s.peers[1].states == (("SYN-SENT", 1),) and s.peers[1].backoff_max == 2
    assert s.connections == 5 and s.total == len(dump)
    rec = s.as_dict()
    assert rec["listeners"][0] == {"endpoint": "0.0.0.0:80", "family": "ipv4", "address": "0.0.0.0", "port": 80,
                                   "accept_queue": 2, "backlog": 128, "full": False, "syn_recv": 1}
    assert rec["peers"][0]["worst"][0]["total_retrans"] == 7


def test_sockets_command_prints_the_summary_and_its_json(lab):
    srv = _lab(lab)
    base = [sys.executable, "-m", "tui", "sockets", srv]
    got = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    rec = json.loads(got.stdout)
    assert rec["name"] == srv and rec["inode"] == ns_inode_of_path(f"/run/netns/{srv}")
    listeners = {x["port"]: x for x in rec["sockets"]["listeners"]}
    assert (listeners[FULL_PORT]["accept_queue"], listeners[FULL_PORT]["backlog"], listeners[FULL_PORT]["full"]) == (5, 4, True)
    assert listeners[HALF_PORT]["syn_recv"] == 3
    assert rec["sockets"]["states"]["TIME-WAIT"] == 3
    assert rec["sockets"]["peers"][0]["address"] == "203.0.113.2" and rec["sockets"]["peers"][0]["total_retrans"] > 0
    text = subprocess.run(base, capture_output=True, text=True, timeout=60)
    assert text.returncode == 0, text.stderr
    assert re.search(rf"0\.0\.0\.0:{FULL_PORT}\s+5/4 FULL\s+0", text.stdout), text.stdout
    assert re.search(rf"0\.0\.0\.0:{HALF_PORT}\s+0/16\s+3", text.stdout), text.stdout
    assert "TIME-WAIT 3" in text.stdout and "203.0.113.2" in text.stdout.split("connections by peer")[1].splitlines()[1]
    # a name that matches nothing: one line, exit 1
    none = subprocess.run([sys.executable, "-m", "tui", "sockets", f"{srv}-nope"], capture_output=True, text=True,
                          timeout=60)
    assert none.returncode == 1 and none.stderr.count("\n") == 1 and "Traceback" not in none.stderr


def test_sockets_command_as_non_root_says_why_in_one_line(lab):
    name = lab.add("nr")
    import tui.cli
    import tui.commands.sockets  # imported before the fork: the child may not read the venv

    rc, out, err = as_nobody(tui.cli.main, ["sockets", name])
    assert rc == 1, (out, err)
    assert err.count("\n") == 1 and name in err and "root" in err and "Traceback" not in err, err
