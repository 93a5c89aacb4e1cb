"""The detail panel: one namespace's counters, grouped, each with a live Sparkline.

Takes an :class:`~tui.source.NsDetail` (computed in the sampling thread), does no I/O.
Rows are reused between ticks: when the set of shown counters is unchanged a tick only
updates two Statics and assigns a *new* list to each Sparkline's ``data`` (a Sparkline
redraws only on assignment). SYN-trouble and delayed-ACK rows are highlighted while their
delta is non-zero — with a ``!`` marker as well as a colour — and always say when they last
moved, so a burst between two glances is not missed.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from tui.core.catalog import Group
from tui.source import CounterLine, NsDetail, nstat_name

from .namespace_table import fmt_rate

__all__ = ["CounterPanel", "CounterRow", "FlatBlock", "fmt_ago", "numbers_text", "words_text"]


def fmt_ago(seconds: float | None, short: bool = False) -> str:
    if seconds is None:
        return "never moved"
    s = int(seconds)
    if s <= 0:
        return "now" if short else "moving now"
    if short:
        return f"{s}s ago" if s < 120 else (f"{s // 60}m ago" if s < 7200 else f"{s // 3600}h ago")
    if s < 120:
        return f"last moved {s} s ago"
    if s < 7200:
        return f"last moved {s // 60} min ago"
    return f"last moved {s // 3600} h ago"


def _num(v: int) -> str:
    return f"{v:,}".replace(",", " ") if abs(v) >= 100_000 else str(v)


def numbers_text(line: CounterLine, *, focused: bool, narrow: bool) -> Text:
    """marker, nstat name, value, delta since the last tick, rate."""
    hot = line.hot
    name_w, val_w, d_w, r_w = (22, 9, 5, 6) if narrow else (28, 13, 7, 8)
    t = Text(no_wrap=True, overflow="ellipsis", end="")
    t.append("▸" if focused else " ", style="bold")
    t.append("!" if hot else " ", style="bold red" if line.group is Group.SYN else "bold yellow")
    name = nstat_name(line.key)
    if len(name) > name_w:
        name = name[: name_w - 1] + "…"
    t.append(f"{name:<{name_w}}", style="bold" if hot else "")
    t.append(f"{_num(line.value):>{val_w}}")
    if line.gauge:
        t.append(f"{'gauge':>{d_w + 1}}", style="dim")
        t.append(f"{'':>{r_w + 3}}")
    else:
        if line.delta is None:
            t.append(f"{'reset':>{d_w + 1}}", style="bold magenta")
        else:
            t.append(f"{('+' + str(line.delta)) if line.delta else '·':>{d_w + 1}}", style="bold" if line.delta else "dim")
        r = "?" if line.rate is None else fmt_rate(line.rate)
        t.append(f"{r:>{r_w}}/s" if r not in ("·", "?") else f"{r:>{r_w}}  ", style="" if line.rate else "dim")
    return t


def words_text(line: CounterLine, *, narrow: bool) -> Text:
    """"last moved" for the watched groups, then the netstat -s wording."""
    words = Text(no_wrap=True, overflow="ellipsis", end="")
    if line.watched:
        words.append(fmt_ago(line.last_moved_ago, short=narrow), style="bold" if line.hot else "")
        words.append(" · ")
    words.append(line.wording or "", style="dim")
    return words


class TextCell(Widget):
    """One line of rich Text, painted through the Line API.

    A Static goes through Content/Visual on every update; a detail panel re-renders ~30 of
    these per tick, so the cheap path matters (see bench/bench_ui.py).
    """

    DEFAULT_CSS = """
    TextCell { height: 1; }
    """

    def __init__(self, classes: str = "") -> None:
        super().__init__(classes=classes)
        self.text = Text()
        self._segments: list[Segment] = []

    def set(self, text: Text) -> None:
        self.text = text
        self._segments = [s for s in text.render(self.app.console) if s.text and s.text != "\n"]
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y != 0:
            return Strip.blank(width, base)
        strip = Strip(self._segments)
        if strip.cell_length > width and width > 0:
            strip = strip.crop(0, width - 1)
            strip = Strip([*strip, Segment("…")])
        return strip.apply_style(base).adjust_cell_length(width, base)


class CounterRow(Horizontal):
    """A counter that moved: value, delta, rate | Sparkline | last moved + netstat -s wording."""

    DEFAULT_CSS = """
    CounterRow { height: 1; width: 1fr; }
    CounterRow > .numbers { width: 62; height: 1; }
    CounterRow > Sparkline { width: 14; height: 1; margin: 0 1; }
    CounterRow > .words { width: 1fr; height: 1; }
    CounterRow.-hot-syn { background: $error 25%; }
    CounterRow.-hot-dack { background: $warning 20%; }
    CounterRow.-focus { background: $accent 30%; }
    CounterRow.-hot-syn > Sparkline > .sparkline--max-color { color: $error; }
    CounterRow.-hot-dack > Sparkline > .sparkline--max-color { color: $warning; }
    """

    def __init__(self, key: str) -> None:
        super().__init__(classes="counter-row")
        self.key = key
        self._numbers = TextCell(classes="numbers")
        self._words = TextCell(classes="words")
        self._spark = Sparkline([], summary_function=max)
        self._last: tuple | None = None

    def compose(self) -> ComposeResult:
        yield self._numbers
        yield self._spark
        yield self._words

    def show(self, line: CounterLine, *, focused: bool, narrow: bool, baseline: bool) -> None:
        state = (line, focused, narrow, baseline)
        if state == self._last:
            return
        self._last = state
        hot = line.hot
        self.set_class(hot and line.group is Group.SYN, "-hot-syn")
        self.set_class(hot and line.group is Group.DELAYED_ACK, "-hot-dack")
        self.set_class(focused, "-focus")
        self._numbers.set(numbers_text(line, focused=focused, narrow=narrow))
        self._words.set(words_text(line, narrow=narrow))
        self._spark.data = list(line.spark)  # a NEW list: Sparkline redraws on assignment only


class FlatBlock(Static):
    """A run of counters that never moved: one Static for all of them (no Sparkline to draw).

    "All counters" is ~300 rows; four widgets per row would take seconds to mount.
    """

    DEFAULT_CSS = """
    FlatBlock { height: auto; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, keys: list[str]) -> None:
        super().__init__(classes="flat")
        self.keys = keys
        self._last: tuple | None = None

    def show(self, lines: list[CounterLine], *, focus_key: str | None, narrow: bool) -> None:
        state = (tuple(lines), focus_key, narrow)
        if state == self._last:
            return
        relayout = self._last is None or len(self._last[0]) != len(lines) or self._last[2] != narrow
        self._last = state
        gap = " " * (13 if narrow else 17)  # the numbers cell is one wider than its text, plus the sparkline and its margins
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        for i, ln in enumerate(lines):
            if i:
                out.append("\n")
            row = numbers_text(ln, focused=ln.key == focus_key, narrow=narrow)
            row.append(gap)
            row.append_text(words_text(ln, narrow=narrow))
            if ln.key == focus_key:
                row.stylize("reverse")
            out.append_text(row)
        self.update(out, layout=relayout)


class CounterPanel(VerticalScroll, can_focus=True):
    """Counters of the selected namespace; up/down chooses the charted counter."""

    DEFAULT_CSS = """
    CounterPanel { height: 1fr; border: round $panel-lighten-2; padding: 0 0; }
    CounterPanel:focus { border: round $accent; }
    CounterPanel > .group { height: 1; color: $text-accent; text-style: bold; margin-top: 0; }
    CounterPanel > .empty { color: $text-muted; padding: 1 2; }
    CounterPanel.-narrow > CounterRow > .numbers { width: 48; }
    CounterPanel.-narrow > CounterRow > Sparkline { width: 10; }
    """

    BINDINGS = [
        Binding("up,k", "move(-1)", "Prev counter", show=False, id="detail.up"),
        Binding("down,j", "move(1)", "Next counter", show=False, id="detail.down"),
        Binding("home", "move_to(0)", "First counter", show=False, id="detail.home"),
        Binding("end", "move_to(-1)", "Last counter", show=False, id="detail.end"),
    ]

    class Focused(Message):
        """The user moved to another counter (the chart follows)."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.detail: NsDetail | None = None
        self.focus_key: str | None = None
        self.narrow = False
        self._layout_keys: tuple[str, ...] = ()
        self._rows: dict[str, CounterRow] = {}
        self._blocks: list[FlatBlock] = []
        self._where: dict[str, CounterRow | FlatBlock] = {}

    @property
    def keys(self) -> list[str]:
        return [ln.key for ln in self.detail.lines] if self.detail else []

    def set_narrow(self, narrow: bool) -> None:
        self.narrow = narrow
        self.set_class(narrow, "-narrow")

    def show(self, detail: NsDetail | None, *, empty: str = "") -> None:
        self.detail = detail
        lines = detail.lines if detail else ()
        if self.focus_key not in {ln.key for ln in lines}:
            self.focus_key = (detail.chart_key if detail and detail.chart_key else None) or (lines[0].key if lines else None)
        layout = tuple(f"{ln.group.value}\0{ln.key}\0{bool(ln.spark)}" for ln in lines) or (f"\0empty\0{empty}",)
        if layout != self._layout_keys:
            self._rebuild(lines, empty)
            self._layout_keys = layout
        baseline = bool(detail and detail.baseline_time is not None)
        by_key = {ln.key: ln for ln in lines}
        for ln in lines:
            row = self._rows.get(ln.key)
            if row is not None:
                row.show(ln, focused=ln.key == self.focus_key, narrow=self.narrow, baseline=baseline)
        for block in self._blocks:
            block.show([by_key[k] for k in block.keys], focus_key=self.focus_key, narrow=self.narrow)

    def _rebuild(self, lines: tuple[CounterLine, ...], empty: str) -> None:
        # remove_children is async but ordered: mounting after it is safe within one handler
        self.remove_children()
        self._rows = {}
        self._blocks = []
        self._where = {}
        widgets: list[Static | CounterRow] = []
        group = None
        block: FlatBlock | None = None
        for ln in lines:
            if ln.group is not group:
                group = ln.group
                block = None
                widgets.append(Static(Text(group.value), classes="group"))
            if ln.spark:
                block = None
                row = CounterRow(ln.key)
                self._rows[ln.key] = row
                self._where[ln.key] = row
                widgets.append(row)
            else:
                if block is None:
                    block = FlatBlock([])
                    self._blocks.append(block)
                    widgets.append(block)
                block.keys.append(ln.key)
                self._where[ln.key] = block
        if not lines:
            widgets.append(Static(Text(empty or "no counter moved in the window"), classes="empty"))
        self.mount_all(widgets)

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
        if self.detail is not None:
            self.show(self.detail)
        where = self._where.get(key)
        if isinstance(where, CounterRow):
            self.scroll_to_widget(where, animate=False)
        elif isinstance(where, FlatBlock):
            r = where.virtual_region
            line = where.keys.index(key)
            self.scroll_to_region(r.__class__(r.x, r.y + line, r.width, 1), animate=False)
        self.post_message(self.Focused(key))

    def on_click(self, event) -> None:  # type: ignore[no-untyped-def]
        w = event.widget
        while w is not None and not isinstance(w, (CounterRow, FlatBlock)):
            w = w.parent
        if isinstance(w, CounterRow) and w.key in self.keys:
            self._focus_index(self.keys.index(w.key))
        elif isinstance(w, FlatBlock) and 0 <= event.y < len(w.keys):
            self._focus_index(self.keys.index(w.keys[event.y]))
