"""A plotext chart of the focused counter over the whole history window.

Takes the points the sampling thread prepared (:class:`~tui.source.NsDetail` ``chart_x`` /
``chart_y``), does no I/O. Every build makes a fresh ``textual_plotext`` ``Plot``, so two
builds never share plotext's figure state. plotext itself is imported by the first build,
in its thread: importing it costs ~40 ms, which the first frame does not wait for.

The picture is redrawn at most every few seconds (the App decides; a build costs tens of
ms), so its right edge is the sample it was built from, not always the latest one: the x
axis says which ("seconds before 21:42:07", through ``clock``), never "the latest sample".

Painting: a plain Widget, not textual_plotext's ``PlotextPlot`` (which builds its one
``plt`` figure in ``render``, on the UI thread). The figure is built in a thread worker, a
fresh ``textual_plotext.Plot`` per build, and its ANSI output is cut into Strips directly
(plotext emits only SGR colour codes; each distinct code is decoded once, by Rich, and
cached). The few private calls that takes are in :mod:`widgets.upstream`. Until a build is
done the previous picture stays on screen with its own title (cut or padded to the width):
title and picture change together, so one namespace's title never sits over another's plot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from rich.ansi import AnsiDecoder
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.core.counters import is_gauge
from tui.source import NsDetail, nstat_name
from widgets.upstream import register_plotext_theme, set_plot_size

__all__ = ["CounterChart", "build_strips", "envelope"]


class CounterChart(Widget):
    DEFAULT_CSS = """
    CounterChart { width: 1fr; height: 1fr; border: round $panel-lighten-2; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.key: str | None = None
        self.points = 0
        self.builds = 0  # plots built (tests and the benchmark read it)
        self._last: tuple | None = None
        self._series: tuple[str, tuple[float, ...], tuple[float, ...]] | None = None
        self._gen = 0  # bumped by every show() that changes the picture
        self._title = "chart"  # the title of the latest show(); on screen once its picture is
        self.clock = _default_clock  # source time -> "21:42:07" (the App gives its source's)
        self._time: float | None = None  # the sample time the latest show()'s series ends at
        self.shows_time: float | None = None  # ...and the one of the picture on screen
        self._strips: list[Strip] = []  # the latest finished picture (maybe of an older size/gen)
        self._strips_for: tuple | None = None  # (gen, width, height, theme) it was built for
        self._pending: tuple | None = None  # the build in flight
        self._scheduled = False

    @property
    def building(self) -> bool:
        """A build is in flight or due: what is on screen is not the latest picture yet."""
        want = self._want()
        return want[1] > 0 and want[2] > 0 and self._strips_for != want

    def show(self, detail: NsDetail | None, ns_name: str = "") -> None:
        state = (detail.chart_key, detail.chart_x, detail.chart_y, detail.time, ns_name) if detail else None
        if state == self._last:
            return
        self._last = state
        self.key = detail.chart_key if detail else None
        self.points = len(detail.chart_x) if detail else 0
        if detail is None or detail.chart_key is None:
            self._series = None
            self._title = "chart"
            self._time = None
        else:
            key = detail.chart_key
            title = f"{nstat_name(key)} {'(value)' if is_gauge(key) else 'per second'}"
            self._title = escape(f"{ns_name} · {title}" if ns_name else title)
            # chart_x is relative to detail.time: the picture's right edge is that sample
            self._time = detail.time
            self._series = (key, detail.chart_x, detail.chart_y, f"seconds before {self.clock(detail.time)}")
        self._gen += 1
        # the title changes with the picture, when it is built: never one series' title over
        # another's picture, and one repaint instead of two. The build starts after this
        # tick's repaint, so the plotext thread does not compete with it for the GIL.
        self.call_after_refresh(self._start_build)

    def on_resize(self) -> None:
        self._start_build()

    def _want(self) -> tuple:
        width, height = self.size
        return (self._gen, width, height, self.app.theme)

    def _start_build(self) -> None:
        """Build the picture in a thread: plotext takes 40-250 ms at 200x60 with a full
        history, and the UI thread (keys, the table, the detail panel) must not wait for it."""
        self._scheduled = False
        want = self._want()
        if want == self._strips_for or self._pending is not None or not self.is_mounted:
            return  # one build at a time: the one in flight starts the next when it is done
        width, height = want[1], want[2]
        if width <= 0 or height <= 0:
            return  # hidden: built when it is shown (on_resize)
        self._pending = want
        series, theme, base = self._series, self._plotext_theme(), self.rich_style
        title, shows = self._title, self._time
        self.run_worker(lambda: self._build(want, series, theme, base, title, shows), thread=True, group="chart",
                        exit_on_error=False)

    class Built(Message):
        """A picture is ready (posted from the build thread)."""

        def __init__(self, chart: CounterChart, want: tuple, strips: list[Strip], title: str,
                     shows: float | None = None) -> None:
            super().__init__()
            self.chart = chart
            self.want = want
            self.strips = strips
            self.title = title
            self.shows = shows

        @property
        def control(self) -> CounterChart:
            return self.chart

    def _plotext_theme(self) -> tuple[str, tuple[int, int, int], tuple[int, int, int]]:
        """The app theme as PlotextPlot's "auto" theme does it: its name, the surface (as
        background) and foreground colours. Read here, on the UI thread."""
        v = self.app.theme_variables
        return (f"textual-auto-{self.app.theme}", Color.parse(v.get("surface", "#000000")).rgb,
                Color.parse(v.get("foreground", "#ffffff")).rgb)

    def _build(self, want: tuple, series, theme: tuple, base: Style, title: str, shows: float | None) -> None:  # type: ignore[no-untyped-def]
        try:
            strips = build_strips(series, want[1], want[2], register_plotext_theme(*theme), base)
        except Exception as exc:  # plotext on odd data: say so in the frame, never lose the UI
            strips = [Strip([Segment(f"chart failed: {type(exc).__name__}: {exc}"[: want[1]], base)])]
        self.post_message(self.Built(self, want, strips, title, shows))

    def on_counter_chart_built(self, msg: Built) -> None:
        msg.stop()
        want, strips = msg.want, msg.strips
        self._pending = None
        self.builds += 1
        # one build at a time, each for the latest state when it started: newer than what shows
        self._strips, self._strips_for = strips, want
        self.shows_time = msg.shows
        if self.border_title != msg.title:
            self.border_title = msg.title  # repaints the whole chart, as the new picture does
        self.refresh()
        self._start_build()  # the size or data may have changed while it was built

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self._scheduled and self._want() not in (self._strips_for, self._pending):
            self._scheduled = True  # once, not once per line
            self.call_later(self._start_build)  # e.g. a theme change: rebuilt in the background
        if y < len(self._strips):
            strip = self._strips[y]
            return strip if strip.cell_length == width else strip.crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)


def _default_clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def build_strips(series: tuple[str, Sequence[float], Sequence[float], str] | None, width: int, height: int,
                 theme: str, base: Style) -> list[Strip]:
    """The chart as lines: a fresh plotext figure each time, so builds in threads share nothing.

    ``series``: (counter key, x = seconds before the picture's last sample, y, x axis label);
    ``theme``: a plotext theme name (see :func:`widgets.upstream.register_plotext_theme`)."""
    from textual_plotext.plot import Plot  # late: plotext costs ~40 ms to import (see above)

    plt = Plot()
    if series is None:
        plt.title("no counter to chart")
    else:
        key, xs, ys, xlabel = series
        if xs:
            # two braille dots per column: more points than that only cost time
            px, py = envelope(xs, ys, max(8, width))
            plt.plot(px, py, marker="braille", color="cyan" if is_gauge(key) else "red")
            plt.xlim(min(min(xs), -10.0), 0.0)
            plt.ylim(0, max(1.0, max(ys) * 1.1))
        plt.xlabel(xlabel)
    set_plot_size(plt, width, height)
    plt.theme(theme)
    # simplify(): plotext colours every character; one segment per run of a colour makes
    # the UI thread's part (cropping, borders, compositing) several times cheaper
    return [Strip(_ansi_segments(line)).apply_style(base).adjust_cell_length(width, base).simplify()
            for line in plt.build().split("\n")[:height]]


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
