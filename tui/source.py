"""Where the App's data comes from: the live node, or a deterministic script.

No textual import here: a source runs in the App's sampling thread worker, so everything it
hands over (``Frame``, ``NsDetail``) is a frozen record computed in that thread. The UI
only renders it.

* :class:`LiveSource` wraps :class:`tui.core.monitor.Monitor` (discovery + sampler +
  history) with the default discovery sources (Docker, kubelet when they land).
* :class:`tui.scripted_source.ScriptedSource` (its own module: the live TUI never loads it)
  tells the seed's incident deterministically, for tests, snapshots, screenshots and the UI
  benchmark, through the same :func:`summarize` and :func:`build_detail`.

Both share :func:`summarize` (the table's per-namespace numbers) and :func:`build_detail`
(the detail panel of one namespace), which read a :class:`NsHistory` under the source's
lock so a UI-thread request never sees half an ingest.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tui.core.catalog import GROUP_ORDER, Group, group_of, info, keys_in
from tui.core.conntrack import DROP_KEYS as CT_DROP_KEYS
from tui.core.counters import is_gauge
from tui.core.history import NsHistory
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

    def __init__(self, interval: float = 1.0, monitor=None, *, in_background: bool = False,  # type: ignore[no-untyped-def]
                 store: str | None = None, store_explicit: bool = False) -> None:
        self.interval = interval
        # the recorder's store: its past is loaded before the first read (tui/core/store/past.py)
        self._store = store
        self._store_explicit = store_explicit
        self.store_path = store  # kept: the incident bundle's recording of the window comes from it
        self.history_note = ""  # the status line's lead: "history from the recorder since HH:MM", or why not
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
            if self._store is not None:
                self._load_past(monitor)
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

    def _load_past(self, monitor) -> None:  # type: ignore[no-untyped-def]
        """Once, before the first read: the recorded histories of the namespaces discovery found."""
        from tui.core.store.past import load_past

        path, self._store = self._store, None
        latest = monitor.latest()
        history = monitor.history
        past = load_past(path, list(latest.namespaces) if latest else [], history.capacity,
                         explicit=self._store_explicit)
        for inode, h in past.histories.items():
            if inode not in history.by_inode or not history.by_inode[inode].ticks:
                history.by_inode[inode] = h
        self.history_note = past.note

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
