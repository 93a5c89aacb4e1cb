"""One chain of ticks, however many ticks a key asks for.

A key that wants its result at once (a replay step, play/pause, the screen's first paint)
calls ``request_tick``. Each finished tick schedules the next one; if the timer already
pending were not stopped, every such key would start one more chain of ticks, and replay
"playing at 1x" ran at several times real speed (seen in tmux: 8 recorded seconds in 3).
The source here is that replay: the lab's recording (tests/fixtures/recordings) playing at
1x from its start, counting its ticks and the recorded tick each one showed (no kernel or
timing of its own); the App ticks every INTERVAL, not at the recording's 1 s.
"""

from __future__ import annotations

import asyncio
import time

from conftest import LAB_RECORDING

from tui.app import SynscopeApp
from tui.replay_source import ReplaySource

INTERVAL = 0.2


class CountingSource(ReplaySource):
    def __init__(self) -> None:
        super().__init__(str(LAB_RECORDING), 0.0, utc=True)
        self.play(1)
        self.ticks = 0
        self.shown: list[int] = []  # the recorded tick each App tick showed

    def tick(self):  # type: ignore[no-untyped-def]
        self.ticks += 1
        frame = super().tick()
        self.shown.append(self.moment.tick)
        return frame


async def test_extra_ticks_asked_for_do_not_start_more_chains(settle):
    source = CountingSource()
    first, last = source.span
    # room for every tick below (about 20): playing never reaches the recording's end
    assert last - first > 30 * float(source.store.meta.get("interval", 1.0))
    app = SynscopeApp(source, autotick=True, interval=INTERVAL)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        for _ in range(6):  # six keys that each want a tick now
            app.request_tick()
            await settle(pilot, rounds=1)
        before, t0 = source.ticks, time.monotonic()
        await asyncio.sleep(2.0)
        ticks, took = source.ticks - before, time.monotonic() - t0
    # one chain: about took / INTERVAL ticks (fewer on a loaded machine, never more than one per
    # interval and one in flight); seven chains would make about seven times as many
    assert ticks <= took / INTERVAL + 2, (ticks, took)
    assert ticks >= 3, (ticks, took)  # and the chain still runs
    # playing at 1x: each tick showed the next recorded tick, none skipped or shown twice
    assert source.shown == list(range(source.shown[0], source.shown[0] + len(source.shown))), source.shown
