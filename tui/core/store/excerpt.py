"""One namespace's ticks of a store as a recording of its own: what the incident bundle holds.

``synscope dump --format recording`` (:func:`.dump.write_recording`) copies whole chunks of
the namespaces it is given, with the node's statuses and notes. A bundle's recording must
hold one namespace and nothing else, over the window and nothing more, so this builds it
tick by tick instead:

* ticks are renumbered from 0: tick 0 is the sample before the window (the baseline the
  first delta counts from, with a keyframe of every value), ticks 1..N the window's; chunks
  are re-cut on the new numbering, so the recording starts where the window starts;
* one ``namespaces`` row, its names and its sysctls in force then and changed within;
* no statuses and no notes (the node's discovery sources and words about other namespaces),
  and no host name in ``meta``: nothing of the node or of another namespace.

``Store(file)`` reads it as any recording (``synscope replay FILE``), read-only and without
root; its deltas are the store's, tick for tick.
"""

from __future__ import annotations

import math
import os
import sqlite3
from array import array

from .codec import Chunk, encode_chunk, encode_keyframe, encode_times
from .reader import RecordedNamespace, Store
from .schema import SCHEMA

__all__ = ["write_namespace_excerpt"]

_ROW = 1  # the one namespace's row in the excerpt
_NODE_META = ("host",)  # meta that names the node, not the namespace: left out


def write_namespace_excerpt(store: Store, rns: RecordedNamespace, first: int, last: int, path: str) -> int:
    """Write ``rns``'s ticks ``first`` (the baseline) to ``last`` of ``store`` as a recording
    at ``path`` (which must not exist); returns its size. Raises ValueError when the store
    cannot give them whole (times damaged or missing in the window)."""
    first, last = max(first, rns.first_tick), min(last, rns.last_tick)
    if first >= last:
        raise ValueError("the window holds no tick of this namespace after its first sample")
    ticks = store.tick_times(first, last)
    if [t for t, _ in ticks] != list(range(first, last + 1)) or any(math.isnan(t) for _, t in ticks):
        raise ValueError("the store's tick times in the window are damaged")
    times = [t for _, t in ticks]
    n = store.chunk_ticks
    total = last - first + 1  # new ticks 0 .. total-1
    widths = [min(n, total - j * n) for j in range((total + n - 1) // n)]
    chunks = [Chunk(w, {}, []) for w in widths]
    store._load_chunks(first // n, last // n, {rns.row})
    for c in range(first // n, last // n + 1):
        ch = store._chunk(rns.row, c)
        if ch is None:  # nothing moved then (or a damaged chunk: the store's notes say so)
            continue
        base = c * n
        lo, hi = max(first + 1 - base, 0), min(last - base + 1, ch.ticks)  # the baseline's own row is not a delta
        for key, row in ch.deltas.items():
            for off in range(lo, hi):
                if row[off]:
                    j, o = divmod(base + off - first, n)
                    dst = chunks[j].deltas.get(key)
                    if dst is None:
                        dst = chunks[j].deltas[key] = array("q", bytes(8 * widths[j]))
                    dst[o] = row[off]
        for off, key, kind, value in ch.events:  # in tick order, so they stay in order
            if lo <= off < hi:
                j, o = divmod(base + off - first, n)
                chunks[j].events.append((o, key, kind, value))
    ids = {name: k for k, name in store.keys.items()}
    baseline = {ids[name]: v for name, v in store.values_at(rns, first).items() if name in ids}

    out = sqlite3.connect(path, isolation_level=None)
    try:
        out.execute("PRAGMA page_size=1024")  # a few ticks of one namespace: small pages, a small file
        out.execute("PRAGMA journal_mode=OFF")
        out.executescript(SCHEMA)
        out.execute("BEGIN")
        out.executemany("INSERT INTO meta VALUES (?, ?)", [(k, v) for k, v in store.meta.items() if k not in _NODE_META])
        out.execute("INSERT OR REPLACE INTO meta VALUES ('recording', ?)", (f"net:[{rns.inode}] {times[0]:.3f} .. "
                                                                            f"{times[-1]:.3f}",))
        out.executemany("INSERT INTO keys VALUES (?, ?)", store.keys.items())
        out.execute("INSERT INTO namespaces VALUES (?, ?, ?, ?, ?)", (_ROW, rns.inode, rns.ns_id, 0, total - 1))
        out.execute("INSERT INTO keyframes VALUES (?, ?, ?)", (_ROW, 0, encode_keyframe(baseline)))
        for j, w in enumerate(widths):
            ts = times[j * n:j * n + w]
            out.execute("INSERT INTO tick_chunks VALUES (?, ?, ?, ?)", (j, ts[0], ts[-1], encode_times(ts)))
            if chunks[j].deltas or chunks[j].events:
                out.execute("INSERT INTO chunks VALUES (?, ?, ?)", (_ROW, j, encode_chunk(chunks[j])))
        for table, column in (("names", "identity"), ("sysctls", "data")):
            for tick, data in _in_force_and_within(store, table, column, rns.row, first, last):
                out.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", (_ROW, tick, data))
        out.execute("COMMIT")
        out.execute("VACUUM")
    finally:
        out.close()
    return os.path.getsize(path)


def _in_force_and_within(store: Store, table: str, column: str, row: int, first: int,
                         last: int) -> list[tuple[int, str]]:
    """The row in force at ``first`` (as tick 0) and those changed up to ``last``, renumbered."""
    before = store._rows(f"SELECT tick, {column} FROM {table} WHERE ns = ? AND tick <= ? ORDER BY tick DESC LIMIT 1",
                         (row, first))
    within = store._rows(f"SELECT tick, {column} FROM {table} WHERE ns = ? AND tick > ? AND tick <= ? ORDER BY tick",
                         (row, first, last))
    return [(0, d) for _, d in before] + [(t - first, d) for t, d in within]
