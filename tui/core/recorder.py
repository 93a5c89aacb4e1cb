"""``synscope record``'s loop: the TUI's Monitor, every tick into a store (tui/core/store).

Per tick it writes the counters that moved in each namespace (deltas; resets and gauges as
values), each namespace's identity and names whenever discovery changes them, the sources'
statuses and the notes when they change, and each namespace's relevant sysctls
(tui.core.sysctl.WATCHED) when first seen and then every ``sysctl_every`` seconds if they
changed. The Monitor's sampler runs with the idle skip (tui/core/idle_skip.py): an idle
namespace costs one small read a tick.

A namespace is one row per (inode, namespace id): a restarted container, even one whose new
namespace got the old inode, starts a new row, never continuing the old one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .idle_skip import IdleSkip
from .monitor import Monitor
from .namespaces import NetNS
from .store.writer import CHUNK_TICKS, KEYFRAME_CHUNKS, StoreWriter

__all__ = ["Recorder", "SYSCTLS_PER_TICK"]

SYSCTLS_PER_TICK = 4  # namespaces whose sysctls are read in one tick (each is a setns round trip)


class Recorder:
    def __init__(self, directory: str, monitor: Monitor | None = None, *, interval: float = 1.0,
                 retain: float = 86400.0, max_bytes: int = 256 << 20, chunk_ticks: int = CHUNK_TICKS,
                 keyframe_chunks: int = KEYFRAME_CHUNKS, sysctl_every: float = 300.0,
                 read_sysctls: Callable[[NetNS], dict[str, str]] | None = None) -> None:
        self.interval = interval
        self.monitor = monitor if monitor is not None else Monitor(idle_skip=IdleSkip())
        self.writer = StoreWriter(directory, interval=interval, retain=retain, max_bytes=max_bytes,
                                  chunk_ticks=chunk_ticks, keyframe_chunks=keyframe_chunks)
        self.sysctl_every = sysctl_every
        self._read_sysctls = read_sysctls if read_sysctls is not None else self._sysctls_of
        self._rows: dict[tuple[int, int], int] = {}  # (inode, ns id) -> store row
        self._inode: dict[int, int] = {}  # row -> inode
        self._last_ns: dict[int, NetNS] = {}
        self._sysctl_due: dict[int, float] = {}
        self.ticks = 0

    def _sysctls_of(self, ns: NetNS) -> dict[str, str]:
        from .sysctl import read_sysctls

        return dict(read_sysctls(ns, reader=self.monitor.sampler.netns_reader, host=ns).values)

    def record_tick(self) -> None:
        """Sample once and commit it (raises StoreFull when the disk is full)."""
        tick = self.monitor.tick()
        t = tick.sample.time
        w = self.writer
        hist = self.monitor.history
        w.begin(t)
        seen: set[tuple[int, int]] = set()
        for ns in tick.namespaces:
            key = (ns.inode, ns.ns_id)
            h = hist.get(ns.inode)
            row = self._rows.get(key)
            if h is None or h.last_time != t:  # not read this tick (a parse error): still there
                if row is not None:
                    seen.add(key)
                continue
            seen.add(key)
            if row is None:  # its first sample: the values are the baseline
                row = self._rows[key] = w.open_namespace(ns, h.values())
                self._inode[row] = ns.inode
                self._last_ns[row] = ns
                self._sysctl_due[row] = 0.0
                continue
            if self._last_ns.get(row) is not ns:
                w.names(row, ns)
                self._last_ns[row] = ns
            if h.last_deltas or h.last_resets or h.last_gauges:
                resets = {}
                if h.last_resets:
                    values = h.values()
                    resets = {k: values.get(k, 0) for k in h.last_resets}
                w.moved(row, h.last_deltas, resets, h.last_gauges)
        for key in [k for k in self._rows if k not in seen]:
            row = self._rows.pop(key)
            w.close_namespace(row)
            self._inode.pop(row, None)
            self._last_ns.pop(row, None)
            self._sysctl_due.pop(row, None)
        w.source_state(tick.statuses, list(dict.fromkeys(tick.notes + tick.sample.notes)))
        self._sysctls(t)
        w.commit(values_of=self._values_of)
        self.ticks += 1

    def _values_of(self, row: int) -> dict[str, int] | None:
        h = self.monitor.history.get(self._inode.get(row, -1))
        return h.values() if h is not None else None

    def _sysctls(self, t: float) -> None:
        due = [row for row, at in self._sysctl_due.items() if at <= t][:SYSCTLS_PER_TICK]
        for row in due:
            self._sysctl_due[row] = t + self.sysctl_every
            ns = self._last_ns.get(row)
            if ns is None:
                continue
            try:
                values = self._read_sysctls(ns)
            except Exception:  # the namespace left, or may not be entered: next time
                continue
            self.writer.sysctls(row, values)

    def run(self, stop: threading.Event, ticks: int | None = None) -> None:
        """Tick every interval until ``stop`` is set (or ``ticks`` ticks). A tick that runs
        late skips the ticks it missed instead of catching up in a burst."""
        self.monitor.start()
        next_at = time.monotonic()
        while not stop.is_set() and (ticks is None or self.ticks < ticks):
            self.record_tick()
            next_at += self.interval
            now = time.monotonic()
            if next_at < now:
                next_at = now + self.interval - ((now - next_at) % self.interval)
            stop.wait(next_at - now)

    def abandon(self) -> None:
        """Stop after a full disk: close without writing (the next recorder seals the rest)."""
        try:
            self.writer.con.close()
        finally:
            self.monitor.close()

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.monitor.close()
