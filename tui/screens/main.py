"""The main screen: namespace table, detail panel, chart, the focused counter's note, status line.

A view: it lays the widgets out for the terminal size and renders what the App hands it.
State (filter, sort, freeze, baselines) lives in the App, which owns the data source.

Layout by size (CSS classes on the screen):

* ``-narrow`` (< 120 columns): fewer table columns, the chart is hidden until ``c`` shows
  it *instead of* the detail panel.
* ``-short`` (< 34 rows): the table gets fewer rows, and while the detail panel has focus
  the table shrinks further so the counters get the room.

The detail panel picks its own compact columns by its own width (see CounterPanel.WIDE_FROM,
WRAP_FROM). Under it, at every size, the focused counter in netstat -s words (CounterNote).
"""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from widgets.counter_chart import CounterChart
from widgets.counter_note import CounterNote
from widgets.counter_panel import CounterPanel
from widgets.namespace_table import NamespaceTable
from widgets.sockets_pane import SocketsPane
from widgets.status_line import StatusLine

__all__ = ["MainScreen"]

W = TypeVar("W", bound=Widget)

NARROW_BELOW = 120
SHORT_BELOW = 34


class MainScreen(Screen):
    AUTO_FOCUS = "#table"

    def compose(self) -> ComposeResult:
        # the size classes before the widgets exist: set after mounting, each one restyles
        # every widget again, a good part of the first frame's time (see bench_first_frame)
        self._apply_size()
        self.set_class(not self.has_class("-narrow"), "-chart")  # what the App starts with
        yield Static(id="titlebar")
        yield Input(placeholder="filter: name, pod, k8s namespace, label (key=value) · enter keeps · esc clears",
                    id="filter", select_on_focus=False)
        with Vertical(id="top"):  # the table alone: its height is exactly what shows
            yield NamespaceTable(id="table")
        with Horizontal(id="lower"):
            yield CounterPanel(id="detail")
            yield CounterChart(id="chart")
            yield SocketsPane(id="sockets")  # l: takes the chart's place (at 80 columns, the detail's)
        yield CounterNote(id="note")  # the focused counter in netstat -s words, at every size
        yield StatusLine(id="status")
        yield Footer(compact=True)

    # the widgets are looked up once: the app reads them several times per tick, and a DOM
    # query costs ~0.1 ms each
    @property
    def table(self) -> NamespaceTable:
        return self._one("table", NamespaceTable)

    @property
    def panel(self) -> CounterPanel:
        return self._one("panel", CounterPanel)

    @property
    def chart(self) -> CounterChart:
        return self._one("chart", CounterChart)

    @property
    def note(self) -> CounterNote:
        return self._one("note", CounterNote)

    @property
    def sockets(self) -> SocketsPane:
        return self._one("sockets", SocketsPane)

    @property
    def status(self) -> StatusLine:
        return self._one("status", StatusLine)

    def _one(self, name: str, cls: type[W]) -> W:
        cache: dict[str, Widget] = self.__dict__.setdefault("_widgets", {})
        widget = cache.get(name)
        if widget is None:
            widget = cache[name] = self.query_one(cls)
        return widget  # type: ignore[return-value]

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    def on_mount(self) -> None:
        self._apply_size()
        ready = getattr(self.app, "main_mounted", None)
        if ready is not None:
            ready()

    def on_resize(self) -> None:
        self._apply_size()

    def _apply_size(self) -> None:
        w, h = self.size.width or self.app.size.width, self.size.height or self.app.size.height
        if not w or not h:
            return  # not laid out yet: on_mount and on_resize come back
        narrow, short = w < NARROW_BELOW, h < SHORT_BELOW
        self.set_class(narrow, "-narrow")
        self.set_class(short, "-short")

    @property
    def narrow(self) -> bool:
        return self.has_class("-narrow")

    def set_title(self, text: Text) -> None:
        self.query_one("#titlebar", Static).update(text, layout=False)  # always one line

    def set_detail_title(self, title: str, subtitle: str = "") -> None:
        # border titles are markup: escape names ("[bold]x[/]" must show literally)
        from rich.markup import escape

        # each assignment repaints the whole panel, even with the same text: skip unchanged
        panel = self.panel
        title, subtitle = escape(title), escape(subtitle)
        if panel.border_title != title:
            panel.border_title = title
        if panel.border_subtitle != subtitle:
            panel.border_subtitle = subtitle
