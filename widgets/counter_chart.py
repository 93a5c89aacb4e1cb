"""A plotext chart of the focused counter over the whole history window.

Takes the points the sampling thread prepared (:class:`~tui.source.NsDetail` ``chart_x`` /
``chart_y``), does no I/O. ``textual_plotext.PlotextPlot`` gives each widget its own
``plt``, so two charts never share plotext's global state.

Painting: PlotextPlot renders ``Text.from_ansi(plt.build())``, which Textual then turns into
strips — ~25 ms per redraw at 200x60 on top of plotext's own ~12 ms, paid on every change of
namespace. Here the ANSI output is cut into Strips directly (plotext emits only SGR colour
codes; each distinct code is decoded once, by Rich, and cached), and the strips are kept
until the next ``show()`` or resize.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.ansi import AnsiDecoder
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual_plotext import PlotextPlot

from tui.core.counters import is_gauge
from tui.source import NsDetail, nstat_name

__all__ = ["CounterChart", "envelope"]


class CounterChart(PlotextPlot):
    DEFAULT_CSS = """
    CounterChart { height: 1fr; border: round $panel-lighten-2; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.key: str | None = None
        self.points = 0
        self._last: tuple | None = None
        self._strips: list[Strip] | None = None
        self._strips_for: tuple | None = None
        self._series: tuple[str, tuple[float, ...], tuple[float, ...]] | None = None

    def show(self, detail: NsDetail | None, ns_name: str = "") -> None:
        state = (detail.chart_key, detail.chart_x, detail.chart_y, ns_name) if detail else None
        if state == self._last:
            return
        self._last = state
        self.key = detail.chart_key if detail else None
        self.points = len(detail.chart_x) if detail else 0
        if detail is None or detail.chart_key is None:
            self._series = None
            self.border_title = "chart"
        else:
            key = detail.chart_key
            title = f"{nstat_name(key)} {'(value)' if is_gauge(key) else 'per second'}"
            self.border_title = escape(f"{ns_name} · {title}" if ns_name else title)
            self._series = (key, detail.chart_x, detail.chart_y)
        self.refresh()

    def refresh(self, *regions, **kw):  # type: ignore[no-untyped-def, override]
        # anything that repaints the plot (theme, resize, show) rebuilds it on the next paint
        self._strips = None
        return super().refresh(*regions, **kw)

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (width, height, self.app.theme)
        if self._strips is None or self._strips_for != key:
            self._strips_for = key
            self._strips = self._build_strips(width, height)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)

    def _build_strips(self, width: int, height: int) -> list[Strip]:
        plt = self._plot
        plt.clear_data()
        plt.clear_figure()
        if self._series is None:
            plt.title("no counter to chart")
        else:
            key, xs, ys = self._series
            gauge = is_gauge(key)
            if xs:
                # two braille dots per column: more points than that only cost time
                px, py = envelope(xs, ys, max(8, width))
                plt.plot(px, py, marker="braille", color="cyan" if gauge else "red")
                plt.xlim(min(min(xs), -10.0), 0.0)
                plt.ylim(0, max(1.0, max(ys) * 1.1))
            plt.xlabel("seconds before the latest sample")
        # what PlotextPlot.render does before building (see textual_plotext)
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        base = self.rich_style
        out = []
        for line in plt.build().split("\n")[:height]:
            out.append(Strip(_ansi_segments(line)).apply_style(base).adjust_cell_length(width, base))
        return out


def envelope(xs: Sequence[float], ys: Sequence[float], buckets: int) -> tuple[list[float], list[float]]:
    """At most ``2 * buckets`` points that draw the same picture at that resolution.

    The series is cut into ``buckets`` runs of consecutive points; each run keeps its lowest
    and its highest point, in time order, so a one-sample burst (a single second of SYN
    drops in 15 minutes) still reaches its full height. A 900-point series drawn as is
    costs plotext several times more than the ~150 points a 78-column chart can show.
    """
    n = len(xs)
    if n <= 2 * buckets:
        return list(xs), list(ys)
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        if lo >= hi:
            continue
        i_min = i_max = lo
        for i in range(lo + 1, hi):
            if ys[i] < ys[i_min]:
                i_min = i
            if ys[i] > ys[i_max]:
                i_max = i
        for i in sorted({i_min, i_max}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    return out_x, out_y


_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_SGR_STYLES: dict[tuple[Style, str], Style] = {}


def _ansi_segments(line: str) -> list[Segment]:
    """One line of SGR-coloured text as Segments; Rich decodes each (style, code) pair once."""
    segs: list[Segment] = []
    style = Style.null()
    pos = 0
    for m in _SGR.finditer(line):
        if m.start() > pos:
            segs.append(Segment(line[pos:m.start()], style or None))
        key = (style, m.group(1))
        nxt = _SGR_STYLES.get(key)
        if nxt is None:
            decoder = AnsiDecoder()
            decoder.style = style
            decoder.decode_line(m.group(0))
            nxt = _SGR_STYLES[key] = decoder.style
        style = nxt
        pos = m.end()
    if pos < len(line):
        segs.append(Segment(line[pos:], style or None))
    return segs
