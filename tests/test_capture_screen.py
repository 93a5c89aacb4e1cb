"""The capture form and pane on a tiny host App, against a real tcpdump in real namespaces.

Only ``run_in_terminal`` is replaced where the test drives the ``i`` key: ``App.suspend()``
cannot run under the headless test driver (one test checks it fails politely there).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile

import pytest
from nethelpers import CLIENT, SERVER
from test_capture import (  # noqa: F401 (readonly_dir is a fixture)
    CLI,
    SRV,
    _need_tcpdump,
    connect,
    netns,
    pair,
    readonly_dir,
    serve,
    syn_lines,
    tcpdump_alive,
)
from textual.app import App, ComposeResult
from textual.widgets import Input, OptionList, Static

from tui.core.capture import CaptureManager, CaptureSpec, preset_filter
from tui.core.history import History
from tui.core.netns import read_proc_file
from tui.screens.capture import CaptureForm, CaptureScreen, open_capture, open_capture_list
from widgets.capture_list import CaptureList
from widgets.capture_log import CaptureLog, compact
from widgets.capture_summary import CaptureSummary

SIZE = (100, 34)


class Host(App):
    """Stands in for the main app: owns the manager, opens the capture form on mount."""

    def __init__(self, ns, manager: CaptureManager, history_of=None, form: bool = True) -> None:
        super().__init__()
        self.ns, self.manager, self.history_of, self.form = ns, manager, history_of, form

    def compose(self) -> ComposeResult:
        yield Static("main")

    def on_mount(self) -> None:
        if self.form:
            open_capture(self, self.ns, self.manager, self.history_of)
        else:
            open_capture_list(self, self.manager, self.history_of)


@pytest.fixture
def mgr():
    d = tempfile.mkdtemp(prefix="synscope-capscreen-")
    m = CaptureManager(directory=d)
    try:
        yield m
    finally:
        pids = m.pids()
        m.close()
        shutil.rmtree(d, ignore_errors=True)
        assert not any(tcpdump_alive(p) for p in pids)


def pane_up(app) -> bool:  # type: ignore[no-untyped-def]
    """The capture pane is the screen as soon as it is pushed, its widgets once it has mounted
    them: wait for both (a query in between found no CaptureLog, once in CI)."""
    return isinstance(app.screen, CaptureScreen) and len(app.screen.query(CaptureSummary)) == 1 \
        and len(app.screen.query(CaptureLog)) == 1


async def until(pilot, pred, steps: int = 200) -> bool:
    """Wait on a condition, pumping the app: at most steps × 0.05 s."""
    for _ in range(steps):
        if pred():
            return True
        await pilot.pause(0.05)
    return bool(pred())


def text_of(widget: Static) -> str:
    return str(widget.content)


async def test_form_starts_a_capture_and_the_pane_shows_live_lines(lab, mgr):
    _need_tcpdump()
    srv, cli = pair(lab)
    serve(lab, srv, 8080)
    app = Host(netns(srv), mgr)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: isinstance(app.screen, CaptureForm))
        form = app.screen
        # the listening-ports preset was read inside the namespace
        assert await until(pilot, lambda: form.listen_ports == [8080]), form.listen_error
        ol = form.query_one(OptionList)
        ol.highlighted = ol.get_option_index("syn")
        await pilot.pause()
        assert "tcp-syn" in text_of(form.query_one("#preview", Static))
        await pilot.press("enter")  # Enter on the highlighted preset starts it
        assert await until(pilot, lambda: pane_up(app)), text_of(form.query_one("#error", Static))
        cid = mgr.ids()[0]
        assert await until(pilot, lambda: mgr.status(cid).listening)
        connect(lab, cli, 3, 8080)
        log = app.screen.query_one(CaptureLog)
        assert await until(pilot, lambda: len(syn_lines(list(log.lines), f"{SRV}.8080")) >= 3), list(log.lines)
        assert all(f" In {CLI}." in ln for ln in syn_lines(list(log.lines), f"{SRV}.8080"))  # compacted for 80 columns
        summary = text_of(app.screen.query_one(CaptureSummary))
        assert await until(pilot, lambda: "3 packets" in text_of(app.screen.query_one(CaptureSummary)) or
                           mgr.status(cid).packets > 3)
        assert "ring of 4 × 25 MB" in summary and mgr.status(cid).path.rsplit("/", 1)[1] in summary
        pid = mgr.status(cid).pid
        await pilot.press("s")
        assert await until(pilot, lambda: mgr.status(cid).state == "done")
        assert await until(pilot, lambda: "done after" in text_of(app.screen.query_one(CaptureSummary)))
        assert not tcpdump_alive(pid)


def test_compact_keeps_the_flags_within_80_columns():
    line = ("22:07:48.563647 va76683 In  IP 198.51.100.2.34074 > 198.51.100.1.8080: Flags [S], seq 3645723678, "
            "win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0")
    short = compact(line)
    assert short.startswith("22:07:48.563 va76683 In 198.51.100.2.34074 > 198.51.100.1.8080: Flags [S],")
    assert short.index("Flags [S]") + len("Flags [S]") < 76  # inside an 80-column log with borders
    assert compact("12:00:00.000001 lo In IP6 ::1.5 > ::1.80: Flags [S]") == "12:00:00.000 lo In IP6 ::1.5 > ::1.80: Flags [S]"


async def test_bad_filter_shows_tcpdumps_message_in_the_form(lab, mgr):
    _need_tcpdump()
    ns = netns(lab.add("badf"))
    app = Host(ns, mgr)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: isinstance(app.screen, CaptureForm))
        form = app.screen
        custom = form.query_one("#custom", Input)
        custom.focus()
        custom.value = "tcp port eighty"
        await pilot.pause()
        assert form.preset == "custom"  # typing a filter picks "custom"
        await pilot.press("enter")
        err = form.query_one("#error", Static)
        assert await until(pilot, lambda: "tcpdump rejected the filter" in text_of(err)), text_of(err)
        assert "tcp port eighty" in text_of(err)
        assert isinstance(app.screen, CaptureForm) and mgr.ids() == []
        # a port preset with a bad port is caught before tcpdump
        port = form.query_one("#port", Input)
        port.focus()
        port.value = "70000"
        await pilot.press("enter")
        assert await until(pilot, lambda: "port must be" in text_of(err))
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, CaptureForm))
        assert mgr.ids() == []


async def test_a_capture_that_cannot_write_its_file_says_why_in_the_form(lab, readonly_dir):  # noqa: F811
    """The capture directory is read-only: tcpdump exits at once. The form used to close on a
    capture that never ran; now it stays, with tcpdump's reason, and lists no capture."""
    _need_tcpdump()
    ns = netns(lab.add("rofm"))
    manager = CaptureManager(directory=readonly_dir)
    try:
        app = Host(ns, manager)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: isinstance(app.screen, CaptureForm))
            form = app.screen
            await pilot.press("enter")  # the default preset
            err = form.query_one("#error", Static)
            assert await until(pilot, lambda: "Read-only file system" in text_of(err)), text_of(err)
            assert "tcpdump failed" in text_of(err) and str(readonly_dir) in text_of(err)
            assert isinstance(app.screen, CaptureForm) and manager.ids() == []
            assert manager.pids() == []
    finally:
        manager.close()


def _read_history(history: History, pid: int, inode: int):
    # real counters of the server's namespace, read the way the sampler reads them
    files = tuple(read_proc_file(f"/proc/{pid}/net/{f}") for f in ("netstat", "snmp"))
    return history.ingest(inode, 0.0, files)


async def test_pane_shows_the_namespaces_syn_trouble_during_the_capture(lab, mgr):
    _need_tcpdump()
    srv, cli = pair(lab)
    server = lab.spawn(srv, [sys.executable, "-c", SERVER, SRV, "8080", "30"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "listening"
    ns = netns(srv)
    history = History()

    def history_of(inode: int):
        assert inode == ns.inode
        return _read_history(history, server.pid, inode)

    cid = mgr.start(CaptureSpec(ns, preset_filter("syn"), preset="syn", duration=60), baseline=history_of(ns.inode).values())
    assert mgr.wait_listening(cid)
    app = Host(ns, mgr, history_of, form=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: pane_up(app))
        summary = app.screen.query_one(CaptureSummary)
        assert "none moved" in text_of(summary)
        # a backlog-1 server that never accepts, 20 connections: its accept queue overflows
        lab.spawn(cli, [sys.executable, "-c", CLIENT, SRV, "8080", "20", "2"], stdout=subprocess.PIPE, text=True)
        assert await until(pilot, lambda: "ListenDrops +" in text_of(summary), steps=300), text_of(summary)
        assert "SYNs to LISTEN sockets dropped" in text_of(summary)


async def test_several_captures_listed_stop_one_and_the_terminal_key(lab, mgr):
    _need_tcpdump()
    a, b = netns(lab.add("pa")), netns(lab.add("pb"))
    ids = [mgr.start(CaptureSpec(n, "tcp or udp", duration=60)) for n in (a, b)]
    app = Host(a, mgr, form=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: pane_up(app))
        screen = app.screen
        lst = screen.query_one(CaptureList)
        # the newest is shown first: wait until the pane and the list's cursor agree on it
        # before pressing (a press before that would act on whatever was selected then)
        assert await until(pilot, lambda: lst.row_count == 2 and screen.selected == lst.selected_id == ids[-1])
        await pilot.pause()  # let the table's late highlight events arrive: they must not move it
        assert screen.selected == lst.selected_id == ids[-1]
        assert f"#{ids[-1]} {b.name}" in text_of(screen.query_one(CaptureSummary))  # the pane shows it too
        calls = []
        screen.run_in_terminal = lambda ns, f, i="any": calls.append((ns.name, f, i))  # suspend can't run headless
        await pilot.press("i")
        assert calls == [(b.name, "tcp or udp", "any")]
        await pilot.press("up")
        assert await until(pilot, lambda: screen.selected == ids[0])
        await pilot.press("s")
        assert await until(pilot, lambda: mgr.status(ids[0]).state == "done")
        assert mgr.status(ids[1]).running  # only the selected one stopped
        await pilot.press("d")  # a stopped capture can be taken off the list (its files stay)
        assert await until(pilot, lambda: mgr.ids() == [ids[1]] and lst.row_count == 1)
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, CaptureScreen))
        assert mgr.status(ids[1]).running  # leaving the pane does not stop captures


async def test_real_suspend_under_the_headless_driver_is_a_message_not_a_crash(lab, mgr):
    _need_tcpdump()
    ns = netns(lab.add("sus"))
    app = Host(ns, mgr)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: isinstance(app.screen, CaptureForm))
        await pilot.press("ctrl+t")
        assert await until(pilot, lambda: any("cannot be suspended" in str(n.message) for n in app._notifications))
        assert isinstance(app.screen, CaptureForm)

