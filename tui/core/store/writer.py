"""Writing a store: one tick at a time, sealed into compressed chunks, kept within its limits.

Crash safety: every tick is one transaction, committed with ``synchronous=FULL`` in WAL mode
(the WAL is fsynced at each commit), so a SIGKILL or a power cut loses at most the tick being
written: one interval. SQLite's WAL frames carry checksums, so a torn last frame is ignored
when the store is opened again; a recorder that starts finds the open chunk of the one that
died and seals it first.

Limits: retention by age (``retain`` seconds) and by size (``max_bytes``, the database and its
WAL together). Data goes in whole keyframe periods (``keyframe_chunks`` chunks), oldest first,
so every namespace still has a keyframe to count from. ``max_page_count`` makes SQLite itself
refuse to grow the file past the budget: the writer then drops the oldest period and retries.

A full disk (``SQLITE_FULL``, or an I/O error with the disk full) rolls the tick back and
raises :class:`StoreFull`: nothing half-written stays, and what was committed stays readable.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import asdict

from ..namespaces import NetNS, SourceStatus
from .codec import DELTA, GAUGE, RESET, Chunk, decode_tick, encode_chunk, encode_keyframe, encode_tick, encode_times
from .schema import FORMAT, connect_write, db_path

__all__ = ["CHUNK_TICKS", "KEYFRAME_CHUNKS", "StoreFull", "StoreWriter", "identity_json"]

CHUNK_TICKS = 60  # one chunk: a minute at 1 s
KEYFRAME_CHUNKS = 10  # a keyframe period: ten minutes at 1 s (what retention drops at a time)
_SQLITE_FULL = 13


class StoreFull(RuntimeError):
    """The disk (or the store's own size limit, with nothing left to drop) refused a write."""


def identity_json(ns: NetNS) -> str:
    """What the store keeps of a namespace's identity and names (the pids but the first
    change all the time and are left out)."""
    d = asdict(ns)
    d["pids"] = list(ns.pids[:1])
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def _disk_free(path: str) -> int:
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return -1
    return st.f_bavail * st.f_frsize


class StoreWriter:
    """The recorder's handle on a store directory (it must hold the directory's lock)."""

    def __init__(self, directory: str, *, interval: float = 1.0, retain: float = 86400.0,
                 max_bytes: int = 256 << 20, chunk_ticks: int = CHUNK_TICKS,
                 keyframe_chunks: int = KEYFRAME_CHUNKS, clock=time.time) -> None:  # type: ignore[no-untyped-def]
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.directory = directory
        self.path = db_path(directory)
        self.retain = retain
        self.max_bytes = max_bytes
        self.clock = clock
        self.con = connect_write(self.path)
        self.page_size = self.con.execute("PRAGMA page_size").fetchone()[0]
        # room for the WAL between two checkpoints (one chunk of commits), the rest for data
        self.wal_allowance = min(max_bytes // 8, 4 << 20)
        self.con.execute(f"PRAGMA max_page_count={max(16, (max_bytes - self.wal_allowance) // self.page_size)}")
        meta = dict(self.con.execute("SELECT key, value FROM meta"))
        if meta and int(meta.get("format", 0)) != FORMAT:
            raise StoreFull(f"{self.path} is a store of format {meta.get('format')}, this synscope writes {FORMAT}")
        self.chunk_ticks = int(meta.get("chunk_ticks", chunk_ticks))
        self.keyframe_chunks = int(meta.get("keyframe_chunks", keyframe_chunks))
        self._write(self._init_meta, interval, not meta)
        self.keys: dict[str, int] = dict(self.con.execute("SELECT name, id FROM keys"))
        # row and key ids are given here, not by SQLite, so that a namespace's first rows and a
        # new key's row go in the tick's one transaction (at 500 namespaces a recorder's start
        # was 500 transactions, each fsynced, and 14 MB of WAL)
        self._next_key = max(self.keys.values(), default=0) + 1
        self._next_row = (self.con.execute("SELECT MAX(id) FROM namespaces").fetchone()[0] or 0) + 1
        self._pending_ops: list[tuple[str, tuple]] = []  # type: ignore[type-arg]  # the next commit's writes
        self._txn_keys: list[str] = []  # keys inserted in the open transaction: forgotten if it rolls back
        self.sealed_notes: list[str] = []
        self.tick = 0  # (set below; the size limit's retention may look at it while sealing)
        self._open_rows: set[int] = set()
        self._write(self._seal_open)  # the open chunk of a recorder that died
        last = self.con.execute("SELECT MAX(tick) FROM (SELECT MAX(last_tick) AS tick FROM namespaces "
                                "UNION SELECT MAX(chunk) * ? + ? FROM tick_chunks)",
                                (self.chunk_ticks, self.chunk_ticks - 1)).fetchone()[0]
        # a new session starts at a fresh chunk (ticks of one chunk are one session's)
        self.tick = 0 if last is None else (last // self.chunk_ticks + 1) * self.chunk_ticks
        self._identity: dict[int, str] = {}
        self._sysctls: dict[int, str] = {}
        self._moved: set[int] = set()  # rows that moved since their last keyframe
        self._entries: dict[int, list[int]] = {}
        self._statuses = self._notes = ""
        self._t = 0.0
        self.last_committed: float | None = None

    # -- the transaction around every write -------------------------------------------------------
    def _write(self, fn, *args):  # type: ignore[no-untyped-def]
        """Run fn in one transaction; on a full disk roll back and raise StoreFull."""
        for attempt in (0, 1):
            try:
                self.con.execute("BEGIN IMMEDIATE")
                self._txn_keys = []
                try:
                    out = fn(*args)
                    self.con.execute("COMMIT")
                    return out
                except BaseException:
                    if self.con.in_transaction:
                        self.con.execute("ROLLBACK")
                    for name in self._txn_keys:  # their rows are gone: a retry inserts them again
                        self.keys.pop(name, None)
                    raise
            except sqlite3.OperationalError as exc:
                if not self._is_full(exc):
                    raise
                if attempt == 0 and self._at_size_limit() and self._drop_oldest_period():
                    continue  # our own limit: the oldest period made room
                raise StoreFull(self._full_message()) from exc
        raise AssertionError("unreachable")

    def _is_full(self, exc: sqlite3.OperationalError) -> bool:
        code = getattr(exc, "sqlite_errorcode", None)
        if code == _SQLITE_FULL or "full" in str(exc):
            return True
        return "disk I/O error" in str(exc) and 0 <= _disk_free(self.path) < (1 << 20)

    def _at_size_limit(self) -> bool:
        pages = self.con.execute("PRAGMA page_count").fetchone()[0]
        cap = self.con.execute("PRAGMA max_page_count").fetchone()[0]
        return pages >= cap - 2

    def _full_message(self) -> str:
        free = _disk_free(self.path)
        upto = time.strftime("%H:%M:%S", time.localtime(self.last_committed)) if self.last_committed else "its start"
        if self._at_size_limit():
            why = f"the store reached its size limit ({self.max_bytes >> 20} MB) with nothing old left to drop"
        else:
            why = f"the disk holding {self.directory} is full ({max(free, 0) // 1024} KB free)"
        return (f"{why}: stopped writing. The store is intact and readable up to {upto} "
                f"(synscope dump {self.directory}); free some space, then start the recorder again")

    # -- meta, keys, namespaces -------------------------------------------------------------------
    def _init_meta(self, interval: float, new: bool) -> None:
        rows = {"interval": str(interval), "host": socket.gethostname()}
        if new:
            rows.update(format=str(FORMAT), chunk_ticks=str(self.chunk_ticks),
                        keyframe_chunks=str(self.keyframe_chunks), created=str(self.clock()))
        self.con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows.items())

    def key_id(self, name: str) -> int:
        k = self.keys.get(name)
        if k is None:
            k = self.keys[name] = self._next_key
            self._next_key += 1
            if self._with_the_tick("INSERT INTO keys (id, name) VALUES (?, ?)", (k, name)):
                self._txn_keys.append(name)  # (a keyframe written in the commit itself)
        return k

    def _with_the_tick(self, sql: str, args: tuple) -> bool:  # type: ignore[type-arg]
        """Write with the tick: now, inside the commit's transaction (True), or queued for it."""
        if self.con.in_transaction:
            self.con.execute(sql, args)
            return True
        self._pending_ops.append((sql, args))
        return False

    def begin(self, t: float) -> int:
        """Start a tick at time t; returns its index."""
        self._t = t
        self._entries = {}
        return self.tick

    def open_namespace(self, ns: NetNS, values: Mapping[str, int]) -> int:
        """A namespace's first sample in this session: its row, names and first keyframe,
        written with the tick (in its commit)."""
        tick = self.tick
        row = self._next_row
        self._next_row += 1
        ident = identity_json(ns)
        self._pending_ops.append(("INSERT INTO namespaces (id, inode, ns_id, first_tick, last_tick) VALUES (?, ?, ?, ?, ?)",
                                  (row, ns.inode, ns.ns_id, tick, tick)))
        self._pending_ops.append(("INSERT INTO names VALUES (?, ?, ?)", (row, tick, ident)))
        self._keyframe(row, tick, values)
        self._identity[row] = ident
        self._open_rows.add(row)
        return row

    def _keyframe(self, row: int, tick: int, values: Mapping[str, int]) -> None:
        kf = {self.key_id(k): v for k, v in values.items()}
        self._with_the_tick("INSERT OR REPLACE INTO keyframes VALUES (?, ?, ?)", (row, tick, encode_keyframe(kf)))

    def names(self, row: int, ns: NetNS) -> None:
        """Discovery may have renamed it (a pod's labels arrived, a container was added)."""
        ident = identity_json(ns)
        if self._identity.get(row) != ident:
            self._identity[row] = ident
            self._pending_ops.append(("INSERT OR REPLACE INTO names VALUES (?, ?, ?)", (row, self.tick, ident)))

    def sysctls(self, row: int, values: Mapping[str, str]) -> None:
        text = json.dumps(dict(sorted(values.items())), separators=(",", ":"))
        if self._sysctls.get(row) != text:
            self._sysctls[row] = text
            self._pending_ops.append(("INSERT OR REPLACE INTO sysctls VALUES (?, ?, ?)", (row, self.tick, text)))

    def moved(self, row: int, deltas: Mapping[str, int], resets: Mapping[str, int] = {},
              gauges: Mapping[str, int] = {}) -> None:
        """This tick's changes of a namespace: counter deltas, counters that went down (with
        their new value), gauges that changed (with their value)."""
        flat: list[int] = []
        for k, d in deltas.items():
            flat += self.key_id(k) * 4 + DELTA, d
        for k, v in resets.items():
            flat += self.key_id(k) * 4 + RESET, v
        for k, v in gauges.items():
            flat += self.key_id(k) * 4 + GAUGE, v
        if flat:
            self._entries[row] = flat
            self._moved.add(row)

    def close_namespace(self, row: int) -> None:
        """Gone (its last process exited, or it was replaced): its last tick was the previous."""
        self._open_rows.discard(row)
        self._identity.pop(row, None)
        self._sysctls.pop(row, None)
        self._moved.discard(row)
        self._pending_ops.append(("UPDATE namespaces SET last_tick = ? WHERE id = ?", (self.tick - 1, row)))

    def source_state(self, statuses: Iterable[SourceStatus], notes: Iterable[str]) -> None:
        st = json.dumps([asdict(s) for s in statuses], separators=(",", ":"))
        if st != self._statuses:
            self._statuses = st
            self._pending_ops.append(("INSERT OR REPLACE INTO statuses VALUES (?, ?)", (self.tick, st)))
        nt = json.dumps(list(notes), separators=(",", ":"))
        if nt != self._notes:
            self._notes = nt
            self._pending_ops.append(("INSERT OR REPLACE INTO notes VALUES (?, ?)", (self.tick, nt)))

    # -- commit, seal, retention ------------------------------------------------------------------
    def commit(self, values_of=None) -> None:  # type: ignore[no-untyped-def]
        """Make the tick durable. At a chunk's end, seal it; at a keyframe period's end, write
        the keyframes of namespaces that moved (``values_of(row)`` gives their values)."""
        tick, t = self.tick, self._t
        keyframes_due = False

        def op() -> None:
            nonlocal keyframes_due
            for sql, args in self._pending_ops:
                self.con.execute(sql, args)
            self.con.execute("INSERT OR REPLACE INTO open_ticks VALUES (?, ?, ?)", (tick, t, encode_tick(self._entries)))
            if self._open_rows:
                self.con.execute(f"UPDATE namespaces SET last_tick = ? WHERE id IN ({','.join(map(str, self._open_rows))})",
                                 (tick,))
            if (tick + 1) % self.chunk_ticks == 0:
                self._seal_open()
                chunk = tick // self.chunk_ticks
                if (chunk + 1) % self.keyframe_chunks == 0 and values_of is not None:
                    keyframes_due = True
                    for row in sorted(self._moved & self._open_rows):
                        values = values_of(row)
                        if values is not None:
                            self._keyframe(row, tick, values)

        self._write(op)
        if keyframes_due:  # only once committed: a retry after a rollback writes them all again
            self._moved.clear()
        self._pending_ops = []
        self.last_committed = t
        self.tick += 1
        if tick % self.chunk_ticks == self.chunk_ticks - 1:
            self._after_seal()

    def _after_seal(self) -> None:
        self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.enforce_limits()

    def _seal_open(self) -> None:
        """Turn the open ticks into one chunk row per namespace that moved, and the times."""
        rows = self.con.execute("SELECT tick, time, data FROM open_ticks ORDER BY tick").fetchall()
        if not rows:
            return
        from .codec import CorruptBlob

        by_chunk: dict[int, list[tuple[int, float, bytes]]] = {}
        for r in rows:
            by_chunk.setdefault(r[0] // self.chunk_ticks, []).append(r)
        for chunk, ticks in by_chunk.items():
            base = chunk * self.chunk_ticks
            n = ticks[-1][0] - base + 1
            times = [0.0] * n
            per_ns: dict[int, Chunk] = {}
            for tick, t, blob in ticks:
                off = tick - base
                times[off] = t
                try:
                    entries = decode_tick(blob)
                except CorruptBlob:
                    self.sealed_notes.append(f"tick {tick}: damaged, skipped")
                    continue
                for ns, flat in entries.items():
                    c = per_ns.get(ns)
                    if c is None:
                        c = per_ns[ns] = Chunk(n, {}, [])
                    for code, value in zip(flat[0::2], flat[1::2]):
                        key, kind = code >> 2, code & 3
                        if kind == DELTA:
                            row = c.deltas.get(key)
                            if row is None:
                                row = c.deltas[key] = array("q", bytes(8 * n))
                            row[off] = value
                        else:
                            c.events.append((off, key, kind, value))
            # a tick missing in the middle (never, but keep times increasing): repeat the previous
            for i in range(1, n):
                if not times[i]:
                    times[i] = times[i - 1]
            if not times[0]:
                times[0] = next((x for x in times if x), 0.0)
            self.con.execute("INSERT OR REPLACE INTO tick_chunks VALUES (?, ?, ?, ?)",
                             (chunk, times[0], times[-1], encode_times(times)))
            self.con.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?)",
                                 [(ns, chunk, encode_chunk(c)) for ns, c in per_ns.items()])
        self.con.execute("DELETE FROM open_ticks")

    def size(self) -> int:
        """Bytes on disk: the database and its WAL."""
        total = 0
        for p in (self.path, self.path + "-wal"):
            try:
                total += os.stat(p).st_size
            except OSError:
                pass
        return total

    def _used(self) -> int:
        pages, free = (self.con.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count"))
        wal = 0
        try:
            wal = os.stat(self.path + "-wal").st_size
        except OSError:
            pass
        return (pages - free) * self.page_size + wal

    def enforce_limits(self) -> None:
        """Drop whole periods older than ``retain``, then the oldest while over 90 % of the size."""
        cutoff = self.clock() - self.retain
        while True:
            oldest = self._oldest_period_end()
            if oldest is None:
                break
            last_time = self.con.execute("SELECT last_time FROM tick_chunks WHERE chunk = ?", (oldest,)).fetchone()
            if last_time is None or last_time[0] >= cutoff:
                break
            if not self._write(self._drop_through, oldest):
                break
        while self._used() > 0.9 * (self.max_bytes - self.wal_allowance) and self._drop_oldest_period():
            pass

    def _oldest_period_end(self) -> int | None:
        first = self.con.execute("SELECT MIN(chunk) FROM tick_chunks").fetchone()[0]
        if first is None:
            return None
        k = self.keyframe_chunks
        end = (first // k + 1) * k - 1
        current = self.tick // self.chunk_ticks
        # only a period this session is past (its keyframes were written at its end), and never
        # the last whole one: what is dropped is the oldest, not the newest
        return end if end < (current // k) * k - k else None

    def _drop_oldest_period(self) -> bool:
        oldest = self._oldest_period_end()
        if oldest is None:
            return False
        dropped = self._write(self._drop_through, oldest) if not self.con.in_transaction else self._drop_through(oldest)
        if dropped:
            self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return bool(dropped)

    def _drop_through(self, chunk: int) -> bool:
        """Delete every chunk up to ``chunk`` (a period's last) and what only they needed."""
        last_tick = (chunk + 1) * self.chunk_ticks - 1
        c = self.con
        gone = c.execute("DELETE FROM tick_chunks WHERE chunk <= ?", (chunk,)).rowcount
        c.execute("DELETE FROM chunks WHERE chunk <= ?", (chunk,))
        c.execute("DELETE FROM open_ticks WHERE tick <= ?", (last_tick,))
        dead = [r[0] for r in c.execute("SELECT id FROM namespaces WHERE last_tick <= ?", (last_tick,))
                if r[0] not in self._open_rows]
        for table in ("names", "keyframes", "sysctls"):
            if dead:
                c.execute(f"DELETE FROM {table} WHERE ns IN ({','.join(map(str, dead))})")
            # keep each namespace's latest row at or before the cut: it still holds after it
            c.execute(f"DELETE FROM {table} WHERE tick <= ? AND (ns, tick) NOT IN "
                      f"(SELECT ns, MAX(tick) FROM {table} WHERE tick <= ? GROUP BY ns)", (last_tick, last_tick))
        if dead:
            c.execute(f"DELETE FROM namespaces WHERE id IN ({','.join(map(str, dead))})")
        for table in ("statuses", "notes"):
            c.execute(f"DELETE FROM {table} WHERE tick < (SELECT MAX(tick) FROM {table} WHERE tick <= ?)", (last_tick,))
        return gone > 0

    def close(self) -> None:
        """Seal the open chunk and close (a clean stop)."""
        try:
            self._write(self._seal_open)
            self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.con.close()
