"""The scripted node: the seed's incident, told deterministically, behind the DataSource interface.

For tests, snapshot tests, screenshots and the UI benchmark. Its namespaces are named by the
real Docker and kubelet source code from API- and file-shaped records
(:mod:`tui.scripted_node`), and it *generates real netstat/snmp text* (from the 6.18
fixture's headers) and feeds it through the real :meth:`History.ingest` with a fixed clock,
so the whole pipeline from bytes to rates is exercised. The table and the panel get their
numbers from the same :func:`tui.source.summarize` and :func:`tui.source.build_detail` as
the live source's.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.history import History, NsHistory
from tui.core.namespaces import NetNS
from tui.core.netns import NamespaceGone
from tui.source import Frame, NsDetail, build_detail, summarize

if TYPE_CHECKING:  # the rules (sysctl, sockets) and the bundle load when first used
    from tui.core.bundle import CounterWindow
    from tui.core.rules import Diagnosis
    from tui.core.sockets import SocketsSummary

__all__ = ["SCRIPTED_HOST_SYSCTLS", "SCRIPTED_SYSCTLS", "T0", "ScriptedSource"]

_FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "proc" / "linux-6.18-listen-overflow"
# what the scripted namespaces "have": a pod whose somaxconn was left at an old default
SCRIPTED_SYSCTLS = {
    "net.core.somaxconn": "128",
    "net.ipv4.tcp_max_syn_backlog": "256",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv4.tcp_timestamps": "1",
    "net.ipv4.tcp_tw_reuse": "2",
    "net.ipv4.ip_local_port_range": "32768\t60999",
}
SCRIPTED_HOST_SYSCTLS = {**SCRIPTED_SYSCTLS, "net.core.somaxconn": "4096", "net.ipv4.tcp_max_syn_backlog": "1024"}
T0 = 1_700_000_000.0  # the script's fixed clock (never shown: snapshots must not carry a date)


def _template_headers() -> tuple[list[str], list[str]]:
    """Header lines of netstat and snmp. From the 6.18 fixture when present, else a built-in."""
    out = []
    for name in ("netstat.before", "snmp.before"):
        p = _FIXTURE / name
        lines = p.read_text().splitlines() if p.exists() else []
        out.append(lines[0::2])
    if not out[0] or not out[1]:
        out = [list(_FALLBACK_NETSTAT), list(_FALLBACK_SNMP)]
    return out[0], out[1]


_FALLBACK_NETSTAT = (
    "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed TW PAWSActive PAWSEstab TSEcrRejected PAWSOldAck "
    "PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPFastRetrans "
    "TCPTimeouts TCPAbortOnData TCPAbortOnClose TCPReqQFullDrop TCPChallengeACK TCPSYNChallenge TCPSynRetrans",
)
_FALLBACK_SNMP = (
    "Ip: Forwarding DefaultTTL InReceives",
    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs "
    "OutSegs RetransSegs InErrs OutRsts InCsumErrors",
)


class _Writer:
    """Renders absolute counter values as netstat/snmp text with the template's columns."""

    def __init__(self) -> None:
        netstat, snmp = _template_headers()
        self.files = []
        for headers in (netstat, snmp):
            sections = []
            for line in headers:
                prefix, _, rest = line.partition(":")
                sections.append((line, prefix, [f"{prefix}.{n}" for n in rest.split()]))
            self.files.append(sections)
        self.keys = frozenset(k for f in self.files for _, _, ks in f for k in ks)

    def render(self, values: dict[str, int]) -> tuple[bytes, ...]:
        out = []
        for sections in self.files:
            lines = []
            for header, prefix, keys in sections:
                lines.append(header)
                lines.append(prefix + ": " + " ".join(str(values.get(k, 0)) for k in keys))
            out.append(("\n".join(lines) + "\n").encode())
        return tuple(out)


_DEFAULTS = {"Tcp.RtoAlgorithm": 1, "Tcp.RtoMin": 200, "Tcp.RtoMax": 120000, "Tcp.MaxConn": -1, "Ip.Forwarding": 1, "Ip.DefaultTTL": 64}


@dataclass
class _Actor:
    """One scripted namespace and how its counters move each step."""

    ns: NetNS
    behaviour: str  # "incident" | "client" | "busy" | "calm" | "idle" | "udp" | "old-burst" | "load"
    values: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def step(self, i: int) -> None:
        v, r = self.values, self.rng

        def add(key: str, n: int) -> None:
            if n:
                v[key] = v.get(key, 0) + n

        b = self.behaviour
        if b in ("incident", "client", "busy", "calm", "load"):
            seg = {"incident": 900, "client": 700, "busy": 2400, "calm": 60, "load": 20}[b]
            n = r.randint(seg // 2, seg)
            add("Tcp.InSegs", n)
            add("Tcp.OutSegs", n + r.randint(0, seg // 10))
            add("Tcp.PassiveOpens" if b != "client" else "Tcp.ActiveOpens", r.randint(0, seg // 30 + 1))
            add("TcpExt.TCPHPHits", n // 3)
            add("TcpExt.TCPPureAcks", n // 5)
            v["Tcp.CurrEstab"] = {"incident": 140, "client": 90, "busy": 320, "calm": 6, "load": 2}[b] + r.randint(0, 8)
        if b == "busy":
            add("TcpExt.DelayedACKs", 1 if i % 7 == 0 else 0)
            add("Tcp.RetransSegs", 1 if i % 11 == 0 else 0)
            add("TcpExt.TCPFastRetrans", 1 if i % 11 == 0 else 0)
        stall = b in ("incident", "client") and (i % 30) >= 22  # every 30 s, an 8 s stall (NAT + timestamps)
        if b == "incident" and stall:
            drops = r.randint(3, 9)
            add("TcpExt.ListenDrops", drops)
            add("TcpExt.ListenOverflows", drops // 3)
            add("TcpExt.PAWSTimewait", drops - drops // 3)
            add("TcpExt.PAWSEstab", r.randint(0, 2))
            add("TcpExt.TCPSYNChallenge", r.randint(0, 1))
            add("TcpExt.TCPChallengeACK", r.randint(0, 1))
            add("TcpExt.DelayedACKs", r.randint(6, 14))
            add("TcpExt.DelayedACKLost", r.randint(0, 2))
            add("Tcp.RetransSegs", r.randint(1, 4))
            add("TcpExt.TCPTimeouts", r.randint(0, 2))
        elif b == "incident":
            add("TcpExt.DelayedACKs", 1 if i % 9 == 0 else 0)
        if b == "client" and stall:
            add("TcpExt.TCPSynRetrans", r.randint(2, 6))
            add("Tcp.RetransSegs", r.randint(2, 6))
            add("TcpExt.TCPTimeouts", r.randint(1, 3))
            add("Tcp.AttemptFails", r.randint(0, 1))
        if b == "udp":
            add("Udp.InDatagrams", r.randint(40, 80))
            add("Udp.OutDatagrams", r.randint(40, 80))
            add("Ip.InReceives", r.randint(40, 80))
        if b == "old-burst" and 40 <= i % 120 < 44:  # a burst a while ago: "last moved" tells
            add("TcpExt.DelayedACKs", r.randint(2, 5))
            add("TcpExt.ListenDrops", 1)
        if b == "load" and r.random() < 0.08:
            add("TcpExt.DelayedACKs", r.randint(1, 3))
        if b == "load" and r.random() < 0.02:
            add("TcpExt.ListenDrops", 1)


class ScriptedSource:
    """A deterministic node telling the seed's incident, through the real History."""

    scripted = True

    def __init__(self, *, extra: int = 0, warmup: int = 114, interval: float = 1.0, seed: int = 7,
                 conntrack_race: bool = False) -> None:
        self.interval = interval
        # opt-in: the node's conntrack loses the SNAT race in the stalls (tui/scripted_conntrack.py)
        self._conntrack = None
        if conntrack_race:
            from tui.scripted_conntrack import ScriptedConntrack

            self._conntrack = ScriptedConntrack()
        self._writer = _Writer()
        self.history_store = History()
        self._lock = threading.Lock()
        self._step = 0
        self._seq = 0
        # the node's rows come out of the real discovery code (see tui/scripted_node.py);
        # imported here, not at the top: the live TUI's start does not need it
        from tui.scripted_node import scripted_node

        node = scripted_node(extra)
        self.namespaces, self.statuses = node.namespaces()
        self.actors: list[_Actor] = []
        story = [ns for ns in self.namespaces if node.behaviours[ns.inode] != "load"]
        story.sort(key=lambda ns: ns.inode)  # each actor's random stream is fixed by its place in the story
        for n, ns in enumerate(story):
            self.actors.append(_Actor(ns, node.behaviours[ns.inode], dict(_DEFAULTS), random.Random(seed * 1000 + n)))
        crowd = sorted((ns for ns in self.namespaces if node.behaviours[ns.inode] == "load"), key=lambda ns: ns.inode)
        for k, ns in enumerate(crowd):
            self.actors.append(_Actor(ns, "load", dict(_DEFAULTS), random.Random(seed * 7777 + k)))
        for a in self.actors:  # plausible absolute values: a node that has been up a while
            r = a.rng
            if a.behaviour not in ("idle",):
                for key, hi in (("Tcp.InSegs", 9_000_000), ("Tcp.OutSegs", 8_000_000), ("Tcp.PassiveOpens", 40_000),
                                ("Tcp.ActiveOpens", 20_000), ("TcpExt.DelayedACKs", 60_000), ("Tcp.RetransSegs", 3_000),
                                ("TcpExt.TCPHPHits", 2_000_000), ("TcpExt.TCPPureAcks", 900_000)):
                    a.values[key] = r.randint(hi // 10, hi)
            if a.behaviour == "incident":
                a.values["TcpExt.ListenDrops"] = 1873
                a.values["TcpExt.ListenOverflows"] = 602
                a.values["TcpExt.PAWSTimewait"] = 1271
        self._ingest(T0)  # the first sample: values, no deltas
        for _ in range(warmup):
            self._advance()

    def _ingest(self, t: float) -> None:
        for a in self.actors:
            files = self._writer.render(a.values)
            if self._conntrack is not None and a.ns.kind == "host":
                files += (self._conntrack.section(self._step),)
            self.history_store.ingest(a.ns.inode, t, files, a.ns.label)

    def _advance(self) -> float:
        self._step += 1
        for a in self.actors:
            a.step(self._step)
        t = T0 + self._step * self.interval
        self._ingest(t)
        return t

    @property
    def step(self) -> int:
        return self._step

    def now(self) -> float:
        return T0 + self._step * self.interval

    def clock(self, t: float) -> str:
        # the script's own fixed clock, in UTC: the same on every machine (snapshots)
        return time.strftime("%H:%M:%S", time.gmtime(t))

    def tick(self) -> Frame:
        with self._lock:
            t = self._advance()
            hist = self.history_store
            summaries = {a.ns.inode: summarize(a.ns.inode, hist.get(a.ns.inode)) for a in self.actors}
            self._seq += 1
            seq = self._seq
        return Frame(t, list(self.namespaces), summaries, self.statuses, (), True, 0.0, 0.004, seq)

    def history(self, inode: int) -> NsHistory | None:
        return self.history_store.get(inode)

    def counter_window(self, inode: int, seconds: float) -> CounterWindow | None:
        from tui.core.bundle import counter_window

        with self._lock:
            h = self.history_store.get(inode)
            return counter_window(h, seconds, "the scripted incident's history (not this node's)") if h else None

    def values(self, inode: int) -> dict[str, int]:
        with self._lock:
            h = self.history_store.get(inode)
            return h.values() if h else {}

    def detail(self, inode: int, *, all_counters: bool = False, baseline=None, chart_key: str | None = None) -> NsDetail | None:  # type: ignore[no-untyped-def]
        with self._lock:
            h = self.history_store.get(inode)
            if h is None:
                return None
            return build_detail(inode, h, interval=self.interval, all_counters=all_counters, baseline=baseline, chart_key=chart_key)

    def diagnose(self, ns: NetNS, n: int | None = None) -> Diagnosis:
        """The rules on the script's history, with the script's sysctls and sockets (this
        source's namespaces are not real: nothing is read from the node)."""
        from tui.core.rules import Diagnosis, deltas_from_history, diagnose
        from tui.core.sockets import ListenSocket
        from tui.core.sysctl import SysctlState

        with self._lock:
            h = self.history_store.get(ns.inode)
            if h is None or h.ticks == 0:
                return Diagnosis(ns, (), None, None, None, {}, ("no deltas yet",))
            deltas, window = deltas_from_history(h, n)
            kernel_keys = list(h.values())
        state = SysctlState(ns.inode, ns.kind == "host", dict(SCRIPTED_SYSCTLS), frozenset(SCRIPTED_SYSCTLS),
                            dict(SCRIPTED_HOST_SYSCTLS), kernel="6.18 (scripted)")
        socks = [ListenSocket("ipv4", "0.0.0.0", 888, 128, 128)] if ns.kind == "pod" else []
        findings = diagnose(deltas, state, socks, window=window, kernel_keys=kernel_keys)
        return Diagnosis(ns, tuple(findings), state, tuple(socks), window, deltas,
                         ("scripted source: sysctls and sockets are the script's, not this node's",))

    def sockets(self, ns: NetNS) -> SocketsSummary:
        """The script's sockets of ns (tui/scripted_sockets.py), summarized by the real code."""
        from tui.scripted_sockets import scripted_sockets

        with self._lock:
            actor = next((a for a in self.actors if a.ns.inode == ns.inode), None)
            step, now = self._step, self.now()
        if actor is None:
            raise NamespaceGone(f"{ns.name} ({ns.label}) cannot be entered: it is not on this node any more")
        return scripted_sockets(ns, actor.behaviour, step, now)

    def close(self) -> None:
        pass
