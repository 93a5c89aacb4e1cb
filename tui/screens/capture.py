"""Capture screens: a small form to start tcpdump in a namespace, and the capture pane.

Both are built from plain data — the :class:`NetNS`, a :class:`CaptureManager` and a
``history_of(inode) -> NsHistory | None`` callable for the namespace's SYN-trouble deltas —
so the main app pushes them for the selected row and tests push them on a tiny App.

* :class:`CaptureForm` (``t``): presets, one port, custom BPF, interface (default any),
  duration, and when to start: now, when SYN trouble moves here, or when a counter picked
  grows by at least N in one tick (an armed capture: before/after seconds, max triggers;
  the app's sampling tick checks it, :meth:`CaptureManager.observe`). Enter starts; the
  filter is compiled by ``tcpdump -d`` in the namespace first and a bad one shows
  tcpdump's own message. Ctrl+T runs tcpdump in the terminal instead.
* :class:`CaptureScreen`: every capture of the session (several namespaces at once), the
  selected one's file, bounds, counts, elapsed time, SYN-trouble deltas and live decoded
  lines. ``s`` stops it, ``i`` runs tcpdump interactively in its namespace, ``n`` starts
  another one there, Esc goes back (captures keep running until stopped, their time limit,
  or synscope exiting).

:func:`open_capture` and :func:`open_capture_list` are what the app's key bindings call.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from tui.core.capture import (
    DEFAULT_AFTER,
    DEFAULT_BEFORE,
    DEFAULT_DURATION,
    DEFAULT_FILE_COUNT,
    DEFAULT_FILE_MB,
    DEFAULT_MAX_TRIGGERS,
    DEFAULT_UNTIL,
    PRESETS,
    CaptureError,
    CaptureManager,
    CaptureSpec,
    parse_when,
    preflight,
    preset_filter,
    ring_files,
    run_interactive,
)
from tui.core.capture import listen_ports as read_listen_ports
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS
from tui.screens.bundle import BundleRequested
from widgets.capture_list import CaptureList
from widgets.capture_log import CaptureLog
from widgets.capture_summary import CaptureSummary

__all__ = ["CaptureForm", "CaptureScreen", "HistoryOf", "open_capture", "open_capture_list"]

# history_of(inode) -> NsHistory | None; a callable returning the values dict itself (e.g. a
# data source's lock-protected ``values(inode)``) works too
HistoryOf = Callable[[int], "NsHistory | dict[str, int] | None"]
REFRESH = 0.25  # seconds between looks at the captures (cheap: counters and a few stats)
START_WAIT = 5.0  # seconds the form waits for tcpdump to say it listens (or to fail) before showing the pane
# the form's "start": now, or armed on the counters (the --when of `synscope capture`)
STARTS = (
    ("now", "now"),
    ("when SYN trouble moves here", "syn"),
    ("when a counter I pick grows by ≥ N", "counter"),
)


def _values_of(history_of: HistoryOf | None, inode: int) -> dict[str, int] | None:
    if history_of is None:
        return None
    try:
        h = history_of(inode)
    except Exception:  # the deltas are extra: a failing lookup must not stop the pane
        return None
    if isinstance(h, dict):
        return h or None  # {}: no sample of that namespace yet
    return h.values() if h is not None else None


class _TerminalMixin:
    """``run_in_terminal``: suspend the TUI, tcpdump on the terminal, come back.

    Tests replace the method: ``App.suspend()`` raises under the headless driver.
    """

    app: App
    notify: Callable[..., None]

    def run_in_terminal(self, ns: NetNS, filter_text: str, interface: str = "any") -> None:
        try:
            preflight(ns)
        except CaptureError as exc:
            self.notify(str(exc), title="tcpdump", severity="error", timeout=8)
            return
        try:
            with self.app.suspend():
                shown = filter_text or "(no filter)"
                print(f"\nsynscope: tcpdump in {ns.name} ({ns.label}) on {interface}, filter: {shown}")
                print("synscope: Ctrl+C stops tcpdump and returns to synscope\n", flush=True)
                try:
                    rc = run_interactive(ns, filter_text, interface)
                    print(f"\nsynscope: tcpdump exited with status {rc}")
                except CaptureError as exc:
                    print(f"\nsynscope: {exc}")
                try:
                    input("synscope: press Enter to return to synscope ")
                except (EOFError, KeyboardInterrupt):
                    pass
        except SuspendNotSupported:
            self.notify("this terminal cannot be suspended: use synscope capture instead", severity="error")


class CaptureForm(_TerminalMixin, ModalScreen["int | None"]):
    """Choose what to capture in one namespace; dismisses with the new capture's id."""

    DEFAULT_CSS = """
    CaptureForm { align: center middle; }
    CaptureForm > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    CaptureForm OptionList { height: auto; max-height: 9; border: none; padding: 0; }
    CaptureForm Horizontal { height: auto; }
    CaptureForm Horizontal Label { padding: 1 1 0 0; }
    CaptureForm #port { width: 12; }
    CaptureForm #iface { width: 16; }
    CaptureForm #duration { width: 10; }
    CaptureForm #start { width: 46; }
    CaptureForm.-short OptionList { max-height: 6; }
    CaptureForm.-short.-armed OptionList { max-height: 4; }
    CaptureForm #counter { width: 26; }
    CaptureForm #at-least, CaptureForm #before, CaptureForm #after, CaptureForm #max-triggers { width: 8; }
    CaptureForm #armed-row, CaptureForm .armed-only { display: none; }
    CaptureForm.-armed #armed-row, CaptureForm.-armed .armed-only { display: block; }
    CaptureForm .counter-only { display: none; }  /* "when SYN trouble" has no counter to pick */
    CaptureForm.-counter .counter-only { display: block; }
    CaptureForm #preview, CaptureForm #where { color: $text-muted; }
    CaptureForm #error { color: $error; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="capture.cancel"),
        Binding("ctrl+t", "interactive", "tcpdump in this terminal", id="capture.interactive"),
    ]

    def __init__(self, ns: NetNS, manager: CaptureManager, history_of: HistoryOf | None = None) -> None:
        super().__init__()
        self.ns = ns
        self.manager = manager
        self.history_of = history_of
        self.preset = "handshake"
        self.listen_ports: list[int] | None = None  # None: still reading
        self.listen_error = ""
        self.starting = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text.assemble(("Capture in ", ""), (self.ns.name, "bold"), (f"  {self.ns.label}", "dim")))
            yield OptionList(*[Option(self._prompt(name), id=name) for name in PRESETS], id="presets")
            with Horizontal():
                yield Label("port")
                yield Input(placeholder="8080", id="port", type="integer", max_length=5)
                yield Label("interface")
                yield Input(value="any", id="iface", max_length=15)
                yield Label("seconds", id="duration-label")
                yield Input(value=f"{DEFAULT_DURATION:g}", id="duration", type="number", max_length=6)
            with Horizontal():
                yield Label("start")
                yield Select(STARTS, value="now", allow_blank=False, id="start")
                yield Label("max", classes="armed-only")
                yield Input(value=str(DEFAULT_MAX_TRIGGERS), id="max-triggers", type="integer", max_length=3,
                            classes="armed-only")
            with Horizontal(id="armed-row"):
                yield Label("counter", classes="counter-only")
                yield Input(placeholder="TcpExt.ListenDrops", id="counter", max_length=40, classes="counter-only")
                yield Label("≥", classes="counter-only")
                yield Input(value="1", id="at-least", type="integer", max_length=9, classes="counter-only")
                yield Label("before")
                yield Input(value=f"{DEFAULT_BEFORE:g}", id="before", type="number", max_length=5)
                yield Label("after")
                yield Input(value=f"{DEFAULT_AFTER:g}", id="after", type="number", max_length=5)
            yield Input(placeholder="custom BPF filter, e.g. tcp port 443 and host 203.0.113.7", id="custom")
            yield Static(id="preview")
            yield Static(self._where(), id="where")
            yield Static(id="error")
            yield Static(Text("Enter start   Ctrl+T tcpdump in this terminal   Esc cancel", style="dim"))

    def _prompt(self, name: str) -> Text:
        p = PRESETS[name]
        text = Text(p.title)
        if name == "listen":
            if self.listen_ports is None:
                text.append(f"  ({self.listen_error or 'reading…'})", style="dim")
            elif self.listen_ports:
                ports = ", ".join(map(str, self.listen_ports[:12])) + (" …" if len(self.listen_ports) > 12 else "")
                text.append(f": {ports}", style="bold")
        elif name == "port":
            text.append("  (type it in 'port')", style="dim")
        elif name == "custom":
            text.append("  (type it below)", style="dim")
        return text

    def _where(self) -> Text:
        if self.start_mode != "now":
            limit = DEFAULT_FILE_COUNT * DEFAULT_FILE_MB
            return Text(f"ring in memory; a trigger writes …-triggerN.pcap (0600); ≤ {limit} MB in all")
        first = ring_files(str(self.manager.directory / "….pcap"), DEFAULT_FILE_COUNT)[0]
        return Text(f"writes {first} …: ring of {DEFAULT_FILE_COUNT} × {DEFAULT_FILE_MB} MB, oldest overwritten; files 0600")

    @property
    def start_mode(self) -> str:
        try:
            value = self.query_one("#start", Select).value
        except Exception:  # before compose
            return "now"
        return value if isinstance(value, str) else "now"

    @on(Select.Changed, "#start")
    def _start_changed(self, event: Select.Changed) -> None:
        armed = self.start_mode != "now"
        self.set_class(armed, "-armed")
        self.set_class(self.start_mode == "counter", "-counter")
        self.query_one("#duration-label", Label).update("disarm after s" if armed else "seconds")
        duration = self.query_one("#duration", Input)
        # the field's default follows the mode: an armed capture waits an hour by default
        if armed and duration.value == f"{DEFAULT_DURATION:g}":
            duration.value = f"{DEFAULT_UNTIL:g}"
        elif not armed and duration.value == f"{DEFAULT_UNTIL:g}":
            duration.value = f"{DEFAULT_DURATION:g}"
        self.query_one("#where", Static).update(self._where())
        self._update_preview()

    def on_resize(self) -> None:
        # below 30 lines the preset list scrolls so the start row (and the armed row) fit
        self.set_class(self.app.size.height < 30, "-short")

    def on_mount(self) -> None:
        self.on_resize()
        self.query_one(OptionList).highlighted = 0
        self.query_one(OptionList).focus()
        self._update_preview()
        self._load_listen_ports()

    @work(thread=True, exclusive=True, exit_on_error=False, group="capture-listen")
    def _load_listen_ports(self) -> None:
        try:
            ports, err = read_listen_ports(self.ns), ""
        except CaptureError as exc:
            ports, err = [], str(exc)
        except Exception as exc:  # a namespace gone mid-read must not take the form down
            ports, err = [], f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._listen_ports_ready, ports, err)

    def _listen_ports_ready(self, ports: list[int], err: str) -> None:
        self.listen_ports = ports if ports else None
        self.listen_error = "nothing listens" if not ports else ""
        if err and "nothing listens" not in err:
            self.listen_error = err
        ol = self.query_one(OptionList)
        ol.replace_option_prompt("listen", self._prompt("listen"))
        if not ports:
            ol.disable_option("listen")
        self._update_preview()

    # -- the filter as typed ----------------------------------------------------------------
    def current_filter(self) -> str:
        port = self.query_one("#port", Input).value
        custom = self.query_one("#custom", Input).value
        if self.preset == "listen" and self.listen_ports is None:
            raise CaptureError(self.listen_error or "still reading this namespace's listening sockets")
        return preset_filter(self.preset, port=port, ports=self.listen_ports, custom=custom)

    def _update_preview(self) -> None:
        try:
            text = Text("BPF: ", style="dim") + Text(self.current_filter())
            if self.start_mode != "now":
                text = Text(self.armed_fields()["when"].title + "; ", style="bold") + text
        except CaptureError as exc:
            text = Text(str(exc), style="dim italic")
        self.query_one("#preview", Static).update(text)

    @on(OptionList.OptionHighlighted, "#presets")
    def _preset_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.preset = event.option.id
        self._update_preview()

    @on(OptionList.OptionSelected, "#presets")
    def _preset_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.preset = event.option.id
        self.action_start()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        # typing a port or a filter means "that one": follow it in the list
        if event.input.id in ("counter", "at-least", "before", "after", "max-triggers", "duration", "iface"):
            self._update_preview()
            self.query_one("#error", Static).update("")
            return
        target = {"port": "port", "custom": "custom"}.get(event.input.id or "")
        if target and event.value.strip():
            ol = self.query_one(OptionList)
            ol.highlighted = ol.get_option_index(target)
            self.preset = target
        self._update_preview()
        self.query_one("#error", Static).update("")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    # -- actions ------------------------------------------------------------------------------
    def _number(self, field: str, what: str, default: float) -> float:
        raw = self.query_one(f"#{field}", Input).value.strip() or f"{default:g}"
        try:
            return float(raw)
        except ValueError:
            raise CaptureError(f"{what} must be a number, not {raw!r}") from None

    def armed_fields(self) -> dict:
        """The CaptureSpec fields of an armed start; {} for "now". The counter is read as
        ``--when COUNTER>=N`` is: strictly, a typo named with the known counters."""
        mode = self.start_mode
        if mode == "now":
            return {}
        if mode == "syn":
            when = parse_when("syn")
        else:
            counter = self.query_one("#counter", Input).value.strip()
            if not counter:
                raise CaptureError("type the counter to watch, e.g. TcpExt.ListenDrops")
            at_least = self.query_one("#at-least", Input).value.strip() or "1"
            when = parse_when(f"{counter}>={at_least}")
        k = self._number("max-triggers", "max", DEFAULT_MAX_TRIGGERS)
        if k != int(k):
            raise CaptureError(f"max must be a whole number, not {k:g}")
        return {"when": when, "before": self._number("before", "before", DEFAULT_BEFORE),
                "after": self._number("after", "after", DEFAULT_AFTER), "max_triggers": int(k)}

    def spec(self) -> CaptureSpec:
        armed = self.armed_fields()
        duration = self._number("duration", "seconds", DEFAULT_UNTIL if armed else DEFAULT_DURATION)
        iface = self.query_one("#iface", Input).value.strip() or "any"
        return CaptureSpec(self.ns, self.current_filter(), preset=self.preset, interface=iface, duration=duration,
                           **armed).validated()

    def show_error(self, message: str) -> None:
        self.starting = False
        self.query_one("#error", Static).update(Text(message))

    def action_start(self) -> None:
        if self.starting:
            return
        try:
            spec = self.spec()
        except CaptureError as exc:
            self.show_error(str(exc))
            return
        self.starting = True
        self.query_one("#error", Static).update(Text("checking the filter with tcpdump -d …", style="dim"))
        self._start(spec)

    @work(thread=True, exclusive=True, exit_on_error=False, group="capture-start")
    def _start(self, spec: CaptureSpec) -> None:
        # the manager forks tcpdump from its own long-lived thread, not from this worker
        try:
            cid = self.manager.start(spec, baseline=_values_of(self.history_of, self.ns.inode))
        except CaptureError as exc:
            self.app.call_from_thread(self.show_error, str(exc))
            return
        except Exception as exc:
            self.app.call_from_thread(self.show_error, f"{type(exc).__name__}: {exc}")
            return
        # tcpdump opens its file before it says "listening on": one that cannot write it (a
        # read-only or full capture directory) exits at once, and the form says why
        self.manager.wait_listening(cid, timeout=START_WAIT)
        st = self.manager.status(cid)
        if st.state == "failed":
            self.manager.remove(cid)  # nothing was captured: not a capture of this session
            where = str(self.manager.directory)
            hint = f" (capture files go to {where}; $SYNSCOPE_CAPTURE_DIR picks another)" if where in st.end_reason else ""
            self.app.call_from_thread(self.show_error, st.end_reason + hint)
            return
        self.app.call_from_thread(self.dismiss, cid)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_interactive(self) -> None:
        try:
            bpf = self.current_filter()
        except CaptureError as exc:
            self.show_error(str(exc))
            return
        iface = self.query_one("#iface", Input).value.strip() or "any"
        self.run_in_terminal(self.ns, bpf, iface)


class CaptureScreen(_TerminalMixin, Screen):
    """Every capture of this session; the selected one's details and packets, live."""

    DEFAULT_CSS = """
    CaptureScreen { layout: vertical; }
    CaptureScreen #capture-title { height: 1; padding: 0 1; background: $primary-darken-2; }
    CaptureScreen CaptureSummary { border-bottom: solid $primary-darken-2; }
    """
    BINDINGS = [
        Binding("s", "stop", "Stop", id="capture.stop"),
        Binding("i", "interactive", "tcpdump in terminal", id="capture.terminal"),
        Binding("n", "new", "New here", id="capture.new"),
        Binding("d", "remove", "Remove stopped", show=False, id="capture.remove"),
        Binding("w", "bundle", "Bundle", id="capture.bundle"),
        Binding("escape", "back", "Back", id="capture.back"),
    ]

    def __init__(self, manager: CaptureManager, history_of: HistoryOf | None = None, select: int | None = None) -> None:
        super().__init__()
        self.manager = manager
        self.history_of = history_of
        self.selected: int | None = select
        self._seen = 0  # lines of the selected capture already in the log

    def compose(self) -> ComposeResult:
        yield Static(Text("captures — s stop · i tcpdump in terminal · n new · w bundle · Esc back", style="bold"), id="capture-title")
        yield CaptureList(id="capture-list")
        yield CaptureSummary(id="capture-summary")
        yield CaptureLog(id="capture-log")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_captures(force_select=True)  # the capture we were opened on, else the newest
        self.set_interval(REFRESH, self.refresh_captures)
        self.query_one(CaptureList).focus()

    def select(self, cid: int) -> None:
        self.selected = cid
        self.refresh_captures(force_select=True)

    @on(CaptureList.Chosen)
    def _chosen(self, event: CaptureList.Chosen) -> None:
        # The event only says "the cursor moved"; the cursor itself says where. Highlight
        # events arrive late (the one DataTable posts for a first row lands after we moved
        # the cursor to the newest): taking event.capture_id flipped the pane to row 0.
        if self.query_one(CaptureList).selected_id != self.selected:
            self.refresh_captures()

    def refresh_captures(self, force_select: bool = False) -> None:
        statuses = self.manager.statuses()
        ids = [s.id for s in statuses]
        lst = self.query_one(CaptureList)
        # The list's cursor is the selection. We move it only on purpose (select(), the
        # first look) or when its capture is gone (the newest then); a periodic refresh
        # must not put back a selection the user's key press just moved away from.
        move = force_select or self.selected not in ids
        if self.selected not in ids:
            self.selected = ids[-1] if ids else None
        lst.show(statuses, select=self.selected if move else None)
        self.selected = lst.selected_id if ids else None
        log = self.query_one(CaptureLog)
        summary = self.query_one(CaptureSummary)
        st = next((s for s in statuses if s.id == self.selected), None)
        if st is None:
            log.show_capture(None, [])
            summary.show(None, {})
            return
        if log.capture_id != st.id or force_select:
            lines, self._seen = self.manager.lines_since(st.id, 0)
            log.show_capture(st.id, lines)
        else:
            lines, self._seen = self.manager.lines_since(st.id, self._seen)
            log.add(lines)
        summary.show(st, self.manager.syn_deltas(st.id, _values_of(self.history_of, st.ns_inode)))

    # -- actions ------------------------------------------------------------------------------
    def action_stop(self) -> None:
        if self.selected is None:
            return
        self.manager.stop(self.selected, wait=False)
        self.refresh_captures()

    def action_remove(self) -> None:
        if self.selected is None:
            return
        try:
            self.manager.remove(self.selected)
        except CaptureError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.selected = None
        self.refresh_captures()

    def action_new(self) -> None:
        if self.selected is None:
            self.notify("no capture selected: t on a namespace starts one", severity="warning")
            return
        ns = self.manager.spec(self.selected).ns
        self.app.push_screen(CaptureForm(ns, self.manager, self.history_of), self._form_done)

    def _form_done(self, cid: int | None) -> None:
        if cid is not None:
            self.select(cid)

    def action_interactive(self) -> None:
        if self.selected is None:
            return
        spec = self.manager.spec(self.selected)
        self.run_in_terminal(spec.ns, spec.filter, spec.interface)

    def action_bundle(self) -> None:
        # the selected capture's namespace: its captures of the session, counters, sysctls…
        if self.selected is None:
            self.notify("no capture selected: the bundle is written for the selected capture's namespace",
                        severity="warning")
            return
        self.post_message(BundleRequested(self.manager.spec(self.selected).ns))

    def action_back(self) -> None:
        self.app.pop_screen()


def open_capture(app: App, ns: NetNS | None, manager: CaptureManager, history_of: HistoryOf | None = None) -> None:
    """What ``t`` does: the form for ``ns``, then the capture pane on the new capture."""
    if ns is None:
        app.notify("select a namespace first", severity="warning")
        return

    def done(cid: int | None) -> None:
        if cid is None:
            return
        if isinstance(app.screen, CaptureScreen):
            app.screen.select(cid)
        else:
            app.push_screen(CaptureScreen(manager, history_of, select=cid))

    app.push_screen(CaptureForm(ns, manager, history_of), done)


def open_capture_list(app: App, manager: CaptureManager, history_of: HistoryOf | None = None) -> None:
    """The capture pane without starting a new one (every capture of this session)."""
    app.push_screen(CaptureScreen(manager, history_of))
