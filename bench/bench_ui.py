"""UI cost per tick with 500 namespaces, replaying a real recording (target: median < 50 ms).

The data is ``tests/fixtures/recordings/bench-500.synscope``: the real ``synscope record``
(1 s ticks, ~17 min) of 500 real namespaces made by ``scripts/make_bench_recording.py`` — the
host, 40 kubelet-labelled pods on a private Docker engine and 459 ``ip netns`` ones — with
real, bounded traffic: each second a new rotating batch of 25 namespaces gets connects to a
backlog-1 listener that never accepts (ListenOverflows/ListenDrops, then one SYN retransmit
each: a batch is lit ~2 ticks), and 5 namespaces at a time hold a slow reader (delayed
ACKs). So ~50-55 rows (~10%) are lit at every tick, different ones tick by tick, and most
namespaces moved in the last minute. What the bench prints as "rows lit per tick" is counted
in the frames it shows.

The replay (:class:`tui.replay_source.ReplaySource`, as ``synscope replay`` runs it) is opened
at a moment with a full history window before it (900 ticks, what a session open for 15
minutes charts), so the chart draws as many points as it ever will; each measured tick steps
it one recorded tick forward. Each run opens the recording afresh at the same moment, so
``--repeat`` runs see the same ticks. The source produces the frames *outside* the measured
region (in the app that work runs in the sampling thread). Per tick, what is measured:

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

Nobody pressed a key: the selection is automatic (it stays on a namespace in trouble, see
widgets/selection.py); "selection moved" says how often it moved.

After the ticks, the **down arrow** is pressed N times (the user walking down the table):
each press is a new namespace, whose detail and chart are built anew; measured up to the
end of the repaint with the new chart, on the UI thread and for the process.

``--sockets`` (the sockets pane, ``l``, open) runs on the scripted source instead
(:class:`tui.scripted_source.ScriptedSource`, generated text, ``--namespaces`` and
``--warmup`` apply to it only): sockets are not recorded, and in replay the pane only says
so, which would measure nothing.

The machine is shared (2 CPUs, other engineers' tests): ``--repeat N`` runs the whole bench
N times in fresh apps on the same data and prints each run, then the median and range.

Run: ``.venv/bin/python bench/bench_ui.py [--ticks 40] [--size 200x60] [--repeat 3] [--recording FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from tui.app import SynscopeApp
from tui.core.history import DEFAULT_CAPACITY
from tui.replay_source import ReplaySource
from tui.scripted_source import ScriptedSource

RECORDING = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "recordings" / "bench-500.synscope"
LEAD_IN = 10  # ticks after the window's first: the recorder's first ticks came before the traffic


def replay_opener(path: str, ticks: int) -> Callable[[], ReplaySource]:
    """A function opening the recording at the measured ticks' start (a full window before it)."""
    probe = ReplaySource(path, capacity=1)
    try:
        store = probe.store
        first = store.tick_at(probe.span[0])
        last = store.tick_at(probe.span[1])
        assert first is not None and last is not None
        start = first[0] + DEFAULT_CAPACITY + LEAD_IN
        if start + ticks > last[0]:
            raise SystemExit(f"{path}: {last[0] - first[0] + 1} ticks, fewer than a {DEFAULT_CAPACITY}-tick window "
                             f"+ {LEAD_IN} + {ticks} measured")
        at = store.tick_times(start, start)[0][1]
    finally:
        probe.close()
    return lambda: ReplaySource(path, at=at, capacity=DEFAULT_CAPACITY)


def scripted_opener(namespaces: int, warmup: int) -> Callable[[], ScriptedSource]:
    story = 11  # the scripted incident's own namespaces
    source = ScriptedSource(extra=max(0, namespaces - story), warmup=warmup)
    return lambda: source  # one source for every run: its history is built once (~1.5 min)


def advance(source: ReplaySource | ScriptedSource):  # type: ignore[no-untyped-def]
    """The next tick's frame (the sampling thread's work, not the UI's)."""
    if isinstance(source, ReplaySource):
        source.step(1)
    return source.tick()


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


async def bench(source: ReplaySource | ScriptedSource, ticks: int, size: tuple[int, int], keys: int,
                sockets: bool = False, namespaces: int | None = None) -> dict:
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
        shown = len(app.main.frame.namespaces)
        assert namespaces is None or shown == namespaces, shown
        if sockets:  # the sockets pane open: its read (a worker) and its repaint every tick
            await pilot.press("l")
            await settle(app, pilot)
        chart = app.main.chart
        builds0 = chart.builds
        for _ in range(ticks):
            before = app.main.frame.time
            frame = advance(source)  # the sampling thread's work: not the UI's
            assert frame.time > before, "the source did not move on (the recording ended?)"
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
        "namespaces": shown, "ticks": ticks, "lit_per_tick": statistics.median(lit),
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
    p.add_argument("--recording", default=str(RECORDING), help="the recording replayed (default: %(default)s)")
    p.add_argument("--ticks", type=int, default=40)
    p.add_argument("--size", default="200x60")
    p.add_argument("--repeat", type=int, default=1, help="run the bench N times (fresh app each time)")
    p.add_argument("--keys", type=int, default=10, help="down-arrow presses measured after the ticks")
    p.add_argument("--sockets", action="store_true",
                   help="with the sockets pane (l) open, on the scripted source (sockets are not recorded)")
    p.add_argument("--namespaces", type=int, default=500, help="--sockets only: the scripted source's namespaces")
    p.add_argument("--warmup", type=int, default=DEFAULT_CAPACITY,
                   help="--sockets only: ticks of scripted history before measuring (default: the full window; "
                        "building it takes ~1.5 min at 500 namespaces)")
    a = p.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    t0 = time.perf_counter()
    if a.sockets:
        opener: Callable[[], ReplaySource | ScriptedSource] = scripted_opener(a.namespaces, a.warmup)
        expect: int | None = a.namespaces
        print(f"scripted source (--sockets): {a.warmup} ticks of history for {a.namespaces} namespaces built in "
              f"{time.perf_counter() - t0:.0f} s (not measured)")
    else:
        opener, expect = replay_opener(a.recording, a.ticks), None
        print(f"replaying {a.recording}")
    runs = []
    for i in range(max(1, a.repeat)):
        t0 = time.perf_counter()
        source = opener()
        if isinstance(source, ReplaySource):
            print(f"opened at {source.clock(source.moment.time)} with a {DEFAULT_CAPACITY}-tick window in "
                  f"{time.perf_counter() - t0:.1f} s (not measured)")
        try:
            r = asyncio.run(bench(source, a.ticks, (w, h), a.keys, a.sockets, expect))
        finally:
            if isinstance(source, ReplaySource):
                source.close()
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
