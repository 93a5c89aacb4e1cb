"""UI cost per tick with 500 namespaces (target: median < 50 ms).

The ScriptedSource produces the frames *outside* the measured region (in the app that work
runs in the sampling thread). Before measuring, the source is run for a full history window
(900 ticks: what a session that has been open 15 minutes charts), so the chart draws as
many points as it ever will. Per tick, what is measured:

* **UI thread**: CPU time of the event-loop thread (``time.thread_time``) from
  ``MainScreen._show(frame, detail)`` to the end of the repaint: the incremental table
  update, the detail panel (its changed lines and sparklines), the status line, layout,
  compositor, and painting a chart picture that finished building. This is the time during
  which a key press waits: the target is about it.
* **process**: CPU time of the whole process over the same tick (``time.process_time``, all
  threads), which adds what runs beside the UI thread: the chart's plotext build (a thread
  worker, at most every 3 s of samples or on a new namespace/counter) and the detail worker.
* **idle**: the same measurement around a ``pilot.pause()`` in which nothing changed: the
  harness's own cost, included in both figures above once per pause the tick took (one,
  as measured: a pause waits until the app is idle, detail and chart workers included).

The scenario is a worst case: ~10% of the 500 namespaces light up every tick, and nearly
every namespace moved recently, so every visible row's "moved N s ago" changes every tick.
Nobody pressed a key: the selection is automatic (it stays on a namespace in trouble, see
widgets/selection.py); "selection moved" says how often it moved.

After the ticks, the **down arrow** is pressed N times (the user walking down the table):
each press is a new namespace, whose detail and chart are built anew; measured up to the
end of the repaint with the new chart, on the UI thread and for the process.

The machine is shared (2 CPUs, other engineers' tests): ``--repeat N`` runs the whole bench
N times in fresh apps on the same source and prints each run, then the median and range.

Run: ``/work/venv/bin/python bench/bench_ui.py [--namespaces 500] [--ticks 40] [--size 200x60] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from tui.app import SynscopeApp
from tui.core.history import DEFAULT_CAPACITY
from tui.scripted_source import ScriptedSource


def make_source(namespaces: int, warmup: int) -> ScriptedSource:
    story = 11  # the scripted incident's own namespaces
    return ScriptedSource(extra=max(0, namespaces - story), warmup=warmup)


def p90(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.9) - 1)]


class Clock:
    """CPU of this (the UI) thread and of the whole process, in ms, since start()."""

    def start(self) -> None:
        self.t, self.p = time.thread_time(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return (time.thread_time() - self.t) * 1000, (time.process_time() - self.p) * 1000


async def settle(app: SynscopeApp, pilot) -> int:  # type: ignore[no-untyped-def]
    """Until the workers (detail, chart) are done and their results painted; the pauses it took."""
    for n in range(1, 21):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not app.main.chart.building and not app.workers:
            return n
    return 20


async def bench(source: ScriptedSource, namespaces: int, ticks: int, size: tuple[int, int], keys: int,
                sockets: bool = False) -> dict:
    app = SynscopeApp(source, autotick=False)
    ui: list[float] = []
    pauses: list[int] = []
    proc: list[float] = []
    idle: list[float] = []
    press_ui: list[float] = []
    press_proc: list[float] = []
    points: list[int] = []
    lit: list[int] = []
    moved = 0
    clock = Clock()
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        assert len(app.main.frame.namespaces) == namespaces, len(app.main.frame.namespaces)
        if sockets:  # the sockets pane open: its read (a worker) and its repaint every tick
            await pilot.press("l")
            await settle(app, pilot)
        chart = app.main.chart
        builds0 = chart.builds
        for _ in range(ticks):
            frame = source.tick()  # the sampling thread's work: not the UI's
            inode = app.main.table.selected_inode
            detail = source.detail(inode) if inode is not None else None
            lit.append(sum(1 for s in frame.summaries.values() if s.lit))
            clock.start()
            app.main._show(frame, detail)
            pauses.append(await settle(app, pilot))
            u, p = clock.stop()
            ui.append(u)
            proc.append(p)
            clock.start()
            await pilot.pause()  # nothing changed: what the harness itself costs
            idle.append(clock.stop()[0])
            moved += app.main.table.selected_inode != inode
        chart_builds = chart.builds - builds0
        await pilot.press("home")  # walk down from the worst row: namespaces with counters to chart
        await settle(app, pilot)
        for _ in range(keys):
            clock.start()
            await pilot.press("down")
            await settle(app, pilot)
            u, p = clock.stop()
            press_ui.append(u)
            press_proc.append(p)
            points.append(chart.points if chart.display and app.main.chart_on else -1)
    return {
        "namespaces": namespaces, "ticks": ticks, "lit_per_tick": statistics.median(lit),
        "ui_median": statistics.median(ui), "ui_p90": p90(ui), "pauses": max(pauses),
        "proc_median": statistics.median(proc), "proc_p90": p90(proc),
        "idle_median": statistics.median(idle),
        "selection_moved": moved, "chart_builds": chart_builds,
        "keys": keys, "chart_points": statistics.median(points) if points else 0,
        "press_ui_median": statistics.median(press_ui) if press_ui else 0.0,
        "press_proc_median": statistics.median(press_proc) if press_proc else 0.0,
        "press_proc_max": max(press_proc) if press_proc else 0.0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--namespaces", type=int, default=500)
    p.add_argument("--ticks", type=int, default=40)
    p.add_argument("--size", default="200x60")
    p.add_argument("--repeat", type=int, default=1, help="run the bench N times (fresh app each time)")
    p.add_argument("--warmup", type=int, default=DEFAULT_CAPACITY,
                   help="ticks of history before measuring (default: the full window; building it "
                        "takes ~1.5 min at 500 namespaces)")
    p.add_argument("--keys", type=int, default=10, help="down-arrow presses measured after the ticks")
    p.add_argument("--sockets", action="store_true", help="with the sockets pane (l) open")
    a = p.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    t0 = time.perf_counter()
    source = make_source(a.namespaces, a.warmup)
    print(f"{a.warmup} ticks of history for {a.namespaces} namespaces built in "
          f"{time.perf_counter() - t0:.0f} s (not measured)")
    runs = []
    for i in range(max(1, a.repeat)):
        r = asyncio.run(bench(source, a.namespaces, a.ticks, (w, h), a.keys, a.sockets))
        runs.append(r)
        print(f"UI tick at {r['namespaces']} namespaces, {w}x{h}, {r['ticks']} ticks, "
              f"~{r['lit_per_tick']:.0f} rows lit per tick" + (f" (run {i + 1}/{a.repeat})" if a.repeat > 1 else "") + ":")
        print(f"  UI thread   median {r['ui_median']:6.1f} ms   p90 {r['ui_p90']:6.1f} ms   (CPU; target: median < 50 ms)")
        print(f"  process     median {r['proc_median']:6.1f} ms   p90 {r['proc_p90']:6.1f} ms   "
              f"(CPU, all threads: + {r['chart_builds']} chart builds in {r['ticks']} ticks)")
        print(f"  idle pause  median {r['idle_median']:6.1f} ms   (harness only; each tick took at most "
              f"{r['pauses']} pause(s), each in both figures above)")
        print(f"  selection moved in {r['selection_moved']} of {r['ticks']} ticks (automatic selection)")
        chart = ("chart hidden at this size" if r["chart_points"] < 0
                 else f"chart of {r['chart_points']:.0f} points (median)")
        print(f"  down arrow  median {r['press_ui_median']:6.1f} ms UI thread, {r['press_proc_median']:6.1f} ms "
              f"process (max {r['press_proc_max']:.1f}): new detail + {chart}")
    if len(runs) > 1:
        for key, label in (("ui_median", "UI thread"), ("proc_median", "process"),
                           ("press_ui_median", "down arrow, UI thread"), ("press_proc_median", "down arrow, process")):
            vals = [r[key] for r in runs]
            print(f"over {len(runs)} runs, {label} median: {statistics.median(vals):.1f} ms "
                  f"(runs {min(vals):.1f} .. {max(vals):.1f})")


if __name__ == "__main__":
    main()
