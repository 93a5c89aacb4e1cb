"""A detail computation that fails must not start a second tick chain.

It used to post SampleFailed, whose handler schedules the next tick: every failed detail
(a key press, a selection move) started one more timer chain beside the first, and the
source was then read several times per interval. Now a detail failure has its own message,
which says what failed and schedules nothing.

The source is the lab's recording (tests/fixtures/recordings), playing at 1x so that each
tick reads the next recorded tick from the store, with a detail() that raises: a fake
failure, because nothing on the live node makes build_detail fail on demand. The ticks are
real App ticks on their own timer (autotick on, every INTERVAL rather than the recording's
1 s), so this test measures time: it asserts only what the design guarantees whatever the
machine's load (a tick starts at least one interval after the previous one started), never
that ticks come on time.
"""

from __future__ import annotations

import time

from conftest import LAB_RECORDING

from tui.app import SynscopeApp
from tui.replay_source import ReplaySource

INTERVAL = 0.25


class DetailAlwaysFails(ReplaySource):
    """The lab's recording from its start, playing; records when each tick starts; every
    detail() raises."""

    def __init__(self) -> None:
        super().__init__(str(LAB_RECORDING), 0.0, utc=True)
        self.play(1)
        self.tick_starts: list[float] = []
        self.detail_calls = 0

    def tick(self):  # type: ignore[no-untyped-def]
        self.tick_starts.append(time.monotonic())
        return super().tick()

    def detail(self, inode, **kw):  # type: ignore[no-untyped-def]
        self.detail_calls += 1
        raise RuntimeError("detail broke")


async def test_repeated_detail_failures_keep_one_tick_per_interval():
    source = DetailAlwaysFails()
    start = source.moment.tick
    app = SynscopeApp(source, interval=INTERVAL)  # ticks by itself, every INTERVAL
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(100):  # bounded: the first frame, within 10 s
            await pilot.pause(0.1)
            if app.latest is not None:
                break
        assert app.latest is not None, "no frame: a failing detail must not cost the table its frame"

        # ten detail computations outside the tick ('a' recomputes the detail), each failing
        for _ in range(10):
            calls = source.detail_calls
            await pilot.press("a")
            for _ in range(50):
                await pilot.pause(0.02)
                if source.detail_calls > calls:
                    break
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert source.detail_calls >= 10

        # now watch the tick chain for a while
        first = len(source.tick_starts)
        window_start = time.monotonic()
        await pilot.pause(8 * INTERVAL)
        window = time.monotonic() - window_start
        starts = source.tick_starts[first:]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert starts, "ticking stopped"
        assert source.moment.tick > start  # real ticks: the replay went on through the recording
        # one chain: the next tick starts one interval after the previous one started (or
        # later, on a loaded machine). Eleven chains, as before the fix, gave gaps of ~10 ms.
        assert min(gaps, default=INTERVAL) >= 0.8 * INTERVAL, gaps
        assert len(starts) <= window / INTERVAL + 1, (len(starts), window)
        # and the status line says what failed: the detail, not the sampling
        assert app.last_error == "" and app.main.detail_error == "RuntimeError: detail broke"
        status = app.main.status.render_info(app.main.status.info).plain
        assert "detail failed: RuntimeError: detail broke" in status and "sampling failed" not in status
