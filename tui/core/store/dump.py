"""``synscope dump``'s outputs: rows for csv and JSON lines, and a single-file recording.

A row is one counter of one namespace at one tick where it moved::

    time, timestamp, namespace, kind, pod, k8s_namespace, inode, ns_id, counter, delta, value

``time`` is ISO 8601 with the zone, ``timestamp`` Unix seconds; ``value`` is the kernel's
absolute value after that tick; ``delta`` is empty for a counter that went down (a reset:
``value`` is its new value). A gauge's row has its change as ``delta``. Rows come namespace
by namespace, each in time order.

A recording is a store of its own in one SQLite file (no WAL), holding the chunks that cover
the slice (whole chunks: a minute at 1 s), a keyframe per namespace at its start, and the
names, statuses, notes and sysctls in force then. ``Store(file)`` reads it as it reads a
store, read-only and without root.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from ..counters import is_gauge
from ..history import GAP
from .codec import encode_chunk, encode_keyframe, encode_times
from .reader import RecordedNamespace, Store
from .schema import SCHEMA

__all__ = ["DumpRow", "FIELDS", "rows", "select", "write_recording"]

FIELDS = ("time", "timestamp", "namespace", "kind", "pod", "k8s_namespace", "inode", "ns_id", "counter", "delta",
          "value")


@dataclass(frozen=True, slots=True)
class DumpRow:
    time: str
    timestamp: float
    namespace: str
    kind: str
    pod: str
    k8s_namespace: str
    inode: int
    ns_id: int
    counter: str
    delta: int | None
    value: int

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in FIELDS}


def select(store: Store, pattern: str = "", since: float | None = None,
           until: float | None = None) -> list[RecordedNamespace]:
    """The recorded namespaces a --ns filter names (any of their names over time) and that
    were alive in the slice."""
    out = []
    for r in store.namespaces():
        if since is not None and r.last_time < since or until is not None and r.first_time > until:
            continue
        if pattern and not any(ns.matches(pattern) for _, ns in r.names):
            continue
        out.append(r)
    return out


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")


def rows(store: Store, namespaces: list[RecordedNamespace], since: float | None = None,
         until: float | None = None) -> Iterator[DumpRow]:
    for r in namespaces:
        first = r.first_tick + 1
        last = r.last_tick
        if since is not None:
            found = store.tick_at(since)
            if found is not None:
                first = max(first, found[0] + (found[1] < since))
        if until is not None:
            found = store.tick_at(until)
            if found is not None:
                last = min(last, found[0])
        if first > last:
            continue
        w = store.window(r, last, last - first + 1)
        values = store.values_at(r, first - 1)
        columns = sorted(set(w.deltas) | set(w.gauges))
        for i, t in enumerate(w.times):
            ns = None
            for key in columns:
                d = w.deltas.get(key)
                g = w.gauges.get(key)
                if g is not None:
                    before = values.get(key, 0)
                    if g[i] == before:
                        continue
                    delta, values[key] = g[i] - before, g[i]
                else:
                    v = d[i] if d is not None else 0
                    if v == 0:
                        continue
                    if v == GAP:
                        delta = None
                        values[key] = store.values_at(r, w.ticks[i]).get(key, 0)
                    else:
                        delta = v
                        values[key] = values.get(key, 0) + v
                if ns is None:
                    ns = r.netns_at(t)
                yield DumpRow(_iso(t), round(t, 3), ns.name, ns.kind, ns.pod, ns.k8s_namespace, r.inode, r.ns_id, key,
                              delta if not is_gauge(key) or delta is not None else None, values[key])


def write_recording(store: Store, namespaces: list[RecordedNamespace], path: str, since: float | None = None,
                    until: float | None = None) -> int:
    """Write the slice as a single-file recording at path (atomically); returns its size."""
    n = store.chunk_ticks
    span = store.span()
    if span is None:
        raise ValueError("the store is empty: nothing to dump")
    t0 = span[0] if since is None else max(since, span[0])
    t1 = span[1] if until is None else min(until, span[1])
    first_tick = store.tick_at(t0)
    last_tick = store.tick_at(t1)
    if first_tick is None or last_tick is None or t0 > t1:
        raise ValueError("no recorded tick in that slice")
    c0, c1 = first_tick[0] // n, last_tick[0] // n
    tmp = f"{path}.tmp{os.getpid()}"
    if os.path.exists(tmp):
        os.unlink(tmp)
    out = sqlite3.connect(tmp, isolation_level=None)
    try:
        out.execute("PRAGMA journal_mode=OFF")
        out.executescript(SCHEMA)
        out.execute("BEGIN")
        out.executemany("INSERT INTO meta VALUES (?, ?)", store.meta.items())
        out.execute("INSERT OR REPLACE INTO meta VALUES ('recording', ?)", (f"{_iso(t0)} .. {_iso(t1)}",))
        out.executemany("INSERT INTO keys VALUES (?, ?)", store.keys.items())
        ids = {name: k for k, name in store.keys.items()}
        for c in range(c0, c1 + 1):
            ticks = store.tick_times(c * n, c * n + n - 1)
            if not ticks:
                continue
            times = [t for _, t in ticks]
            out.execute("INSERT INTO tick_chunks VALUES (?, ?, ?, ?)", (c, times[0], times[-1], encode_times(times)))
        for r in namespaces:
            lo = max(r.first_tick, c0 * n)  # its first tick there is the baseline (a keyframe)
            hi = min(r.last_tick, c1 * n + n - 1)
            if lo > hi:
                continue
            out.execute("INSERT INTO namespaces VALUES (?, ?, ?, ?, ?)", (r.row, r.inode, r.ns_id, lo, hi))
            values = store.values_at(r, lo)
            kf = {ids[name]: v for name, v in values.items() if name in ids}
            out.execute("INSERT INTO keyframes VALUES (?, ?, ?)", (r.row, lo, encode_keyframe(kf)))
            idents = [(tick, ns) for tick, ns in _name_ticks(store, r) if tick <= hi]
            keep = [x for x in idents if x[0] > lo]
            before = [x for x in idents if x[0] <= lo]
            for tick, ident in ([before[-1]] if before else []) + keep:
                out.execute("INSERT INTO names VALUES (?, ?, ?)", (r.row, max(tick, lo), ident))
            store._load_chunks(lo // n, hi // n, {r.row})
            for c in range(lo // n, hi // n + 1):
                ch = store._chunk(r.row, c)
                if ch is not None:
                    out.execute("INSERT INTO chunks VALUES (?, ?, ?)", (r.row, c, encode_chunk(ch)))
            for table in ("sysctls",):
                for tick, data in _latest_and_within(store, table, lo, hi, r.row):
                    out.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", (r.row, max(tick, lo), data))
        for table in ("statuses", "notes"):
            for tick, data in _latest_and_within(store, table, c0 * n, c1 * n + n - 1):
                out.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", (max(tick, c0 * n), data))
        out.execute("COMMIT")
        out.execute("VACUUM")
    finally:
        out.close()
    os.chmod(tmp, 0o644)  # a recording is for sharing: anyone may read it
    os.replace(tmp, path)
    return os.path.getsize(path)


def _name_ticks(store: Store, r: RecordedNamespace) -> list[tuple[int, str]]:
    return [(t, i) for t, i in store._rows("SELECT tick, identity FROM names WHERE ns = ? ORDER BY tick", (r.row,))]


def _latest_and_within(store: Store, table: str, lo: int, hi: int, ns: int | None = None) -> list[tuple[int, str]]:
    where = "AND ns = ?" if ns is not None else ""
    args: tuple = (ns,) if ns is not None else ()  # type: ignore[type-arg]
    before = store._rows(f"SELECT tick, data FROM {table} WHERE tick <= ? {where} ORDER BY tick DESC LIMIT 1",
                         (lo, *args))
    within = store._rows(f"SELECT tick, data FROM {table} WHERE tick > ? AND tick <= ? {where} ORDER BY tick",
                         (lo, hi, *args))
    return before + within
