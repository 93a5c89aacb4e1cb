#!/usr/bin/env python3
"""Replay on a 24 h store: open it at a moment, step through it in the TUI, and the live
TUI's past.

    python bench/bench_replay.py [--hours 24] [-n 111] [--busy 11] [--steps 20] [--size 200x60]

Writes the store of bench/bench_store_read.py (N namespaces over HOURS at 1 tick a second with
the real StoreWriter, BUSY of them with 25 counters moving every tick). Then:

* **open**: ``ReplaySource(store, at)`` at 5 moments over the day, a fresh Store each (cold):
  what ``synscope replay --at WHEN`` does before its first frame. Target: 1 s or less.
* **steps** in the real App at SIZE (Pilot, headless), the selected namespace a busy one: each
  replay key pressed STEPS times (``.`` a tick forward, ``,`` a tick back, ``]`` a minute
  forward). Per press: CPU of the UI thread (``time.thread_time`` on the event loop's thread,
  from the key to the repaint: the time a key press waits), and the wall time until the new
  moment is on screen (the store's read runs in the sampling worker, beside the UI thread).
  Target: at most 50 ms on the UI thread.
* **the live TUI's past**: :func:`tui.core.store.past.load_past` for the N namespaces (all
  matched by inode and namespace id), which the live TUI runs once before its first read
  (after the first frame, the discovered names, is on screen). Target for the first frame:
  1 s or less with a 24 h store present.

No root needed; nothing is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_store_read import write  # noqa: E402

from tui.app import SynscopeApp  # noqa: E402
from tui.core.namespaces import NetNS  # noqa: E402
from tui.core.store.past import load_past  # noqa: E402
from tui.core.store.reader import Store  # noqa: E402
from tui.replay_source import ReplaySource  # noqa: E402

BUSY_INODE = 4026540000  # bench_store_read's first namespace: a busy one


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def steps(path: str, at: float, size: tuple[int, int], n: int) -> dict[str, tuple[list[float], list[float]]]:
    app = SynscopeApp(ReplaySource(path, at), autotick=False)
    out: dict[str, tuple[list[float], list[float]]] = {}
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        app.main.table.select_inode(BUSY_INODE)
        await settle(app, pilot)
        for key in ("full_stop", "comma", "right_square_bracket"):
            ui, wall = [], []
            for _ in range(n):
                before = app.main.frame.time if app.main.frame else None
                t0, w0 = time.thread_time(), time.perf_counter()
                await pilot.press(key)
                await settle(app, pilot)
                ui.append((time.thread_time() - t0) * 1e3)
                wall.append((time.perf_counter() - w0) * 1e3)
                assert app.main.frame.time != before, f"{key}: the moment did not change"
            out[key] = (ui, wall)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24)
    ap.add_argument("-n", type=int, default=111)
    ap.add_argument("--busy", type=int, default=11)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--size", default="200x60")
    args = ap.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    tmp = tempfile.mkdtemp(prefix="synscope-bench-replay-")
    try:
        t0 = time.perf_counter()
        start, ticks = write(tmp, args.hours, args.n, args.busy)
        mb = os.path.getsize(os.path.join(tmp, "synscope.db")) / 2**20
        print(f"wrote {args.hours:g} h of {args.n} namespaces ({args.busy} busy) in {time.perf_counter() - t0:.0f} s: "
              f"{mb:.1f} MB")
        opens = []
        for i in range(5):
            at = start + (i + 0.5) * ticks / 5
            t0 = time.perf_counter()
            src = ReplaySource(tmp, at)
            src.tick()
            opens.append(time.perf_counter() - t0)
            assert len(src.moment.namespaces) == args.n
            src.close()
        print(f"  open at a moment (ReplaySource + its first frame, cold): median {statistics.median(opens) * 1e3:.0f} ms, "
              f"max {max(opens) * 1e3:.0f} ms (target <= 1 s)")
        got = asyncio.run(steps(tmp, start + ticks / 2, size, args.steps))  # type: ignore[arg-type]
        words = {"full_stop": "one tick forward (.)", "comma": "one tick back (,)", "right_square_bracket": "1 min forward (])"}
        for key, (ui, wall) in got.items():
            print(f"  {words[key]:22} UI thread median {statistics.median(ui):5.1f} ms, max {max(ui):5.1f} ms; "
                  f"on screen after median {statistics.median(wall):5.0f} ms (target: <= 50 ms on the UI thread, {args.size})")
        s = Store(tmp)
        span = s.span()
        s.close()
        assert span is not None
        live = [NetNS(4026540000 + i, "pod", f"shop/web-{i}", pod=f"web-{i}", k8s_namespace="shop", ns_id=i + 1)
                for i in range(args.n)]
        loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            past = load_past(tmp, live, 900, explicit=True, now=span[1] + 1)
            loads.append(time.perf_counter() - t0)
            assert len(past.histories) == args.n, past.note
        print(f"  live TUI's past (load_past, {args.n} namespaces matched): median {statistics.median(loads) * 1e3:.0f} ms, "
              f"max {max(loads) * 1e3:.0f} ms: after the first frame (the names), before the first read")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
