"""The chart never claims to end at the latest sample when it does not.

The App redraws the chart at most every CHART_EVERY seconds of sample time (a plotext build
costs tens of ms), so between two redraws its right edge is an older sample than the table's
and the sparklines'. Its x axis names that sample's time ("seconds before 22:15:14"): this
test plays the lab's recording one tick at a time and checks, on every tick, that the
label painted on the chart is the clock of the sample its picture ends at, and that the
picture catches up within CHART_EVERY.
"""

from __future__ import annotations

from conftest import LAB_RECORDING

from tui.app import SynscopeApp
from tui.core.store.reader import Store
from tui.replay_source import ReplaySource
from tui.screens.main import CHART_EVERY


def chart_text(app: SynscopeApp) -> str:
    chart = app.main.chart
    return "\n".join(chart.render_line(y).text for y in range(chart.size.height))


async def test_the_chart_label_is_the_time_its_picture_shows(settle):
    store = Store(str(LAB_RECORDING))
    source = ReplaySource(store, store.span()[0] + 20, utc=True)  # 20 s of the recording left to play
    source.play(1)  # each tick the test asks for: one recorded tick on
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot, chart=True)
        chart = app.main.chart
        assert chart.shows_time == app.main.detail.time  # a new counter: drawn at once
        stale_seen = 0
        for _ in range(int(CHART_EVERY) * 3):
            app.request_tick()
            await settle(pilot, chart=True)
            latest = app.main.detail.time
            shows = chart.shows_time
            assert shows is not None and latest - CHART_EVERY < shows <= latest
            text = chart_text(app)
            assert f"seconds before {source.clock(shows)}" in text  # what it shows, said so
            assert "latest sample" not in text
            if shows != latest:
                stale_seen += 1
                assert source.clock(latest) not in text  # never the table's newer sample
        assert stale_seen > 0  # the case that used to be mislabelled did happen here
