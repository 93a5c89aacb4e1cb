"""The detail panel repaints only the lines whose counter changed."""

from __future__ import annotations

from spy import record_calls

from tui.core.catalog import Group
from tui.source import CounterLine, NsDetail
from widgets.counter_panel import CounterPanel


def detail(drops: int, segs: int) -> NsDetail:
    lines = (
        CounterLine("TcpExt.ListenDrops", Group.SYN, "SYNs to LISTEN sockets dropped", 100 + drops, drops,
                    float(drops), (0.0, float(drops)), 0.0 if drops else 30.0),
        CounterLine("TcpExt.DelayedACKs", Group.DELAYED_ACK, "delayed acks sent", 50, 0, 0.0, (1.0, 0.0), 12.0),
        CounterLine("Tcp.InSegs", Group.OTHER, "segments received", 1000 + segs, segs, float(segs), (3.0, float(segs)), 0.0),
    )
    return NsDetail(1, 1000.0, lines, False, 300.0)


async def test_a_tick_repaints_only_the_changed_counter_lines(monkeypatch, widget_host):
    app = widget_host(CounterPanel)
    async with app.run_test(size=(120, 20)) as pilot:
        panel = app.query_one(CounterPanel)
        panel.show(detail(drops=0, segs=5))
        await pilot.pause()
        painted = record_calls(monkeypatch, panel, "render_line")
        panel.show(detail(drops=0, segs=5))  # the same: nothing painted
        await pilot.pause()
        assert painted == []
        panel.show(detail(drops=0, segs=9))  # only InSegs moved
        await pilot.pause()
        lines: dict[str, list[int]] = {}  # a counter's lines: its row, and its wording's own (120 columns)
        for y, (_, key) in enumerate(panel._entries):
            lines.setdefault(key, []).append(y)
        assert len(lines["TcpExt.ListenDrops"]) == 2  # the wording does not fit beside "last moved"
        assert sorted(set(painted)) == lines["Tcp.InSegs"]
        assert "+9" in panel.line_text("Tcp.InSegs")
        painted.clear()
        panel.show(detail(drops=4, segs=9))  # SYN drops: that line lights up, alone
        await pilot.pause()
        assert sorted(set(painted)) == lines["TcpExt.ListenDrops"]  # lit: its row and its wording's line
        assert panel.highlight("TcpExt.ListenDrops") == "syn" and "now" in panel.line_text("TcpExt.ListenDrops")


def test_spark_segments_draw_what_textuals_sparkline_draws():
    """The panel draws sparklines itself (faster); Textual's renderable is the reference."""
    import random

    from rich.color import Color
    from rich.console import Console
    from textual.renderables.sparkline import Sparkline

    from widgets.sparkline import spark_segments

    console = Console()
    rng = random.Random(1)
    lo, hi = Color.from_rgb(10, 40, 90), Color.from_rgb(200, 120, 30)

    def cells(segments) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
        return [(ch, s.style.color.triplet if s.style else None) for s in segments for ch in s.text]

    for _ in range(2000):
        n = rng.choice([0, 1, 2, 3, 5, 13, 14, 15, 30, 59, 60])
        data = [float(rng.choice([0, 0, 1, 2, 5, 100, rng.random() * 50])) for _ in range(n)]
        width = rng.choice([10, 14])
        reference = Sparkline(data, width=width, height=1, min_color=lo, max_color=hi, summary_function=max)
        expected = cells(console.render(reference, console.options.update_width(width)))
        assert cells(spark_segments(data, width, lo, hi)) == expected, (data, width)


async def test_a_narrow_panel_keeps_last_moved_visible(widget_host):
    """At 120 columns with the chart beside it the panel is ~70 wide: compact columns."""
    app = widget_host(CounterPanel)
    async with app.run_test(size=(72, 12)) as pilot:
        panel = app.query_one(CounterPanel)
        panel.show(detail(drops=4, segs=9))
        await pilot.pause()
        assert panel.narrow
        line = panel.render_line(panel._index["TcpExt.ListenDrops"]).text
        assert "now · SYN" in line and len(line) == panel.size.width
    app = widget_host(CounterPanel)
    async with app.run_test(size=(130, 12)) as pilot:
        panel = app.query_one(CounterPanel)
        panel.show(detail(drops=4, segs=9))
        await pilot.pause()
        # full columns; wide enough to show every wording whole, with the short "last moved"
        assert not panel.narrow and panel.wrap
        assert "now · SYNs to LISTEN sockets dropped" in panel.line_text("TcpExt.ListenDrops")
