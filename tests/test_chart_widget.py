"""The chart widget: plotext builds in a thread, coalesced; its title always matches its picture.

A tiny App holds only the chart and is fed NsDetail objects directly.
"""

from __future__ import annotations

import threading


import widgets.counter_chart as counter_chart
from tui.source import NsDetail
from widgets.counter_chart import CounterChart


def detail(key: str, ys: list[float], inode: int = 1) -> NsDetail:
    n = len(ys)
    return NsDetail(inode, 1000.0, (), False, 300.0, None, key, tuple(float(i - n + 1) for i in range(n)), tuple(ys))


def screen_text(chart: CounterChart) -> str:
    return "\n".join(chart.render_line(y).text for y in range(chart.size.height))


async def test_builds_run_off_the_ui_thread_and_then_paint(monkeypatch, settle, widget_host):
    threads: list[int] = []
    real = counter_chart.build_strips

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        return real(*a, **kw)

    monkeypatch.setattr(counter_chart, "build_strips", spy)
    app = widget_host(CounterChart)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(CounterChart)
        ys = [0.0] * 900
        ys[400] = 50.0
        chart.show(detail("TcpExt.ListenDrops", ys), "web")
        assert chart.building and "seconds before" not in screen_text(chart)  # nothing painted yet
        await settle(pilot, chart=True)
        assert threads and threading.main_thread().ident not in threads
        text = screen_text(chart)
        # the x axis names the sample the picture ends at; the y axis: the peak + 10 %
        assert f"seconds before {chart.clock(1000.0)}" in text and "55.0" in text
        assert any(ch in text for ch in "⡀⡇⢸⣿⠁⠈")  # braille dots of the line


async def test_title_and_picture_always_belong_to_the_same_series(settle, widget_host):
    app = widget_host(CounterChart)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(CounterChart)
        chart.show(detail("TcpExt.ListenDrops", [0.0, 70.0, 0.0]), "web")
        await settle(pilot, chart=True)
        before = screen_text(chart)
        assert "77.0" in before and "web" in str(chart.border_title)  # the y axis: the peak + 10 %
        # another namespace: until its picture is built, web's title stays over web's picture
        chart.show(detail("TcpExt.ListenDrops", [3.0, 3.0], inode=2), "db")
        assert chart.building
        assert "web" in str(chart.border_title) and screen_text(chart) == before
        await settle(pilot, chart=True)
        after = screen_text(chart)
        assert "db" in str(chart.border_title) and "77.0" not in after and "3.3" in after


async def test_a_burst_of_selections_is_coalesced_into_few_builds(settle, widget_host):
    app = widget_host(CounterChart)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.query_one(CounterChart)
        for i in range(30):  # the user holds the down arrow
            chart.show(detail("TcpExt.ListenDrops", [float(i)] * 300, inode=100 + i), f"ns{i}")
        await settle(pilot, chart=True)
        assert chart.builds <= 3  # one in flight at a time, then the latest: not 30
        assert "ns29" in str(chart.border_title) and "seconds before" in screen_text(chart)


async def test_a_failing_build_says_so_in_the_frame(monkeypatch, settle, widget_host):
    def boom(*a, **kw):  # type: ignore[no-untyped-def]
        raise ValueError("odd data")

    monkeypatch.setattr(counter_chart, "build_strips", boom)
    app = widget_host(CounterChart)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(CounterChart)
        chart.show(detail("TcpExt.ListenDrops", [1.0, 2.0]), "web")
        await settle(pilot, chart=True)
        assert "chart failed: ValueError: odd data" in screen_text(chart)


async def test_the_x_axis_names_the_sample_the_picture_ends_at(settle, widget_host):
    app = widget_host(CounterChart)
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(CounterChart)
        chart.clock = lambda t: f"T+{t:.0f}"
        chart.show(detail("TcpExt.ListenDrops", [1.0, 5.0, 2.0]), "web")
        await settle(pilot, chart=True)
        assert chart.shows_time == 1000.0 and "seconds before T+1000" in screen_text(chart)
        later = NsDetail(1, 1003.0, (), False, 300.0, None, "TcpExt.ListenDrops", (-2.0, -1.0, 0.0), (5.0, 2.0, 9.0))
        chart.show(later, "web")
        await settle(pilot, chart=True)
        assert chart.shows_time == 1003.0 and "seconds before T+1003" in screen_text(chart)
