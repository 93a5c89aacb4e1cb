"""The namespace table: one row per network namespace, trouble lit and sorted first.

Takes data (namespaces + their :class:`~tui.source.NsSummary`), does no I/O. Updates are
incremental: a row whose cells did not change is not touched, a changed cell goes through
``update_cell``, rows are added/removed as namespaces come and go, and the table is only
re-sorted when the order actually changed. With 500 mostly idle namespaces a tick touches a
handful of cells.

Lit rows carry a marker *and* a colour (colour alone fails on a monochrome terminal and for
colour-blind readers): ``S`` = a SYN-trouble counter moved in the latest tick, ``D`` = a
delayed-ACK counter did, ``·`` = one of them moved in the last minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from tui.core.namespaces import KIND_RANK, NetNS
from tui.source import RECENT_S, NsSummary

__all__ = ["NamespaceTable", "SORTS", "fmt_rate", "trend_text"]

SORTS: dict[str, str] = {
    "trouble": "trouble first (lit rows, then recent trouble, then name)",
    "syn": "SYN trouble per second",
    "dack": "delayed ACKs per second",
    "retrans": "retransmits per second",
    "name": "name",
    "kind": "kind (host, pods, containers, netns, processes)",
}

KIND_SHORT = {"host": "host", "pod": "pod", "container": "ctr", "netns": "netns", "proc": "proc"}
_BLOCKS = " ▁▂▃▄▅▆▇█"


def fmt_rate(r: float) -> str:
    if r <= 0:
        return "·"
    if r >= 9999.5:
        return f"{r / 1000:.0f}k"
    if r >= 999.5:
        return f"{r / 1000:.1f}k"
    if r >= 9.95 or r == int(r):
        return f"{r:.0f}"
    return f"{r:.1f}"


def trend_text(trend: tuple[int, ...], width: int, style: str) -> Text:
    """A tiny text sparkline (the table cannot hold a Sparkline widget per cell)."""
    data = list(trend[-width:])
    if not any(data):
        return _t("·", "dim", "right")
    hi = max(data)
    chars = "".join(_BLOCKS[0 if v <= 0 else max(1, round(v / hi * 8))] for v in data)
    return _t(chars, style, "right")


class _Mark(Text):
    """The marker cell; carries its row's inode so a sort key can find the row's place."""

    inode: int = 0


@dataclass(frozen=True)
class _Layout:
    wide: bool
    name_w: int
    columns: tuple[tuple[str, str, int], ...]  # (key, label, width)


class NamespaceTable(DataTable):
    """Namespaces with their SYN-trouble, delayed-ACK and retransmit rates."""

    DEFAULT_CSS = """
    NamespaceTable { height: auto; }
    """

    BINDINGS = [
        Binding("enter", "open_detail", "Detail", show=False, id="table.detail"),
    ]

    class Selected(Message):
        """The highlighted namespace changed (keyboard or mouse)."""

        def __init__(self, table: NamespaceTable, ns: NetNS | None) -> None:
            super().__init__()
            self.table = table
            self.ns = ns

    class DetailRequested(Message):
        """Enter on a row: the user wants the detail panel."""

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self.sort_key = "trouble"
        self.sort_reverse = False
        self.recent_s = RECENT_S
        self._layout: _Layout | None = None
        self._cells: dict[int, tuple] = {}  # inode -> last rendered cell inputs
        self._order: list[int] = []
        self._ns: dict[int, NetNS] = {}
        self._sum: dict[int, NsSummary] = {}
        self._now = 0.0
        self._selected: int | None = None
        self._moving_cursor = False
        self.total = 0

    # -- public API -----------------------------------------------------------------------
    @property
    def selected_inode(self) -> int | None:
        return self._selected

    @property
    def selected_namespace(self) -> NetNS | None:
        return self._ns.get(self._selected) if self._selected is not None else None

    @property
    def shown(self) -> int:
        return len(self._order)

    @property
    def order(self) -> list[int]:
        return list(self._order)

    def show(self, namespaces: Iterable[NetNS], summaries: dict[int, NsSummary], now: float,
             keep: Callable[[NetNS], bool] | None = None, total: int | None = None) -> None:
        """Show these namespaces (already filtered by ``keep``), incrementally."""
        all_ns = list(namespaces)
        self.total = len(all_ns) if total is None else total
        rows = [ns for ns in all_ns if keep is None or keep(ns)]
        self._now = now
        self._ns = {ns.inode: ns for ns in rows}
        self._sum = summaries
        layout = self._compute_layout()
        if layout != self._layout:
            self._rebuild_columns(layout)
        order = self._sorted([ns.inode for ns in rows])
        current = set(self._cells)
        wanted = set(order)
        for inode in current - wanted:
            try:
                self.remove_row(str(inode))
            except RowDoesNotExist:
                pass
            del self._cells[inode]
        for inode in order:
            cells = self._cell_inputs(inode)
            old = self._cells.get(inode)
            if old is None:
                self.add_row(*self._render_cells(inode, cells), key=str(inode))
            elif old != cells:
                self._update_row(inode, old, cells)
            self._cells[inode] = cells
        if order != self._order or (current - wanted) or (wanted - current):
            pos = {inode: i for i, inode in enumerate(order)}
            self.sort("mark", key=lambda m: pos.get(getattr(m, "inode", 0), 0))
            self._order = order
            self._follow_selection()
        elif self._selected is None and order:
            self._follow_selection()

    def select_inode(self, inode: int) -> None:
        self._selected = inode
        self._follow_selection()

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        if key not in SORTS:
            raise ValueError(f"unknown sort {key!r}")
        self.sort_key = key
        if reverse is not None:
            self.sort_reverse = reverse

    def relayout(self) -> None:
        """Re-render everything (after a resize changed the column set)."""
        self._layout = None
        self._cells.clear()
        self._order = []
        self.show(list(self._ns.values()), self._sum, self._now, total=self.total)

    # -- layout ---------------------------------------------------------------------------
    def _compute_layout(self) -> _Layout:
        width = self.size.width or (self.app.size.width if self.is_attached else 80)
        wide = width >= 120
        if wide:
            fixed = [("kind", "kind", 9), ("k8s", "k8s namespace", 16), ("pid", "pid", 8),
                     ("syn", "SYN/s", 7), ("dack", "dACK/s", 7), ("retrans", "retx/s", 7),
                     ("trend", "trend", 14), ("last", "moved", 8)]
        else:
            fixed = [("kind", "kind", 5), ("pid", "pid", 7), ("syn", "SYN/s", 5), ("dack", "dACK/s", 6),
                     ("retrans", "retx/s", 6), ("trend", "trend", 6)]
        ncols = len(fixed) + 2
        used = 2 + sum(w for _, _, w in fixed) + 2 * ncols + 2  # padding 1 each side, scrollbar
        name_w = max(12, width - used)
        if wide:
            name_w = min(name_w, 64)
        return _Layout(wide, name_w, (("mark", " ", 2), ("name", "name", name_w), *fixed))

    def _rebuild_columns(self, layout: _Layout) -> None:
        self.clear(columns=True)
        self._cells.clear()
        self._order = []
        self._layout = layout
        for key, label, width in layout.columns:
            justify = "right" if key in ("pid", "syn", "dack", "retrans", "last", "trend") else "left"
            self.add_column(Text(label, justify=justify), width=width, key=key)

    def on_resize(self) -> None:
        if self._layout is not None and self._compute_layout() != self._layout:
            self.relayout()

    # -- cells ----------------------------------------------------------------------------
    def _recent(self, s: NsSummary) -> bool:
        return s.last_moved is not None and (self._now - s.last_moved) <= self.recent_s

    def _cell_inputs(self, inode: int) -> tuple:
        """Everything a row's rendering depends on; equal tuples -> nothing to redraw."""
        ns = self._ns[inode]
        s = self._sum.get(inode) or NsSummary(inode)
        ago = None if s.last_moved is None else int(self._now - s.last_moved)
        recent = self._recent(s)
        wide = self._layout.wide if self._layout else False
        return (
            ns.name, ns.kind, ns.k8s_namespace, ns.pid, s.syn_lit, s.dack_lit, recent,
            fmt_rate(s.syn_rate), fmt_rate(s.dack_rate), fmt_rate(s.retrans_rate), s.trend,
            ago if wide else None,
        )

    def _render_cells(self, inode: int, c: tuple) -> list:
        assert self._layout is not None
        name, kind, k8s, pid, syn_lit, dack_lit, recent, syn, dack, retrans, trend, ago = c
        style = "bold red" if syn_lit else ("bold yellow" if dack_lit else "")
        mark = _Mark((("S" if syn_lit else " ") + ("D" if dack_lit else " ")) if (syn_lit or dack_lit) else (" ·" if recent else "  "),
                     style="bold reverse red" if syn_lit else ("bold reverse yellow" if dack_lit else "dim"), end="")
        mark.inode = inode
        name_t = Text(no_wrap=True, overflow="ellipsis", end="")
        if k8s and not self._layout.wide:
            name_t.append(f"{k8s}/", style="dim")
        name_t.append(name, style=style)
        name_t.truncate(self._layout.name_w, overflow="ellipsis")
        cells: dict[str, object] = {
            "mark": mark,
            "name": name_t,
            "kind": _t(KIND_SHORT.get(kind, kind) if not self._layout.wide else kind, "dim" if kind == "proc" else ""),
            "k8s": _trunc(k8s, 16),
            "pid": _t(str(pid) if pid else "-", "" if pid else "dim", "right"),
            "syn": _t(syn, "bold red" if syn_lit else "dim", "right"),
            "dack": _t(dack, "bold yellow" if dack_lit else "dim", "right"),
            "retrans": _t(retrans, "" if retrans != "·" else "dim", "right"),
            "trend": trend_text(trend, 14 if self._layout.wide else 6, "red" if syn_lit else ("yellow" if dack_lit else "cyan")),
            "last": _t("-" if ago is None else _ago(ago), "" if syn_lit or dack_lit else "dim", "right"),
        }
        return [cells[k] for k, _, _ in self._layout.columns]

    def _update_row(self, inode: int, old: tuple, new: tuple) -> None:
        assert self._layout is not None
        rendered = self._render_cells(inode, new)
        row_key = str(inode)
        # only cells whose inputs changed; the index map is fixed per layout
        deps = _DEPS_WIDE if self._layout.wide else _DEPS_NARROW
        for (key, _, _), value in zip(self._layout.columns, rendered):
            idx = deps[key]
            if any(old[i] != new[i] for i in idx):
                try:
                    self.update_cell(row_key, key, value)
                except CellDoesNotExist:
                    pass

    # -- sorting & selection -----------------------------------------------------------------
    def _sorted(self, inodes: list[int]) -> list[int]:
        ns, su, key = self._ns, self._sum, self.sort_key
        empty = NsSummary(0)

        def s(i: int) -> NsSummary:
            return su.get(i) or empty

        if key == "trouble":
            def k(i: int):  # type: ignore[no-untyped-def]
                x = s(i)
                return (not x.syn_lit, not x.dack_lit, -x.syn_rate, -x.dack_rate, not self._recent(x),
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
        """Keep the cursor on the selected namespace wherever sorting moved it."""
        if not self._order:
            if self._selected is not None:
                self._selected = None
                self.post_message(self.Selected(self, None))
            return
        if self._selected not in self._ns:
            self._selected = self._order[0]
            self.post_message(self.Selected(self, self._ns[self._selected]))
        row = self._order.index(self._selected)
        if self.cursor_row != row:
            self._moving_cursor = True
            self.move_cursor(row=row, animate=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if self._moving_cursor:
            self._moving_cursor = False
            return
        try:
            inode = int(event.row_key.value or 0)
        except ValueError:
            return
        if inode != self._selected and inode in self._ns:
            self._selected = inode
            self.post_message(self.Selected(self, self._ns[inode]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # a mouse click only selects; enter (our binding) opens the detail

    def action_open_detail(self) -> None:
        self.post_message(self.DetailRequested())


# which cell-input indices each column depends on (see _cell_inputs)
_DEPS_NARROW = {"mark": (4, 5, 6), "name": (0, 2, 4, 5), "kind": (1,), "pid": (3,), "syn": (4, 7), "dack": (5, 8),
                "retrans": (9,), "trend": (4, 5, 10), "k8s": (2,), "last": (4, 5, 11)}
_DEPS_WIDE = _DEPS_NARROW


def _trunc(s: str, width: int) -> Text:
    t = Text(s, no_wrap=True, overflow="ellipsis", end="")
    t.truncate(width, overflow="ellipsis")
    return t


def _t(text: str, style: str = "", justify: str = "left") -> Text:
    return Text(text, style=style, justify=justify, no_wrap=True, end="")  # type: ignore[arg-type]


def _ago(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
