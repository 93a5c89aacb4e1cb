"""Reading a store or a recording: read-only, never a traceback for a damaged file.

The API the replay and the live TUI's past are built on (all times are Unix seconds, as
``time.time()``; a *tick* is the store's global tick index)::

    store = Store(path)                  # a store directory or a recording file; raises StoreError
    store.span()                         # (first, last) tick time, or None when empty
    store.namespaces(at=None)            # [RecordedNamespace], every one, or those alive at time `at`
    store.tick_at(t)                     # (tick, time) of the last tick at or before t, or None
    store.tick_times(first, last)        # [(tick, time)] of the ticks between two ticks, in order
    store.window(rns, tick, n)           # NsWindow: a namespace's last n ticks up to `tick`
    store.values_at(rns, tick)           # {counter: absolute value} after that tick
    store.history_at(t, capacity=900)    # Moment: History, NetNS list, statuses, notes at t
    store.advance(moment)                # the Moment one tick later (in place; cheap), None at the end
    store.retreat(moment)                # the Moment one tick earlier (in place; cheap), None at the start
    store.next_tick(tick)                # (tick, time) after a tick, across session gaps, or None
    store.previous_tick(tick)            # (tick, time) before a tick, across session gaps, or None
    store.statuses_at(t), store.notes_at(t), store.sysctls_at(rns, t)
    store.refresh()                      # see what a running recorder committed since
    store.notes                          # what was damaged and skipped, in words
    store.close()

A :class:`RecordedNamespace` is one namespace during one recorder session: ``inode`` and
``ns_id`` (the kernel's never-reused id) identify it, so a restarted container whose new
namespace got the old inode is another RecordedNamespace, with its own history; its names
over time are ``names`` (time from which each :class:`NetNS` holds; ``netns_at(t)``).

:meth:`Store.history_at` rebuilds what the live Monitor would have had at that moment: a
:class:`~tui.core.history.History` keyed by inode with one
:class:`~tui.core.history.NsHistory` per namespace alive then (its last ``capacity`` ticks,
deltas, gauges, resets and absolute values, via ``NsHistory.from_recording``), the
namespaces as discovery named them then, and the sources' statuses and notes. It reads one
range of chunks in one query (decoded chunks are cached, so stepping a tick reuses them).

Damage (a torn tail, flipped bytes): a blob whose CRC fails, or a page SQLite cannot read,
is skipped and said once in ``notes``; the rest is read.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import os
import sqlite3
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..counters import is_gauge
from ..history import GAP, History, NsHistory
from ..namespaces import ContainerRef, NetNS, SourceStatus
from .codec import DELTA, GAUGE, RESET, Chunk, CorruptBlob, decode_chunk, decode_keyframe, decode_tick, decode_times
from .schema import FORMAT, connect_read, db_path

__all__ = ["Moment", "NsWindow", "RecordedNamespace", "Store", "StoreError"]

_CACHE_CHUNKS = 4096


class StoreError(RuntimeError):
    """The path is not a store or a recording synscope can read (the message says why)."""


@dataclass(frozen=True, slots=True)
class RecordedNamespace:
    row: int
    inode: int
    ns_id: int
    first_tick: int
    last_tick: int
    first_time: float
    last_time: float
    names: tuple[tuple[float, NetNS], ...]  # (from time, identity and names), in time order

    @property
    def netns(self) -> NetNS:
        """Its latest names."""
        return self.names[-1][1]

    def netns_at(self, t: float) -> NetNS:
        i = bisect.bisect_right([n[0] for n in self.names], t) - 1
        return self.names[max(i, 0)][1]


@dataclass(slots=True)
class NsWindow:
    """A namespace's recorded ticks: ``times[i]`` and, per counter, one value per tick."""

    ticks: range
    times: list[float]
    first_time: float  # the time of the tick before the first (its dt), or times[0]
    deltas: dict[str, array]  # counter -> deltas (GAP where it went down)
    gauges: dict[str, list[int]]  # gauge -> value per tick
    values: dict[str, int]  # absolute values after the last tick


@dataclass
class Moment:
    """What the TUI shows at one recorded moment."""

    time: float
    tick: int
    history: History
    namespaces: list[NetNS]
    recorded: dict[int, RecordedNamespace]  # inode -> its record
    statuses: list[SourceStatus] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    values: dict[int, dict[str, int]] = field(default_factory=dict)  # inode -> absolute values now


def _netns(ident: str) -> NetNS:
    d = json.loads(ident)
    d["containers"] = tuple(ContainerRef(**c) for c in d.get("containers", ()))
    for k in ("pids", "aliases", "processes"):
        d[k] = tuple(d.get(k, ()))
    d["labels"] = tuple(tuple(x) for x in d.get("labels", ()))
    return NetNS(**d)


class Store:
    def __init__(self, path: str) -> None:
        if not os.path.exists(path):
            raise StoreError(f"{path}: no such store or recording")
        self.path = path
        self.db = db_path(path)
        if not os.path.exists(self.db):
            raise StoreError(f"{path}: no store in this directory (no {os.path.basename(self.db)})")
        try:
            self.con = connect_read(self.db)
            self.meta = dict(self.con.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a synscope store or recording ({exc})") from None
        if int(self.meta.get("format", 0)) != FORMAT:
            raise StoreError(f"{path}: store format {self.meta.get('format')!r}; this synscope reads {FORMAT}")
        self.chunk_ticks = int(self.meta["chunk_ticks"])
        self.notes: list[str] = []
        self._said: set[str] = set()
        self._chunks: OrderedDict[tuple[int, int], Chunk | None] = OrderedDict()
        self._cache_bound = _CACHE_CHUNKS  # grows to what one moment needs (_load_chunks)
        self._times: dict[int, array] = {}
        self.refresh()

    # -- damage is a note -----------------------------------------------------------------------
    def _note(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.notes.append(text)

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:  # type: ignore[type-arg]
        out: list[tuple] = []  # type: ignore[type-arg]
        try:
            for r in self.con.execute(sql, args):
                out.append(r)
        except sqlite3.DatabaseError as exc:
            self._note(f"the store is damaged: {exc}; {len(out)} rows read before it, the rest skipped")
        return out

    # -- what is there ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the index (chunks, open ticks, namespaces): a recorder may have written more.

        In one read transaction: one snapshot of the store for all of it, so a recorder's commit
        between two of its queries cannot show a new namespace without the tick it started in,
        or its new keys without their names."""
        began = False
        if not self.con.in_transaction:
            try:
                self.con.execute("BEGIN")
                began = True
            except sqlite3.DatabaseError as exc:  # (damage: each query below notes its own)
                self._note(f"the store is damaged: {exc}")
        try:
            self._refresh()
        finally:
            if began and self.con.in_transaction:
                # a read writes nothing: rolling back lets the snapshot go; damage it meets
                # was said by the queries above
                with contextlib.suppress(sqlite3.DatabaseError):
                    self.con.execute("ROLLBACK")

    def _refresh(self) -> None:
        self.keys = {i: n for i, n in self._rows("SELECT id, name FROM keys")}
        chunks = self._rows("SELECT chunk, first_time, last_time FROM tick_chunks ORDER BY chunk")
        self._chunk_ids = [r[0] for r in chunks]
        self._chunk_first = [r[1] for r in chunks]
        open_rows = self._rows("SELECT tick, time, data FROM open_ticks ORDER BY tick")
        self._open: dict[int, dict[int, list[int]]] = {}
        self._open_times: list[tuple[int, float]] = []
        for tick, t, blob in open_rows:
            try:
                self._open[tick] = decode_tick(blob)
            except CorruptBlob:
                self._note(f"the tick at {_hms(t)} is damaged: skipped")
                self._open[tick] = {}
            self._open_times.append((tick, t))
        was_open = getattr(self, "_open_chunks", set())
        self._open_chunks = {tick // self.chunk_ticks for tick, _ in self._open_times}
        self._open_built: dict[int, bool] = {}
        for c in self._open_chunks | was_open:  # rebuilt from the open ticks, or read sealed, on demand
            for k in [k for k in self._chunks if k[1] == c]:
                del self._chunks[k]
            self._times.pop(c, None)
        self._all_chunks = sorted(set(self._chunk_ids) | self._open_chunks)
        sealed_first = dict(zip(self._chunk_ids, self._chunk_first))
        self._all_firsts = [sealed_first[c] if c in sealed_first else
                            next(t for tick, t in self._open_times if tick // self.chunk_ticks == c)
                            for c in self._all_chunks]
        self._last_tick_time = self._open_times[-1] if self._open_times else None
        if self._last_tick_time is None and chunks:
            times = self._chunk_times(chunks[-1][0])
            if times is not None and len(times):
                self._last_tick_time = (chunks[-1][0] * self.chunk_ticks + len(times) - 1, times[-1])
        names: dict[int, list[tuple[int, str]]] = {}
        for ns, tick, ident in self._rows("SELECT ns, tick, identity FROM names ORDER BY ns, tick"):
            names.setdefault(ns, []).append((tick, ident))
        self._namespaces: list[RecordedNamespace] = []
        for row, inode, ns_id, first, last in self._rows(
                "SELECT id, inode, ns_id, first_tick, last_tick FROM namespaces ORDER BY id"):
            idents = names.get(row)
            if not idents:
                self._note(f"net:[{inode}]: its names are missing: skipped")
                continue
            try:
                named = tuple((self._time_of(max(tick, first)), _netns(ident)) for tick, ident in idents)
            except (ValueError, TypeError) as exc:
                self._note(f"net:[{inode}]: its names do not decode ({exc}): skipped")
                continue
            self._namespaces.append(RecordedNamespace(row, inode, ns_id, first, last, self._time_of(first),
                                                      self._time_of(last), named))

    def span(self) -> tuple[float, float] | None:
        first = self._chunk_first[0] if self._chunk_first else (self._open_times[0][1] if self._open_times else None)
        if first is None or self._last_tick_time is None:
            return None
        return first, self._last_tick_time[1]

    def namespaces(self, at: float | None = None) -> list[RecordedNamespace]:
        if at is None:
            return list(self._namespaces)
        found = self.tick_at(at)
        if found is None:
            return []
        tick = found[0]
        return [r for r in self._namespaces if r.first_tick <= tick <= r.last_tick]

    # -- ticks and times --------------------------------------------------------------------------
    def _chunk_times(self, chunk: int) -> array | None:
        got = self._times.get(chunk)
        if got is not None:
            return got
        if chunk in self._open_chunks:
            base = chunk * self.chunk_ticks
            times = array("d")
            for tick, t in self._open_times:
                if tick // self.chunk_ticks == chunk:
                    while base + len(times) < tick:  # never: ticks are written in order
                        times.append(t)
                    times.append(t)
        else:
            rows = self._rows("SELECT times FROM tick_chunks WHERE chunk = ?", (chunk,))
            if not rows:
                return None
            try:
                times = decode_times(rows[0][0])
            except CorruptBlob:
                self._note(f"the tick times of chunk {chunk} are damaged: skipped")
                times = array("d")
        self._times[chunk] = times
        return times

    def _time_of(self, tick: int) -> float:
        times = self._chunk_times(tick // self.chunk_ticks)
        off = tick % self.chunk_ticks
        if times is None or not len(times):
            return math.nan
        return times[min(off, len(times) - 1)]

    def tick_at(self, t: float) -> tuple[int, float] | None:
        """The last tick at or before t (the first tick if t is before the store)."""
        chunks, firsts = self._all_chunks, self._all_firsts
        if not chunks:
            return None
        i = max(bisect.bisect_right(firsts, t) - 1, 0)
        times = self._chunk_times(chunks[i])
        while (times is None or not len(times)) and i > 0:  # a damaged chunk: the one before
            i -= 1
            times = self._chunk_times(chunks[i])
        if times is None or not len(times):
            return None
        j = max(bisect.bisect_right(times, t) - 1, 0)
        return chunks[i] * self.chunk_ticks + j, times[j]

    def _times_between(self, first: int, last: int) -> list[float]:
        """Times of ticks first..last, one per tick (nan where a chunk's times are lost)."""
        out: list[float] = []
        n = self.chunk_ticks
        for c in range(first // n, last // n + 1):
            base = c * n
            lo, hi = max(first - base, 0), min(last - base + 1, n)
            times = self._chunk_times(c)
            got = times[lo:hi].tolist() if times is not None else []
            out += got + [math.nan] * (hi - lo - len(got))
        return out

    def tick_times(self, first: int, last: int) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        n = self.chunk_ticks
        for c in range(first // n, last // n + 1):
            times = self._chunk_times(c)
            if times is None:
                continue
            base = c * n
            for off in range(max(first - base, 0), min(last - base + 1, len(times))):
                out.append((base + off, times[off]))
        return out

    # -- chunks -----------------------------------------------------------------------------------
    def _load_chunks(self, lo: int, hi: int, rows: set[int]) -> None:
        """Decode the chunks from lo to hi of these namespaces into the cache, in one query."""
        sealed = [c for c in range(lo, hi + 1) if c not in self._open_chunks]
        if any((r, c) not in self._chunks for c in sealed for r in rows):
            sql = "SELECT ns, chunk, data FROM chunks WHERE chunk BETWEEN ? AND ?"
            if len(rows) < len(self._namespaces):  # these alone (a dump, a bundle's namespace): not
                # every namespace's chunks decoded for each one (a recording of 500 took 3 min)
                sql += f" AND ns IN ({','.join(str(int(r)) for r in rows)})"
            for ns, c, blob in self._rows(sql, (lo, hi)):
                if (ns, c) in self._chunks or c in self._open_chunks:
                    continue
                try:
                    self._chunks[(ns, c)] = decode_chunk(blob)
                except CorruptBlob:
                    self._note(f"a chunk of net:[{self._inode_of(ns)}] at {_hms(self._time_of(c * self.chunk_ticks))} "
                               "is damaged: skipped")
                    self._chunks[(ns, c)] = None
            for c in sealed:  # no row: nothing moved in that namespace then
                for r in rows:
                    self._chunks.setdefault((r, c), None)
        for c in range(lo, hi + 1):
            if c in self._open_chunks and not self._open_built.get(c):
                self._open_chunk(c)
                self._open_built[c] = True
        # the cache holds at least what one moment needs (every namespace's chunks of the
        # window): with 1000 namespaces a fixed 4096 evicted the chunks history_at had just
        # loaded in one query, and each namespace's window read them again one by one (9 s)
        self._cache_bound = max(self._cache_bound, 2 * len(rows) * (hi - lo + 1))
        while len(self._chunks) > self._cache_bound:
            self._chunks.popitem(last=False)

    def _inode_of(self, row: int) -> int:
        return next((r.inode for r in self._namespaces if r.row == row), 0)

    def _open_chunk(self, c: int) -> None:
        n = self.chunk_ticks
        base = c * n
        times = self._chunk_times(c)
        width = len(times) if times is not None else 0
        built: dict[int, Chunk] = {}
        for tick in range(base, base + width):
            for ns, flat in self._open.get(tick, {}).items():
                ch = built.get(ns)
                if ch is None:
                    ch = built[ns] = Chunk(width, {}, [])
                for code, value in zip(flat[0::2], flat[1::2]):
                    key, kind = code >> 2, code & 3
                    if kind == DELTA:
                        row = ch.deltas.get(key)
                        if row is None:
                            row = ch.deltas[key] = array("q", bytes(8 * width))
                        row[tick - base] = value
                    else:
                        ch.events.append((tick - base, key, kind, value))
        for k in [k for k in self._chunks if k[1] == c]:
            del self._chunks[k]
        for ns, ch in built.items():
            self._chunks[(ns, c)] = ch
        for r in self._namespaces:
            self._chunks.setdefault((r.row, c), None)

    def _chunk(self, row: int, c: int) -> Chunk | None:
        key = (row, c)
        if key not in self._chunks or (c in self._open_chunks and not self._open_built.get(c)):
            self._load_chunks(c, c, {row})
        return self._chunks.get(key)

    # -- values and windows -----------------------------------------------------------------------
    def _keyframe(self, rns: RecordedNamespace, tick: int) -> tuple[int, dict[int, int]]:
        rows = self._rows("SELECT tick, data FROM keyframes WHERE ns = ? AND tick <= ? ORDER BY tick DESC LIMIT 1",
                          (rns.row, tick))
        if not rows:
            self._note(f"{rns.netns.name}: no keyframe before {_hms(self._time_of(tick))}: its values count from 0")
            return rns.first_tick, {}
        try:
            return rows[0][0], decode_keyframe(rows[0][1])
        except CorruptBlob:
            self._note(f"{rns.netns.name}: a keyframe is damaged: its values count from 0")
            return rows[0][0], {}

    def values_at(self, rns: RecordedNamespace, tick: int) -> dict[str, int]:
        """Absolute values after ``tick`` (clamped to the namespace's ticks)."""
        tick = min(max(tick, rns.first_tick), rns.last_tick)
        kf_tick, kf = self._keyframe(rns, tick)
        vals = dict(kf)
        n = self.chunk_ticks
        lo_c, hi_c = (kf_tick + 1) // n, tick // n
        # the chunks it has there (an idle namespace has none: its keyframe is its values)
        have = {c for (c,) in self._rows("SELECT chunk FROM chunks WHERE ns = ? AND chunk BETWEEN ? AND ?",
                                         (rns.row, lo_c, hi_c))}
        have |= {c for c in self._open_chunks if lo_c <= c <= hi_c}
        for c in sorted(have):
            ch = self._chunk(rns.row, c)
            if ch is None:
                continue
            lo = max(kf_tick + 1 - c * n, 0)
            hi = min(tick - c * n + 1, ch.ticks)
            if lo >= hi:
                continue
            _apply(vals, ch, lo, hi)
        return {self.keys.get(k, f"key{k}"): v for k, v in vals.items()}

    def window(self, rns: RecordedNamespace, tick: int, n: int) -> NsWindow:
        """The namespace's last ``n`` ticks up to ``tick`` (clamped to its own ticks)."""
        last = min(tick, rns.last_tick)
        first = max(rns.first_tick + 1, last - n + 1)  # its first tick is the baseline sample
        ticks = range(first, last + 1)
        times = self._times_between(first, last)
        before_time = self._time_of(first - 1) if first - 1 >= rns.first_tick else math.nan
        first_time = before_time if before_time == before_time else (times[0] if times else rns.first_time)
        width = len(ticks)
        deltas: dict[str, array] = {}
        events: list[tuple[int, str, int, int]] = []
        cn = self.chunk_ticks
        if width:
            for c in range(first // cn, last // cn + 1):
                ch = self._chunk(rns.row, c)
                if ch is None:
                    continue
                base = c * cn
                lo, hi = max(first - base, 0), min(last - base + 1, ch.ticks)
                if lo >= hi:
                    continue
                dst = base + lo - first
                for key, row in ch.deltas.items():
                    name = self.keys.get(key, f"key{key}")
                    out = deltas.get(name)
                    if out is None:
                        out = deltas[name] = array("q", bytes(8 * width))
                    out[dst:dst + hi - lo] = row[lo:hi]
                for off, key, kind, value in ch.events:
                    if lo <= off < hi:
                        events.append((base + off - first, self.keys.get(key, f"key{key}"), kind, value))
        values = self.values_at(rns, last) if width or last >= rns.first_tick else {}
        gauges: dict[str, list[int]] = {}
        if width:
            before = self.values_at(rns, first - 1)
            changes: dict[str, list[tuple[int, int]]] = {}
            for i, name, kind, value in events:
                if kind == RESET:
                    d = deltas.get(name)
                    if d is None:
                        d = deltas[name] = array("q", bytes(8 * width))
                    d[i] = GAP
                elif kind == GAUGE:
                    changes.setdefault(name, []).append((i, value))
            for name, points in changes.items():  # each gauge: its value held from change to change
                g = []
                cur, at = before.get(name, 0), 0
                for i, value in points:
                    g += [cur] * (i - at)
                    cur, at = value, i
                g += [cur] * (width - at)
                gauges[name] = g
        return NsWindow(ticks, times, first_time, deltas, gauges, values)

    def _ns_history(self, r: RecordedNamespace, tick: int, capacity: int) -> tuple[NsHistory, dict[str, int]]:
        """One namespace's history as of a tick, rebuilt, and its absolute values then."""
        w = self.window(r, tick, capacity)
        gauges = dict(w.gauges)
        for key, v in w.values.items():  # a gauge that never changed in the window: its value
            if is_gauge(key) and key not in gauges and len(w.times):
                gauges[key] = [v] * len(w.times)
        return NsHistory.from_recording(w.first_time, w.times, w.deltas, gauges, w.values, capacity), w.values

    def history_at(self, t: float, capacity: int = 900, namespaces: Iterable[RecordedNamespace] | None = None) -> Moment:
        """The History, namespaces, statuses and notes as of the last tick at or before t."""
        found = self.tick_at(t)
        history = History(capacity)
        if found is None:
            return Moment(t, -1, history, [], {})
        tick, when = found
        alive = [r for r in (namespaces if namespaces is not None else self._namespaces)
                 if r.first_tick <= tick <= r.last_tick]
        cn = self.chunk_ticks
        kfc = int(self.meta.get("keyframe_chunks", 10))
        lo = min((max(tick - capacity, 0)) // cn, (tick // cn // kfc) * kfc - 1)
        self._load_chunks(max(lo, 0), tick // cn, {r.row for r in alive})
        recorded: dict[int, RecordedNamespace] = {}
        netns: list[NetNS] = []
        values: dict[int, dict[str, int]] = {}
        for r in alive:
            history.by_inode[r.inode], values[r.inode] = self._ns_history(r, tick, capacity)
            recorded[r.inode] = r
            netns.append(r.netns_at(when))
        return Moment(when, tick, history, netns, recorded, self.statuses_at(when), self.notes_at(when), values)

    def next_tick(self, tick: int) -> tuple[int, float] | None:
        """The tick after this one (across a gap between recorder sessions), or None at the end."""
        n = self.chunk_ticks
        c, off = divmod(tick, n)
        times = self._chunk_times(c)
        if times is not None and off + 1 < len(times):
            return tick + 1, times[off + 1]
        i = bisect.bisect_right(self._all_chunks, c)
        while i < len(self._all_chunks):
            nxt = self._all_chunks[i]
            times = self._chunk_times(nxt)
            if times is not None and len(times):
                return nxt * n, times[0]
            i += 1
        return None

    def advance(self, moment: Moment) -> Moment | None:
        """The moment one tick later, made by appending that tick to ``moment``'s histories
        (which it changes in place: cheap, for stepping forward and playing). Where a namespace
        starts or ends there, or the store has a gap, it is rebuilt with :meth:`history_at`.
        None at the end of the store."""
        found = self.next_tick(moment.tick)
        if found is None:
            return None
        tick, when = found
        alive = list(moment.recorded.values())
        starts = any(r.first_tick <= tick <= r.last_tick and r.inode not in moment.recorded
                     for r in self._namespaces)
        if tick != moment.tick + 1 or starts or any(r.last_tick < tick for r in alive):
            return self.history_at(when, moment.history.capacity)
        c = tick // self.chunk_ticks
        self._load_chunks(c, c, {r.row for r in alive})  # every namespace's chunk in one query
        for r in alive:
            h = moment.history.get(r.inode)
            if h is None:
                continue
            deltas, resets, gauges = self._moves(r.row, tick)
            changed = bool(deltas or resets or gauges)
            if changed:
                vals = moment.values.setdefault(r.inode, {})
                for name, d in deltas.items():
                    vals[name] = vals.get(name, 0) + d
                vals.update(resets)
                vals.update(gauges)
            h.push_recorded(when, deltas, list(resets), gauges, moment.values.get(r.inode) if changed else None)
        moment.tick, moment.time = tick, when
        moment.namespaces = [r.netns_at(when) for r in alive]
        moment.statuses, moment.notes = self.statuses_at(when), self.notes_at(when)
        return moment

    def previous_tick(self, tick: int) -> tuple[int, float] | None:
        """The tick before this one (across a gap between recorder sessions), or None at the start."""
        if tick <= 0:
            return None
        n = self.chunk_ticks
        c, off = divmod(tick, n)
        times = self._chunk_times(c)
        if times is not None and 0 < off <= len(times):
            return tick - 1, times[off - 1]
        i = bisect.bisect_left(self._all_chunks, c) - 1
        while i >= 0:
            prv = self._all_chunks[i]
            times = self._chunk_times(prv)
            if times is not None and len(times):
                return prv * n + len(times) - 1, times[-1]
            i -= 1
        return None

    def _moves(self, row: int, tick: int) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """What a namespace recorded at a tick: counter deltas, counters that went down (with
        their value after), gauges set (with their value)."""
        c, off = divmod(tick, self.chunk_ticks)
        ch = self._chunk(row, c)
        if ch is None:
            return {}, {}, {}
        keys = self.keys
        deltas = {keys.get(k, f"key{k}"): r[off] for k, r in ch.deltas.items() if off < len(r) and r[off]}
        resets: dict[str, int] = {}
        gauges: dict[str, int] = {}
        for eoff, k, kind, value in ch.events:
            if eoff == off:
                (resets if kind == RESET else gauges)[keys.get(k, f"key{k}")] = value
        return deltas, resets, gauges

    def _gauge_at(self, rns: RecordedNamespace, name: str, tick: int, memo: dict[int, dict[str, int]]) -> int:
        """A gauge's value after a tick: its last change in that tick's chunk, else from the
        keyframe (values_at, once per tick in ``memo``)."""
        c, off = divmod(tick, self.chunk_ticks)
        ch = self._chunk(rns.row, c)
        if ch is not None:
            found = None
            for eoff, k, kind, value in ch.events:  # in tick order
                if eoff > off:
                    break
                if kind == GAUGE and self.keys.get(k) == name:
                    found = value
            if found is not None:
                return found
        vals = memo.get(tick)
        if vals is None:
            vals = memo[tick] = self.values_at(rns, tick)
        return vals.get(name, 0)

    def retreat(self, moment: Moment) -> Moment | None:
        """The moment one tick earlier, made by undoing the newest tick of ``moment``'s
        histories (which it changes in place: cheap, for stepping back) and reading back from
        the store the one tick that had left each full ring. Where a namespace starts or ends
        there, or the store has a gap, it is rebuilt with :meth:`history_at`. None at the
        start of the store."""
        if moment.tick < 0:
            return None
        found = self.previous_tick(moment.tick)
        if found is None:
            return None
        tick, when = found
        alive = list(moment.recorded.values())
        rows = {r.row for r in alive}
        cap = moment.history.capacity
        # a namespace whose first tick (its baseline sample, no deltas) is this one or later,
        # or one alive then and not now (it ended there): rebuilt
        if (tick != moment.tick - 1 or any(r.first_tick >= tick for r in alive)
                or any(r.first_tick <= tick <= r.last_tick and r.row not in rows for r in self._namespaces)):
            return self.history_at(when, cap)
        undone = moment.tick
        back = undone - cap  # the store tick that comes back into a full window
        n = self.chunk_ticks
        for c in sorted({undone // n, tick // n} | ({back // n, (back + 1) // n} if back >= 0 else set())):
            self._load_chunks(c, c, rows)
        dropped_time = self._time_of(back) if back >= 0 else None
        for r in alive:
            h = moment.history.get(r.inode)
            if h is None:
                continue
            memo: dict[int, dict[str, int]] = {}
            dropped: dict[str, int] = {}
            changed_next: dict[str, int] = {}
            comes_back = back > r.first_tick  # its first tick is the baseline, never in a window
            if not comes_back and h.ticks - 1 != tick - r.first_tick:
                # a young namespace's window is not full: its ticks must be numbered from its
                # first, and a history rebuilt or stepped from a full window is not (once)
                moment.history.by_inode[r.inode], moment.values[r.inode] = self._ns_history(r, tick, cap)
                continue
            if comes_back:
                d, rs, g = self._moves(r.row, back)
                dropped = d | dict.fromkeys(rs, GAP) | g
                changed_next = self._moves(r.row, back + 1)[2] if cap > 1 else {}

            def held(key: str, r: RecordedNamespace = r, h: NsHistory = h,
                     changed_next: dict[str, int] = changed_next, memo: dict[int, dict[str, int]] = memo) -> int:
                s = h.series.get(key)
                if cap > 1 and key not in changed_next and s is not None:
                    return s.get(h.ticks - cap)  # not changed at the tick after: held from then
                return self._gauge_at(r, key, back, memo)

            u_deltas, u_resets, u_gauges = self._moves(r.row, undone)
            vals = moment.values.get(r.inode)
            if u_deltas or u_resets or u_gauges:
                before = dict(vals) if vals is not None else None
                if before is not None:
                    for name, dv in u_deltas.items():
                        before[name] = before.get(name, 0) - dv
                    for name in u_gauges:
                        before[name] = self._gauge_at(r, name, tick, memo)
                # a counter that went down, or one back at 0 (was it in the keyframe?): read
                if before is None or u_resets or any(before.get(name) == 0 for name in u_deltas):
                    before = memo.get(tick) or self.values_at(r, tick)
                moment.values[r.inode] = before
                vals_now: dict[str, int] | None = before
            else:
                vals_now = None
            p_deltas, p_resets, p_gauges = self._moves(r.row, tick)
            h.pop_recorded(dropped_time if comes_back else None, dropped, held, p_deltas, list(p_resets), p_gauges, vals_now)
        moment.tick, moment.time = tick, when
        moment.namespaces = [r.netns_at(when) for r in alive]
        moment.statuses, moment.notes = self.statuses_at(when), self.notes_at(when)
        return moment

    # -- the rest of the picture --------------------------------------------------------------------
    def _at(self, table: str, t: float, extra: str = "", args: tuple = ()) -> str | None:  # type: ignore[type-arg]
        found = self.tick_at(t)
        if found is None:
            return None
        rows = self._rows(f"SELECT data FROM {table} WHERE tick <= ? {extra} ORDER BY tick DESC LIMIT 1",
                          (found[0], *args))
        return rows[0][0] if rows else None

    def statuses_at(self, t: float) -> list[SourceStatus]:
        text = self._at("statuses", t)
        try:
            return [SourceStatus(**d) for d in json.loads(text)] if text else []
        except (ValueError, TypeError):
            self._note("the recorded source statuses are damaged: skipped")
            return []

    def notes_at(self, t: float) -> list[str]:
        text = self._at("notes", t)
        try:
            return list(json.loads(text)) if text else []
        except ValueError:
            return []

    def sysctls_at(self, rns: RecordedNamespace, t: float) -> dict[str, str]:
        text = self._at("sysctls", t, "AND ns = ?", (rns.row,))
        try:
            return dict(json.loads(text)) if text else {}
        except ValueError:
            return {}

    def close(self) -> None:
        self.con.close()


def _apply(vals: dict[int, int], ch: Chunk, lo: int, hi: int) -> None:
    """Add a chunk's ticks lo..hi-1 to absolute values. A reset's or a gauge's event sets the
    value (the delta row holds 0 at that tick); later deltas add to it."""
    last_event: dict[int, tuple[int, int]] = {}
    for off, key, _kind, value in ch.events:
        if lo <= off < hi:
            last_event[key] = (off, value)  # events are stored in tick order
    for key, row in ch.deltas.items():
        ev = last_event.pop(key, None)
        if ev is not None:
            vals[key] = ev[1] + sum(row[ev[0] + 1:hi])
        else:
            s = sum(row[lo:hi])
            if s:
                vals[key] = vals.get(key, 0) + s
    for key, (_off, value) in last_event.items():
        vals[key] = value


def _hms(t: float) -> str:
    import time as _time

    return "?" if t != t else _time.strftime("%H:%M:%S", _time.localtime(t))
