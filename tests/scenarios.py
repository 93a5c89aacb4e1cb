"""The scenario matrix: real incidents in real namespaces, and what synscope says about each.

Every scenario builds its namespaces (veth pairs, TEST-NET addresses, iptables inside them),
takes a first sample of every namespace, makes real traffic, waits on the *counters* until the
incident is well past the rules' thresholds (bounded in time), takes the second sample, and
runs the real diagnosis (sysctls, sockets and routes read inside each namespace). For every
namespace it states the exact finding ids and proposed sysctl keys it must get.

Used by tests/test_scenario_matrix.py (asserts) and, run as a script, prints the matrix for
the README from a real run:

    sudo .venv/bin/python tests/scenarios.py [--loss-runs 5]

Traffic is bounded in count and time; programs are killed by the pid the lab started.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # as a script: nethelpers
sys.path.insert(0, str(Path(__file__).parent.parent))  # as a script: the tui package

from nethelpers import NetnsLab, ip, nat_path, send_syn_fin, wait_for, wire_sized

from tui.core.conntrack import CONNTRACK_FILE, conntrack_section
from tui.core.counters import parse_proc_net
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.rules import Diagnosis, diagnose_namespace
from tui.core.sysctl import host_netns

# counters shown beside each namespace's outcome (the evidence a reader checks the row by)
SHOWN = ("ListenOverflows", "TCPReqQFullDrop", "TCPReqQFullDoCookies", "PAWSTimewait", "TCPSYNChallenge",
         "TCPSynRetrans", "RetransSegs", "OutSegs", "DelayedACKs", "insert_failed", "clashres", "invalid")


@dataclass
class NsOutcome:
    scenario: str
    role: str
    expected_ids: frozenset[str]
    expected_keys: frozenset[str]
    got_ids: frozenset[str] = frozenset()
    got_keys: frozenset[str] = frozenset()
    deltas: dict[str, int] = field(default_factory=dict)
    window: float | None = None
    confidence: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.got_ids, self.got_keys) == (self.expected_ids, self.expected_keys)

    def evidence(self) -> str:
        short = {k.split(".", 1)[1]: v for k, v in self.deltas.items()}
        parts = [f"{k} +{short[k]}" for k in SHOWN if short.get(k)]
        return ", ".join(parts) or "nothing moved"

    def explain(self) -> str:
        return (f"{self.scenario} / {self.role}: expected ids {sorted(self.expected_ids)} keys "
                f"{sorted(self.expected_keys)}, got ids {sorted(self.got_ids)} keys {sorted(self.got_keys)} "
                f"({self.evidence()} in {self.window or 0:.1f} s)")


class Scene:
    """One scenario's namespaces, their first samples, and the diagnosis at the end."""

    def __init__(self, lab: NetnsLab, reader: NetnsReader, name: str) -> None:
        self.lab, self.reader, self.name = lab, reader, name
        self.roles: dict[str, tuple[str, NetNS]] = {}
        self.expect: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self.hist: dict[str, NsHistory] = {}
        self.diagnoses: dict[str, Diagnosis] = {}  # by role, after finish()
        self.t0 = 0.0  # when the window started

    def add(self, role: str, ids: set[str] | frozenset[str] = frozenset(), keys: set[str] | frozenset[str] = frozenset()) -> str:
        return self.adopt(role, self.lab.add(f"{len(self.roles)}{role[:2]}".replace(" ", "")), ids, keys)

    def adopt(self, role: str, netns: str, ids: set[str] | frozenset[str] = frozenset(),
              keys: set[str] | frozenset[str] = frozenset()) -> str:
        """A namespace the lab already made (nethelpers.nat_path) takes a role."""
        path = f"/run/netns/{netns}"
        self.roles[role] = (netns, NetNS(ns_inode_of_path(path) or 0, "netns", netns, path=path))
        self.expect[role] = (frozenset(ids), frozenset(keys))
        return netns

    def ns(self, role: str) -> str:
        return self.roles[role][0]

    def sample(self, role: str) -> tuple[bytes, ...]:
        """netstat, snmp and the conntrack section, as the sampler hands them to History."""
        ns = self.roles[role][1]
        got = self.reader.read_many([(ns.inode, ns.path or "")], ("netstat", "snmp"), (CONNTRACK_FILE,),
                                    {ns.inode})[ns.inode]
        assert not isinstance(got, str), got
        netstat, snmp, ct = got
        assert netstat is not None and snmp is not None
        return netstat, snmp, conntrack_section(ct) if ct else b""

    def counter(self, role: str, key: str) -> int:
        out: dict[str, int] = {}
        for data in self.sample(role):
            if data:
                out.update(parse_proc_net(data))
        return out.get(key, 0)

    def moved(self, role: str, key: str) -> int:
        """Growth of a counter since the first sample."""
        first = self.hist[role]
        return self.counter(role, key) - first.values().get(key, 0)

    def start(self) -> None:
        """The first sample of every namespace: the window starts now."""
        self.t0 = time.monotonic()
        for role in self.roles:
            h = NsHistory()
            h.ingest(time.monotonic(), self.sample(role))
            self.hist[role] = h

    def wait(self, what: str, pred: Callable[[], bool], timeout: float = 30.0) -> None:
        if not wait_for(pred, timeout=timeout, interval=0.1):
            raise AssertionError(f"{self.name}: the lab did not produce {what} within {timeout:.0f} s")

    def at_least(self, seconds: float) -> None:
        """Let the window last this long: more evidence, never less (the incident is already in)."""
        time.sleep(max(0.0, self.t0 + seconds - time.monotonic()))

    def finish(self) -> list[NsOutcome]:
        """The second sample of every namespace at one moment, then the real diagnosis."""
        now = time.monotonic()
        for role in self.roles:
            self.hist[role].ingest(now, self.sample(role))
        host = host_netns()
        out = []
        for role, (_netns, ns) in self.roles.items():
            d: Diagnosis = diagnose_namespace(ns, self.hist[role], reader=self.reader, host=host)
            assert not d.notes, (role, d.notes)
            self.diagnoses[role] = d
            ids, keys = self.expect[role]
            out.append(NsOutcome(self.name, role, ids, keys, frozenset(f.id for f in d.findings),
                                 frozenset(p.key for p in d.proposals), dict(d.deltas), d.window,
                                 {f.id: f.confidence for f in d.findings}))
        return out


def sysctl(ns: str, *kv: str) -> None:
    for x in kv:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", x], check=True, timeout=10)


def iptables(ns: str, *rule: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "iptables", *rule], check=True, timeout=10)


def listener(scene: Scene, ns: str, port: int, backlog: int) -> subprocess.Popen:
    return scene.lab.spawn(ns, [sys.executable, "-c", LISTENER, "198.51.100.1", str(port), str(backlog)],
                           stdout=subprocess.PIPE, text=True)


class Lines:
    """A program's stdout lines, read by a thread, so waiting on one never blocks the wait."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._out = proc.stdout
        assert self._out is not None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._out:  # type: ignore[union-attr]
            self.lines.append(line.strip())


def started(proc: subprocess.Popen, word: str = "listening") -> subprocess.Popen:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == word, f"expected {word!r}, got {line!r}"
    return proc


# ----------------------------------------------------------------------------- programs

LISTENER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(int(sys.argv[3]))
print("listening", flush=True)
time.sleep(60)                          # never accepts; the lab kills us long before
"""

CONNECTOR = """
import select, socket, sys, time
socks = []
for _ in range(int(sys.argv[3])):      # bounded: n connection attempts, no retries of our own
    c = socket.socket(); c.setblocking(False)
    c.connect_ex((sys.argv[1], int(sys.argv[2]))); socks.append(c)
    if sys.argv[4] == "one-by-one":     # one handshake at a time: SYNs never pile up half-open
        select.select([], [c], [], 0.02)
print("opened", flush=True)
time.sleep(60)                          # hold them; the kernel retransmits the SYNs
"""

NAT_SERVER = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.2", 80)); s.listen(128); s.settimeout(0.5)
print("listening", flush=True)
end = time.monotonic() + 60
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

NAT_CLIENT = """
import socket, time
end = time.monotonic() + 40
for _ in range(400):                   # bounded in count and time; the lab stops us sooner
    if time.monotonic() > end:
        break
    c = socket.socket(); c.settimeout(1.5)
    try:
        c.connect(("198.51.100.2", 80)); c.recv(10)
    except OSError:
        pass
    finally:
        c.close()
"""

BULK_RECEIVER = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", 6060)); s.listen(4); s.settimeout(20)
print("listening", flush=True)
c, _ = s.accept(); c.settimeout(60)
print("accepted", flush=True)
n = 0
while n < 4 * 1024 * 1024:             # bounded by what the sender sends
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
time.sleep(60)                         # keep the socket: no FIN of ours inside the window
"""

BULK_SENDER = """
import socket, sys, time
c = socket.create_connection(("198.51.100.1", 6060), timeout=20)
print("connected", flush=True)
sys.stdin.readline()                   # the loss rule goes in between: the handshake is clean
c.settimeout(60)
try:
    for _ in range(64):                # bounded: 4 MiB
        c.sendall(b"x" * 65536)
except OSError:
    pass                               # the lab tore the receiver down first
time.sleep(60)
"""

SLOW_READER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", int(sys.argv[1]))); s.listen(4); s.settimeout(20)
print("listening", flush=True)
c, _ = s.accept(); c.settimeout(30)
end = time.monotonic() + 40
while time.monotonic() < end:          # bounded in time
    if not c.recv(4096):
        break
    time.sleep(0.5)                    # a slow reader: what arrived meanwhile waits unread
time.sleep(60)
"""

SMALL_WRITER = """
import socket, sys, time
c = socket.create_connection(("198.51.100.1", int(sys.argv[2])), timeout=20)
try:
    for _ in range(int(sys.argv[1])):  # bounded: n small writes, 50 ms apart
        c.sendall(b"x" * 100)
        time.sleep(0.05)
except OSError:
    pass                               # the lab tore the reader down first
print("written", flush=True)
time.sleep(60)
"""


# ----------------------------------------------------------------------------- scenarios


def overflow(scene: Scene, *, backlog: int, somaxconn: int | None, expect_keys: set[str]) -> list[NsOutcome]:
    """A listener that never accepts; 40 connections, one handshake at a time."""
    srv = scene.add("server", {"accept-queue"}, expect_keys)
    cli = scene.add("client", {"syn-unanswered"})
    scene.lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    if somaxconn is not None:
        sysctl(srv, f"net.core.somaxconn={somaxconn}")  # this namespace's own copy
    started(listener(scene, srv, 888, backlog))
    scene.start()
    started(scene.lab.spawn(cli, [sys.executable, "-c", CONNECTOR, "198.51.100.1", "888", "40", "one-by-one"],
                            stdout=subprocess.PIPE, text=True), "opened")
    scene.wait("20 ListenOverflows and 20 client SYN retransmits",
               lambda: scene.moved("server", "TcpExt.ListenOverflows") >= 20
               and scene.moved("client", "TcpExt.TCPSynRetrans") >= 20)
    return scene.finish()


def app_backlog(scene: Scene) -> list[NsOutcome]:
    # listen(4), somaxconn 4096: the application's backlog is the limit, no sysctl helps
    return overflow(scene, backlog=4, somaxconn=None, expect_keys=set())


def somaxconn_limit(scene: Scene) -> list[NsOutcome]:
    # listen(64) with somaxconn lowered to 8 inside the namespace: sock_diag shows backlog 8
    return overflow(scene, backlog=64, somaxconn=8, expect_keys={"net.core.somaxconn"})


def syn_queue(scene: Scene) -> list[NsOutcome]:
    """listen(8), syncookies off; the client drops every SYN-ACK, so handshakes stay half-open."""
    srv = scene.add("server", {"syn-queue"}, {"net.ipv4.tcp_syncookies"})
    cli = scene.add("client", {"syn-unanswered"})
    scene.lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    sysctl(srv, "net.ipv4.tcp_syncookies=0")
    iptables(cli, "-A", "INPUT", "-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "DROP")
    started(listener(scene, srv, 7070, 8))
    scene.start()
    started(scene.lab.spawn(cli, [sys.executable, "-c", CONNECTOR, "198.51.100.1", "7070", "40", "all-at-once"],
                            stdout=subprocess.PIPE, text=True), "opened")
    scene.wait("20 TCPReqQFullDrop and 20 client SYN retransmits",
               lambda: scene.moved("server", "TcpExt.TCPReqQFullDrop") >= 20
               and scene.moved("client", "TcpExt.TCPSynRetrans") >= 20)
    return scene.finish()


def nat_timestamps(scene: Scene) -> list[NsOutcome]:
    """Three clients behind a MASQUERADE router with 4 source ports; the server closes first.

    The router's conntrack forgets closed connections after 1 s, so the next client gets the
    same port at once; its SYN meets the server's TIME_WAIT with an older timestamp (every
    client namespace has its own offset): PAWSTimewait there, SYN retransmits on the client.
    Three clients on 4 ports also race for them in the router: a SYN whose entry finds its
    tuple taken is dropped there (insert_failed, the SNAT source-port race, made for real; 2
    to 13 of them in 8 runs of the default wait).
    """
    router = scene.add("router", {"conntrack-race"})
    srv = scene.add("server", {"nat-timestamps"}, {"net.ipv4.tcp_timestamps"})
    scene.lab.veth(router, "198.51.100.1/24", srv, "198.51.100.2/24")
    clients = []
    for i in range(3):
        c = scene.add(f"client {i}", {"syn-unanswered"})
        scene.lab.veth(c, f"203.0.113.{4 * i + 1}/30", router, f"203.0.113.{4 * i + 2}/30")
        ip("-n", c, "route", "add", "default", "via", f"203.0.113.{4 * i + 2}")
        clients.append(c)
    sysctl(router, "net.ipv4.ip_forward=1")
    iptables(router, "-t", "nat", "-A", "POSTROUTING", "-s", "203.0.113.0/24", "-p", "tcp", "-j", "MASQUERADE",
             "--to-ports", "40000-40003")
    sysctl(router, "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1", "net.netfilter.nf_conntrack_tcp_timeout_close=1")
    started(scene.lab.python(srv, NAT_SERVER, stdout=subprocess.PIPE, text=True))
    scene.start()
    for c in clients:
        scene.lab.python(c, NAT_CLIENT)
    scene.wait("25 PAWSTimewait, 5 SYN retransmits on every client and a failed insert in the router",
               lambda: scene.moved("server", "TcpExt.PAWSTimewait") >= 25
               and all(scene.moved(f"client {i}", "TcpExt.TCPSynRetrans") >= 5 for i in range(3))
               and scene.moved("router", "Conntrack.insert_failed") >= 1, timeout=40)
    return scene.finish()


def conntrack_invalid(scene: Scene) -> list[NsOutcome]:
    """60 TCP segments with SYN|FIN from a raw socket in the client, through a MASQUERADE
    router: its conntrack marks each one INVALID (and, as INVALID, leaves it untranslated;
    the server's resets go to an address it has no route to). Only the router uses conntrack."""
    client, router, server = nat_path(scene.lab, "8")
    scene.adopt("router", router, {"conntrack-invalid"})
    scene.adopt("server", server)
    scene.adopt("client", client)
    scene.start()
    send_syn_fin(scene.lab, client, "203.0.113.1", "198.51.100.2", 7000, 60)
    scene.wait("50 invalid in the router", lambda: scene.moved("router", "Conntrack.invalid") >= 50)
    scene.at_least(2.0)
    return scene.finish()


def random_loss(scene: Scene) -> list[NsOutcome]:
    """20 % of TCP packets dropped at random in both namespaces (iptables statistic: netem is
    not available here), once the connection is up (a lost SYN or SYN-ACK would add handshake
    retries by chance); 4 MiB sent. The receiver never closes inside the window, so it has
    nothing of its own to retransmit."""
    rcv = scene.add("receiver")
    snd = scene.add("sender", {"path-loss"})
    scene.lab.veth(rcv, "198.51.100.1/24", snd, "198.51.100.2/24")
    for ns in (rcv, snd):
        wire_sized(ns)  # 20 % of the segments, not of 64 KB super-packets
    receiver = started(scene.lab.python(rcv, BULK_RECEIVER, stdout=subprocess.PIPE, text=True))
    sender = started(scene.lab.python(snd, BULK_SENDER, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True),
                     "connected")
    started(receiver, "accepted")
    for ns in (rcv, snd):
        iptables(ns, "-A", "INPUT", "-p", "tcp", "-m", "statistic", "--mode", "random", "--probability", "0.2",
                 "-j", "DROP")
    scene.start()
    assert sender.stdin is not None
    sender.stdin.write("go\n")
    sender.stdin.flush()
    # The window ends once the sender has retransmitted 20 segments and either sent 400 (a
    # retransmit storm: 200 and 2 % make one) or had a retransmission timeout (a stall). At
    # 20 % loss both ways a retransmission fails a third of the time and its timer doubles
    # each time: the whole 4 MiB took 0.1 s in one run and over a minute in another, so the
    # test never waits for the end of the transfer, only for what makes the finding.
    def enough() -> bool:
        return scene.moved("sender", "Tcp.RetransSegs") >= 20 and (
            scene.moved("sender", "Tcp.OutSegs") >= 400 or scene.moved("sender", "TcpExt.TCPTimeouts") >= 1)

    scene.wait("20 retransmits with 400 segments sent or a timeout", enough, timeout=60)
    scene.at_least(2.0)  # a window like `synscope diagnose --interval 2`, not a tenth of a second
    return scene.finish()


def slow_reader(scene: Scene, writes: int = 200, target: int = 60, expect: set[str] | None = None) -> list[NsOutcome]:
    """Small writes 50 ms apart to a reader that reads every 0.5 s: what arrives in between
    waits unread, so its ACK waits for the delayed-ACK timer."""
    rd = scene.add("reader", {"delayed-acks"} if expect is None else expect)
    wr = scene.add("writer")
    scene.lab.veth(rd, "198.51.100.1/24", wr, "198.51.100.2/24")
    scene.start()
    writer = slow_exchange(scene, writes)
    scene.wait(f"{target} DelayedACKs on the reader", lambda: scene.moved("reader", "TcpExt.DelayedACKs") >= target)
    if expect is not None:  # a handful: all of them, so the count cannot grow after the window
        scene.wait("the writer's last write", lambda: "written" in writer.lines)
        time.sleep(0.5)  # the delayed-ACK timer (40-200 ms) of the last write has fired by then
    return scene.finish()


def slow_exchange(scene: Scene, writes: int, port: int = 5050) -> Lines:
    """Start a slow reader in "reader" and a small writer in "writer"; the writer's lines."""
    rd, wr = scene.ns("reader"), scene.ns("writer")
    started(scene.lab.spawn(rd, [sys.executable, "-c", SLOW_READER, str(port)], stdout=subprocess.PIPE, text=True))
    return Lines(scene.lab.spawn(wr, [sys.executable, "-c", SMALL_WRITER, str(writes), str(port)],
                                 stdout=subprocess.PIPE, text=True))


def handful_of_delayed_acks(scene: Scene) -> list[NsOutcome]:
    """19 small writes: the first ~16 segments of a connection are ACKed at once (quick-ack
    mode), the rest wait: 3 delayed ACKs here. Fewer writes than DELACK_MIN, so the count can
    never reach the finding's threshold, however the scheduler runs the two programs."""
    from tui.core.rules import DELACK_MIN

    writes = 19
    assert writes < DELACK_MIN  # at most one delayed ACK per segment received
    return slow_reader(scene, writes=writes, target=2, expect=set())


def idle(scene: Scene) -> list[NsOutcome]:
    a, b = scene.add("a"), scene.add("b")
    scene.lab.veth(a, "198.51.100.1/24", b, "198.51.100.2/24")
    scene.start()
    time.sleep(2)  # nothing to wait for: an idle window of 2 s
    return scene.finish()


SCENARIOS: dict[str, Callable[[Scene], list[NsOutcome]]] = {
    "1 overflow, the app's backlog is the limit (listen(4), somaxconn 4096)": app_backlog,
    "2 overflow, somaxconn is the limit (8 in the namespace, listen(64))": somaxconn_limit,
    "3 SYN queue full (listen(8), syncookies 0, SYN-ACKs dropped)": syn_queue,
    "4 NAT + timestamps, TIME_WAIT reuse (3 clients, 4 NAT ports)": nat_timestamps,
    "5 random loss, 20 % both ways (iptables statistic)": random_loss,
    "6 a slow reader's delayed ACKs (100 B every 50 ms, read every 0.5 s)": slow_reader,
    "7 idle": idle,
    "7b idle but for a handful of delayed ACKs (19 small writes)": handful_of_delayed_acks,
    "8 conntrack INVALID: SYN+FIN segments through a MASQUERADE router": conntrack_invalid,
}


def run(name: str) -> list[NsOutcome]:
    """One scenario in its own lab, torn down whatever happens."""
    reader = NetnsReader()
    try:
        with NetnsLab("m") as lab:
            return SCENARIOS[name](Scene(lab, reader, name))
    finally:
        reader.close()


def _cell(ids: frozenset[str], keys: frozenset[str]) -> str:
    text = ", ".join(f"`{i}`" for i in sorted(ids)) or "—"
    return text + (" → " + ", ".join(f"`{k}`" for k in sorted(keys)) if keys else "")


def markdown(outcomes: list[NsOutcome]) -> str:
    rows = ["| scenario | namespace | expected: findings → sysctls | got | confidence | evidence (window) |",
            "|---|---|---|---|---|---|"]
    for o in outcomes:
        conf = ", ".join(f"{k} {v}" for k, v in sorted(o.confidence.items())) or "—"
        got = _cell(o.got_ids, o.got_keys) + ("" if o.ok else " **MISMATCH**")
        rows.append(f"| {o.scenario} | {o.role} | {_cell(o.expected_ids, o.expected_keys)} | {got} | {conf} | "
                    f"{o.evidence()} ({o.window or 0:.1f} s) |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="run the scenario matrix and print it as a markdown table")
    ap.add_argument("--loss-runs", type=int, default=5, help="how many times to run the random-loss scenario")
    args = ap.parse_args(argv)
    outcomes: list[NsOutcome] = []
    for name in SCENARIOS:
        for i in range(args.loss_runs if SCENARIOS[name] is random_loss else 1):
            got = run(name)
            if SCENARIOS[name] is random_loss:
                for o in got:
                    o.scenario = f"{name}, run {i + 1}"
            outcomes += got
    print(markdown(outcomes))
    bad = [o for o in outcomes if not o.ok]
    print(f"\n{len(outcomes) - len(bad)} of {len(outcomes)} namespaces as expected", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
