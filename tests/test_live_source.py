"""The live source's start: names on screen from the first discovery, rates from the second read.

Real parts: a real named namespace, the real Discovery and Monitor reading it (setns thread).
The one thing the test controls is *when* the first read finishes: a Monitor whose first
``tick()`` waits for the test's go-ahead, so "the first read is still running when the App
asks for a frame" happens every time instead of by the scheduler's chance.
"""

from __future__ import annotations

import threading

from tui.app import SynscopeApp
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery, ns_inode_of_path
from tui.source import LiveSource


class GatedMonitor(Monitor):
    """A real Monitor whose first read waits until the test says go."""

    def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        self.go = threading.Event()
        self.reads = 0
        super().__init__(*a, **kw)

    def tick(self, now: float | None = None):  # type: ignore[no-untyped-def]
        if self.reads == 0:
            assert self.go.wait(30), "the test never let the first read finish"
        self.reads += 1
        return super().tick(now)


def test_first_frame_is_the_names_while_the_first_read_runs_then_rates(lab):
    name = lab.add("names")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    monitor = GatedMonitor(Discovery(), background=False)
    source = LiveSource(interval=0.2, monitor=monitor, in_background=True)
    try:
        first = source.tick()  # the first read is held back: the names come anyway
        assert not first.sampled and first.seq == 1
        assert inode in {ns.inode for ns in first.namespaces}
        assert first.summaries == {} and monitor.reads == 0
        monitor.go.set()
        second = source.tick()  # waits for the held read, then reads again: a delta
        assert second.sampled and monitor.reads == 2
        assert second.summary(inode).ticks == 1  # rates from the second read, on the first as baseline
        assert source.monitor.history.get(inode).ticks == 1
    finally:
        monitor.go.set()
        source.close()


def test_a_first_read_done_in_time_is_the_first_frame(lab):
    name = lab.add("ready")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    monitor = GatedMonitor(Discovery(), background=False)
    monitor.go.set()
    source = LiveSource(interval=0.2, monitor=monitor, in_background=True)
    try:
        source.monitor  # noqa: B018  (waits for the start: discovery and the first read)
        first = source.tick()
        assert first.sampled and monitor.reads == 1  # handed over, not read twice
        assert inode in {ns.inode for ns in first.namespaces}
        assert first.summary(inode).ticks == 0  # one read: values, no rates yet
        second = source.tick()
        assert monitor.reads == 2 and second.summary(inode).ticks == 1
    finally:
        source.close()


async def test_the_app_shows_the_names_and_says_it_waits_for_the_first_sample(lab):
    name = lab.add("app")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    monitor = GatedMonitor(Discovery(), background=False)
    source = LiveSource(interval=0.2, monitor=monitor, in_background=True)
    app = SynscopeApp(source, ns_filter=name, autotick=False)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            # only the sampling worker: the detail worker of the selected row waits for the
            # held read (the monitor is needed there), as it would for the real first read
            await app._sample_worker.wait()
            await pilot.pause()
            await pilot.pause()
            assert app.frame is not None and not app.frame.sampled
            assert app.main.table.order == [inode]  # the row is on screen before any counter was read
            assert name in app.main.table.render_line(1).text
            status = app.main.status.render().plain
            assert "waiting for the first sample" in status, status
            monitor.go.set()
            app.request_tick()
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            assert app.frame is not None and app.frame.sampled
            assert "waiting for the first sample" not in app.main.status.render().plain
    finally:
        monitor.go.set()
        source.close()
