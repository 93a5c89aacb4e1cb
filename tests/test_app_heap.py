"""The app freezes its start-up heap after the first painted frame, and unfreezes it at exit.

Why: a full cycle collection walks every tracked object on the UI thread. The screen's
widgets, styles and CSS are tens of thousands of them; walking them took 18-28 ms, now and
then in the middle of a key press (bench/bench_replay.py's 52-58 ms step outliers). Frozen,
they are out of those walks. Replayed on the lab's recording (a real `synscope record`).
"""

from __future__ import annotations

import gc
import time


async def test_heap_is_frozen_while_running_and_unfrozen_after(replayed_app, settle):
    gc.unfreeze()  # whatever an earlier test left: this test's counts are its own
    app = replayed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.request_tick()
        await settle(pilot)
        frozen = gc.get_freeze_count()
        assert frozen > 10_000, frozen  # the app's widgets and styles, at least
        # a full collection now walks only what came after the freeze
        t0 = time.thread_time()
        gc.collect()
        after = time.thread_time() - t0
        gc.unfreeze()
        t0 = time.thread_time()
        gc.collect()
        whole = time.thread_time() - t0
        gc.freeze()
        assert after < whole, (after, whole)
    assert gc.get_freeze_count() == 0  # collectable again once the app has gone
