"""Per-namespace counter history: deltas in compact ring buffers, rates, resets.

Built for the idle case: most namespaces on a node do nothing most of the time. So

* a tick whose file bytes equal the previous tick's is recorded as one timestamp — nothing
  is parsed and nothing else is written;
* a section whose value line did not change is not parsed;
* a counter gets a ring buffer only the first time it moves (``array('i')``, promoted to
  64-bit only if a delta does not fit), and an idle series is zero-filled lazily.

Rates: none on the first sample; a counter that goes down is a reset, stored as a gap
(``None``), never a negative rate. A namespace replaced under the same name has a new inode
and therefore a new :class:`NsHistory`: the two are never mixed. Gauges (``Tcp.CurrEstab``)
store values, not deltas, and never have a rate.

A file may be empty (``b""``): the conntrack section of a namespace that has no conntrack in
use. When its section appears, its values count as growth from 0.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .counters import Layout, is_gauge, layout_for, parse_values, split_sections

__all__ = ["History", "NsHistory", "DEFAULT_CAPACITY", "GAP"]

DEFAULT_CAPACITY = 900  # 15 minutes at 1 s
GAP = -(2**31)
_I32_MAX = 2**31 - 1
# sections a file leaves out while all their values are 0: when one appears, its values are
# the growth since it was last seen (conntrack's, see tui/core/conntrack.py)
_ZERO_UNTIL_SHOWN = frozenset({"Conntrack"})


class _Series:
    """One counter's ring: deltas (or values, for a gauge) per tick; lazily zero-filled."""

    __slots__ = ("data", "upto", "fill", "born")

    def __init__(self, capacity: int, start_tick: int, fill: int = 0) -> None:
        self.data = array("i", [fill]) * capacity if -_I32_MAX <= fill <= _I32_MAX else array("q", [fill]) * capacity
        self.upto = start_tick - 1  # last tick index written
        self.fill = fill  # what unwritten ticks hold: 0 for deltas, the steady value for gauges
        self.born = start_tick  # the tick that made it (-1: rebuilt from a recording, older)

    def put(self, tick: int, value: int) -> None:
        cap = len(self.data)
        if self.upto < tick - 1:
            for t in range(max(self.upto + 1, tick - cap), tick):
                self.data[t % cap] = self.fill
        if self.data.typecode == "i" and not (-_I32_MAX <= value <= _I32_MAX):
            self.data = array("q", self.data)
        self.data[tick % cap] = value
        self.upto = tick

    def get(self, tick: int) -> int:
        if tick > self.upto:
            return self.fill
        return self.data[tick % len(self.data)]


@dataclass(frozen=True, slots=True)
class _FileState:
    layout: Layout
    lines: tuple[bytes, ...]  # value lines as last read
    values: tuple[list[int], ...]  # parsed values per section


class NsHistory:
    """History of one namespace (one inode)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.times = array("d", [0.0]) * capacity
        self.ticks = 0  # ticks recorded (the first sample is not a tick: it has no deltas)
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.series: dict[str, _Series] = {}
        self.last_deltas: dict[str, int] = {}  # the latest tick's non-zero deltas (counters)
        self.last_resets: tuple[str, ...] = ()  # counters that went down in the latest tick
        self.last_gauges: dict[str, int] = {}  # gauges whose value changed in the latest tick: the new value
        self.last_moved: dict[str, float] = {}  # key -> time it last had a non-zero delta
        self._raw: tuple[bytes, ...] = ()
        self._files: list[_FileState | None] = []

    # -- ingest -------------------------------------------------------------------------
    def ingest(self, t: float, files: tuple[bytes, ...], source: str = "input") -> None:
        """Record one sample: the raw bytes of netstat and snmp (any number of files).

        Raises CounterParseError for malformed text; the history is left as it was.
        """
        if files == self._raw:
            if self.last_time is not None:
                self._tick(t)
                self.last_deltas = {}
                self.last_resets = ()
                self.last_gauges = {}
            return
        first = self.last_time is None
        deltas: dict[str, int] = {}
        resets: list[str] = []
        gauges_now: dict[str, tuple[int, int]] = {}
        new_files: list[_FileState | None] = []
        for fi, data in enumerate(files):
            old = self._files[fi] if fi < len(self._files) else None
            if not data:  # an optional file with nothing in it (conntrack not in use)
                new_files.append(None)
                continue
            if old is not None and len(self._raw) > fi and data == self._raw[fi]:
                new_files.append(old)
                continue
            headers, lines = split_sections(data, source)
            layout = layout_for(headers, source)
            values: list[list[int]] = []
            for si, (section, keys, line) in enumerate(zip(layout.sections, layout.keys, lines)):
                if old is not None and old.layout is layout and old.lines[si] == line:
                    values.append(old.values[si])
                    continue
                vals = parse_values(line, section, len(keys), source)
                values.append(vals)
                if first:
                    continue
                if old is None:
                    if section not in _ZERO_UNTIL_SHOWN:
                        continue
                    # the section was absent because every value was 0 (conntrack not in use
                    # yet): what it shows now is what grew since
                    pairs = ((k, 0, a) for k, a in zip(keys, vals) if a)
                elif old.layout is layout:
                    before = old.values[si]
                    pairs = ((keys[i], b, a) for i, (b, a) in enumerate(zip(before, vals)) if b != a)
                else:  # the header changed (IcmpMsg grows columns): match by key
                    prev = dict(zip(old.layout.flat, _flat_vals(old.values)))
                    # the kernel prints an IcmpMsg column only once its count is non-zero, so a
                    # new one was 0 before; any other new column (a module loaded) has no delta yet
                    if section == "IcmpMsg":
                        pairs = ((k, prev.get(k, 0), a) for k, a in zip(keys, vals) if prev.get(k, 0) != a)
                    else:
                        pairs = ((k, prev[k], a) for k, a in zip(keys, vals) if k in prev and prev[k] != a)
                for key, b, a in pairs:
                    if key in layout.gauge_keys:
                        gauges_now[key] = (b, a)
                        continue
                    if a < b:
                        resets.append(key)
                    else:
                        deltas[key] = a - b
            new_files.append(_FileState(layout, tuple(lines), tuple(values)))
        self._raw = files
        self._files = new_files
        if first:
            self.first_time = self.last_time = t
            return
        tick = self._tick(t)
        self._put_moved(tick, t, deltas, resets)
        for key, (before, now) in gauges_now.items():
            s = self.series.get(key)
            if s is None:
                s = self.series[key] = _Series(self.capacity, tick, fill=before)
            s.put(tick, now)
            s.fill = now
        self.last_deltas = deltas
        self.last_resets = tuple(resets)
        self.last_gauges = {key: now for key, (_before, now) in gauges_now.items()}

    def _put_moved(self, tick: int, t: float, deltas: Mapping[str, int], resets: Sequence[str]) -> None:
        """A tick's counters that grew, and those that went down (a gap), into their rings:
        one way for a read tick (ingest) and a recorded one (push_recorded)."""
        for key, d in deltas.items():
            s = self.series.get(key)
            if s is None:
                s = self.series[key] = _Series(self.capacity, tick)
            s.put(tick, d)
            self.last_moved[key] = t
        for key in resets:
            s = self.series.get(key)
            if s is None:
                s = self.series[key] = _Series(self.capacity, tick)
            s.put(tick, GAP)

    def repeat(self, t: float) -> None:
        """Record a tick at which nothing was read because nothing moved (the sampler's idle
        skip): the same as ingesting the previous tick's bytes again."""
        self.ingest(t, self._raw)

    def push_recorded(self, t: float, deltas: Mapping[str, int], resets: Sequence[str], gauges: Mapping[str, int],
                      values: Mapping[str, int] | None) -> None:
        """One more recorded tick (a replay stepping forward): the counters that moved,
        those that went down, the gauges that changed, and the absolute values after it
        (``None``: unchanged)."""
        tick = self._tick(t)
        self._put_moved(tick, t, deltas, resets)
        for key, v in gauges.items():
            s = self.series.get(key)
            if s is None:  # the ticks before held its value before (what a rebuild shows)
                s = self.series[key] = _Series(self.capacity, tick, fill=self.values().get(key, 0))
            s.put(tick, v)
            s.fill = v
        self.last_deltas = dict(deltas)
        self.last_resets = tuple(resets)
        self.last_gauges = dict(gauges)
        if values is not None:
            self._files = _files_of(values)

    def pop_recorded(self, dropped_time: float | None, dropped: Mapping[str, int], held: Callable[[str], int],
                     deltas: Mapping[str, int], resets: Sequence[str], gauges: Mapping[str, int],
                     values: Mapping[str, int] | None) -> None:
        """Undo the newest tick (a replay stepping back), leaving the history a rebuild at the
        tick before would give. Pushing the newest tick overwrote, in each ring, the slot of the
        tick ``capacity`` ticks older; when the history holds more than ``capacity`` ticks that
        tick comes back (``dropped_time`` is not None: the caller knows it from the recording,
        since a window rebuilt full holds ``capacity`` ticks and no more): ``dropped_time`` is its time, ``dropped`` what was recorded then
        (counter deltas, ``GAP`` for a reset, the gauges set then) and ``held(gauge)`` a gauge's
        value then when it was not set then. ``deltas``, ``resets``, ``gauges`` and ``values``
        are those of the tick that becomes the newest, as for :meth:`push_recorded`."""
        cap = self.capacity
        if dropped_time is not None and self.ticks <= cap:
            # a tick comes back into a window rebuilt full: number the ticks one ring later
            # (same slots) so that it has an index
            self.ticks += cap
            for s in self.series.values():
                s.upto += cap
                if s.born >= 0:
                    s.born += cap
        k = self.ticks - 1
        if k < 1:
            raise ValueError("pop_recorded needs two ticks: a history's first tick has nothing before it")
        back = k - cap  # the history index of the tick that left the ring when k was pushed
        for key, s in list(self.series.items()):
            if s.upto != k:  # not written at k: its ring already holds what the ticks before had
                continue
            if s.born == k and not (back >= 0 and dropped.get(key)):
                del self.series[key]  # it first moved then: a rebuild before has none
                continue
            if back >= 0:
                v = dropped[key] if key in dropped else (held(key) if is_gauge(key) else 0)
                if s.data.typecode == "i" and not (-_I32_MAX - 1 <= v <= _I32_MAX):
                    s.data = array("q", s.data)
                s.data[k % cap] = v
            # put() filled every tick it skipped, so the ring is right up to k-1
            s.upto = k - 1
            if is_gauge(key):
                s.fill = s.data[(k - 1) % cap]
        if back >= 0 and dropped_time is not None:
            self.times[k % cap] = dropped_time
            for key, v in dropped.items():  # counters that did not move since: their rings are older
                if is_gauge(key) or not v:
                    continue
                s = self.series.get(key)
                if s is None:
                    s = self.series[key] = _Series(cap, back)
                    s.born = -1
                if s.upto < back:
                    s.put(back, v)
        self.ticks = k
        self.last_time = self.times[(k - 1) % cap]
        # when each counter last moved, as a rebuild finds it: inside the window, or not known
        lo = max(0, k - cap)
        oldest = self.times[lo % cap]
        for key in list(self.last_moved):
            if self.last_moved[key] < oldest:
                del self.last_moved[key]
        if back >= 0 and dropped_time is not None:  # what moved in the tick that came back (the oldest)
            for key, v in dropped.items():
                if v and v != GAP and not is_gauge(key):
                    self.last_moved.setdefault(key, dropped_time)
        for key in self.last_deltas:
            s = self.series.get(key)
            at = next((i for i in range(k - 1, lo - 1, -1) if s is not None and s.get(i) not in (0, GAP)), None)
            if at is None:
                self.last_moved.pop(key, None)
            else:
                self.last_moved[key] = self.times[at % cap]
        self.last_deltas = dict(deltas)
        self.last_resets = tuple(resets)
        # a rebuild sees a gauge change against the tick before, so not in a window of one tick
        self.last_gauges = dict(gauges) if min(k, cap) > 1 else {}
        if values is not None:
            self._files = _files_of(values)

    @classmethod
    def from_recording(cls, first_time: float, times: Sequence[float], deltas: Mapping[str, Sequence[int]],
                       gauges: Mapping[str, Sequence[int]], values: Mapping[str, int],
                       capacity: int = DEFAULT_CAPACITY) -> NsHistory:
        """A history rebuilt from recorded ticks (tui.core.store), as if they had been sampled.

        ``first_time`` is the sample before ``times[0]`` (the first tick's dt); ``deltas[key]``
        holds one delta per tick, ``GAP`` where the counter went down; ``gauges[key]`` one value
        per tick; ``values`` the absolute values after the last tick (what ``values()`` gives).
        Only the last ``capacity`` ticks are kept, as for a live history. The next live
        ``ingest`` (a replay going on live) finds no previous bytes and records no deltas for
        that one tick.
        """
        h = cls(capacity)
        n = len(times)
        skip = max(0, n - capacity)
        h.first_time = first_time if not skip else times[skip - 1]
        h.last_time = times[-1] if n else first_time
        h.ticks = n  # tick indices stay those of the recording's window (the ring wraps alike)
        for i in range(skip, n):
            h.times[i % capacity] = times[i]
        for key, series in deltas.items():
            sr = _series_from(series, skip, n, capacity, 0)
            if sr is None:
                continue
            h.series[key] = sr
            for i in range(n - 1, skip - 1, -1):  # when it last moved (a GAP is a reset, not a move)
                v = series[i]
                if v and v != GAP:
                    h.last_moved[key] = times[i]
                    break
        for key, series in gauges.items():
            if not series:
                continue
            sr = _series_from(series, skip, n, capacity, series[-1])
            if sr is not None:
                h.series[key] = sr
        if n:
            last = n - 1
            h.last_deltas = {k: v[last] for k, v in deltas.items() if v[last] and v[last] != GAP}
            h.last_resets = tuple(k for k, v in deltas.items() if v[last] == GAP)
            h.last_gauges = {k: v[last] for k, v in gauges.items() if len(v) > 1 and v[last] != v[last - 1]}
        h._files = _files_of(values)
        return h

    def _tick(self, t: float) -> int:
        tick = self.ticks
        self.times[tick % self.capacity] = t
        self.ticks += 1
        self.last_time = t
        return tick

    # -- queries ------------------------------------------------------------------------
    def values(self) -> dict[str, int]:
        """Latest absolute values of every counter and gauge."""
        out: dict[str, int] = {}
        for fs in self._files:
            if fs is None:
                continue
            for keys, vals in zip(fs.layout.keys, fs.values):
                out.update(zip(keys, vals))
        return out

    def file_values(self) -> list[tuple[Layout, tuple[list[int], ...]]]:
        """The latest absolute values of each file, by section, beside the file's layout: the
        exporter walks them by position (one plan per shared layout) instead of building a
        dict of every counter per namespace and scrape."""
        return [(fs.layout, fs.values) for fs in self._files if fs is not None]

    def window(self, n: int | None = None) -> range:
        """Tick indices of the last n ticks that are still in the ring."""
        n = self.capacity if n is None else min(n, self.capacity)
        return range(max(0, self.ticks - n), self.ticks)

    def dt(self, tick: int) -> float | None:
        if tick <= 0 or tick < self.ticks - self.capacity + 1:
            # the first tick's predecessor is the first sample's time
            if tick == 0 and self.first_time is not None and self.ticks > 0:
                return self.times[0] - self.first_time or None
            return None
        return self.times[tick % self.capacity] - self.times[(tick - 1) % self.capacity] or None

    def deltas(self, key: str, n: int | None = None) -> list[int | None]:
        """Deltas of a counter over the last n ticks; None where it was reset. A gauge has
        none (zeros: its ring holds values, which gauge_values gives; a replay's rebuild and its
        step forward hold an unchanged gauge differently, and must read the same)."""
        s = self.series.get(key)
        w = self.window(n)
        if s is None or is_gauge(key):
            return [0] * len(w)
        return [None if (v := s.get(i)) == GAP else v for i in w]

    def rates(self, key: str, n: int | None = None) -> list[float | None]:
        """Per-second rates over the last n ticks; None for gaps (reset, unknown dt)."""
        if is_gauge(key):
            return [None] * len(self.window(n))
        s = self.series.get(key)
        out: list[float | None] = []
        for i in self.window(n):
            dt = self.dt(i)
            v = s.get(i) if s is not None else 0
            out.append(None if dt is None or v == GAP else v / dt)
        return out

    def rate(self, key: str) -> float | None:
        """The latest tick's rate, or None (first sample, reset, gauge)."""
        if self.ticks == 0 or is_gauge(key):
            return None
        r = self.rates(key, 1)
        return r[0] if r else None

    def gauge_values(self, key: str, n: int | None = None) -> list[int]:
        s = self.series.get(key)
        w = self.window(n)
        if s is None:
            v = self.values().get(key, 0)
            return [v] * len(w)
        return [s.get(i) for i in w]

    def total_delta(self, key: str, n: int | None = None) -> int:
        """Sum of a counter's deltas over the last n ticks (gaps count as 0)."""
        s = self.series.get(key)
        if s is None or is_gauge(key):
            return 0
        return sum(v for i in self.window(n) if (v := s.get(i)) != GAP)

    def moved(self, n: int | None = None) -> list[str]:
        """Counters (not gauges) with a non-zero delta in the last n ticks, in key order."""
        lo = self.window(n).start
        out = []
        for key, s in self.series.items():
            if is_gauge(key) or s.upto < lo:
                continue
            if any(s.get(i) not in (0, GAP) for i in range(max(lo, s.upto - self.capacity + 1), s.upto + 1)):
                out.append(key)
        return sorted(out)

    def memory_series(self) -> int:
        return len(self.series)


def _series_from(series: Sequence[int], skip: int, n: int, capacity: int, fill: int) -> _Series | None:
    """A ring holding ticks skip..n-1 of series (whole slices, not a put() per tick)."""
    if n <= skip:
        return None
    vals = series[skip:n]
    lo, hi = min(vals), max(vals)
    code = "i" if lo >= -_I32_MAX - 1 and hi <= _I32_MAX and -_I32_MAX <= fill <= _I32_MAX else "q"
    s = _Series(capacity, skip, fill)
    s.born = -1
    if s.data.typecode != code:
        s.data = array(code, s.data)
    part = array(code, vals)
    start = skip % capacity
    first = min(len(part), capacity - start)
    s.data[start:start + first] = part[:first]
    if first < len(part):
        s.data[0:len(part) - first] = part[first:]
    s.upto = n - 1
    return s


def _files_of(values: Mapping[str, int]) -> list[_FileState | None]:
    """One file state holding these values, sections in the order their keys come."""
    by_section: dict[str, list[tuple[str, int]]] = {}
    for key, v in values.items():
        section, _, name = key.partition(".")
        by_section.setdefault(section, []).append((name, v))
    if not by_section:
        return []
    headers = [f"{sec}: {' '.join(n for n, _ in items)}".encode() for sec, items in by_section.items()]
    layout = layout_for(headers, "recording")
    vals = tuple([v for _, v in items] for items in by_section.values())
    lines = tuple(f"{sec}: {' '.join(map(str, v))}".encode() for sec, v in zip(by_section, vals))
    return [_FileState(layout, lines, vals)]


def _flat_vals(values: tuple[list[int], ...]) -> list[int]:
    return [v for vs in values for v in vs]


class History:
    """All namespaces' histories, keyed by inode."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.by_inode: dict[int, NsHistory] = {}

    def ingest(self, inode: int, t: float, files: tuple[bytes, ...], source: str = "input") -> NsHistory:
        h = self.by_inode.get(inode)
        if h is None:
            h = self.by_inode[inode] = NsHistory(self.capacity)
        h.ingest(t, files, source)
        return h

    def get(self, inode: int) -> NsHistory | None:
        return self.by_inode.get(inode)

    def forget(self, inode: int) -> None:
        self.by_inode.pop(inode, None)

    def retain(self, inodes: set[int]) -> list[int]:
        """Drop histories of namespaces that are gone; returns the dropped inodes."""
        gone = [i for i in self.by_inode if i not in inodes]
        for i in gone:
            del self.by_inode[i]
        return gone
