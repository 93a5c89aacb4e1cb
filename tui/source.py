"""Where the App's data comes from: the live node, or a deterministic script.

No textual import here: a source runs in the App's sampling thread worker, so everything it
hands over (``Frame``, ``NsDetail``) is a frozen record computed in that thread. The UI
only renders it.

* :class:`LiveSource` wraps :class:`tui.core.monitor.Monitor` (discovery + sampler +
  history) with the default discovery sources (Docker, kubelet when they land).
* :class:`ScriptedSource` tells the seed's incident deterministically, for tests, snapshots,
  screenshots and the UI benchmark: its namespaces are named by the real Docker and kubelet
  source code from API- and file-shaped records (:mod:`tui.scripted_node`), and it
  *generates real netstat/snmp text* (from the 6.18 fixture's headers) and feeds it through
  the real :meth:`History.ingest` with a fixed clock, so the whole pipeline from bytes to
  rates is exercised.

Both share :func:`summarize` (the table's per-namespace numbers) and :func:`build_detail`
(the detail panel of one namespace), which read a :class:`NsHistory` under the source's
lock so a UI-thread request never sees half an ingest.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tui.core.catalog import GROUP_ORDER, Group, group_of, info, keys_in
from tui.core.conntrack import DROP_KEYS as CT_DROP_KEYS
from tui.core.counters import is_gauge, parse_proc_net
from tui.core.history import History, NsHistory
from tui.core.namespaces import NetNS, SourceStatus

if TYPE_CHECKING:  # the rules (sysctl, sockets) load with the first diagnosis, not at start
    from tui.core.bundle import CounterWindow
    from tui.core.rules import Diagnosis
    from tui.core.sockets import SocketsSummary

__all__ = [
    "CounterLine",
    "DataSource",
    "Frame",
    "LiveSource",
    "NsDetail",
    "NsSummary",
    "ScriptedSource",
    "SYN_KEYS",
    "DACK_KEYS",
    "build_detail",
    "nstat_name",
    "summarize",
]

# The "SYN trouble" column sums the SYN group's deltas, except counters that are subsets of
# ListenDrops (every overflow and every SYN-queue-full drop is also a ListenDrop): counting
# them too would double the number an engineer reads as "SYNs lost".
_SUBSETS_OF_LISTENDROPS = frozenset({"TcpExt.ListenOverflows", "TcpExt.TCPReqQFullDrop"})
SYN_KEYS: tuple[str, ...] = tuple(k for k in keys_in(Group.SYN) if k not in _SUBSETS_OF_LISTENDROPS)
SYN_ALL_KEYS: frozenset[str] = frozenset(keys_in(Group.SYN))
DACK_KEYS: tuple[str, ...] = keys_in(Group.DELAYED_ACK)
RETRANS_KEY = "Tcp.RetransSegs"
TREND_TICKS = 12  # the table's small trend: this many ticks
SPARK_TICKS = 60  # a counter's sparkline in the detail panel
DETAIL_WINDOW_S = 300.0  # "moved in the window": the last 5 minutes
RECENT_S = 60.0  # a row whose trouble moved this recently keeps a dim marker


def nstat_name(key: str) -> str:
    """``TcpExt.ListenDrops`` -> ``TcpExtListenDrops``: what ``nstat`` prints and people grep.
    Conntrack's counters are not nstat's: they keep their dot (``Conntrack.insert_failed``)."""
    return key if key.startswith("Conntrack.") else key.replace(".", "", 1)


# -- records crossing from the worker thread to the UI ------------------------------------------


@dataclass(frozen=True, slots=True)
class NsSummary:
    """The table's numbers for one namespace, from its latest tick."""

    inode: int
    syn_delta: int = 0
    dack_delta: int = 0
    retrans_delta: int = 0
    syn_rate: float = 0.0
    dack_rate: float = 0.0
    retrans_rate: float = 0.0
    trend: tuple[int, ...] = ()  # SYN-trouble + delayed-ACK events per tick, oldest first
    last_moved: float | None = None  # when a SYN-trouble or delayed-ACK counter last moved
    ticks: int = 0
    # conntrack trouble in the latest tick: packets it dropped (drop, chainlength) and entries
    # it evicted for room (early_drop); what the host row's conntrack marker lights up on
    ct_delta: int = 0
    ct_last_moved: float | None = None  # when one of those last moved

    @property
    def syn_lit(self) -> bool:
        return self.syn_delta > 0

    @property
    def dack_lit(self) -> bool:
        return self.dack_delta > 0

    @property
    def lit(self) -> bool:
        return self.syn_delta > 0 or self.dack_delta > 0

    @property
    def ct_lit(self) -> bool:
        return self.ct_delta > 0


@dataclass(frozen=True, slots=True)
class Frame:
    """Everything one sampling tick gives the UI."""

    time: float  # when the sample was taken (source clock)
    namespaces: list[NetNS]
    summaries: dict[int, NsSummary]
    statuses: tuple[SourceStatus, ...] = ()
    notes: tuple[str, ...] = ()
    root: bool = True
    sample_age: float = 0.0  # seconds between taking the sample and handing the frame over
    duration: float = 0.0  # seconds the read took
    seq: int = 0  # frames produced so far by this source
    sampled: bool = True  # False: the discovered names alone, before the first read

    def summary(self, inode: int) -> NsSummary:
        return self.summaries.get(inode) or NsSummary(inode)


@dataclass(frozen=True, slots=True)
class CounterLine:
    """One counter in the detail panel."""

    key: str
    group: Group
    wording: str
    value: int  # absolute, or since the baseline when one is set
    delta: int | None  # since the last tick; None: it went down (reset)
    rate: float | None  # per second over the last tick; None for gauges / first sample
    spark: tuple[float, ...]  # recent per-tick rates (gaps as 0), oldest first
    last_moved_ago: float | None  # seconds since its last non-zero delta
    gauge: bool = False

    @property
    def hot(self) -> bool:
        """Highlighted: a SYN-trouble or delayed-ACK counter whose delta is non-zero now."""
        return bool(self.delta) and self.group in (Group.SYN, Group.DELAYED_ACK)

    @property
    def watched(self) -> bool:
        return self.group in (Group.SYN, Group.DELAYED_ACK)


@dataclass(frozen=True, slots=True)
class NsDetail:
    """The detail panel and the chart of one namespace."""

    inode: int
    time: float
    lines: tuple[CounterLine, ...]
    all_counters: bool
    window_s: float
    baseline_time: float | None = None
    chart_key: str | None = None
    chart_x: tuple[float, ...] = ()  # seconds relative to the latest sample (<= 0)
    chart_y: tuple[float, ...] = ()
    ticks: int = 0


class DataSource(Protocol):
    """What the App needs from a source. ``tick`` blocks; it runs in a thread worker."""

    interval: float
    scripted: bool  # True: deterministic (no clock or hostname may be shown)

    def tick(self) -> Frame: ...

    def history(self, inode: int) -> NsHistory | None: ...

    def detail(
        self,
        inode: int,
        *,
        all_counters: bool = False,
        baseline: tuple[float, dict[str, int]] | None = None,
        chart_key: str | None = None,
    ) -> NsDetail | None: ...

    def values(self, inode: int) -> dict[str, int]: ...

    def counter_window(self, inode: int, seconds: float) -> CounterWindow | None:
        """The namespace's counters over the last ``seconds``, for an incident bundle."""
        ...

    def diagnose(self, ns: NetNS, n: int | None = None) -> Diagnosis:
        """Findings for ns over the last n ticks; reads sysctls/sockets inside it (blocking)."""
        ...

    def sockets(self, ns: NetNS) -> SocketsSummary:
        """The TCP sockets of ns, read inside it (blocking: the sockets view's thread worker).
        Raises NamespaceGone when ns vanished or cannot be entered, OSError when sock_diag refuses."""
        ...

    def now(self) -> float: ...

    def clock(self, t: float) -> str:
        """A time of this source's clock as the screen shows it ("21:42:07")."""
        ...

    def close(self) -> None: ...


# -- computations shared by both sources (called with the source's lock held) -------------------


def _rate(delta: int, dt: float | None) -> float:
    return delta / dt if dt else 0.0


def summarize(inode: int, h: NsHistory | None) -> NsSummary:
    """The table's numbers for one namespace. Cheap for idle namespaces (most of them)."""
    if h is None or h.ticks == 0:
        return NsSummary(inode)
    last = h.last_deltas
    dt = h.dt(h.ticks - 1)
    syn = sum(last.get(k, 0) for k in SYN_KEYS) if last else 0
    dack = sum(last.get(k, 0) for k in DACK_KEYS) if last else 0
    retrans = last.get(RETRANS_KEY, 0) if last else 0
    series = h.series
    trend = [0] * min(TREND_TICKS, h.ticks)
    last_moved: float | None = None
    for key in (*SYN_KEYS, *DACK_KEYS):
        if key not in series:
            continue
        for i, d in enumerate(h.deltas(key, TREND_TICKS)):
            if d:
                trend[i] += d
        t = h.last_moved.get(key)
        if t is not None and (last_moved is None or t > last_moved):
            last_moved = t
    ct = sum(last.get(k, 0) for k in CT_DROP_KEYS) if last else 0
    ct_moved = max((t for k in CT_DROP_KEYS if (t := h.last_moved.get(k)) is not None), default=None)
    return NsSummary(
        inode,
        syn_delta=syn,
        dack_delta=dack,
        retrans_delta=retrans,
        syn_rate=_rate(syn, dt),
        dack_rate=_rate(dack, dt),
        retrans_rate=_rate(retrans, dt),
        trend=tuple(trend),
        last_moved=last_moved,
        ticks=h.ticks,
        ct_delta=ct,
        ct_last_moved=ct_moved,
    )


def _group_rank(key: str) -> int:
    return GROUP_ORDER.index(group_of(key))


def build_detail(
    inode: int,
    h: NsHistory,
    *,
    interval: float,
    all_counters: bool = False,
    baseline: tuple[float, dict[str, int]] | None = None,
    chart_key: str | None = None,
) -> NsDetail:
    """The detail of one namespace: counters that moved in the window (or all), grouped."""
    now = h.last_time or 0.0
    values = h.values()
    window_ticks = max(1, math.ceil(DETAIL_WINDOW_S / max(interval, 1e-3)))
    base_vals = baseline[1] if baseline else None
    if all_counters:
        keys = list(values)
    else:
        keys = set(h.moved(window_ticks))
        keys.update(h.last_resets)
        if base_vals is not None:  # what nstat does: everything that changed since the baseline
            keys.update(k for k, v in values.items() if not is_gauge(k) and base_vals.get(k, v) != v)
        keys = list(keys)
    keys.sort(key=lambda k: (_group_rank(k), k))
    lines = []
    last = h.last_deltas
    resets = set(h.last_resets)
    for key in keys:
        gauge = is_gauge(key)
        value = values.get(key, 0)
        if base_vals is not None and not gauge:
            value -= base_vals.get(key, 0)
        if gauge:
            delta: int | None = 0
            rate = None
            spark = tuple(float(v) for v in h.gauge_values(key, SPARK_TICKS)) if key in h.series else ()
        else:
            delta = None if key in resets else last.get(key, 0)
            rate = h.rate(key) if key in h.series else (0.0 if h.ticks else None)
            spark = tuple(r or 0.0 for r in h.rates(key, SPARK_TICKS)) if key in h.series else ()
        moved = h.last_moved.get(key)
        ci = info(key)
        lines.append(
            CounterLine(
                key, ci.group, ci.wording or ci.note, value, delta, rate, spark,
                None if moved is None else max(0.0, now - moved), gauge,
            )
        )
    if chart_key is None or chart_key not in values:
        chart_key = next((ln.key for ln in lines if ln.hot), None) or (lines[0].key if lines else None)
    xs: tuple[float, ...] = ()
    ys: tuple[float, ...] = ()
    if chart_key is not None:
        w = h.window()
        times = [h.times[i % h.capacity] - now for i in w]
        if is_gauge(chart_key):
            ys_l: list[float | None] = [float(v) for v in h.gauge_values(chart_key)]
        else:
            ys_l = list(h.rates(chart_key))
        pts = [(x, y) for x, y in zip(times, ys_l) if y is not None]
        xs = tuple(p[0] for p in pts)
        ys = tuple(p[1] for p in pts)
    return NsDetail(
        inode, now, tuple(lines), all_counters, window_ticks * interval,
        baseline[0] if baseline else None, chart_key, xs, ys, h.ticks,
    )


# -- the live node ---------------------------------------------------------------------------------


class LiveSource:
    """The node itself: discovery + sampler + history (tui.core.monitor.Monitor).

    ``in_background=True``: the first discovery starts on a thread at once, and the first
    frame is what it found, the namespaces and their names, with no counter read yet (a
    first read has no rates to show anyway). The TUI makes its source this way before it
    imports Textual, so the imports and the node's scan run side by side, and asks for the
    first read as soon as the names are on screen: the table is there without waiting for
    the read, whose parsing would otherwise compete with the first paint for the one
    interpreter lock. Rates come one interval after that read (see bench/bench_first_frame.py).
    """

    scripted = False

    def __init__(self, interval: float = 1.0, monitor=None, *, in_background: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.interval = interval
        self._lock = threading.Lock()
        self._seq = 0
        self._monitor = monitor
        self._names_first = in_background  # the first frame is the discovery's names alone
        self._start_error: BaseException | None = None
        self._starting: threading.Thread | None = None
        if in_background:
            self._starting = threading.Thread(target=self._start_in_background, name="synscope-start", daemon=True)
            self._starting.start()
        else:
            self._start()

    def _start(self) -> None:
        if self._monitor is None:
            from tui.core.monitor import Monitor
            from tui.core.namespaces import Discovery
            from tui.core.sources import default_sources

            # the Monitor takes the first discovery in its constructor
            self._monitor = Monitor(Discovery(default_sources()), discover_every=max(2.0, 5 * self.interval))
        self._monitor.start()

    def _start_in_background(self) -> None:
        try:
            self._start()
        except BaseException as exc:  # raised where the monitor is first needed (tick)
            self._start_error = exc

    @property
    def monitor(self):  # type: ignore[no-untyped-def]
        """The Monitor, once its first discovery has finished."""
        starting = self._starting
        if starting is not None:
            starting.join()
            self._starting = None
        if self._start_error is not None:
            raise self._start_error
        return self._monitor

    def now(self) -> float:
        return time.time()

    def clock(self, t: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(t))

    def tick(self) -> Frame:
        with self._lock:
            monitor = self.monitor
            if self._names_first:
                self._names_first = False
                latest = monitor.latest()
                if latest is not None:
                    self._seq += 1
                    return Frame(time.time(), list(latest.namespaces), {}, tuple(latest.statuses),
                                 tuple(latest.notes), latest.root, 0.0, 0.0, self._seq, sampled=False)
            tick = monitor.tick()
            hist = monitor.history
            summaries = {ns.inode: summarize(ns.inode, hist.get(ns.inode)) for ns in tick.namespaces}
            self._seq += 1
            seq = self._seq
        sample = tick.sample
        notes = tuple(tick.notes) + tuple(sample.notes)
        return Frame(
            sample.time, list(tick.namespaces), summaries, tuple(tick.statuses), notes, tick.root,
            max(0.0, time.time() - sample.time), sample.duration, seq,
        )

    def history(self, inode: int) -> NsHistory | None:
        return self.monitor.history.get(inode)

    def counter_window(self, inode: int, seconds: float) -> CounterWindow | None:
        from tui.core.bundle import counter_window

        with self._lock:  # the sampling worker must not add a tick while the window is copied
            h = self.monitor.history.get(inode)
            return counter_window(h, seconds, "synscope's history in this session") if h else None

    def values(self, inode: int) -> dict[str, int]:
        with self._lock:
            h = self.monitor.history.get(inode)
            return h.values() if h else {}

    def detail(self, inode: int, *, all_counters: bool = False, baseline=None, chart_key: str | None = None) -> NsDetail | None:  # type: ignore[no-untyped-def]
        with self._lock:
            h = self.monitor.history.get(inode)
            if h is None:
                return None
            return build_detail(inode, h, interval=self.interval, all_counters=all_counters, baseline=baseline, chart_key=chart_key)

    def diagnose(self, ns: NetNS, n: int | None = None) -> Diagnosis:
        from tui.core.rules import diagnose_namespace

        # under the lock: the history must not change while the rules read it; the sysctl and
        # socket reads inside the namespace take milliseconds, so a tick waits at most that
        with self._lock:
            history = self.monitor.history
            host = next((x for x in self.monitor.sampler.namespaces if x.kind == "host"), None)
            return diagnose_namespace(ns, history.get(ns.inode), n=n, reader=self.monitor.sampler.netns_reader,
                                      host=host, host_history=history.get(host.inode) if host else None)

    def sockets(self, ns: NetNS) -> SocketsSummary:
        from tui.core.sockets import sockets_summary

        # not under the lock: the setns thread runs one call at a time, so a tick's reads and
        # this one queue there, and the history is not touched
        return sockets_summary(ns, reader=self.monitor.sampler.netns_reader)

    def close(self) -> None:
        try:
            monitor = self.monitor
        except BaseException:  # a failed start has nothing to close
            return
        if monitor is not None:
            monitor.close()


# -- the scripted incident -----------------------------------------------------------------------

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
        from tui.core.nsexec import NamespaceGone
        from tui.scripted_sockets import scripted_sockets

        with self._lock:
            actor = next((a for a in self.actors if a.ns.inode == ns.inode), None)
            step, now = self._step, self.now()
        if actor is None:
            raise NamespaceGone(f"{ns.name} ({ns.label}) cannot be entered: it is not on this node any more")
        return scripted_sockets(ns, actor.behaviour, step, now)

    def close(self) -> None:
        pass

    def check_template(self) -> None:
        """The generated text parses with the real parser (used by tests)."""
        for data in self._writer.render(self.actors[0].values):
            parse_proc_net(data)
