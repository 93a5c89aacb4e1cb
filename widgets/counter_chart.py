"""A plotext chart of the focused counter over the whole history window.

Takes the points the sampling thread prepared (:class:`~tui.source.NsDetail` ``chart_x`` /
``chart_y``), does no I/O. ``textual_plotext.PlotextPlot`` gives each widget its own
``plt``, so two charts never share plotext's global state.
"""

from __future__ import annotations

from rich.markup import escape
from textual_plotext import PlotextPlot

from tui.core.counters import is_gauge
from tui.source import NsDetail, nstat_name

__all__ = ["CounterChart"]


class CounterChart(PlotextPlot):
    DEFAULT_CSS = """
    CounterChart { height: 1fr; border: round $panel-lighten-2; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.key: str | None = None
        self.points = 0
        self._last: tuple | None = None

    def show(self, detail: NsDetail | None, ns_name: str = "") -> None:
        state = (detail.chart_key, detail.chart_x, detail.chart_y, ns_name) if detail else None
        if state == self._last:
            return
        self._last = state
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.key = detail.chart_key if detail else None
        self.points = len(detail.chart_x) if detail else 0
        if detail is None or detail.chart_key is None:
            plt.title("no counter to chart")
            self.border_title = "chart"
            self.refresh()
            return
        key = detail.chart_key
        gauge = is_gauge(key)
        title = f"{nstat_name(key)} {'(value)' if gauge else 'per second'}"
        self.border_title = escape(f"{ns_name} · {title}" if ns_name else title)
        if detail.chart_x:
            plt.plot(list(detail.chart_x), list(detail.chart_y), marker="braille", color="red" if not gauge else "cyan")
            lo = min(detail.chart_x)
            plt.xlim(min(lo, -10.0), 0.0)
            hi = max(detail.chart_y) if detail.chart_y else 0.0
            plt.ylim(0, max(1.0, hi * 1.1))
        plt.xlabel("seconds before the latest sample")
        self.refresh()
