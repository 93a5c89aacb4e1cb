"""The detail panel: one namespace's counters, grouped, each with a live sparkline.

Takes an :class:`~tui.source.NsDetail` (computed in the sampling thread), does no I/O.
Per counter: value, delta since the last tick, rate, a sparkline of the recent rate, the
``netstat -s`` wording. SYN-trouble and delayed-ACK rows are highlighted while their delta is
non-zero — with a ``!`` marker as well as a colour — and always say when they last moved, so
a burst between two glances is not missed. Counters that never moved in the window have no
sparkline (nothing to draw).
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.core.catalog import Group
from tui.source import CounterLine, NsDetail, nstat_name

from .formatting import fmt_ago, fmt_rate
from .sparkline import spark_segments
from .upstream import set_virtual_size_quietly

__all__ = ["CounterPanel", "numbers_segments", "words_segments"]


def _num(v: int) -> str:
    return f"{v:,}".replace(",", " ") if abs(v) >= 100_000 else str(v)


_BOLD = Style(bold=True)
_DIM = Style(dim=True)
_SYN_MARK = Style(bold=True, color="red")
_DACK_MARK = Style(bold=True, color="yellow")
_RESET = Style(bold=True, color="magenta")
_REVERSE = Style(reverse=True)


def numbers_segments(line: CounterLine, *, focused: bool, narrow: bool) -> list[Segment]:
    """marker, nstat name, value, delta since the last tick, rate: one cell per character.

    Built as Segments directly (not a rich Text rendered by the console): a busy namespace
    rebuilds a dozen of these lines every tick.
    """
    hot = line.hot
    name_w, val_w, d_w, r_w = (22, 9, 5, 6) if narrow else (28, 13, 7, 8)
    name = nstat_name(line.key)
    if len(name) > name_w:
        name = name[: name_w - 1] + "…"
    segs = [
        Segment("▸" if focused else " ", _BOLD),
        Segment("!" if hot else " ", _SYN_MARK if line.group is Group.SYN else _DACK_MARK),
        Segment(f"{name:<{name_w}}", _BOLD if hot else None),
        Segment(f"{_num(line.value):>{val_w}}"),
    ]
    if line.gauge:
        segs.append(Segment(f"{'gauge':>{d_w + 1}}", _DIM))
        segs.append(Segment(" " * (r_w + 3)))
        return segs
    if line.delta is None:
        segs.append(Segment(f"{'reset':>{d_w + 1}}", _RESET))
    else:
        segs.append(Segment(f"{('+' + str(line.delta)) if line.delta else '·':>{d_w + 1}}", _BOLD if line.delta else _DIM))
    r = "?" if line.rate is None else fmt_rate(line.rate)
    segs.append(Segment(f"{r:>{r_w}}/s" if r not in ("·", "?") else f"{r:>{r_w}}  ", None if line.rate else _DIM))
    return segs


def words_segments(line: CounterLine, *, narrow: bool, wording: bool = True) -> list[Segment]:
    """"last moved" for the watched groups, then the netstat -s wording (unless it has a line
    of its own: ``wording=False``)."""
    segs = []
    if line.watched:
        segs.append(Segment(fmt_ago(line.last_moved_ago, short=narrow), _BOLD if line.hot else None))
        if wording:
            segs.append(Segment(" · "))
    if wording:
        segs.append(Segment(line.wording or "", _DIM))
    return segs


def _length(segs: list[Segment]) -> int:
    return sum(cell_len(s.text) for s in segs)


WIDE_FROM = 110  # panel width (columns) from which the full columns are used
# Panel width from which every row's whole netstat -s wording is shown (a terminal of 160
# columns and up, with the chart beside the panel): a wording too long for the end of its
# row gets a line of its own under it, instead of being cut.
WRAP_FROM = 90
_WORDS_INDENT = 4
_AGO_MAX = len("never moved · ")  # the short "last moved" (wrap mode uses the short one)


class CounterPanel(ScrollView, can_focus=True):
    """Counters of the selected namespace; up/down chooses the charted counter.

    One Line-API widget, not a widget per counter: the panel used to be ~45 widgets (a
    Horizontal, two text cells and a ``Sparkline`` per moved counter), which cost ~30 ms per
    tick at 200x60 to update, lay out and composite, and a remount (~50 ms) whenever the
    selected namespace changed. Here each line is a cached ``Strip``, rebuilt only when that
    line's inputs changed; the sparkline is drawn straight into the row's strip by
    :func:`spark_segments` (the bars and min→max colour blend Textual's ``Sparkline``
    draws, without its renderable).
    """

    DEFAULT_CSS = """
    CounterPanel { height: 1fr; border: round $panel-lighten-2; padding: 0 0; overflow-x: hidden; }
    CounterPanel:focus { border: round $accent; }
    CounterPanel > .counter-panel--group { color: $text-accent; text-style: bold; }
    CounterPanel > .counter-panel--empty { color: $text-muted; }
    CounterPanel > .counter-panel--hot-syn { background: $error 25%; }
    CounterPanel > .counter-panel--hot-dack { background: $warning 20%; }
    CounterPanel > .counter-panel--focus { background: $accent 30%; }
    CounterPanel > .counter-panel--spark-min { color: $primary 30%; }
    CounterPanel > .counter-panel--spark-max { color: $primary; }
    CounterPanel > .counter-panel--spark-syn { color: $error; }
    CounterPanel > .counter-panel--spark-dack { color: $warning; }
    """

    COMPONENT_CLASSES = {
        "counter-panel--group", "counter-panel--empty", "counter-panel--hot-syn", "counter-panel--hot-dack",
        "counter-panel--focus", "counter-panel--spark-min", "counter-panel--spark-max", "counter-panel--spark-syn",
        "counter-panel--spark-dack",
    }

    BINDINGS = [
        Binding("up,k", "move(-1)", "Prev counter", show=False, id="detail.up"),
        Binding("down,j", "move(1)", "Next counter", show=False, id="detail.down"),
        Binding("home", "move_to(0)", "First counter", show=False, id="detail.home"),
        Binding("end", "move_to(-1)", "Last counter", show=False, id="detail.end"),
    ]

    class Focused(Message):
        """The user moved to another counter (the chart follows)."""

        def __init__(self, panel: CounterPanel, key: str) -> None:
            super().__init__()
            self.panel = panel
            self.key = key

        @property
        def control(self) -> CounterPanel:
            return self.panel

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.detail: NsDetail | None = None
        self.focus_key: str | None = None
        self.narrow = False
        self.wrap = False  # a wording that does not fit its row gets the next line (WRAP_FROM)
        self._entries: list[tuple[str, str]] = []  # (kind, key or text) per line: group/row/flat/words/empty/blank
        self._chunks: dict[int, str] = {}  # line -> the part of a wording a "words" line shows
        self._index: dict[str, int] = {}  # counter key -> its line
        self._by_key: dict[str, CounterLine] = {}
        self._inputs: list[tuple | None] = []  # per line: what its strip was last built from
        self._strips: dict[int, Strip] = {}
        self._style_key: tuple | None = None
        self._styles: dict[str, Style] = {}
        self._spark_colors: dict[str, tuple[Color, Color]] = {}
        self._spark_cache: dict[tuple, list[Segment]] = {}
        self.lines_rendered = 0  # lines whose strip was rebuilt (the benchmark may read it)

    @property
    def keys(self) -> list[str]:
        return [ln.key for ln in self.detail.lines] if self.detail else []

    def set_narrow(self, narrow: bool) -> None:
        if narrow != self.narrow:
            self.narrow = narrow
            self._strips.clear()
            self.refresh()

    # -- what tests and the app read ---------------------------------------------------------
    def highlight(self, key: str) -> str | None:
        """How the counter's line is lit on screen: "syn", "dack" or None (not lit / not shown)."""
        ln = self._by_key.get(key)
        if ln is None or not ln.hot:
            return None
        return "syn" if ln.group is Group.SYN else "dack"

    def line_text(self, key: str) -> str:
        """The counter's line as painted (plain text); "" when not shown."""
        y = self._index.get(key)
        if y is None:
            return ""
        self._resolve_styles()
        return self._build(y).text

    # -- data ----------------------------------------------------------------------------------
    def show(self, detail: NsDetail | None, *, empty: str = "") -> None:
        self.detail = detail
        self._empty = empty
        lines = detail.lines if detail else ()
        self._by_key = {ln.key: ln for ln in lines}
        if self.focus_key not in self._by_key:
            self.focus_key = (detail.chart_key if detail and detail.chart_key else None) or (lines[0].key if lines else None)
        if self._set_entries():
            return
        # same lines: repaint only the lines whose inputs changed (a still namespace costs
        # nothing; a whole-widget refresh would also re-render the border and every blank line)
        top, height = int(self.scroll_y), self.scrollable_content_region.height
        start = count = 0
        for y in range(top, min(len(self._entries), top + height)):
            if self._inputs[y] != self._line_inputs(y):
                if count and start + count == y:
                    count += 1
                    continue
                if count:
                    self.refresh_lines(start, count)
                start, count = y, 1
        if count:
            self.refresh_lines(start, count)

    def _set_entries(self) -> bool:
        """Lay the lines out again; True if they changed (then the whole panel repaints)."""
        lines = self.detail.lines if self.detail else ()
        entries: list[tuple[str, str]] = []
        chunks: dict[int, str] = {}
        group = None
        for ln in lines:
            if ln.group is not group:
                group = ln.group
                entries.append(("group", group.value))
            entries.append(("row" if ln.spark else "flat", ln.key))
            if self.wrap and not self._words_fit(ln):
                for part in _wrap(ln.wording, self._room() - _WORDS_INDENT):
                    chunks[len(entries)] = part
                    entries.append(("words", ln.key))
        if not lines:
            entries = [("blank", ""), ("empty", getattr(self, "_empty", "") or "no counter moved in the window"),
                       ("blank", "")]
        if entries == self._entries and chunks == self._chunks:
            return False
        self._entries, self._chunks = entries, chunks
        self._index = {k: y for y, (kind, k) in enumerate(entries) if kind in ("row", "flat")}
        self._inputs = [None] * len(entries)
        self._strips.clear()
        self._set_virtual_size()
        self.refresh()
        return True

    def _words_fit(self, ln: CounterLine) -> bool:
        """The wording fits at the end of its row, whatever "last moved" says (its longest)."""
        num_w, spark_w = (48, 10) if self.narrow else (62, 14)
        room = self._room() - num_w - spark_w - 2 - (_AGO_MAX if ln.watched else 0)
        return cell_len(ln.wording or "") <= room

    def _line_inputs(self, y: int) -> tuple:
        kind, key = self._entries[y]
        if kind in ("row", "flat"):
            return (self._by_key[key], key == self.focus_key, self.narrow, self.wrap)
        if kind == "words":
            ln = self._by_key[key]
            return (kind, self._chunks.get(y, ""), key == self.focus_key, ln.hot, bool(ln.spark))
        return (kind, key)

    # -- Line API --------------------------------------------------------------------------------
    def _resolve_styles(self) -> None:
        key = (self.app.theme, self.styles.background, self.has_focus)
        if key == self._style_key:
            return
        self._style_key = key
        self._strips.clear()
        self._spark_cache.clear()
        base = self.rich_style
        bg = self.background_colors[1]

        def comp(name: str) -> Any:
            return self.get_component_styles(f"counter-panel--{name}")

        def on(background: Color) -> Style:
            return base + Style(bgcolor=background.rich_color)

        self._styles = {
            "base": base,
            "hot-syn": on(bg + comp("hot-syn").background),
            "hot-dack": on(bg + comp("hot-dack").background),
            "focus": on(bg + comp("focus").background),
            "group": base + Style(color=(bg + comp("group").color).rich_color, bold=True),
            "empty": base + Style(color=(bg + comp("empty").color).rich_color),
        }
        lo, hi = comp("spark-min").color, comp("spark-max").color
        syn, dack = comp("spark-syn").color, comp("spark-dack").color
        # the Sparkline widget blends its colours over the background behind it: the row's
        self._spark_colors = {
            "": (bg + lo, bg + hi),
            "hot-syn": ((b := bg + comp("hot-syn").background) + lo, b + syn),
            "hot-dack": ((b := bg + comp("hot-dack").background) + lo, b + dack),
            "focus": ((b := bg + comp("focus").background) + lo, b + hi),
            "focus-syn": ((b := bg + comp("focus").background) + lo, b + syn),
            "focus-dack": ((b := bg + comp("focus").background) + lo, b + dack),
        }

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        # the compact columns whenever the panel itself is narrow, not only the terminal: at
        # 120 columns with the chart beside it the full columns would leave no room for
        # "last moved" and the netstat -s wording
        self.set_narrow(self._width() < WIDE_FROM)
        self.wrap = self._width() >= WRAP_FROM
        self._strips.clear()
        if not self._set_entries():
            self._set_virtual_size()

    def _set_virtual_size(self) -> None:
        size = Size(self._width(), len(self._entries))
        if size == self.virtual_size:
            return
        # a new namespace usually has another number of lines, and only the scrollbar
        # depends on it (the panel's own height is 1fr): no whole-screen layout for it
        set_virtual_size_quietly(self, size)

    def _room(self) -> int:
        """The width the wording's lines are laid out for: as if the scrollbar were shown, so
        a scrollbar that comes or goes (a longer list) never changes which rows wrap."""
        return max(1, self.content_region.width - self.styles.scrollbar_size_vertical)

    def _width(self) -> int:
        # the lines' width: the vertical scrollbar, when shown, is not ours to paint
        return max(1, self.scrollable_content_region.width)

    def render_line(self, y: int) -> Strip:
        self._resolve_styles()
        width = self._width()
        index = int(self.scroll_y) + y
        if index >= len(self._entries):
            return Strip.blank(width, self._styles["base"])
        inputs = self._line_inputs(index)
        strip = self._strips.get(index)
        if strip is None or self._inputs[index] != inputs or strip.cell_length != width:
            strip = self._strips[index] = self._build(index)
            self._inputs[index] = inputs
            self.lines_rendered += 1
        return strip

    def _build(self, y: int) -> Strip:
        width = self._width()
        st = self._styles
        kind, key = self._entries[y]
        if kind == "blank":
            return Strip.blank(width, st["base"])
        if kind in ("group", "empty"):
            text = key if kind == "group" else "  " + key
            style = st[kind]
            return _fit(Strip([Segment(text)]), width, style)
        ln = self._by_key[key]
        focused = key == self.focus_key
        narrow = self.narrow
        num_w, spark_w = (48, 10) if narrow else (62, 14)
        tone = ("syn" if ln.group is Group.SYN else "dack") if ln.hot else ""
        if kind == "words":  # the whole wording, under its row and in the row's colours
            segs = [Segment(" " * _WORDS_INDENT), Segment(self._chunks.get(y, ""), _DIM)]
            if ln.spark:
                return _fit(Strip(segs), width, st["focus" if focused else (f"hot-{tone}" if tone else "base")])
            if focused:
                segs = list(Segment.apply_style(segs, post_style=_REVERSE))
            return _fit(Strip(segs), width, st["base"])
        numbers = numbers_segments(ln, focused=focused, narrow=narrow)
        # wrap mode: the short "last moved" (it leaves the wording more room), and a wording
        # that does not fit goes to the lines below
        words = words_segments(ln, narrow=narrow or self.wrap, wording=not self.wrap or self._words_fit(ln))
        if kind == "flat":
            # a counter that never moved in the window: no sparkline to draw, a blank in its place
            segs = [*numbers, Segment(" " * (num_w - _length(numbers) + spark_w + 2)), *words]
            if focused:
                segs = list(Segment.apply_style(segs, post_style=_REVERSE))
            return _fit(Strip(segs), width, st["base"])
        look = "focus" if focused else (f"hot-{tone}" if tone else "base")
        style = st[look]
        colors = (f"focus-{tone}" if tone else "focus") if focused else (f"hot-{tone}" if tone else "")
        spark_key = (ln.spark, colors, spark_w)
        spark_segs = self._spark_cache.get(spark_key)
        if spark_segs is None:
            # a quiet counter's sparkline is the same tick after tick: draw it once
            if len(self._spark_cache) > 512:
                self._spark_cache.clear()
            lo, hi = self._spark_colors[colors]
            spark_segs = self._spark_cache[spark_key] = spark_segments(ln.spark, spark_w, lo.rich_color, hi.rich_color)
        segs = numbers
        segs.append(Segment(" " * (num_w - _length(numbers) + 1)))
        segs.extend(spark_segs)
        segs.append(Segment(" "))
        segs.extend(words)
        # as the old per-widget row did: the words column gets the ellipsis, a sparkline is just cut
        return _fit(Strip(segs), width, style, ellipsis=width > num_w + spark_w + 2)

    # -- keys and mouse ------------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        keys = self.keys
        if not keys:
            return
        i = keys.index(self.focus_key) if self.focus_key in keys else 0
        self._focus_index(max(0, min(len(keys) - 1, i + step)))

    def action_move_to(self, index: int) -> None:
        keys = self.keys
        if keys:
            self._focus_index(index % len(keys))

    def _focus_index(self, i: int) -> None:
        key = self.keys[i]
        self.focus_key = key
        self.refresh()
        y = self._index.get(key)
        if y is not None:
            # a group header just above the first counter scrolls into view with it, and
            # the wording's own line below it
            top = y - 1 if y > 0 and self._entries[y - 1][0] == "group" else y
            bottom = y
            while bottom + 1 < len(self._entries) and self._entries[bottom + 1] == ("words", key):
                bottom += 1
            self.scroll_to_region(Region(0, top, 1, bottom - top + 1), animate=False, immediate=True)
        self.post_message(self.Focused(self, key))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < len(self._entries):
            kind, key = self._entries[index]
            if kind in ("row", "flat", "words") and key in self._by_key:
                self._focus_index(self.keys.index(key))


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` cells (a longer word gets a line of its own)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and cell_len(line) + 1 + cell_len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines or [""]


def _fit(strip: Strip, width: int, style: Style, ellipsis: bool = True) -> Strip:
    """Cut to the panel's width (with an ellipsis, unless that would cut a sparkline), pad."""
    if strip.cell_length > width:
        strip = Strip([*strip.crop(0, width - 1), Segment("…")]) if ellipsis else strip.crop(0, width)
    # simplify(): neighbours of one style become one segment, as rich's Text rendering gives
    return strip.apply_style(style).adjust_cell_length(width, style).simplify()
