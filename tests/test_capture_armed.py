"""Armed capture: a real tcpdump in a real namespace, real ListenDrops from a real overflow.

The windows are checked against the pcap's own timestamps (``tcpdump -tt -r``), with
background traffic the test keeps flowing (one connection every 0.2 s, bounded) so that
"the window starts when asked" is something a packet in the file can show. Waits are
bounded waits on conditions; the figures the README quotes are printed (``-s`` shows them).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nethelpers import listen_overflow, require, wait_for
from test_capture import (
    _cli_env,
    _default_signals,
    _need_tcpdump,
    _start_cli,
    kill_leftover,
    netns,
    pair,
    tcpdump_alive,
)

from tui.core.capture import CaptureError, CaptureManager, CaptureSpec, parse_when, syn_trouble_deltas
from tui.core.capture.ticker import NamespaceTicker

SRV, CLI = "198.51.100.1", "198.51.100.2"
TICK = 1.0
BEFORE, AFTER = 4.0, 4.0

BACKGROUND_SERVER = """
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(128)
print("listening", flush=True)
end = time.monotonic() + float(sys.argv[3])
s.settimeout(1)
while time.monotonic() < end:          # bounded: accepts and closes until its life is over
    try:
        c, _ = s.accept()
        c.close()
    except OSError:
        pass
"""

BACKGROUND_CLIENT = """
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(n):                      # bounded: n connections, 0.2 s apart
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        pass
    time.sleep(0.2)
"""


def background(lab, srv: str, cli: str, seconds: float) -> None:
    """One handshake every 0.2 s from cli to srv's port 9090, for at most `seconds`."""
    p = lab.spawn(srv, [sys.executable, "-c", BACKGROUND_SERVER, SRV, "9090", str(seconds + 5)],
                  stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "listening"
    lab.spawn(cli, [sys.executable, "-c", BACKGROUND_CLIENT, SRV, "9090", str(int(seconds / 0.2))])


def pcap_times(path: str) -> list[tuple[float, str]]:
    r = subprocess.run(["tcpdump", "-tt", "-nn", "-r", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.splitlines():
        ts, _, rest = line.partition(" ")
        out.append((float(ts), rest))
    return out


class Ticking:
    """The headless command's tick (NamespaceTicker), on a thread, every TICK seconds."""

    def __init__(self, ns, manager: CaptureManager) -> None:  # type: ignore[no-untyped-def]
        self.ticker = NamespaceTicker(ns, manager)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        nxt = time.monotonic()
        while not self.stop.is_set():
            self.ticker.tick()
            nxt += TICK
            self.stop.wait(max(0.0, nxt - time.monotonic()))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.ticker.close()


def _tcpdump_children() -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process().children(recursive=True) if tcpdump_alive(c.pid)]


# -- no root needed -----------------------------------------------------------------------------
def test_when_is_read_strictly_and_a_typo_names_the_known_counters():
    assert parse_when("TcpExt.ListenDrops>=1").key == "TcpExt.ListenDrops"
    assert parse_when(" TcpExtListenOverflows >= 5 ").at_least == 5  # the nstat spelling the panel shows
    assert parse_when("syn").key is None
    with pytest.raises(CaptureError, match=r"did you mean TcpExt\.ListenDrops.*known counters: .*TcpExt\.TCPSynRetrans"):
        parse_when("TcpExt.ListenDrop>=1")
    for bad, why in (("TcpExt.ListenDrops>1", "only >="), ("TcpExt.ListenDrops", "no threshold"),
                     ("TcpExt.ListenDrops>=0", "from 1"), ("TcpExt.ListenDrops>=x", "whole number"),
                     ("ListenDrops>=1", "did you mean TcpExt.ListenDrops")):
        with pytest.raises(CaptureError, match=why):
            parse_when(bad)
    t = parse_when("TcpExt.ListenDrops>=3")
    assert t.fired({"TcpExt.ListenDrops": 10}, {"TcpExt.ListenDrops": 12}) == {}
    assert t.fired({"TcpExt.ListenDrops": 10}, {"TcpExt.ListenDrops": 13}) == {"TcpExt.ListenDrops": 3}
    assert t.fired({"TcpExt.ListenDrops": 10}, {"TcpExt.ListenDrops": 2}) == {}  # a reset is not growth
    syn = parse_when("syn")
    assert syn.fired({"TcpExt.TCPSynRetrans": 1, "TcpExt.DelayedACKs": 0},
                     {"TcpExt.TCPSynRetrans": 4, "TcpExt.DelayedACKs": 9}) == {"TcpExt.TCPSynRetrans": 3}
    assert syn.fired({"TcpExt.TCPSynRetrans": 1}, {"TcpExt.TCPSynRetrans": 1}) == syn_trouble_deltas({}, {})


def test_cli_refuses_bad_armed_options_before_anything_runs(tmp_path):
    env = _cli_env(tmp_path)
    for args, want in (
        (["--when", "TcpExt.ListenDrop>=1"], "did you mean TcpExt.ListenDrops"),
        (["--when", "TcpExt.ListenDrops>=1", "--duration", "30"], "bounded by --until"),
        (["--before", "5"], "--before only mean something with --when"),
        (["--when", "syn", "--until", "0"], "argument --until: a duration must be more than 0"),
        (["--when", "syn", "--until", "2d"], "argument --until"),
        (["--when", "syn", "--before", "601"], "argument --before: must be at most 600"),
        (["--when", "syn", "--max-triggers", "0"], "argument --max-triggers: must be 1 or more"),
    ):
        r = subprocess.run([sys.executable, "-m", "tui", "capture", "no-such-ns-for-armed", *args],
                           capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 2 and want in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        assert "no namespace matches" not in r.stderr, (args, r.stderr)
    assert list(tmp_path.iterdir()) == []


# -- the real thing -----------------------------------------------------------------------------
BURST_DSTS = ("198.51.100.1.8080", "127.0.0.1.8081")  # burst 1 over the veth pair, burst 2 on loopback


def _check_window(t, burst_at: float, label: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    assert t.state == "saved", (label, t)
    # the first tick that saw ListenDrops grow: after the burst began, within two ticks of it
    assert burst_at - 0.05 <= t.fired_at <= burst_at + 2 * TICK + 0.5, (label, t.fired_at - burst_at)
    assert t.deltas.get("TcpExt.ListenDrops", 0) >= 1, t.deltas
    assert t.start == pytest.approx(t.fired_at - BEFORE) and t.end == pytest.approx(t.fired_at + AFTER)
    assert stat.S_IMODE(os.stat(t.path).st_mode) == 0o600
    packets = pcap_times(t.path)
    times = [ts for ts, _ in packets]
    assert len(packets) == t.packets
    assert all(t.start <= ts <= t.end for ts in times), label
    # the window starts when asked (at most 1 s later: the background's packets are 0.2 s apart)
    late = min(times) - t.start
    assert late <= 1.0, (label, late)
    # and ends about `after` seconds after the trigger tick
    early_end = t.end - max(times)
    assert early_end <= 1.0, (label, early_end)
    # saved at most 2 ticks after `after` had elapsed
    saved_late = t.saved_at - t.end
    assert 0 <= saved_late <= 2 * TICK, (label, saved_late)
    # the overflow's SYNs are in it, and the background from before the trigger tick
    assert any(f"> {dst}: Flags [S]" in rest for dst in BURST_DSTS for _, rest in packets)
    # and all of them: each of the burst's 20 connections sent its SYN inside the window (the
    # window opens BEFORE = 4 s before a trigger tick at most 2.5 s after the burst began). A
    # capture that loses packets in a burst (libpcap's immediate mode with -i any, whose
    # kernel ring holds only a few snaplen-sized frames) saved 4 of 20 here.
    syn_sources = {rest.split(" > ")[0] for _, rest in packets if any(f"> {dst}: Flags [S]" in rest for dst in BURST_DSTS)}
    assert len(syn_sources) >= 20, (label, len(syn_sources), t.packets)
    assert any(ts < t.fired_at - BEFORE + 1.0 and ".9090" in rest for ts, rest in packets), label
    return {"late": late, "early_end": early_end, "saved_late": saved_late}


def test_overflow_20s_after_arming_saves_the_window_and_a_second_burst_triggers_again(lab, tmp_path):
    _need_tcpdump()
    srv, cli = pair(lab)
    ns = netns(srv)
    background(lab, srv, cli, 90)
    mgr = CaptureManager(directory=tmp_path / "caps")
    ticking = None
    pid = 0
    try:
        cid = mgr.start(CaptureSpec(ns, "tcp", preset="tcp", when=parse_when("TcpExt.ListenDrops>=1"),
                                    before=BEFORE, after=AFTER, max_triggers=2, duration=120))
        ticking = Ticking(ns, mgr)
        assert mgr.wait_listening(cid, 10)
        pid = mgr.status(cid).pid or 0
        assert _tcpdump_children() == [pid]  # an armed capture costs one tcpdump, nothing else
        assert mgr.status(cid).state == "armed"
        armed_at = time.time()
        # what the check adds to a tick: observe() with this namespace's real values (no growth)
        values = ticking.ticker.values(ns.inode)
        assert values and "TcpExt.ListenDrops" in values
        t0 = time.perf_counter()
        for _ in range(1000):
            mgr.observe(time.time(), lambda _i: values)
        observe_us = (time.perf_counter() - t0) * 1000
        time.sleep(20 - (time.time() - armed_at))  # the test's own schedule: the overflow starts 20 s after arming
        st = mgr.status(cid)
        assert st.state == "armed" and st.triggers == () and st.files == (), st  # background alone fires nothing
        assert st.ring_packets > 0 and st.ring_bytes <= st.ring_bound
        burst1 = time.time()
        listen_overflow(lab, srv, cli, SRV, port=8080, n=20, hold=2.0, server_life=15)
        assert wait_for(lambda: mgr.status(cid).triggers, timeout=3 * TICK + 2), "no trigger"
        assert mgr.status(cid).state == "triggered"
        assert wait_for(lambda: mgr.status(cid).triggers[0].state != "collecting", timeout=AFTER + 2 * TICK + 3)
        st = mgr.status(cid)
        assert st.state == "armed" and len(st.triggers) == 1  # re-armed
        w1 = _check_window(st.triggers[0], burst1, "trigger 1")
        assert w1 and st.triggers[0].fired_at - armed_at > 19
        assert st.files == (st.triggers[0].path,)  # what the capture list and the bundle list
        time.sleep(3)
        burst2 = time.time()
        # on the server's loopback this time: 20 SYNs, their retransmits and SYN-ACKs within
        # microseconds, which a capture whose kernel buffer holds few frames loses
        listen_overflow(lab, srv, srv, "127.0.0.1", port=8081, n=20, hold=2.0, server_life=15)
        assert wait_for(lambda: mgr.wait_done(cid, 0), timeout=3 * TICK + AFTER + 10), mgr.status(cid)
        st = mgr.status(cid)
        assert st.state == "saved" and st.end_reason == "2 triggers saved", st
        assert len(st.triggers) == 2
        w2 = _check_window(st.triggers[1], burst2, "trigger 2")
        assert st.files == tuple(t.path for t in st.triggers)
        assert wait_for(lambda: not tcpdump_alive(pid), timeout=10)  # stopped after K
        assert wait_for(lambda: mgr.status(cid).kernel_dropped is not None, timeout=10), mgr.status(cid).messages
        assert mgr.status(cid).kernel_dropped == 0, mgr.status(cid).messages  # tcpdump saw every packet
        assert stat.S_IMODE(os.stat(tmp_path / "caps").st_mode) == 0o700
        print(f"\nARMED-FIGURES window start late by {w1['late']:.3f}/{w2['late']:.3f} s (target <= 1), "
              f"last packet {w1['early_end']:.3f}/{w2['early_end']:.3f} s before the end, "
              f"saved {w1['saved_late']:.3f}/{w2['saved_late']:.3f} s after the end (target <= {2 * TICK:g}); "
              f"observe() {observe_us:.1f} us per tick")
    finally:
        if ticking is not None:
            ticking.close()
        mgr.close()
        kill_leftover(pid)


def test_an_idle_namespace_triggers_nothing_in_30s(lab, tmp_path):
    """The headless command as typed, --until 30: nothing fires, nothing is written, exit 0."""
    _need_tcpdump()
    srv, cli = pair(lab)
    background(lab, srv, cli, 40)  # traffic, but no SYN trouble
    caps = tmp_path / "caps"
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "tui", "capture", srv, "--when", "syn", "--before", "3", "--after", "3",
                        "--until", "30s", "--dir", str(caps)],
                       capture_output=True, text=True, env=_cli_env(tmp_path), timeout=90)
    took = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    assert "nothing triggered" in r.stderr and "time limit reached (30 s)" in r.stderr, r.stderr
    assert r.stdout == ""  # no saved pcap's path
    assert list(caps.iterdir()) == []  # nothing written: the ring lives in memory
    assert 30 <= took < 45
    pid = int(r.stderr.split("tcpdump pid", 1)[1].split()[0])
    assert not tcpdump_alive(pid)


def _start_armed_cli(ns: str, capdir: Path) -> tuple[subprocess.Popen, int]:
    return _start_cli(ns, capdir, "--when", "TcpExt.ListenDrops>=1", "--before", "3", bound=("--until", "120"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_signal_to_an_armed_synscope_capture_leaves_no_tcpdump(lab, tmp_path, sig):
    _need_tcpdump()
    ns = lab.add("asig")
    p, pid = _start_armed_cli(ns, tmp_path)
    try:
        os.kill(p.pid, sig)
        rc = p.wait(timeout=20)
        assert wait_for(lambda: not tcpdump_alive(pid), timeout=10), f"tcpdump {pid} outlived synscope ({sig.name})"
        if sig == signal.SIGKILL:
            assert rc == -signal.SIGKILL
        else:
            assert rc == 128 + sig
            err = p.stderr.read() if p.stderr else ""
            assert "stopped by signal" in err and "nothing triggered" in err, err
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        kill_leftover(pid)


ARMED_APP_SCRIPT = """
import os, sys
import tui.app
from tui.app import SynscopeApp
from tui.core.capture import CaptureSpec, parse_when
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.source import LiveSource

name, status = sys.argv[1:3]
path = "/run/netns/" + name
ns = NetNS(ns_inode_of_path(path), "netns", name, path=path)


class ArmedApp(SynscopeApp):
    # synscope's own app, the live node, a capture armed in it from a worker thread (as the
    # form does); SynscopeApp's own on_mount (TERM and HUP handlers) runs as well
    CSS_PATH = os.path.join(os.path.dirname(tui.app.__file__), "app.tcss")  # relative paths follow the subclass

    def on_mount(self):
        self.run_worker(self.arm, thread=True)

    def arm(self):
        cid = self.captures.start(CaptureSpec(ns, "tcp", duration=120, when=parse_when("syn"), before=3, after=3))
        self.captures.wait_listening(cid)
        with open(status + ".tmp", "w") as f:
            f.write(str(self.captures.pids()[0]))
        os.rename(status + ".tmp", status)


sys.exit(ArmedApp(LiveSource(interval=1.0, in_background=True), ns_filter=name).run() or 0)
"""


@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_synscope_with_an_armed_capture_leaves_no_tcpdump(lab, tmp_path, how):
    """synscope's app on a pty, on the live node, its capture armed: q, TERM, HUP, KILL."""
    _need_tcpdump()
    import fcntl
    import pty
    import struct
    import termios

    ns = lab.add("aapp")
    status = tmp_path / "pid"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    p = subprocess.Popen([sys.executable, "-c", ARMED_APP_SCRIPT, ns, str(status)],
                         stdin=slave, stdout=slave, stderr=slave, env=_cli_env(tmp_path), start_new_session=True,
                         preexec_fn=_default_signals)
    os.close(slave)

    def drain() -> None:
        while True:
            try:
                if not os.read(master, 65536):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    pid = 0
    try:
        assert wait_for(status.exists, timeout=40), "the app did not arm its capture"
        pid = int(status.read_text())
        assert tcpdump_alive(pid)
        if how == "q":
            os.write(master, b"q")  # synscope's quit key, typed on the terminal
        else:
            os.kill(p.pid, getattr(signal, how))
        rc = p.wait(timeout=30)
        assert wait_for(lambda: not tcpdump_alive(pid), timeout=10), f"tcpdump {pid} outlived synscope ({how})"
        want = {"q": 0, "SIGKILL": -signal.SIGKILL}.get(how, 128 + getattr(signal, how, 0))
        assert rc == want, (how, rc)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        os.close(master)
        reader.join(timeout=5)
        kill_leftover(pid)


def test_a_window_past_the_disk_bound_is_cut_there_and_the_capture_ends(lab, tmp_path):
    """limit 1 MB (file_mb 1 × 1 file), K=1: the ring gets half, the window the rest; a
    flood during the window cuts it at the bound, whole packets, and says so."""
    _need_tcpdump()
    require("root", os.geteuid() == 0)
    ns = netns(lab.add("disk"))
    mgr = CaptureManager(directory=tmp_path / "caps")
    pid = 0
    try:
        cid = mgr.start(CaptureSpec(ns, "udp or icmp", when=parse_when("TcpExt.ListenDrops>=1"), before=3, after=30,
                                    max_triggers=1, duration=60, file_mb=1, file_count=1))
        assert mgr.wait_listening(cid, 10)
        pid = mgr.status(cid).pid or 0
        # a tick that fires, fed by hand: this test is about the bound, not the counters
        mgr.observe(time.time(), lambda _i: {"TcpExt.ListenDrops": 0})
        mgr.observe(time.time(), lambda _i: {"TcpExt.ListenDrops": 1})
        flood = subprocess.Popen(["ip", "netns", "exec", ns.name, sys.executable, "-c",
                                  "import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                  "for _ in range(20000): s.sendto(b'x'*1000, ('127.0.0.1', 9))"],
                                 start_new_session=True)
        flood.wait(timeout=60)
        assert wait_for(lambda: mgr.wait_done(cid, 0), timeout=20), mgr.status(cid)
        st = mgr.status(cid)
        w = st.triggers[0]
        assert w.state == "cut" and "cut at the disk bound" in w.note, w
        assert st.end_reason == "disk bound reached"
        assert w.bytes + st.ring_bound <= st.bound_bytes
        assert os.path.getsize(w.path) == w.bytes and len(pcap_times(w.path)) == w.packets > 100
    finally:
        mgr.close()
        kill_leftover(pid)


# -- the form and the pane ----------------------------------------------------------------------
async def test_the_form_arms_on_a_counter_and_the_list_shows_armed_triggered_saved(lab, tmp_path):
    """The form's "start": a typo in the counter is refused with the known names; armed, the
    list says so; a real overflow's tick (the ticker stands in for the app's sampling tick,
    which calls the same observe) shows "triggered" with its deltas, then "saved"."""
    _need_tcpdump()
    from test_capture_screen import Host, text_of, until
    from textual.widgets import Input, Select, Static

    from tui.screens.capture import CaptureForm, CaptureScreen
    from widgets.capture_list import CaptureList
    from widgets.capture_summary import CaptureSummary

    srv, cli = pair(lab)
    ns = netns(srv)
    mgr = CaptureManager(directory=tmp_path / "caps")
    ticking = None
    try:
        app = Host(ns, mgr)
        async with app.run_test(size=(100, 40)) as pilot:
            assert await until(pilot, lambda: isinstance(app.screen, CaptureForm))
            form = app.screen
            form.query_one("#start", Select).value = "syn"
            await pilot.pause()
            # "when SYN trouble moves here" has no counter to pick: its fields are not shown
            assert form.has_class("-armed") and not form.query_one("#counter", Input).display
            assert form.query_one("#before", Input).display
            form.query_one("#start", Select).value = "counter"
            await pilot.pause()
            assert form.has_class("-armed") and form.query_one("#duration", Input).value == "3600"
            assert form.query_one("#counter", Input).display and form.query_one("#at-least", Input).display
            form.query_one("#counter", Input).value = "TcpExt.ListenDrop"
            form.query_one("#before", Input).value = "2"
            form.query_one("#after", Input).value = "2"
            form.query_one("#max-triggers", Input).value = "1"
            await pilot.pause()
            form.action_start()
            await pilot.pause()
            err = text_of(form.query_one("#error", Static))
            assert "did you mean TcpExt.ListenDrops" in err and "known counters" in err, err
            assert mgr.ids() == []
            form.query_one("#counter", Input).value = "TcpExt.ListenDrops"
            await pilot.pause()
            assert "when TcpExt.ListenDrops grows by ≥1 in one tick" in text_of(form.query_one("#preview", Static))
            form.action_start()
            assert await until(pilot, lambda: isinstance(app.screen, CaptureScreen)), text_of(form.query_one("#error", Static))
            cid = mgr.ids()[0]
            spec = mgr.spec(cid)
            assert spec.when is not None and (spec.before, spec.after, spec.max_triggers, spec.duration) == (2, 2, 1, 3600)
            ticking = Ticking(ns, mgr)
            # pushed is not mounted: wait for the pane's list before querying it
            assert await until(pilot, lambda: len(app.screen.query(CaptureList)) == 1)
            lst = app.screen.query_one(CaptureList)

            def cell(col: str) -> str:
                try:
                    return str(lst.get_cell(str(cid), col))
                except Exception:  # the row is added on the pane's next refresh
                    return ""

            assert await until(pilot, lambda: cell("state") == "armed"), cell("state")
            assert "TcpExt.ListenDrops>=1 0/1" in cell("filter")
            await pilot.pause(2.5)  # the ring fills for `before`
            listen_overflow(lab, srv, cli, SRV, port=8080, n=20, hold=2.0, server_life=10)
            assert await until(pilot, lambda: cell("state") == "triggered", steps=100), cell("state")
            assert "ListenDrops +" in cell("filter") and "1/1" in cell("filter"), cell("filter")
            assert await until(pilot, lambda: cell("state") == "saved", steps=200), (cell("state"), mgr.status(cid))
            summary = text_of(app.screen.query_one(CaptureSummary))
            assert "trigger 1 " in summary and "TcpExt.ListenDrops +" in summary and "→ saved " in summary, summary
            st = mgr.status(cid)
            assert st.files == (st.triggers[0].path,) and pcap_times(st.files[0])
    finally:
        if ticking is not None:
            ticking.close()
        mgr.close()


async def test_the_apps_own_tick_fires_an_armed_capture_across_screens(lab, tmp_path, monkeypatch):
    """The real app on LiveSource: a capture armed in it is checked by the app's sampling
    tick (nothing else ticks here), while the user goes to the capture pane, the help and
    back; the overflow's tick fires it, the window is saved, and closing the app stops all."""
    _need_tcpdump()
    from tui.app import SynscopeApp
    from tui.screens.capture import CaptureScreen
    from tui.source import LiveSource

    monkeypatch.setenv("SYNSCOPE_CAPTURE_DIR", str(tmp_path / "caps"))
    srv, cli = pair(lab)
    ns = netns(srv)
    source = LiveSource(interval=0.5)
    app = SynscopeApp(source, ns_filter=srv, autotick=True)
    pids: list[int] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            cid = app.captures.start(CaptureSpec(ns, "tcp", when=parse_when("TcpExt.ListenDrops>=1"), before=2,
                                                 after=2, max_triggers=1, duration=120))
            assert app.captures.wait_listening(cid, 10)
            pids = app.captures.pids()
            await pilot.press("T")  # the capture pane
            assert isinstance(app.screen, CaptureScreen)
            await pilot.press("escape", "question_mark")  # back, then the help
            await pilot.pause(2.5)
            listen_overflow(lab, srv, cli, SRV, port=8080, n=20, hold=2.0, server_life=10)
            for _ in range(200):  # bounded: 200 × 0.05 s
                if app.captures.status(cid).triggers:
                    break
                await pilot.pause(0.05)
            st = app.captures.status(cid)
            assert st.triggers and st.triggers[0].deltas.get("TcpExt.ListenDrops", 0) >= 1, st
            await pilot.press("escape", "T")
            for _ in range(200):
                if app.captures.wait_done(cid, 0):
                    break
                await pilot.pause(0.05)
            st = app.captures.status(cid)
            assert st.state == "saved" and pcap_times(st.files[0]), st
    finally:
        source.close()
    assert pids and not any(tcpdump_alive(p) for p in pids)
