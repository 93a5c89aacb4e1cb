#!/usr/bin/env python3
"""Reading a 24 h store: open it at a moment, and step a tick, as replay will.

    python bench/bench_store_read.py [--hours 24] [-n 111] [--busy 11]

Writes a store of N namespaces over HOURS at 1 tick a second with the real StoreWriter (its
fsync turned off, or writing a day would take as long as the disk's flushes), BUSY of them
with 25 counters moving every tick (small deltas, as the bench_recorder lab's busy
namespaces have), the rest idle. Then, on that store: open it and rebuild the History at 10
moments spread over the day (a fresh Store each: cold), rebuild it one tick earlier (warm:
the decoded chunks are cached), step 5 ticks forward (Store.advance) and 6 back
(Store.retreat). No root needed; nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.core.namespaces import NetNS  # noqa: E402
from tui.core.store.reader import Store  # noqa: E402
from tui.core.store.writer import StoreWriter  # noqa: E402

BUSY_KEYS = [f"TcpExt.K{i}" for i in range(20)] + ["Tcp.InSegs", "Tcp.OutSegs", "Ip.InReceives", "Ip.OutRequests",
                                                     "TcpExt.DelayedACKs"]


class SyntheticStore:
    """A store written tick by tick with the real StoreWriter, as a recorder would: BUSY of
    the namespaces with 25 counters moving every tick, the rest idle."""

    def __init__(self, directory: str, hours: float, n: int, busy: int, namespaces: list[NetNS] | None = None) -> None:
        self.w = StoreWriter(directory, max_bytes=1 << 30, retain=hours * 3600 + 3600)
        self.w.con.execute("PRAGMA synchronous=OFF")
        self.base = {k: 1000 for k in BUSY_KEYS} | {"Tcp.CurrEstab": 3, "Tcp.ActiveOpens": 10}
        if namespaces is None:  # fake ones, with inodes no live namespace has
            namespaces = [NetNS(4026540000 + i, "pod", f"shop/web-{i}", pod=f"web-{i}", k8s_namespace="shop",
                                ns_id=i + 1) for i in range(n)]
        self.rows = [self.w.open_namespace(ns, self.base) for ns in namespaces]
        self.busy = busy
        self.rnd = random.Random(12)
        self.last: float | None = None  # the time of the last tick written

    def tick(self, t: float) -> None:
        self.w.begin(t)
        for r in self.rows[:self.busy]:
            self.w.moved(r, {k: self.rnd.randrange(1, 40) for k in BUSY_KEYS},
                         gauges={"Tcp.CurrEstab": self.rnd.randrange(2, 9)})
        self.w.commit(values_of=lambda row: self.base)
        self.last = t

    def catch_up(self) -> None:
        """Ticks a second apart until the last one is within a second of now: a running recorder."""
        assert self.last is not None
        while self.last + 1 <= time.time():
            self.tick(self.last + 1)

    def close(self) -> None:
        self.w.close()


def write(directory: str, hours: float, n: int, busy: int) -> tuple[float, int]:
    start = time.time() - hours * 3600
    store = SyntheticStore(directory, hours, n, busy)
    ticks = int(hours * 3600)
    for tick in range(ticks):
        store.tick(start + tick)
    store.close()
    return start, ticks


def _p90(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(0.9 * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("-n", type=int, default=111)
    ap.add_argument("--busy", type=int, default=11)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="synscope-bench-read-")
    try:
        t0 = time.perf_counter()
        start, ticks = write(tmp, args.hours, args.n, args.busy)
        size = os.path.getsize(os.path.join(tmp, "synscope.db"))
        print(f"wrote {args.hours:g} h of {args.n} namespaces ({args.busy} busy) in {time.perf_counter() - t0:.0f} s: "
              f"{size / 2**20:.1f} MB")
        opens, steps, backs, rebuilds = [], [], [], []
        for i in range(10):
            at = start + (i + 0.5) * ticks / 10
            t0 = time.perf_counter()
            s = Store(tmp)
            m = s.history_at(at)
            opens.append(time.perf_counter() - t0)
            assert len(m.namespaces) == args.n and m.history.get(4026540000).ticks == min(900, m.tick)
            t0 = time.perf_counter()
            s.history_at(m.time - 1)  # a rebuild one tick earlier (the decoded chunks are cached)
            rebuilds.append(time.perf_counter() - t0)
            here = m.tick
            for _ in range(5):
                t0 = time.perf_counter()
                m = s.advance(m)  # a step forward: one tick appended
                steps.append(time.perf_counter() - t0)
                assert m is not None
            for _ in range(6):  # and back, one tick further than it went
                t0 = time.perf_counter()
                m = s.retreat(m)  # a step back: the newest tick undone, the one that left read back
                backs.append(time.perf_counter() - t0)
                assert m is not None
            assert m.tick == here - 1 and len(m.namespaces) == args.n
            s.close()

        def ms(xs: list[float]) -> str:
            return f"median {statistics.median(xs) * 1e3:.1f} ms, p90 {_p90(xs) * 1e3:.1f} ms"

        fwd, back, rebuild = statistics.median(steps), statistics.median(backs), statistics.median(rebuilds)
        print(f"  open + History at a moment (cold): median {statistics.median(opens) * 1e3:.0f} ms, "
              f"max {max(opens) * 1e3:.0f} ms (target <= 1 s)")
        print(f"  one tick forward (Store.advance): {ms(steps)}")
        print(f"  one tick back (Store.retreat): {ms(backs)}: {back / fwd:.2f}x a step forward, "
              f"{back / rebuild:.3f}x a rebuild (the UI's budget per step: 50 ms)")
        print(f"  a rebuild one tick earlier (history_at, warm cache): {ms(rebuilds)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
