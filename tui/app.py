"""The synscope App: every namespace, live, SYN drops and delayed ACKs lit up.

Data flows one way. A one-shot thread worker calls ``source.tick()`` (and computes the
selected namespace's detail) and posts a :class:`FrameReady`; the handler renders it and
only then schedules the next tick, so ticks never overlap and a slow tick is skipped, not
queued. The App receives its :class:`~tui.source.DataSource` in its constructor: the live
node, or a scripted incident for tests, snapshots, screenshots and the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import time
from dataclasses import dataclass
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input

from tui.core.namespaces import NetNS
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.source import DataSource, Frame, NsDetail
from widgets.counter_panel import CounterPanel
from widgets.namespace_table import SORTS, NamespaceTable
from widgets.status_line import StatusInfo

if TYPE_CHECKING:  # captures and the sysctl screen load on first use: the first frame comes sooner
    from tui.core.capture import CaptureManager

__all__ = ["SynscopeApp", "run"]

SORT_ORDER = tuple(SORTS)
DIAGNOSE_WINDOW = 60  # ticks of history the diagnosis looks at
CHART_EVERY = 3.0  # seconds of sample time between two chart redraws of the same counter


@dataclass(frozen=True)
class DetailRequest:
    inode: int | None
    all_counters: bool
    baseline: tuple[float, dict[str, int]] | None
    chart_key: str | None


class FrameReady(Message):
    def __init__(self, frame: Frame, detail: NsDetail | None, request: DetailRequest, took: float) -> None:
        super().__init__()
        self.frame, self.detail, self.request, self.took = frame, detail, request, took


class SampleFailed(Message):
    def __init__(self, error: str, took: float) -> None:
        super().__init__()
        self.error, self.took = error, took


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


class SynscopeApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "synscope"

    BINDINGS = [
        Binding("q", "quit", "Quit", priority=True, id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("escape", "back", "Back / clear filter", show=False, id="back"),
        Binding("p", "freeze", "Freeze", id="freeze"),
        Binding("b", "baseline", "Baseline", id="baseline"),
        Binding("B", "clear_baseline", "Clear baseline", show=False, id="baseline.clear"),
        Binding("a", "all_counters", "All counters", show=False, id="all"),
        Binding("c", "chart", "Chart", show=False, id="chart"),
        Binding("o", "sort_next", "Sort", id="sort"),
        Binding("r", "sort_reverse", "Reverse sort", show=False, id="sort.reverse"),
        Binding("t", "capture", "Capture", id="capture"),
        Binding("T", "capture_list", "Captures", show=False, id="capture.list"),
        Binding("s", "sysctl", "Sysctl", id="sysctl"),
    ]

    # what the help screen says for keys whose binding text is short
    KEY_HELP: dict[str, str] = {
        "quit": "quit (leaves nothing behind)",
        "help": "this help",
        "filter": "filter by name, pod, k8s namespace or label (key=value); shows 'shown/total'",
        "back": "leave the filter / the detail panel; clears an active filter from the table",
        "freeze": "freeze the display (sampling and history continue); again to resume",
        "baseline": "set a baseline for the selected namespace: values read 'since baseline'",
        "baseline.clear": "clear the selected namespace's baseline",
        "all": "detail: all counters / only those that moved in the window",
        "chart": "show or hide the chart of the focused counter",
        "sort": "next sort order: " + ", ".join(SORT_ORDER),
        "sort.reverse": "reverse the sort order",
        "capture": "tcpdump in the selected namespace: presets, live pane, bounded pcap",
        "capture.list": "every capture of this session (stop, view, run tcpdump in the terminal)",
        "sysctl": "diagnosis and sysctl fix preview for the selected namespace",
        "table.detail": "open the detail panel of the selected namespace (focus it)",
    }

    def __init__(self, source: DataSource, *, ns_filter: str = "", autotick: bool = True, interval: float | None = None,
                 allow_apply: bool = False) -> None:
        super().__init__()
        self.source = source
        self.allow_apply = allow_apply  # only --allow-apply turns the sysctl preview's apply on
        self._captures: CaptureManager | None = None
        self.interval = interval if interval is not None else source.interval
        self.autotick = autotick
        self.filter_text = ns_filter
        self.frozen = False
        self.all_counters = False
        self.chart_on = True
        self.baselines: dict[int, tuple[float, dict[str, int]]] = {}
        self.frame: Frame | None = None  # the frame on screen
        self.latest: Frame | None = None  # the newest frame (differs while frozen)
        self.latest_detail: NsDetail | None = None
        self.detail: NsDetail | None = None
        self.frames_seen = 0
        self.frozen_behind = 0
        self.last_error = ""
        self.detail_error = ""  # the last detail computation failed (cleared by the next one that works)
        self.slow = False
        self._chart_key: str | None = None
        self._tick_timer = None
        self._detail_worker = None
        self._chart_drawn: tuple[tuple[int, str | None] | None, float] = (None, 0.0)
        self._sample_worker = None
        self._tick_again = False
        self._pending_detail: DetailRequest | None = None
        self._hostname = "" if source.scripted else socket.gethostname()
        self._closing = False

    # -- contract for other screens -------------------------------------------------------------
    @property
    def main(self) -> MainScreen:
        return self._main

    @property
    def selected_namespace(self) -> NetNS | None:
        main = getattr(self, "_main", None)
        return main.table.selected_namespace if main is not None else None

    @property
    def captures(self) -> CaptureManager:
        """The session's captures; made on first use (no thread or directory before that)."""
        if self._captures is None:
            from tui.core.capture import CaptureManager

            self._captures = CaptureManager()
        return self._captures

    def open_capture(self, ns: NetNS | None) -> None:
        from tui.screens import capture as capture_screens

        capture_screens.open_capture(self, ns, self.captures, self.source.values)

    def open_sysctl(self, ns: NetNS | None) -> None:
        if ns is None:
            self.notify("select a namespace first", severity="warning")
            return
        self.notify(f"diagnosing {ns.name} …", timeout=2)
        self._diagnose(ns)

    @work(thread=True, exclusive=True, exit_on_error=False, group="diagnose")
    def _diagnose(self, ns: NetNS) -> None:
        # reads sysctls and sockets inside the namespace: never on the UI thread
        try:
            d = self.source.diagnose(ns, n=DIAGNOSE_WINDOW)
        except Exception as exc:
            self.call_from_thread(self.notify, f"diagnosis of {ns.name} failed: {type(exc).__name__}: {exc}",
                                  severity="error", timeout=8)
            return
        from tui.screens.sysctl import SysctlScreen

        self.call_from_thread(self.push_screen, SysctlScreen.from_diagnosis(d, allow_apply=self.allow_apply))

    # -- lifecycle -------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        self._main = MainScreen()
        return self._main

    def main_mounted(self) -> None:
        """Called by MainScreen once its widgets exist."""
        self._main.filter_input.value = self.filter_text
        self._main.filter_input.display = bool(self.filter_text)
        self.chart_on = not self._main.narrow  # at 80 columns the chart replaces the detail: opt-in
        self._main.chart.clock = self.source.clock  # its x axis names the sample its picture ends at
        self._apply_chart_visibility()
        self._render_title()
        self._render_status()
        self.request_tick()
        if not self.source.scripted:
            # the sample's age must keep counting when ticks stall (a slow /proc read)
            self.set_interval(1.0, self._render_status)

    def on_mount(self) -> None:
        # TERM (kill, a service manager) and HUP (a dropped SSH session) end the app the way
        # q does: the terminal gets its normal screen, cursor and mouse back, and captures
        # stop with their files flushed. Python's default for both is to die on the spot.
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.exit, 128 + sig)

    def on_unmount(self) -> None:
        self._closing = True
        if self._captures is not None:
            self._captures.close()  # no tcpdump outlives the app
        if self._tick_timer is not None:
            self._tick_timer.stop()

    # -- sampling --------------------------------------------------------------------------
    def request_tick(self) -> None:
        """Take one sample now (tests call this when autotick is off).

        While a tick is still running, nothing new starts (ticks never overlap); one more
        tick follows as soon as it finishes.
        """
        if self._sample_worker is not None and not self._sample_worker.is_finished:
            self._tick_again = True
            return
        self._tick_again = False
        self._sample_worker = self._sample(self._detail_request())

    @work(thread=True, exclusive=True, exit_on_error=False, group="sample")
    def _sample(self, request: DetailRequest) -> None:
        start = time.monotonic()
        try:
            frame = self.source.tick()
        except Exception as exc:  # the screen says what failed; the app keeps running
            self.post_message(SampleFailed(f"{type(exc).__name__}: {exc}", time.monotonic() - start))
            return
        captures = self._captures
        if captures is not None and frame.sampled and captures.armed_count():
            captures.observe(frame.time, self.source.values)  # armed captures check this tick's counters
        try:
            detail = self._compute_detail(request)
        except Exception as exc:  # the table still gets its frame
            detail = None
            self.post_message(DetailFailed(f"{type(exc).__name__}: {exc}", request, in_tick=True))
        self.post_message(FrameReady(frame, detail, request, time.monotonic() - start))

    def _compute_detail(self, request: DetailRequest) -> NsDetail | None:
        if request.inode is None:
            return None
        return self.source.detail(request.inode, all_counters=request.all_counters, baseline=request.baseline,
                                  chart_key=request.chart_key)

    def _schedule_next(self, took: float) -> None:
        self.slow = took > self.interval
        if self._closing:
            return
        if self._tick_again:
            self._tick_timer = self.set_timer(0.01, self.request_tick)
            return
        if not self.autotick:
            return
        # the next tick starts one interval after this one started; a tick slower than the
        # interval is followed at once by the next one (skipped, never queued)
        self._tick_timer = self.set_timer(max(0.01, self.interval - took), self.request_tick)

    def on_frame_ready(self, msg: FrameReady) -> None:
        if self._gone():
            return
        self.latest = msg.frame
        self.frames_seen += 1
        self.last_error = ""
        if msg.request == self._detail_request():
            self.latest_detail = msg.detail
            if msg.detail is not None:
                self.detail_error = ""
        if msg.frame.sampled or not self.autotick:
            self._schedule_next(msg.took)
        else:  # the names alone (LiveSource's start): read the counters once they are on screen
            self.call_after_refresh(self.request_tick)
        if self.frozen:
            self.frozen_behind += 1
            self._render_status()
            return
        self._show(msg.frame, self.latest_detail if msg.request == self._detail_request() else None)

    def on_sample_failed(self, msg: SampleFailed) -> None:
        if self._gone():
            return
        self.last_error = msg.error
        self._render_status()
        self._schedule_next(msg.took)

    # -- detail ----------------------------------------------------------------------------
    def _gone(self) -> bool:
        """True while the app shuts down: a worker's message may arrive after the widgets left."""
        if self._closing or not hasattr(self, "_main"):
            return True
        try:
            table = self._main.table
        except NoMatches:
            return True
        return not table.is_attached  # the table leaves the DOM once teardown has begun

    def _detail_request(self) -> DetailRequest:
        ns = None if self._gone() else self._main.table.selected_inode
        return DetailRequest(ns, self.all_counters, self.baselines.get(ns) if ns is not None else None, self._chart_key)

    def refresh_detail(self) -> None:
        """Recompute the selected namespace's detail now (selection, toggle, baseline).

        Requests coalesce: while one computation runs, only the newest request waits, so
        holding down an arrow key never piles up threads (and nothing is cancelled midway).
        """
        self._pending_detail = self._detail_request()
        if self._detail_worker is None or self._detail_worker.is_finished:
            self._detail_worker = self._load_detail(self._pending_detail)

    @work(thread=True, exit_on_error=False, group="detail")
    def _load_detail(self, request: DetailRequest) -> None:
        try:
            detail = self._compute_detail(request)
        except Exception as exc:
            self.post_message(DetailFailed(f"{type(exc).__name__}: {exc}", request, in_tick=False))
            return
        self.post_message(DetailReady(detail, request))

    def on_detail_ready(self, msg: DetailReady) -> None:
        if self._gone():
            return
        if self._pending_detail is not None and self._pending_detail != msg.request:
            self._detail_worker = self._load_detail(self._pending_detail)  # the newest request
            return
        self._pending_detail = None
        if msg.request != self._detail_request():
            return  # the user moved on meanwhile
        self.latest_detail = msg.detail
        if self.detail_error:
            self.detail_error = ""
            self._render_status()
        self._show_detail(msg.detail)

    def on_detail_failed(self, msg: DetailFailed) -> None:
        # says what failed, and never schedules a tick: the tick chain runs by itself
        if self._gone():
            return
        self.detail_error = msg.error
        self._render_status()
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

    @on(NamespaceTable.DetailRequested)
    def _detail_requested(self) -> None:
        self.action_detail()

    @on(CounterPanel.Focused)
    def _counter_focused(self, msg: CounterPanel.Focused) -> None:
        self._chart_key = msg.key
        self._main.note.show(msg.key)
        self.refresh_detail()

    # -- rendering -------------------------------------------------------------------------
    def _keep(self, ns: NetNS) -> bool:
        return not self.filter_text or ns.matches(self.filter_text)

    def _show(self, frame: Frame, detail: NsDetail | None) -> None:
        self.frame = frame
        table = self._main.table
        table.show(frame.namespaces, frame.summaries, frame.time, keep=self._keep)
        self._render_title()
        # the table may just have moved the selection (it follows the worst row until the
        # user picks one): then this detail is the previous namespace's, and the new one is
        # already requested — painting the old one would flash it and cost a full redraw
        if detail is not None and detail.inode == table.selected_inode:
            self._show_detail(detail)
        elif self.detail is None or self.detail.inode == table.selected_inode:
            self._render_detail_title()  # else the title changes when the new detail arrives
        self._render_status()

    def _show_detail(self, detail: NsDetail | None) -> None:
        if self.frozen and self.detail is not None and detail is not None and detail.inode == self.detail.inode:
            return
        self.detail = detail
        ns = self.selected_namespace
        empty = "no namespace selected" if ns is None else ("no counter moved in the last "
                                                              f"{int(detail.window_s) if detail else 300} s · a: all counters")
        self._main.panel.show(detail, empty=empty)
        self._main.note.show(self._main.panel.focus_key)
        if self._chart_key is None and detail is not None:
            self._chart_key = self._main.panel.focus_key
        if self.chart_on and self._chart_due(detail):
            self._main.chart.show(detail, ns.name if ns is not None else "")
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
        table = self._main.table
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" synscope ", style="bold reverse")
        if self._hostname:
            t.append(f" {self._hostname}", style="bold")
        shown, total = table.shown, table.total
        t.append(f"  namespaces {shown} / {total}")
        if self.filter_text:
            t.append("  filter: ", style="dim")
            t.append(self.filter_text, style="bold cyan")
        lit = sum(1 for s in (self.frame.summaries.values() if self.frame else ()) if s.lit)
        if lit:
            t.append(f"  {lit} lit", style="bold red")
        t.append(f"  sort: {table.sort_key}{' (reversed)' if table.sort_reverse else ''}", style="dim")
        if self.frozen:
            t.append("  FROZEN", style="bold reverse cyan")
        self._main.set_title(t)

    def _render_detail_title(self) -> None:
        ns = self.selected_namespace
        if ns is None:
            self._main.set_detail_title("detail")
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
        self._main.set_detail_title(f"{ns.name} · {' · '.join(bits)}", sub)

    def _render_status(self) -> None:
        f = self.frame or self.latest
        age = None
        if self.latest is not None and self.latest.sampled:
            age = self.latest.sample_age if self.source.scripted else max(0.0, self.source.now() - self.latest.time)
        ns = self.selected_namespace
        base = ""
        if ns is not None and ns.inode in self.baselines:
            base = "baseline set (B clears)"
        notes = tuple(f.notes) if f else ()
        if self.detail_error:
            notes = (f"detail failed: {self.detail_error}",) + notes
        if self.last_error:
            notes = (f"sampling failed: {self.last_error}",) + notes
        info = StatusInfo(
            interval=self.source.interval, sample_age=age,
            namespaces=len(f.namespaces) if f else 0, shown=self._main.table.shown if f else 0,
            statuses=tuple(f.statuses) if f else (), notes=notes, root=f.root if f else (os.geteuid() == 0),
            frozen=self.frozen, frozen_behind=self.frozen_behind, baseline=base,
            slow=self.slow,
        )
        self._main.status.show(info)

    def _apply_chart_visibility(self) -> None:
        m = self._main
        m.set_class(self.chart_on, "-chart")
        if self.chart_on and self.detail is not None:
            self._chart_drawn = (None, 0.0)
            ns = self.selected_namespace
            m.chart.show(self.detail, ns.name if ns is not None else "")

    # -- actions ---------------------------------------------------------------------------
    # these act on the main screen's table; elsewhere (help, capture, sysctl) they are
    # hidden from the footer and do nothing, so those screens' own keys are what shows
    MAIN_ONLY = frozenset({"filter", "back", "freeze", "baseline", "clear_baseline", "all_counters", "chart",
                           "sort_next", "sort_reverse", "capture", "capture_list", "sysctl"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        elsewhere = getattr(self, "_main", None) is not None and self.screen is not self._main
        return not (action in self.MAIN_ONLY and elsewhere)

    def _typing(self) -> bool:
        return isinstance(self.focused, Input)

    async def action_quit(self) -> None:
        if self._typing():
            raise SkipAction()  # "q" typed into the filter is a letter, not quit
        self.exit(0)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_keys()))

    def help_keys(self) -> list[tuple[str, str]]:
        out = []
        seen = set()
        chains: list[Iterable[Binding]] = [self.BINDINGS, NamespaceTable.BINDINGS]  # type: ignore[list-item]
        for chain in chains:
            for b in chain:
                if not isinstance(b, Binding) or b.id in seen:
                    continue
                seen.add(b.id)
                key = {"question_mark": "?", "slash": "/"}.get(b.key, b.key)
                out.append((key, self.KEY_HELP.get(b.id or "", b.description)))
        return out

    def action_filter(self) -> None:
        inp = self._main.filter_input
        inp.display = True
        inp.value = self.filter_text
        inp.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.set_filter(event.value)
        inp = self._main.filter_input
        inp.display = bool(self.filter_text)
        self._main.table.focus()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        if self.frame is not None:
            self._main.table.show(self.frame.namespaces, self.frame.summaries, self.frame.time, keep=self._keep,
                                  retop=True)
        self._render_title()
        self._render_status()

    def action_back(self) -> None:
        m = self._main
        if self.screen is not m:
            return
        if self._typing():
            m.filter_input.value = ""
            self.set_filter("")
            m.filter_input.display = False
            m.table.focus()
        elif self.focused is m.panel:
            m.table.focus()
        elif self.filter_text:
            m.filter_input.value = ""
            self.set_filter("")
            m.filter_input.display = False
        self._sync_focus_class()

    def action_detail(self) -> None:
        # opening a namespace's detail is picking it: the automatic selection stops there
        self._main.table.user_chose = True
        self._main.panel.focus()
        self._sync_focus_class()

    def _sync_focus_class(self) -> None:
        self._main.set_class(self.focused is self._main.panel, "-detail-focus")

    def on_descendant_focus(self) -> None:
        if hasattr(self, "_main") and self.screen is self._main:
            self._sync_focus_class()

    def action_freeze(self) -> None:
        self.frozen = not self.frozen
        if not self.frozen:
            self.frozen_behind = 0
            if self.latest is not None:
                self._show(self.latest, self.latest_detail)
        self._render_title()
        self._render_status()

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
        self.call_from_thread(self._baseline_set, inode, (t, values))

    def _baseline_set(self, inode: int, baseline: tuple[float, dict[str, int]]) -> None:
        self.baselines[inode] = baseline
        self.notify("baseline set: values now read 'since baseline' (B clears)", timeout=3)
        self.refresh_detail()
        self._render_detail_title()
        self._render_status()

    def action_clear_baseline(self) -> None:
        ns = self.selected_namespace
        if ns is not None and self.baselines.pop(ns.inode, None) is not None:
            self.refresh_detail()
            self._render_detail_title()
            self._render_status()

    def action_all_counters(self) -> None:
        self.all_counters = not self.all_counters
        self._render_detail_title()
        self.refresh_detail()

    def action_chart(self) -> None:
        self.chart_on = not self.chart_on
        self._apply_chart_visibility()

    def set_sort(self, key: str, reverse: bool | None = None) -> None:
        table = self._main.table
        table.set_sort(key, reverse)
        if self.frame is not None:
            table.show(self.frame.namespaces, self.frame.summaries, self.frame.time, keep=self._keep)
        self._render_title()
        self._render_status()

    def action_sort_next(self) -> None:
        cur = self._main.table.sort_key
        self.set_sort(SORT_ORDER[(SORT_ORDER.index(cur) + 1) % len(SORT_ORDER)])

    def action_sort_reverse(self) -> None:
        table = self._main.table
        self.set_sort(table.sort_key, not table.sort_reverse)

    def action_capture(self) -> None:
        self.open_capture(self.selected_namespace)

    def action_capture_list(self) -> None:
        from tui.screens import capture as capture_screens

        capture_screens.open_capture_list(self, self.captures, self.source.values)

    def action_sysctl(self) -> None:
        self.open_sysctl(self.selected_namespace)

    # -- command palette -------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Filter namespaces", "Filter by name, pod, k8s namespace or label (/)", self.action_filter)
        yield SystemCommand("Clear filter", "Show every namespace again", lambda: self.set_filter(""))
        yield SystemCommand("Freeze / resume display", "Sampling continues while frozen (p)", self.action_freeze)
        yield SystemCommand("Set baseline", "Values of the selected namespace read 'since baseline' (b)", self.action_baseline)
        yield SystemCommand("Clear baseline", "Back to absolute values (B)", self.action_clear_baseline)
        yield SystemCommand("Detail panel", "Focus the selected namespace's counters (enter)", self.action_detail)
        yield SystemCommand("All counters / moved only", "Toggle the detail panel's counter set (a)", self.action_all_counters)
        yield SystemCommand("Show / hide chart", "Chart of the focused counter (c)", self.action_chart)
        for key, desc in SORTS.items():
            yield SystemCommand(f"Sort by {key}", desc, lambda k=key: self.set_sort(k))
        yield SystemCommand("Reverse sort", "Reverse the table order (r)", self.action_sort_reverse)
        yield SystemCommand("Capture in namespace", "tcpdump in the selected namespace (t)", self.action_capture)
        yield SystemCommand("Captures", "Every capture of this session (T)", self.action_capture_list)
        yield SystemCommand("Diagnose / sysctl fix preview", "Findings and proposed sysctls for the selected namespace (s)",
                            self.action_sysctl)
        yield SystemCommand("Help: keys", "Every key and what is lit (?)", self.action_help)


def run(args: argparse.Namespace, source: DataSource | None = None) -> int:
    """``synscope`` with no subcommand: the live TUI (on ``source``, already started, if given)."""
    from tui.source import LiveSource

    source = source or LiveSource(interval=args.interval)
    try:
        app = SynscopeApp(source, ns_filter=getattr(args, "ns", "") or "", allow_apply=getattr(args, "allow_apply", False))
        code = app.run()
    finally:
        source.close()
    return code or 0
