"""The live source's start: the names first, then the first read, then rates.

Real parts: a real named namespace (pid-less: read through the setns thread), the real
Discovery and Monitor. A Monitor that counts its reads shows which frame read what.
"""

from __future__ import annotations

from tui.app import SynscopeApp
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery, ns_inode_of_path
from tui.source import LiveSource


class CountingMonitor(Monitor):
    """A real Monitor that counts its reads (ticks)."""

    reads = 0

    def tick(self, now: float | None = None):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().tick(now)


def test_names_first_then_the_first_read_then_rates(lab):
    name = lab.add("names")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    monitor = CountingMonitor(Discovery(), background=False)
    source = LiveSource(interval=0.2, monitor=monitor, in_background=True)
    try:
        first = source.tick()  # what discovery found: no counter read yet
        assert not first.sampled and first.seq == 1 and monitor.reads == 0
        assert inode in {ns.inode for ns in first.namespaces}
        assert first.summaries == {}
        second = source.tick()  # the first read: values, no rates yet
        assert second.sampled and monitor.reads == 1
        assert second.summary(inode).ticks == 0 and source.monitor.history.get(inode) is not None
        third = source.tick()  # the second read: rates
        assert third.sampled and monitor.reads == 2 and third.summary(inode).ticks == 1
    finally:
        source.close()


def test_without_background_start_the_first_frame_is_a_read(lab):
    name = lab.add("plain")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    monitor = CountingMonitor(Discovery(), background=False)
    source = LiveSource(interval=0.2, monitor=monitor)
    try:
        first = source.tick()
        assert first.sampled and monitor.reads == 1 and inode in first.summaries
    finally:
        source.close()


async def test_the_app_shows_the_names_then_reads_at_once(lab):
    """With the names on screen the App asks for the first read right away, not one
    interval later (here 60 s: a read that waited for it would never come in this test)."""
    name = lab.add("app")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    monitor = CountingMonitor(Discovery(), background=False)
    source = LiveSource(interval=60.0, monitor=monitor, in_background=True)
    app = SynscopeApp(source, ns_filter=name)
    seen: list[tuple[bool, str]] = []
    real = app.main._show

    def show(frame, detail):  # type: ignore[no-untyped-def]
        real(frame, detail)
        seen.append((frame.sampled, app.main.status.render().plain))

    app.main._show = show  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            for _ in range(10):  # bounded: two frames, each a worker and a message
                await app.workers.wait_for_complete()
                await pilot.pause()
                if len(seen) >= 2:
                    break
            assert [s for s, _ in seen[:2]] == [False, True], seen
            assert "waiting for the first sample" in seen[0][1]  # the names, honestly labelled
            assert "waiting for the first sample" not in seen[1][1]
            assert monitor.reads == 1  # one read, not waiting 60 s for it
            assert app.main.table.order == [inode] and name in app.main.table.render_line(1).text
    finally:
        source.close()
