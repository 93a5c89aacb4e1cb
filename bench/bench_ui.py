"""UI cost per tick with 500 namespaces (target: median < 50 ms).

The ScriptedSource produces the frames *outside* the measured region (in the app that work
runs in the sampling thread); what is measured is what the UI thread pays per tick:

* update: ``SynscopeApp._show(frame, detail)`` — the incremental table update (update_cell
  only where a cell changed, re-sort only when the order changed), the detail panel's
  Sparklines and the status line;
* update+paint: the same plus the refresh that follows (layout, compositor, rendering of the
  changed regions), up to the end of ``pilot.pause()``. Measured as CPU time of the process
  (``time.process_time``; no worker thread runs meanwhile), because ``pilot.pause()`` also
  *waits* for the next screen refresh — wall time is printed too. ``pilot.pause()`` alone
  costs ~5 ms of CPU (the "idle" line), which is harness, not app.

The scenario is a worst case: ~10% of the 500 namespaces light up every tick, and nearly every
namespace moved recently, so every visible row's "moved N s ago" changes every tick.

Run: ``/work/venv/bin/python bench/bench_ui.py [--namespaces 500] [--ticks 40] [--size 200x60]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tui.app import SynscopeApp
from tui.source import ScriptedSource


async def bench(namespaces: int, ticks: int, size: tuple[int, int]) -> dict[str, float]:
    story = 11  # the scripted incident's own namespaces
    source = ScriptedSource(extra=max(0, namespaces - story), warmup=30)
    app = SynscopeApp(source, autotick=False)
    update: list[float] = []
    full: list[float] = []
    wall: list[float] = []
    idle: list[float] = []
    lit: list[int] = []
    async with app.run_test(size=size) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert len(app.frame.namespaces) == namespaces, len(app.frame.namespaces)
        for _ in range(ticks):
            frame = source.tick()  # the sampling thread's work: not the UI's
            inode = app.main.table.selected_inode
            detail = source.detail(inode) if inode is not None else None
            lit.append(sum(1 for s in frame.summaries.values() if s.lit))
            w0, t0 = time.perf_counter(), time.process_time()
            app._show(frame, detail)
            t1 = time.process_time()
            await pilot.pause()
            t2, w2 = time.process_time(), time.perf_counter()
            update.append((t1 - t0) * 1000)
            full.append((t2 - t0) * 1000)
            wall.append((w2 - w0) * 1000)
            i0 = time.process_time()
            await pilot.pause()  # nothing changed: what the harness itself costs
            idle.append((time.process_time() - i0) * 1000)
    return {
        "namespaces": namespaces,
        "ticks": ticks,
        "lit_per_tick": statistics.median(lit),
        "update_median_ms": statistics.median(update),
        "update_p90_ms": sorted(update)[int(len(update) * 0.9) - 1],
        "update_paint_median_ms": statistics.median(full),
        "update_paint_p90_ms": sorted(full)[int(len(full) * 0.9) - 1],
        "wall_median_ms": statistics.median(wall),
        "idle_median_ms": statistics.median(idle),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--namespaces", type=int, default=500)
    p.add_argument("--ticks", type=int, default=40)
    p.add_argument("--size", default="200x60")
    a = p.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    r = asyncio.run(bench(a.namespaces, a.ticks, (w, h)))
    print(f"UI tick at {r['namespaces']} namespaces, {w}x{h}, {r['ticks']} ticks, "
          f"~{r['lit_per_tick']:.0f} rows lit per tick:")
    print(f"  update        median {r['update_median_ms']:6.1f} ms   p90 {r['update_p90_ms']:6.1f} ms")
    print(f"  update+paint  median {r['update_paint_median_ms']:6.1f} ms   p90 {r['update_paint_p90_ms']:6.1f} ms  (CPU)")
    print(f"  idle pause    median {r['idle_median_ms']:6.1f} ms  (harness only)")
    print(f"  wall clock    median {r['wall_median_ms']:6.1f} ms  (includes waiting for the next refresh)")
    print("  target: median < 50 ms")


if __name__ == "__main__":
    main()
