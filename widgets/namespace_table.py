"""The namespace table: one row per network namespace, trouble lit and sorted first.

Takes data (namespaces + their :class:`~tui.source.NsSummary`), does no I/O.

A Line-API widget (``ScrollView`` + ``render_line``), not a ``DataTable``: DataTable keys
its cell render cache on a table-wide update counter, so one ``update_cell`` re-renders
every visible cell (~100 ms per tick at 500 namespaces). Here each row's rendered line
(a ``Strip``) is cached per namespace and rebuilt only when that row's inputs changed; a
tick re-renders only changed rows, and painting is a lookup of cached strips.

Lit rows carry a marker *and* a colour (colour alone fails on a monochrome terminal and for
colour-blind readers): ``S`` = a SYN-trouble counter moved in the latest tick, ``D`` = a
delayed-ACK counter did, ``C`` = the namespace's conntrack dropped packets or evicted entries
(the node's row, where kube-proxy's NAT runs: SYNs lost before any socket sees them), ``·`` =
a SYN-trouble or delayed-ACK counter moved in the last minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Iterable

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.core.namespaces import KIND_RANK, NetNS
from tui.source import RECENT_S, NsSummary
from widgets.formatting import fmt_ago, fmt_rate
from widgets.selection import HOLD_S, NEITHER, SelectionPolicy, Step
from widgets.sparkline import trend_blocks

__all__ = ["HOLD_S", "NamespaceTable", "SORTS"]

SORTS: dict[str, str] = {
    "trouble": "trouble first (lit rows, then recent trouble, then name)",
    "syn": "SYN trouble per second",
    "dack": "delayed ACKs per second",
    "retrans": "retransmits per second",
    "name": "name",
    "kind": "kind (host, pods, containers, netns, processes)",
}

KIND_SHORT = {"host": "host", "pod": "pod", "container": "ctr", "netns": "netns", "proc": "proc"}


def _trend_cell(trend: tuple[int, ...], width: int, style: str) -> tuple[str, str]:
    """A tiny text sparkline (the table cannot hold a Sparkline widget per cell): text, style."""
    blocks = trend_blocks(trend[-width:])
    return (blocks, style) if blocks else ("·", "dim")


@dataclass(frozen=True)
class _Layout:
    wide: bool
    width: int
    name_w: int
    columns: tuple[tuple[str, str, int], ...]  # (key, label, width)


_RIGHT = frozenset({"pid", "syn", "dack", "retrans", "last", "trend"})


class NamespaceTable(ScrollView, can_focus=True):
    """Namespaces with their SYN-trouble, delayed-ACK and retransmit rates."""

    DEFAULT_CSS = """
    NamespaceTable { height: auto; max-height: 100%; overflow-x: hidden; }
    NamespaceTable > .namespace-table--header { text-style: bold; background: $panel; }
    NamespaceTable > .namespace-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    NamespaceTable:blur > .namespace-table--cursor { background: $block-cursor-blurred-background; text-style: bold; }
    """

    COMPONENT_CLASSES = {"namespace-table--header", "namespace-table--cursor"}

    BINDINGS = [
        Binding("enter", "open_detail", "Detail", show=False, id="table.detail"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.pageup"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.pagedown"),
        Binding("home", "cursor_to(0)", "First", show=False, id="table.home"),
        Binding("end", "cursor_to(-1)", "Last", show=False, id="table.end"),
    ]

    class Selected(Message):
        """The highlighted namespace changed (keyboard or mouse)."""

        def __init__(self, table: NamespaceTable, ns: NetNS | None) -> None:
            super().__init__()
            self.table = table
            self.ns = ns

        @property
        def control(self) -> NamespaceTable:
            return self.table

    class DetailRequested(Message):
        """Enter on a row: the user wants the detail panel."""

        def __init__(self, table: NamespaceTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> NamespaceTable:
            return self.table

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.sort_key = "trouble"
        self.sort_reverse = False
        self.recent_s = RECENT_S
        self._layout: _Layout | None = None
        self._inputs: dict[int, tuple] = {}  # inode -> the inputs its cached strip was built from
        self._checked: set[int] = set()  # rows whose inputs were compared this tick (_fresh)
        self._cells: dict[int, dict[str, Text]] = {}  # inode -> rendered cells (tests read them)
        self._strips: dict[int, Strip] = {}  # inode -> the row's line, without cursor style
        # inode -> (line, cursor?, style, width, the line as painted): a repaint of an
        # unchanged row (another row changed, the cursor moved) is a lookup
        self._painted: dict[int, tuple[Strip, bool, Style, int, Strip]] = {}
        self._header: Strip | None = None
        # per screen line, what was painted there: (inode, strip, on cursor?) or None (blank)
        self._painted_at: list[tuple[int, Strip, bool] | None] = []
        self._painted_width = 0
        self._order: list[int] = []
        self._rows_before = 0  # rows shown before the latest show(): same count, same height
        self._ns: dict[int, NetNS] = {}
        self._sum: dict[int, NsSummary] = {}
        self._now = 0.0
        # until the user picks a row, the selection is the top row: with the default sort
        # that is the namespace in the worst trouble, so its detail is what shows first
        self.selection = SelectionPolicy()
        self.total = 0
        self.rows_rendered = 0  # rows whose strip was rebuilt (the benchmark reads it)
        self._style_key: tuple | None = None
        self._style_val: tuple[Style, Style, Style] = (Style(), Style(), Style())

    # -- public API -----------------------------------------------------------------------
    @property
    def selected_inode(self) -> int | None:
        return self.selection.selected

    @property
    def selected_namespace(self) -> NetNS | None:
        inode = self.selection.selected
        return self._ns.get(inode) if inode is not None else None

    @property
    def user_chose(self) -> bool:
        """The user picked a row: the selection no longer follows the worst one."""
        return self.selection.user_chose

    @user_chose.setter
    def user_chose(self, value: bool) -> None:
        self.selection.user_chose = value

    @property
    def cursor_row(self) -> int:
        return self.selection.cursor_row

    @property
    def shown(self) -> int:
        return len(self._order)

    @property
    def order(self) -> list[int]:
        return list(self._order)

    def row_at(self, index: int) -> int:
        return self._order[index]

    def get_cell(self, inode: int | str, column: str) -> Text:
        return self._row_cells(int(inode))[column]

    def _fresh(self, inode: int) -> None:
        """Bring the row's cached line up to this tick: its inputs are computed once per tick,
        and a change drops its cells and line (rebuilt when painted)."""
        if inode in self._checked:
            return
        self._checked.add(inode)
        inputs = self._cell_inputs(inode)
        if self._inputs.get(inode) != inputs:
            self._inputs[inode] = inputs
            self._strips.pop(inode, None)
            self._cells.pop(inode, None)

    def _row_cells(self, inode: int) -> dict[str, Text]:
        self._fresh(inode)
        cells = self._cells.get(inode)
        if cells is None:
            cells = self._cells[inode] = self._render_cells(inode, self._inputs[inode])
        return cells

    def show(self, namespaces: Iterable[NetNS], summaries: dict[int, NsSummary], now: float,
             keep: Callable[[NetNS], bool] | None = None, total: int | None = None, retop: bool = False) -> None:
        """Show these namespaces (those ``keep`` accepts); only changed rows are re-rendered.

        ``retop``: the rows were re-chosen (a new filter): an automatic selection goes back
        to the top row (see :mod:`widgets.selection`).
        """
        self.selection.retop |= retop
        all_ns = list(namespaces)
        self.total = len(all_ns) if total is None else total
        rows = [ns for ns in all_ns if keep is None or keep(ns)]
        self._now = now
        self._ns = {ns.inode: ns for ns in rows}
        self._sum = summaries
        layout = self._compute_layout()
        if layout != self._layout:
            self._layout = layout
            self._inputs.clear()
            self._strips.clear()
            self._cells.clear()
            self._painted.clear()
            self._header = None
        for gone in set(self._inputs) - set(self._ns):
            del self._inputs[gone]
            self._strips.pop(gone, None)
            self._cells.pop(gone, None)
            self._painted.pop(gone, None)
        # a row's inputs are compared (and its line rebuilt) only when it is on screen: of
        # 500 rows ~30 are, and the rest would cost ~2 ms per tick for nothing (see _fresh)
        self._checked.clear()
        self._rows_before = len(self._order)
        self._order = self._sorted(list(self._ns))
        self.virtual_size = Size(layout.width, len(self._order) + 1)
        self._follow_selection()
        self._refresh_changed()

    def _refresh_changed(self) -> None:
        """Repaint the screen lines that will look different; the rest stay as painted.

        A line is what ``render_line`` last painted at that y: (row, its cached strip, on the
        cursor?). A whole-widget refresh would re-render every line through Textual's
        pipeline, which at 200x60 costs more than building the changed rows.
        """
        height, width = self.size.height, self.size.width
        if len(self._painted_at) != height or self._painted_width != width:
            self.refresh()
            return
        top = int(self.scroll_y)
        start = count = 0
        for y in range(1, height):
            index = top + y - 1
            if index < len(self._order):
                inode = self._order[index]
                self._fresh(inode)
                now = (inode, self._strips.get(inode), index == self.cursor_row)
            else:
                now = None
            if self._painted_at[y] != now or now is not None and now[1] is None:
                if count and start + count == y:
                    count += 1
                    continue
                if count:
                    self.refresh(Region(0, start, width, count))
                start, count = y, 1
        if count:
            self.refresh(Region(0, start, width, count))

    def select_inode(self, inode: int) -> None:
        """Select a namespace programmatically (as if the user moved the cursor there)."""
        if inode not in self._ns:
            return
        changed = self.selection.pick(inode)
        self._follow_selection()
        if changed:
            self.post_message(self.Selected(self, self._ns[inode]))

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        if key not in SORTS:
            raise ValueError(f"unknown sort {key!r}")
        self.sort_key = key
        if reverse is not None:
            self.sort_reverse = reverse
        self.selection.retop = True

    # -- layout ---------------------------------------------------------------------------
    def _compute_layout(self) -> _Layout:
        width = self.size.width or (self.app.size.width if self.is_attached else 80)
        wide = width >= 120
        if wide:
            fixed = [("kind", "kind", 9), ("pid", "pid", 8),
                     ("syn", "SYN/s", 7), ("dack", "dACK/s", 7), ("retrans", "retx/s", 7),
                     ("trend", "trend", 14), ("last", "moved", 8)]
        else:
            fixed = [("kind", "kind", 5), ("pid", "pid", 7), ("syn", "SYN/s", 5), ("dack", "dACK/s", 6),
                     ("retrans", "retx/s", 6), ("trend", "trend", 6)]
        ncols = len(fixed) + 2
        used = 3 + sum(w for _, _, w in fixed) + ncols + 1  # one space between columns, scrollbar
        name_w = max(12, width - used)
        if wide:
            name_w = min(name_w, 72)
        return _Layout(wide, width, name_w, (("mark", " ", 3), ("name", "name", name_w), *fixed))

    # -- cells ----------------------------------------------------------------------------
    def _recent(self, s: NsSummary) -> bool:
        return s.last_moved is not None and (self._now - s.last_moved) <= self.recent_s

    def _cell_inputs(self, inode: int) -> tuple:
        """Everything a row's rendering depends on; equal tuples -> nothing to redraw."""
        ns = self._ns[inode]
        s = self._sum.get(inode) or _EMPTY
        wide = self._layout.wide if self._layout else False
        ago = None if (s.last_moved is None or not wide) else int(self._now - s.last_moved)
        # a pod's name is "<k8s namespace>/<pod>" (NetNS.name, the one name shown anywhere):
        # the namespace part is drawn dim, never added again
        k8s = ns.k8s_namespace
        prefix = len(k8s) + 1 if k8s and ns.name.startswith(k8s + "/") else 0
        return (
            ns.name, ns.kind, prefix, ns.pid, s.syn_lit, s.dack_lit, self._recent(s),
            fmt_rate(s.syn_rate), fmt_rate(s.dack_rate), fmt_rate(s.retrans_rate), s.trend, ago, s.ct_lit,
        )

    def _cell_specs(self, c: tuple) -> dict[str, tuple[str, str]]:
        """Each cell's text and style from the row's inputs: what both row paths paint."""
        assert self._layout is not None
        name, kind, _prefix, pid, syn_lit, dack_lit, recent, syn, dack, retrans, trend, ago, ct_lit = c
        wide = self._layout.wide
        if syn_lit or dack_lit or ct_lit:
            letters = ("S" if syn_lit else " ") + ("D" if dack_lit else " ") + ("C" if ct_lit else " ")
            mark = (letters.rstrip(), "bold reverse red" if syn_lit else ("bold reverse magenta" if ct_lit else "bold reverse yellow"))
        else:
            mark = (" ·" if recent else "", "dim")
        return {
            "mark": mark,
            "name": (name, "bold red" if syn_lit else ("bold magenta" if ct_lit else ("bold yellow" if dack_lit else ""))),
            "kind": (KIND_SHORT.get(kind, kind) if not wide else kind, "dim" if kind == "proc" else ""),
            "pid": (str(pid) if pid else "-", "" if pid else "dim"),
            "syn": (syn, "bold red" if syn_lit else "dim"),
            "dack": (dack, "bold yellow" if dack_lit else "dim"),
            "retrans": (retrans, "" if retrans != "·" else "dim"),
            "trend": _trend_cell(trend, 14 if wide else 6, "red" if syn_lit else ("yellow" if dack_lit else "cyan")),
            "last": ("-" if ago is None else fmt_ago(ago, compact=True), "" if syn_lit or dack_lit else "dim"),
        }

    def _render_cells(self, inode: int, c: tuple) -> dict[str, Text]:
        assert self._layout is not None
        specs = self._cell_specs(c)
        cells = {key: _t(text, style, "right" if key in _RIGHT else "left") for key, (text, style) in specs.items()}
        prefix = c[2]
        if prefix:  # the pod's k8s namespace, dim
            name, style = specs["name"]
            cells["name"] = Text(no_wrap=True, overflow="ellipsis", end="")
            cells["name"].append(name[:prefix], style="dim")
            cells["name"].append(name[prefix:], style=style)
        return cells

    def _paint(self, cells: dict[str, tuple[str, str]], prefix: int = 0) -> Strip:
        """The one row painter: a row (or the header) as one Strip, built from its cell specs.

        Every cell is cut to its column with "…" or padded (right-aligned numbers, names
        padded unstyled); a pod's k8s namespace prefix is dim; neighbours of one style
        become one segment (as ``simplify()`` does). A name with wide characters is measured
        and cut by rich (:func:`_rich_pieces`): ``len()`` is not its width.
        """
        layout = self._layout
        assert layout is not None
        segs: list[Segment] = []
        run, run_style = "", ""  # neighbours of one style become one segment
        for i, (key, _, width) in enumerate(layout.columns):
            text, style = cells[key]
            if key == "name" and not _single_width(text):
                pieces = _rich_pieces(text, prefix, style, width, self.app.console)
            elif key == "name" and prefix:
                pieces = _name_pieces(text, prefix, style, width)
            else:
                if len(text) > width:
                    text = text[: width - 1] + "…"
                pad = " " * (width - len(text))
                if key in _RIGHT:
                    pieces = ((pad, ""), (text, style))
                else:  # a name's padding unstyled (the cursor's style shows through it)
                    pieces = ((text, style), (pad, "")) if key == "name" else ((text + pad, style),)
            for piece, st in ((" ", ""), *pieces) if i else pieces:
                if not piece:
                    continue
                if st == run_style:
                    run += piece
                else:
                    if run:
                        segs.append(Segment(run, _style(run_style)))
                    run, run_style = piece, st
        if run:
            segs.append(Segment(run, _style(run_style)))
        return Strip(segs)

    def _row_strip(self, inode: int) -> Strip:
        c = self._inputs[inode]
        return self._paint(self._cell_specs(c), prefix=c[2])

    def _header_strip(self) -> Strip:
        if self._header is None:
            assert self._layout is not None
            self._header = self._paint({key: (label, "") for key, label, _ in self._layout.columns})
        return self._header

    # -- Line API ---------------------------------------------------------------------------
    def _styles(self) -> tuple[Style, Style, Style]:
        """(base, header, base + cursor) styles; looked up once per theme/focus state, not per line."""
        key = (self.app.theme, self.has_focus, self.app.current_theme.dark if hasattr(self.app, "current_theme") else None)
        if self._style_key != key:
            self._style_key = key
            base = self.rich_style
            self._style_val = (
                base,
                self.get_component_rich_style("namespace-table--header"),
                base + self.get_component_rich_style("namespace-table--cursor"),
            )
        return self._style_val

    def on_focus(self) -> None:
        self._style_key = None
        self.refresh()

    def on_blur(self) -> None:
        self._style_key = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._layout is None:
            return Strip.blank(width)
        base, header, cursor = self._styles()
        height = self.size.height
        if len(self._painted_at) != height or self._painted_width != width:
            self._painted_at = [None] * height
            self._painted_width = width
        if y == 0:
            return self._header_strip().apply_style(header).adjust_cell_length(width, header)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._order):
            if y < height:
                self._painted_at[y] = None
            return Strip.blank(width, base)
        inode = self._order[index]
        self._fresh(inode)
        strip = self._strips.get(inode)
        if strip is None:
            strip = self._strips[inode] = self._row_strip(inode)
            self.rows_rendered += 1
        on_cursor = index == self.cursor_row
        if y < height:
            self._painted_at[y] = (inode, strip, on_cursor)
        style = cursor if on_cursor else base
        painted = self._painted.get(inode)
        if painted is not None and painted[0] is strip and painted[1] == on_cursor and painted[2] is style \
                and painted[3] == width:
            return painted[4]
        line = strip.apply_style(style).adjust_cell_length(width, style)
        self._painted[inode] = (strip, on_cursor, style, width, line)
        return line

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return len(self._order) + 1

    # -- sorting & selection -----------------------------------------------------------------
    def _sorted(self, inodes: list[int]) -> list[int]:
        ns, su, key = self._ns, self._sum, self.sort_key

        def s(i: int) -> NsSummary:
            return su.get(i) or _EMPTY

        if key == "trouble":
            def k(i: int):  # type: ignore[no-untyped-def]
                x = s(i)
                # conntrack's drops (C) are lost SYNs too, before any socket: after S, before D
                return (not x.syn_lit, not x.ct_lit, not x.dack_lit, -x.syn_rate, -x.dack_rate, not self._recent(x),
                        ns[i].kind != "host", ns[i].name.lower())
        elif key == "syn":
            def k(i: int):  # type: ignore[no-untyped-def]
                return (-s(i).syn_rate, ns[i].name.lower())
        elif key == "dack":
            def k(i: int):  # type: ignore[no-untyped-def]
                return (-s(i).dack_rate, ns[i].name.lower())
        elif key == "retrans":
            def k(i: int):  # type: ignore[no-untyped-def]
                return (-s(i).retrans_rate, ns[i].name.lower())
        elif key == "kind":
            def k(i: int):  # type: ignore[no-untyped-def]
                return (ns[i].kind != "host", -KIND_RANK.get(ns[i].kind, 0), ns[i].name.lower())
        else:
            def k(i: int):  # type: ignore[no-untyped-def]
                return (ns[i].name.lower(), i)
        return sorted(inodes, key=k, reverse=self.sort_reverse)

    def _follow_selection(self) -> None:
        """Keep the cursor on the selected namespace wherever sorting moved it (the policy:
        :class:`widgets.selection.SelectionPolicy`)."""
        self._carry_out(self.selection.follow(self._order, self._severity, self._now, self.size.height - 1,
                                              self._rows_before))

    def _carry_out(self, step: Step) -> None:
        if step.changed:
            self._post_selected()
        if step.automatic:
            if self.scroll_y:
                self.scroll_to(y=0, animate=False, immediate=True)  # the worst rows stay in view
            if not step.settled:  # rows came or went: the table's height is known after layout
                self.call_after_refresh(self._check_fold)
        elif self._order:
            self._scroll_cursor_into_view()

    def _post_selected(self) -> None:
        inode = self.selection.selected
        self.post_message(self.Selected(self, self._ns[inode] if inode is not None else None))

    def _check_fold(self) -> None:
        """An automatic selection below the fold goes back to the top, once layout has given
        the table its real height (rows that just appeared may have made it taller)."""
        if self.selection.check_fold(self._order, self._severity, self._now, self.size.height - 1):
            self._post_selected()
            self.refresh()

    def on_resize(self) -> None:
        if self._layout is not None and self._compute_layout() != self._layout:
            self.show(list(self._ns.values()), self._sum, self._now, total=self.total)
        self._check_fold()

    def _severity(self, inode: int) -> int:
        """0: SYN trouble now, 1: delayed ACKs now, 2: neither."""
        s = self._sum.get(inode) or _EMPTY
        return 0 if s.syn_lit else (1 if s.dack_lit else NEITHER)

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def _move_to(self, row: int) -> None:
        if not self._order:
            return
        if self.selection.choose(self._order, row):
            self._post_selected()
        self._scroll_cursor_into_view()
        self.refresh()

    def action_cursor(self, step: int) -> None:
        self._move_to(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self._move_to(self.cursor_row + step * max(1, self.size.height - 2))

    def action_cursor_to(self, row: int) -> None:
        self._move_to(row if row >= 0 else len(self._order) - 1)

    def action_open_detail(self) -> None:
        self.post_message(self.DetailRequested(self))

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self._move_to(int(self.scroll_y) + event.y - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh()


_EMPTY = NsSummary(0)
_SPACE = Segment(" ")
_STYLES: dict[str, Style] = {}


def _style(style: str | Style) -> Style:
    if isinstance(style, Style):
        return style
    st = _STYLES.get(style)
    if st is None:
        st = _STYLES[style] = Style.parse(style) if style else Style()
    return st


def _name_pieces(name: str, prefix: int, style: str, width: int) -> tuple[tuple[str, str], ...]:
    """A pod's name as rich paints its Text (the k8s namespace dim, the pod in the row's
    style, cut with "…" in the style of the span that reaches the cut, padding unstyled)."""
    cut = name if len(name) <= width else name[: width - 1]
    pieces = [(cut[:prefix], "dim"), (cut[prefix:], style)]
    if len(name) > width:
        last_style, last_end = (style, len(name)) if style else ("dim", prefix)
        pieces.append(("…", last_style if last_end >= width else ""))
    else:
        pieces.append((" " * (width - len(name)), ""))
    return tuple(pieces)


def _single_width(text: str) -> bool:
    """Every character one cell wide (ASCII, "café", block characters): len() is the width."""
    return text.isascii() or cell_len(text) == len(text)


def _rich_pieces(name: str, prefix: int, style: str, width: int, console: Console) -> list[tuple[str, Style | str]]:
    """A name with wide characters as rich cuts and pads it: its Text (the k8s namespace
    dim) truncated with "…" to ``width`` cells and padded unstyled, rendered to pieces."""
    cell = Text(no_wrap=True, overflow="ellipsis", end="")
    cell.append(name[:prefix], style="dim")
    cell.append(name[prefix:], style=style)
    cell.truncate(width, overflow="ellipsis")
    pieces: list[tuple[str, Style | str]] = [(seg.text, seg.style or "") for seg in cell.render(console) if seg.text]
    pad = width - cell.cell_len
    if pad > 0:
        pieces.append((" " * pad, ""))
    return pieces


def _t(text: str, style: str = "", justify: str = "left") -> Text:
    return Text(text, style=style, justify=justify, no_wrap=True, end="")  # type: ignore[arg-type]
