"""The synscope App: every namespace, live, SYN drops and delayed ACKs lit up.

Data flows one way. A one-shot thread worker calls ``source.tick()`` (and computes the
detail the main screen asks for) and posts a :class:`FrameReady`; the handler hands it to
the main screen and only then schedules the next tick, so ticks never overlap and a slow
tick is skipped, not queued. The App receives its :class:`~tui.source.DataSource` in its
constructor: the live node, or a scripted incident for tests, snapshots, screenshots and
the benchmark.

The App keeps what is global: the data source, the tick scheduler, the captures, pushing
screens, and the global keys (quit, help). The main screen (tui/screens/main.py) owns its
state, rendering and keys; every key's words come from one table (tui/actions.py).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import socket
import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.actions import SkipAction
from textual.app import App
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input

from tui.actions import bindings, help_rows
from tui.core.namespaces import NetNS
from tui.screens.bundle import BundleRequested, write_bundle_in_worker
from tui.screens.help import HelpScreen
from tui.screens.main import DetailFailed, DetailRequest, MainScreen, compute_detail
from tui.screens.palette import ActionsProvider
from tui.source import DataSource, Frame, NsDetail

if TYPE_CHECKING:  # captures and the sysctl screen load on first use: the first frame comes sooner
    from tui.core.capture import CaptureManager

__all__ = ["SynscopeApp", "run"]

DIAGNOSE_WINDOW = 60  # ticks of history the diagnosis looks at


class FrameReady(Message):
    def __init__(self, frame: Frame, detail: NsDetail | None, request: DetailRequest, took: float) -> None:
        super().__init__()
        self.frame, self.detail, self.request, self.took = frame, detail, request, took


class SampleFailed(Message):
    def __init__(self, error: str, took: float) -> None:
        super().__init__()
        self.error, self.took = error, took


class SynscopeApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "synscope"
    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | {ActionsProvider}

    def __init__(self, source: DataSource, *, ns_filter: str = "", autotick: bool = True, interval: float | None = None,
                 allow_apply: bool = False) -> None:
        super().__init__()
        self.source = source
        # replay (tui/replay_source.py): recorded data, so no capture or apply; the source says why
        self.replay = bool(getattr(source, "replay", False))
        self.allow_apply = allow_apply and not self.replay  # only --allow-apply turns the sysctl preview's apply on
        self._captures: CaptureManager | None = None
        self.interval = interval if interval is not None else source.interval
        self.autotick = autotick
        self.latest: Frame | None = None  # the newest frame (the main screen may show an older one: frozen)
        self.last_error = ""  # the last tick failed (cleared by the next one that works)
        self.slow = False  # the last tick took longer than the interval
        self.closing = False
        self._tick_timer = None
        self._sample_worker = None
        self._tick_again = False
        self._heap_frozen = False
        hostname = getattr(source, "host", "") if self.replay else ("" if source.scripted else socket.gethostname())
        self._main = MainScreen(ns_filter=ns_filter, hostname=hostname)

    # -- contract for other screens -------------------------------------------------------------
    @property
    def main(self) -> MainScreen:
        return self._main

    @property
    def captures(self) -> CaptureManager:
        """The session's captures; made on first use (no thread or directory before that)."""
        if self._captures is None:
            from tui.core.capture import CaptureManager

            self._captures = CaptureManager()
        return self._captures

    def _capture_refused(self) -> bool:
        reason = getattr(self.source, "capture_off", "")
        if reason:
            self.notify(reason, severity="warning", timeout=6)
        return bool(reason)

    def open_capture(self, ns: NetNS | None) -> None:
        if self._capture_refused():
            return
        from tui.screens import capture as capture_screens

        capture_screens.open_capture(self, ns, self.captures, self.source.values)

    def open_capture_list(self) -> None:
        if self._capture_refused():
            return
        from tui.screens import capture as capture_screens

        capture_screens.open_capture_list(self, self.captures, self.source.values)

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

        self.call_from_thread(self.push_screen, SysctlScreen.from_diagnosis(
            d, allow_apply=self.allow_apply, apply_off=getattr(self.source, "apply_off", "")))

    @on(BundleRequested)
    def _bundle_requested(self, msg: BundleRequested) -> None:
        # `w` in the capture pane or the sysctl preview: this namespace's captures of the session go in
        captures = self._captures.statuses() if self._captures is not None else []
        # the recorder's store the TUI was given (--store, or its default): the window's recording comes from it
        write_bundle_in_worker(self, self.source, msg.ns, captures, store=getattr(self.source, "store_path", None))

    # -- lifecycle -------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        return self._main  # it starts the first tick once its widgets exist

    def on_mount(self) -> None:
        # TERM (kill, a service manager) and HUP (a dropped SSH session) end the app the way
        # q does: the terminal gets its normal screen, cursor and mouse back, and captures
        # stop with their files flushed. Python's default for both is to die on the spot.
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.exit, 128 + sig)

    def on_unmount(self) -> None:
        self.closing = True
        if self._heap_frozen:  # what was frozen can be collected again (tests run many apps in one process)
            gc.unfreeze()
            self._heap_frozen = False
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
        self._sample_worker = self._sample(self._main.detail_request() if not self._gone() else DetailRequest(None, False, None, None))

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
            detail = compute_detail(self.source, request)
        except Exception as exc:  # the table still gets its frame
            detail = None
            self._main.post_message(DetailFailed(f"{type(exc).__name__}: {exc}", request, in_tick=True))
        self.post_message(FrameReady(frame, detail, request, time.monotonic() - start))

    def _schedule_next(self, took: float) -> None:
        self.slow = took > self.interval
        if self.closing:
            return
        # one chain of ticks: a tick a key asked for (request_tick) must not leave the timer
        # already pending to start a second chain (replay "at 1x" ran several times too fast)
        if self._tick_timer is not None:
            self._tick_timer.stop()
            self._tick_timer = None
        if self._tick_again:
            self._tick_timer = self.set_timer(0.01, self.request_tick)
            return
        if not self.autotick:
            return
        # the next tick starts one interval after this one started; a tick slower than the
        # interval is followed at once by the next one (skipped, never queued)
        self._tick_timer = self.set_timer(max(0.01, self.interval - took), self.request_tick)

    def _gone(self) -> bool:
        """True while the app shuts down: a worker's message may arrive after the widgets left."""
        if self.closing:
            return True
        try:
            return not self._main.table.is_attached  # the table leaves the DOM once teardown has begun
        except NoMatches:
            return True

    def on_frame_ready(self, msg: FrameReady) -> None:
        if self._gone():
            return
        self.latest = msg.frame
        self.last_error = ""
        if msg.frame.sampled or not self.autotick:
            self._schedule_next(msg.took)
        else:  # the names alone (LiveSource's start): read the counters once they are on screen
            self.call_after_refresh(self.request_tick)
        self._main.frame_arrived(msg.frame, msg.detail, msg.request)
        if msg.frame.sampled and not self._heap_frozen:
            self._heap_frozen = True
            self.call_after_refresh(self._freeze_startup_heap)

    def _freeze_startup_heap(self) -> None:
        """Keep the objects alive at the first painted frame out of the cycle collector's walks.

        The screen's widgets, styles and compiled CSS are ~85k objects that live as long as the
        app. A full collection walks all of them on the UI thread: 18-28 ms, now and then in
        the middle of a key press (the 52-58 ms outliers of a replay step). Frozen, a full
        collection walks only what came later (gc.freeze, as forking servers use it). The
        garbage of the start is collected first, so nothing dead is kept; on_unmount unfreezes.
        """
        if self.closing:
            return
        gc.collect()
        gc.freeze()

    def on_sample_failed(self, msg: SampleFailed) -> None:
        if self._gone():
            return
        self.last_error = msg.error
        self._main.render_status()
        self._schedule_next(msg.took)

    # -- global keys -----------------------------------------------------------------------
    async def action_quit(self) -> None:
        if isinstance(self.focused, Input):
            raise SkipAction()  # "q" typed into the filter is a letter, not quit
        self.exit(0)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_rows(self.replay)))


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
