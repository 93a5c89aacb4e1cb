"""The main screen: namespace table, detail panel, chart, the focused counter's note, status line.

It owns what it shows: its state (filter, freeze, all counters, chart on/off, baselines,
the frame and detail on screen) as reactives whose watchers redraw what depends on them, its
rendering (title, detail title, status line) and its keys (from tui/actions.py). The App
hands it each tick's frame (:meth:`MainScreen.frame_arrived`) and asks it which detail to
compute with the next tick (:meth:`MainScreen.detail_request`); the selected namespace's
detail between ticks (a new selection, a toggle, a baseline) is computed here, in a thread
worker, with requests that coalesce.

Layout by size (CSS classes on the screen):

* ``-narrow`` (< 120 columns): fewer table columns, the chart is hidden until ``c`` shows
  it *instead of* the detail panel.
* ``-short`` (< 34 rows): the table gets fewer rows, and while the detail panel has focus
  the table shrinks further so the counters get the room.

The detail panel picks its own compact columns by its own width (see CounterPanel.WIDE_FROM,
WRAP_FROM). Under it, at every size, the focused counter in netstat -s words (CounterNote).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from tui.actions import REPLAY_ACTIONS, bindings
from tui.core.namespaces import NetNS
from tui.sockets_view import SocketsRead, SocketsView
from tui.source import DataSource, Frame, NsDetail
from widgets.counter_chart import CounterChart
from widgets.counter_note import CounterNote
from widgets.counter_panel import CounterPanel
from widgets.namespace_table import SORTS, NamespaceTable
from widgets.status_line import StatusInfo, StatusLine
from widgets.sockets_pane import SocketsPane

if TYPE_CHECKING:
    from tui.app import SynscopeApp

__all__ = ["DetailRequest", "MainScreen", "compute_detail"]

W = TypeVar("W", bound=Widget)

NARROW_BELOW = 120
SHORT_BELOW = 34
SORT_ORDER = tuple(SORTS)
CHART_EVERY = 3.0  # seconds of sample time between two chart redraws of the same counter


@dataclass(frozen=True)
class DetailRequest:
    """Which detail the screen wants: equal requests give equal details (they coalesce)."""

    inode: int | None
    all_counters: bool
    baseline: tuple[float, dict[str, int]] | None
    chart_key: str | None


def compute_detail(source: DataSource, request: DetailRequest) -> NsDetail | None:
    """The detail a request asks for (in a worker thread: the source takes its own lock)."""
    if request.inode is None:
        return None
    return source.detail(request.inode, all_counters=request.all_counters, baseline=request.baseline,
                         chart_key=request.chart_key)


class DetailReady(Message):
    def __init__(self, detail: NsDetail | None, request: DetailRequest) -> None:
        super().__init__()
        self.detail, self.request = detail, request


class DetailFailed(Message):
    """The selected namespace's detail could not be computed. Not a failed tick: its handler
    never schedules one (that once started a second tick chain beside the first)."""

    def __init__(self, error: str, request: DetailRequest, in_tick: bool) -> None:
        super().__init__()
        self.error, self.request, self.in_tick = error, request, in_tick


class MainScreen(Screen):
    AUTO_FOCUS = "#table"
    BINDINGS = bindings("main")

    # what the screen shows; each watcher redraws what depends on it (vars: no screen repaint)
    filter_text: var[str] = var("", init=False)
    frozen: var[bool] = var(False, init=False)
    all_counters: var[bool] = var(False, init=False)
    chart_on: var[bool] = var(True, init=False)
    frozen_behind: var[int] = var(0, init=False)  # frames that arrived while frozen
    detail_error: var[str] = var("", init=False)  # the last detail computation failed (cleared by one that works)

    def __init__(self, *, ns_filter: str = "", hostname: str = "") -> None:
        super().__init__()
        self.set_reactive(MainScreen.filter_text, ns_filter.strip())
        self.hostname = hostname
        self.baselines: dict[int, tuple[float, dict[str, int]]] = {}
        self.frame: Frame | None = None  # the frame on screen
        self.detail: NsDetail | None = None  # the detail on screen
        self.latest_detail: NsDetail | None = None  # the newest detail (differs while frozen)
        self._chart_key: str | None = None
        self._chart_drawn: tuple[tuple[int, str | None] | None, float] = (None, 0.0)
        self._detail_worker = None
        self._pending_detail: DetailRequest | None = None
        self.sockets_view = SocketsView(self)  # the sockets pane's reads (l)

    @property
    def synscope(self) -> SynscopeApp:
        return self.app  # type: ignore[return-value]

    @property
    def source(self) -> DataSource:
        return self.synscope.source

    def compose(self) -> ComposeResult:
        # the size classes before the widgets exist: set after mounting, each one restyles
        # every widget again, a good part of the first frame's time (see bench_first_frame)
        self._apply_size()
        self.set_class(not self.has_class("-narrow"), "-chart")  # what chart_on starts as
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

    # the widgets are looked up once: they are read several times per tick, and a DOM
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

    @property
    def selected_namespace(self) -> NetNS | None:
        return self.table.selected_namespace

    # -- lifecycle -------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._apply_size()
        self.filter_input.value = self.filter_text
        self.filter_input.display = bool(self.filter_text)
        # at 80 columns the chart replaces the detail: opt-in
        self.set_reactive(MainScreen.chart_on, not self.narrow)
        self.chart.clock = self.source.clock  # its x axis names the sample its picture ends at
        self._apply_chart_visibility()
        self._render_title()
        self.render_status()
        self.synscope.request_tick()
        if not self.source.scripted:
            # the sample's age must keep counting when ticks stall (a slow /proc read)
            self.set_interval(1.0, self.render_status)

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

    # -- frames from the App ---------------------------------------------------------------
    def detail_request(self) -> DetailRequest:
        """The detail to compute for the selected namespace, now."""
        ns = self.table.selected_inode
        return DetailRequest(ns, self.all_counters, self.baselines.get(ns) if ns is not None else None, self._chart_key)

    def frame_arrived(self, frame: Frame, detail: NsDetail | None, request: DetailRequest) -> None:
        """A tick's frame, and the detail computed with it for ``request``."""
        current = request == self.detail_request()
        if current:
            self.latest_detail = detail
            if detail is not None:
                self.detail_error = ""
        if self.frozen:
            self.frozen_behind += 1
            return
        self._show(frame, self.latest_detail if current else None)

    # -- detail ----------------------------------------------------------------------------
    def refresh_detail(self) -> None:
        """Recompute the selected namespace's detail now (selection, toggle, baseline).

        Requests coalesce: while one computation runs, only the newest request waits, so
        holding down an arrow key never piles up threads (and nothing is cancelled midway).
        """
        self._pending_detail = self.detail_request()
        if self._detail_worker is None or self._detail_worker.is_finished:
            self._detail_worker = self._load_detail(self._pending_detail)

    @work(thread=True, exit_on_error=False, group="detail")
    def _load_detail(self, request: DetailRequest) -> None:
        try:
            detail = compute_detail(self.source, request)
        except Exception as exc:
            self.post_message(DetailFailed(f"{type(exc).__name__}: {exc}", request, in_tick=False))
            return
        self.post_message(DetailReady(detail, request))

    def _gone(self) -> bool:
        """A worker's message may arrive after the widgets left (the app shuts down)."""
        return self.synscope.closing or not self.table.is_attached

    def on_detail_ready(self, msg: DetailReady) -> None:
        if self._gone():
            return
        if self._pending_detail is not None and self._pending_detail != msg.request:
            self._detail_worker = self._load_detail(self._pending_detail)  # the newest request
            return
        self._pending_detail = None
        if msg.request != self.detail_request():
            return  # the user moved on meanwhile
        self.latest_detail = msg.detail
        self.detail_error = ""
        self._show_detail(msg.detail)

    def on_detail_failed(self, msg: DetailFailed) -> None:
        # says what failed, and never schedules a tick: the tick chain runs by itself
        if self._gone():
            return
        self.detail_error = msg.error
        if msg.in_tick:
            return
        if self._pending_detail is not None and self._pending_detail != msg.request:
            self._detail_worker = self._load_detail(self._pending_detail)  # the newest request
            return
        self._pending_detail = None

    @on(NamespaceTable.Selected)
    def _selected(self, msg: NamespaceTable.Selected) -> None:
        self._chart_key = None
        # the panel's title changes with its content, when the new detail arrives (a few ms):
        # retitling now would show the new name over the old counters and repaint the panel twice
        self.refresh_detail()
        self._request_sockets()

    @on(NamespaceTable.DetailRequested)
    def _detail_requested(self) -> None:
        self.action_detail()

    @on(CounterPanel.Focused)
    def _counter_focused(self, msg: CounterPanel.Focused) -> None:
        self._chart_key = msg.key
        self.note.show(msg.key)
        self.refresh_detail()

    # -- watchers --------------------------------------------------------------------------
    def watch_filter_text(self) -> None:
        if self.frame is not None:
            self.table.show(self.frame.namespaces, self.frame.summaries, self.frame.time, keep=self._keep, retop=True)
        self._render_title()
        self.render_status()

    def watch_frozen(self, frozen: bool) -> None:
        if not frozen:
            self.frozen_behind = 0
            latest = self.synscope.latest
            if latest is not None:
                self._show(latest, self.latest_detail)
        self._render_title()
        self.render_status()

    def watch_frozen_behind(self) -> None:
        self.render_status()

    def watch_detail_error(self) -> None:
        self.render_status()

    def watch_all_counters(self) -> None:
        self._render_detail_title()
        self.refresh_detail()

    def watch_chart_on(self) -> None:
        self._apply_chart_visibility()

    # -- rendering -------------------------------------------------------------------------
    def _keep(self, ns: NetNS) -> bool:
        return not self.filter_text or ns.matches(self.filter_text)

    def _show(self, frame: Frame, detail: NsDetail | None) -> None:
        self.frame = frame
        table = self.table
        table.show(frame.namespaces, frame.summaries, frame.time, keep=self._keep)
        self._render_title()
        # the table may just have moved the selection (it follows the worst row until the
        # user picks one): then this detail is the previous namespace's, and the new one is
        # already requested — painting the old one would flash it and cost a full redraw
        if detail is not None and detail.inode == table.selected_inode:
            self._show_detail(detail)
        elif self.detail is None or self.detail.inode == table.selected_inode:
            self._render_detail_title()  # else the title changes when the new detail arrives
        self.render_status()
        self._request_sockets()  # while the sockets pane is open it follows every tick

    def _show_detail(self, detail: NsDetail | None) -> None:
        if self.frozen and self.detail is not None and detail is not None and detail.inode == self.detail.inode:
            return
        self.detail = detail
        ns = self.selected_namespace
        empty = "no namespace selected" if ns is None else ("no counter moved in the last "
                                                              f"{int(detail.window_s) if detail else 300} s · a: all counters")
        self.panel.show(detail, empty=empty)
        self.note.show(self.panel.focus_key)
        if self._chart_key is None and detail is not None:
            self._chart_key = self.panel.focus_key
        if self.chart_on and self._chart_due(detail):
            self.chart.show(detail, ns.name if ns is not None else "")
        self._render_detail_title()

    def _chart_due(self, detail: NsDetail | None) -> bool:
        """Redraw the chart on a new counter/namespace at once, else at most every CHART_EVERY s.

        A plotext redraw costs tens of ms at 200x60 and the chart spans the whole history
        (15 min at 1 s): redrawing it every second would be the most expensive thing on
        screen for a change of one pixel column.
        """
        if detail is None:
            return True
        key = (detail.inode, detail.chart_key)
        if key != self._chart_drawn[0] or detail.time - self._chart_drawn[1] >= CHART_EVERY or detail.time < self._chart_drawn[1]:
            self._chart_drawn = (key, detail.time)
            return True
        return False

    def _render_title(self) -> None:
        table = self.table
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" synscope ", style="bold reverse")
        if self.hostname:
            t.append(f" {self.hostname}", style="bold")
        if self.replaying:  # the replayed wall-clock time, right after the host: what the screen shows
            t.append("  ")
            t.append(f" {self.source.title()} ", style="bold reverse magenta")  # type: ignore[attr-defined]
        t.append(f"  namespaces {table.shown} / {table.total}")
        if self.filter_text:
            t.append("  filter: ", style="dim")
            t.append(self.filter_text, style="bold cyan")
        # every row with a marker counts: S, D, and C (a NAT router whose conntrack drops)
        lit = sum(1 for s in (self.frame.summaries.values() if self.frame else ()) if s.lit or s.ct_lit)
        if lit:
            t.append(f"  {lit} lit", style="bold red")
        t.append(f"  sort: {table.sort_key}{' (reversed)' if table.sort_reverse else ''}", style="dim")
        if self.frozen:
            t.append("  FROZEN", style="bold reverse cyan")
        self.query_one("#titlebar", Static).update(t, layout=False)  # always one line

    def _render_detail_title(self) -> None:
        ns = self.selected_namespace
        if ns is None:
            self._set_detail_title("detail")
            return
        bits = [ns.kind]  # the name is NetNS.name: a pod's already reads "<k8s namespace>/<pod>"
        if ns.pid:
            bits.append(f"pid {ns.pid}")
        bits.append(ns.label)
        mode = "all counters" if self.all_counters else "moved in the last 5 min (a: all)"
        base = self.baselines.get(ns.inode)
        sub = mode
        if base is not None:
            when = (self.frame.time if self.frame else base[0]) - base[0]
            sub = f"since baseline ({int(when)} s) · {mode}"
        self._set_detail_title(f"{ns.name} · {' · '.join(bits)}", sub)

    def _set_detail_title(self, title: str, subtitle: str = "") -> None:
        # border titles are markup: escape names ("[bold]x[/]" must show literally); each
        # assignment repaints the whole panel, even with the same text: skip unchanged
        panel = self.panel
        title, subtitle = escape(title), escape(subtitle)
        if panel.border_title != title:
            panel.border_title = title
        if panel.border_subtitle != subtitle:
            panel.border_subtitle = subtitle

    def render_status(self) -> None:
        """The status line, from the frame on screen and the App's sampling state."""
        app = self.synscope
        latest = app.latest
        f = self.frame or latest
        age = None
        if latest is not None and latest.sampled:
            age = latest.sample_age if self.source.scripted else max(0.0, self.source.now() - latest.time)
        ns = self.selected_namespace
        base = "baseline set (B clears)" if ns is not None and ns.inode in self.baselines else ""
        notes = tuple(f.notes) if f else ()
        if self.detail_error:
            notes = (f"detail failed: {self.detail_error}",) + notes
        if app.last_error:
            notes = (f"sampling failed: {app.last_error}",) + notes
        info = StatusInfo(
            interval=self.source.interval, sample_age=age,
            namespaces=len(f.namespaces) if f else 0, shown=self.table.shown if f else 0,
            statuses=tuple(f.statuses) if f else (), notes=notes, root=f.root if f else (os.geteuid() == 0),
            frozen=self.frozen, frozen_behind=self.frozen_behind, baseline=base,
            slow=app.slow, lead=self._status_lead(), replay=self.replaying,
        )
        self.status.show(info)

    @property
    def replaying(self) -> bool:
        return bool(getattr(self.source, "replay", False))

    def _status_lead(self) -> str:
        """Where the history comes from: a replay's span, or the recorder's past in the live TUI."""
        if self.replaying:
            return self.source.position()  # type: ignore[attr-defined]
        return getattr(self.source, "history_note", "")

    def _apply_chart_visibility(self) -> None:
        self.set_class(self.chart_on, "-chart")
        if self.chart_on and self.detail is not None:
            self._chart_drawn = (None, 0.0)
            ns = self.selected_namespace
            self.chart.show(self.detail, ns.name if ns is not None else "")

    # -- actions (keys and palette entries from tui/actions.py) ----------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # the replay keys: hidden from the live TUI's footer, and inert there
        return not (action in REPLAY_ACTIONS and not self.replaying)

    def _replay_moved(self) -> None:
        self._render_title()
        self.render_status()
        self.synscope.request_tick()  # the worker reads the store and brings the new moment

    def action_replay_step(self, n: int) -> None:
        self.source.step(n)  # type: ignore[attr-defined]
        self._replay_moved()

    def action_replay_jump(self, seconds: float) -> None:
        self.source.jump(seconds)  # type: ignore[attr-defined]
        self._replay_moved()

    def action_replay_play(self) -> None:
        self.source.play()  # type: ignore[attr-defined]
        self._replay_moved()

    def action_replay_speed(self) -> None:
        speed = self.source.next_speed()  # type: ignore[attr-defined]
        self.notify(f"playing at {speed}x", timeout=2)
        self._replay_moved()

    def action_replay_goto(self) -> None:
        from tui.screens.goto import GoToScreen

        self.app.push_screen(GoToScreen(self.source.position()), self._go_to)  # type: ignore[attr-defined]

    def _go_to(self, text: str | None) -> None:
        if not text:
            return
        from tui.core.store.when import parse_when

        source = self.source
        try:
            t = parse_when(text, source.span[1])  # type: ignore[attr-defined]
        except ValueError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        source.go_to(t)  # type: ignore[attr-defined]
        self._replay_moved()

    def _typing(self) -> bool:
        return isinstance(self.focused, Input)

    def action_filter(self) -> None:
        inp = self.filter_input
        inp.display = True
        inp.value = self.filter_text
        inp.focus()

    def action_clear_filter(self) -> None:
        self.set_filter("")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.set_filter(event.value)
        self.filter_input.display = bool(self.filter_text)
        self.table.focus()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()

    def action_back(self) -> None:
        if self._typing():
            self.filter_input.value = ""
            self.set_filter("")
            self.filter_input.display = False
            self.table.focus()
        elif self.focused is self.panel:
            self.table.focus()
        elif self.sockets_view.open:
            self.action_sockets()
        elif self.filter_text:
            self.filter_input.value = ""
            self.set_filter("")
            self.filter_input.display = False
        self._sync_focus_class()

    def action_detail(self) -> None:
        # opening a namespace's detail is picking it: the automatic selection stops there
        self.table.user_chose = True
        self.panel.focus()
        self._sync_focus_class()

    def _sync_focus_class(self) -> None:
        self.set_class(self.focused is self.panel, "-detail-focus")

    def on_descendant_focus(self) -> None:
        self._sync_focus_class()

    def action_freeze(self) -> None:
        self.frozen = not self.frozen

    def action_baseline(self) -> None:
        ns = self.selected_namespace
        if ns is None:
            self.notify("no namespace selected", severity="warning")
            return
        self._set_baseline(ns.inode)

    @work(thread=True, exclusive=True, exit_on_error=False, group="baseline")
    def _set_baseline(self, inode: int) -> None:
        values = self.source.values(inode)
        h = self.source.history(inode)
        t = h.last_time if h is not None and h.last_time is not None else self.source.now()
        self.app.call_from_thread(self._baseline_set, inode, (t, values))

    def _baseline_set(self, inode: int, baseline: tuple[float, dict[str, int]]) -> None:
        self.baselines[inode] = baseline
        self.notify("baseline set: values now read 'since baseline' (B clears)", timeout=3)
        self._baselines_changed()

    def action_clear_baseline(self) -> None:
        ns = self.selected_namespace
        if ns is not None and self.baselines.pop(ns.inode, None) is not None:
            self._baselines_changed()

    def _baselines_changed(self) -> None:
        self.refresh_detail()
        self._render_detail_title()
        self.render_status()

    def action_all_counters(self) -> None:
        self.all_counters = not self.all_counters

    def action_chart(self) -> None:
        self.chart_on = not self.chart_on

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        table = self.table
        table.set_sort(key, reverse)
        if self.frame is not None:
            table.show(self.frame.namespaces, self.frame.summaries, self.frame.time, keep=self._keep)
        self._render_title()
        self.render_status()

    def action_sort_by(self, key: str) -> None:
        self.set_sort(key)

    def action_sort_next(self) -> None:
        cur = self.table.sort_key
        self.set_sort(SORT_ORDER[(SORT_ORDER.index(cur) + 1) % len(SORT_ORDER)])

    def action_sort_reverse(self) -> None:
        self.set_sort(self.table.sort_key, not self.table.sort_reverse)

    def action_capture(self) -> None:
        self.synscope.open_capture(self.selected_namespace)

    def action_capture_list(self) -> None:
        self.synscope.open_capture_list()

    def action_sysctl(self) -> None:
        self.synscope.open_sysctl(self.selected_namespace)

    # -- the sockets pane (reads: tui/sockets_view.py) ---------------------------------------
    def action_sockets(self) -> None:
        view = self.sockets_view
        if view.open:
            view.close()  # no read is started from now on; one in flight is dropped
            if self.sockets.has_focus:
                self.table.focus()
            self.set_class(False, "-sockets")
            self._apply_chart_visibility()
            return
        view.open = True
        self.set_class(True, "-sockets")
        ns = self.selected_namespace
        self.sockets.show(ns.name if ns else "", None, message=f"reading its sockets inside {ns.label} …" if ns else "")
        self._request_sockets()

    def _request_sockets(self) -> None:
        view = self.sockets_view
        if not view.open or self._gone():
            return
        present = {ns.inode for ns in self.frame.namespaces} if self.frame is not None else None
        line = view.request(self.selected_namespace, present)
        if line:
            self.sockets.show("", None, message=line)

    @on(SocketsRead)
    def _sockets_read(self, msg: SocketsRead) -> None:
        if self._gone() or not self.sockets_view.finished(msg, self.table.selected_inode):
            return
        as_of = self.source.clock(msg.summary.time) if msg.summary is not None else ""
        self.sockets.show(msg.ns.name, msg.summary, message=f"{msg.ns.name}: {msg.error}" if msg.error else "",
                          as_of=as_of)
