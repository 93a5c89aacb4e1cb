"""Every capture of this session, one row each: where, what, how far along."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import DataTable

from tui.core.capture import CaptureStatus
from widgets.formatting import human_bytes

__all__ = ["CaptureList", "state_text", "trigger_text"]

_STATE_STYLE = {"running": "bold green", "stopping": "yellow", "done": "dim", "failed": "bold red",
                "armed": "bold cyan", "triggered": "bold magenta", "saved": "bold"}


def state_text(st: CaptureStatus) -> Text:
    word = st.state if st.state not in ("running", "armed") or st.listening else "starting"
    return Text(word, style=_STATE_STYLE.get(st.state, ""))


def trigger_text(st: CaptureStatus, clock=None) -> Text:  # type: ignore[no-untyped-def]
    """An armed capture's last column: its trigger, then each trigger's time and deltas."""
    import time

    clock = clock or (lambda t: time.strftime("%H:%M:%S", time.localtime(t)))
    text = Text(st.when_text, style="cyan")
    text.append(f" {len(st.triggers)}/{st.max_triggers}", style="dim")
    for t in st.triggers[-2:]:
        deltas = ", ".join(f"{k.split('.', 1)[-1]} +{d}" for k, d in sorted(t.deltas.items(), key=lambda kv: -kv[1]))
        text.append(f"  {clock(t.fired_at)} ", style="bold")
        text.append(deltas, style="bold red")
    return text


class CaptureList(DataTable):
    """Rows keyed by capture id; posts :class:`CaptureList.Chosen` when the cursor moves."""

    DEFAULT_CSS = """
    CaptureList { height: auto; max-height: 7; }
    """

    class Chosen(Message):
        """The highlighted capture changed."""

        def __init__(self, capture_list: CaptureList, capture_id: int) -> None:
            super().__init__()
            self.capture_list = capture_list
            self.capture_id = capture_id

        @property
        def control(self) -> CaptureList:
            return self.capture_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id)
        self._ids: list[int] = []

    def on_mount(self) -> None:
        self.add_column("#", key="id", width=3)
        self.add_column("namespace", key="ns", width=22)
        self.add_column("state", key="state", width=9)
        self.add_column("pkts", key="packets", width=7)
        self.add_column("bytes", key="bytes", width=9)
        self.add_column("time", key="time", width=6)
        self.add_column("filter (armed: trigger, fired)", key="filter")

    @property
    def selected_id(self) -> int | None:
        if not self._ids or self.cursor_row is None or not 0 <= self.cursor_row < len(self._ids):
            return None
        return self._ids[self.cursor_row]

    def show(self, statuses: Sequence[CaptureStatus], select: int | None = None) -> None:
        """Render ``statuses``; keep the cursor on the same capture (or move to ``select``)."""
        keep = select if select is not None else self.selected_id
        ids = [s.id for s in statuses]
        if ids != self._ids:
            self.clear()
            for st in statuses:
                self.add_row(*self._cells(st), key=str(st.id))
            self._ids = ids
        else:
            for st in statuses:
                for col, cell in zip(("id", "ns", "state", "packets", "bytes", "time", "filter"), self._cells(st)):
                    self.update_cell(str(st.id), col, cell)
        if keep in self._ids:
            row = self._ids.index(keep)
            if self.cursor_row != row:
                self.move_cursor(row=row)

    @staticmethod
    def _cells(st: CaptureStatus) -> tuple:
        return (
            str(st.id),
            st.ns_name,
            state_text(st),
            str(st.packets),
            human_bytes(st.bytes),
            f"{st.elapsed:.0f}s",
            trigger_text(st) if st.armed else (st.preset if st.preset != "custom" else st.filter),
        )

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.Chosen(self, int(event.row_key.value)))
