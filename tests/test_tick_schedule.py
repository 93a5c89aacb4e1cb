"""One chain of ticks, however many ticks a key asks for.

A key that wants its result at once (a replay step, play/pause, the screen's first paint)
calls ``request_tick``. Each finished tick schedules the next one; if the timer already
pending were not stopped, every such key would start one more chain of ticks, and replay
"playing at 1x" ran at several times real speed (seen in tmux: 8 recorded seconds in 3).
The source here is the scripted node, counting its ticks (no kernel or timing of its own).
"""

from __future__ import annotations

import asyncio
import time

from tui.app import SynscopeApp
from tui.scripted_source import ScriptedSource


class CountingSource(ScriptedSource):
    def __init__(self) -> None:
        super().__init__(interval=0.2)
        self.ticks = 0

    def tick(self):  # type: ignore[no-untyped-def]
        self.ticks += 1
        return super().tick()


async def test_extra_ticks_asked_for_do_not_start_more_chains(settle):
    source = CountingSource()
    app = SynscopeApp(source, autotick=True)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        for _ in range(6):  # six keys that each want a tick now
            app.request_tick()
            await settle(pilot, rounds=1)
        before, t0 = source.ticks, time.monotonic()
        await asyncio.sleep(2.0)
        ticks, took = source.ticks - before, time.monotonic() - t0
    # one chain: about took / 0.2 ticks (fewer on a loaded machine, never more than one per
    # interval and one in flight); seven chains would make about seven times as many
    assert ticks <= took / 0.2 + 2, (ticks, took)
    assert ticks >= 3, (ticks, took)  # and the chain still runs
