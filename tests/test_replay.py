"""`synscope replay`: the TUI on recorded data, driven by Pilot, every replay key.

Two stores: the checked-in recording of the lab's incidents (the real `synscope record`,
scripts/make_recordings.py), 40 s long, for what the incidents show; and a 30 min store
written here with the real StoreWriter (one pod whose listen queue overflows at a known
minute), because the jumps of 1 and 10 minutes need more time than the lab's recording
holds. Ticks are requested explicitly (autotick off) and awaited: no sleeps.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tui.actions import ACTIONS, help_rows, key_text, palette_entries
from tui.app import SynscopeApp
from tui.commands.replay import open_source
from tui.core.namespaces import NetNS
from tui.core.store.writer import StoreWriter
from tui.replay_source import APPLY_OFF, CAPTURE_OFF, ReplaySource
from tui.screens.capture import CaptureForm
from tui.screens.goto import GoToScreen
from tui.screens.sysctl import SysctlScreen
from nethelpers import as_nobody

RECORDING = Path(__file__).parent / "fixtures" / "recordings" / "lab-incidents.synscope"
WEB_POD = "shop/web-7d9c5b-x2k4q"
LONG_TICKS = 1800
STALL_AT = 1200  # the long store's pod drops SYNs from this tick for 20 ticks
POD = NetNS(4026540001, "pod", "shop/web-0", pod="web-0", k8s_namespace="shop", ns_id=41)
HOST = NetNS(4026531833, "host", "host", ns_id=1)


@pytest.fixture(scope="module")
def long_store():
    """30 min of a pod and the host at 1 s, the pod's listen queue overflowing at tick 1200."""
    d = tempfile.mkdtemp(prefix="synscope-test-replay-")
    start = time.time() - LONG_TICKS - 60
    w = StoreWriter(d, max_bytes=1 << 28, retain=86400)
    w.con.execute("PRAGMA synchronous=OFF")  # a test store: nothing to survive
    base = {"TcpExt.ListenDrops": 100, "TcpExt.ListenOverflows": 100, "Tcp.InSegs": 5000, "Tcp.CurrEstab": 3}
    w.begin(start)
    pod = w.open_namespace(POD, base)
    host = w.open_namespace(HOST, base)
    w.sysctls(pod, {"net.core.somaxconn": "128", "net.ipv4.tcp_syncookies": "1", "net.ipv4.tcp_max_syn_backlog": "256"})
    w.sysctls(host, {"net.core.somaxconn": "4096", "net.ipv4.tcp_syncookies": "1"})
    w.commit(values_of=lambda row: base)
    for tick in range(1, LONG_TICKS):
        w.begin(start + tick)
        w.moved(pod, {"Tcp.InSegs": 40} | ({"TcpExt.ListenDrops": 7, "TcpExt.ListenOverflows": 7}
                                          if STALL_AT <= tick < STALL_AT + 20 else {}))
        w.commit(values_of=lambda row: base)
    w.close()
    yield d, start
    shutil.rmtree(d, ignore_errors=True)


def replay_app(source: ReplaySource) -> SynscopeApp:
    return SynscopeApp(source, autotick=False)


def messages(app: SynscopeApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def tick(pilot, settle) -> None:  # type: ignore[no-untyped-def]
    pilot.app.request_tick()
    await settle(pilot)


def title(app: SynscopeApp) -> str:
    return str(app.main.query_one("#titlebar").render())


async def test_replay_opens_at_the_moment_and_shows_the_incident_with_its_time(settle):
    source = open_source(str(RECORDING), "25s")
    assert isinstance(source, ReplaySource)
    first, last = source.span
    assert source.moment.time == pytest.approx(last - 25, abs=1.01)
    app = replay_app(source)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        assert f"REPLAY {time.strftime('%Y-%m-%d', time.localtime(source.moment.time))} " \
               f"{source.clock(source.moment.time)} · paused" in title(app)
        assert " vm " in title(app)  # the recorded host's name, not this machine's
        names = [ns.name for ns in app.main.frame.namespaces]
        assert WEB_POD in names
        web = next(ns for ns in app.main.frame.namespaces if ns.name == WEB_POD)
        assert app.main.frame.summary(web.inode).last_moved is not None  # its overflow: the "moved" column
        status = app.main.status.info
        assert status.replay and status.lead.startswith(f"recorded {source.clock(first)}..{source.clock(last)}")


async def test_comma_and_full_stop_step_one_recorded_tick(settle):
    source = open_source(str(RECORDING), "20s")
    app = replay_app(source)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        t0, k0 = source.moment.time, source.moment.tick
        await pilot.press("full_stop")
        await settle(pilot)
        assert source.moment.tick == k0 + 1 and source.moment.time > t0
        assert app.main.frame.time == source.moment.time
        assert source.clock(source.moment.time) in title(app)
        await pilot.press("comma")
        await pilot.press("comma")
        await settle(pilot)
        assert source.moment.tick == k0 - 1
        # the histories were rebuilt there: the last tick's time is the moment's
        web = next(ns for ns in source.moment.namespaces if ns.name == WEB_POD)
        assert source.history(web.inode).last_time == source.moment.time


async def test_the_ends_of_the_recording_are_said(settle):
    source = open_source(str(RECORDING), None)  # the end
    app = replay_app(source)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        await pilot.press("full_stop")
        await settle(pilot)
        assert "the recording ends here" in app.main.status.info.lead
        await pilot.press("left_curly_bracket")  # 10 min back: before its start
        await settle(pilot)
        assert source.moment.time == source.span[0]
        assert "the recording starts here" in app.main.status.info.lead


async def test_brackets_jump_one_and_ten_minutes(settle, long_store):
    d, start = long_store
    source = open_source(d, "15m")
    app = replay_app(source)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        t0 = source.moment.time
        for key, expect in (("right_square_bracket", 60), ("left_square_bracket", 0),
                            ("right_curly_bracket", 600), ("left_curly_bracket", 0), ("left_square_bracket", -60)):
            await pilot.press(key)
            await settle(pilot)
            assert source.moment.time == pytest.approx(t0 + expect, abs=1.01), key
            assert app.main.frame.time == source.moment.time
        # two presses before a tick: they add up (the second starts where the first goes)
        await pilot.press("right_curly_bracket", "right_square_bracket")
        await settle(pilot)
        assert source.moment.time == pytest.approx(t0 + 600, abs=1.01)


async def test_g_goes_to_a_time_and_says_what_it_cannot_read(settle, long_store):
    d, start = long_store
    source = open_source(d, None)
    app = replay_app(source)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        end = source.span[1]
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, GoToScreen)
        await pilot.press(*"10m", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, GoToScreen)
        assert source.moment.time == pytest.approx(end - 600, abs=1.01)
        # an ISO time: the stall's minute; the pod is lit there
        stall = start + STALL_AT + 5
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(stall))
        await pilot.press("g")
        await settle(pilot)
        await pilot.press(*iso, "enter")
        await settle(pilot)
        assert source.moment.time == pytest.approx(stall, abs=1.01)
        assert app.main.frame.summary(POD.inode).syn_delta == 7
        await pilot.press("g")
        await settle(pilot)
        await pilot.press(*"yesterday", "enter")
        await settle(pilot)
        assert any("not a time: 'yesterday'" in m for m in messages(app))
        assert source.moment.time == pytest.approx(stall, abs=1.01)  # nothing moved
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, GoToScreen)


async def test_space_plays_and_x_sets_1x_10x_60x(settle, long_store):
    d, start = long_store
    source = open_source(d, "20m")
    app = replay_app(source)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        k = source.moment.tick
        await tick(pilot, settle)
        assert source.moment.tick == k  # paused: the same moment again
        await pilot.press("space")
        await settle(pilot)
        assert source.playing and "playing 1x" in title(app)
        k = source.moment.tick
        await tick(pilot, settle)
        assert source.moment.tick == k + 1
        for speed in (10, 60):
            await pilot.press("x")
            await settle(pilot)
            assert f"playing {speed}x" in title(app)
            k = source.moment.tick
            await tick(pilot, settle)
            assert source.moment.tick == k + speed
        await pilot.press("x")  # back to 1x
        await settle(pilot)
        assert source.speed == 1
        await pilot.press("space")
        await settle(pilot)
        assert not source.playing and "paused" in title(app)
        k = source.moment.tick
        await tick(pilot, settle)
        assert source.moment.tick == k
        # a step pauses the play
        await pilot.press("space", "full_stop")
        await settle(pilot)
        assert not source.playing


def test_replay_keys_are_in_the_one_table_and_only_in_replay():
    replay = [a for a in ACTIONS if a.replay]
    assert {a.id for a in replay} == {"replay.back", "replay.forward", "replay.back_1m", "replay.forward_1m",
                                      "replay.back_10m", "replay.forward_10m", "replay.goto", "replay.play",
                                      "replay.speed"}
    live_help = dict(help_rows())
    replay_help = dict(help_rows(replay=True))
    for a in replay:
        assert key_text(a) not in live_help or live_help[key_text(a)] != a.help
        assert replay_help[key_text(a)] == a.help
    assert not [e for e in palette_entries() if e.title.startswith("Replay")]
    assert len([e for e in palette_entries(replay=True) if e.title.startswith("Replay")]) == len(replay)


async def test_replay_footer_shows_the_keys_and_the_live_one_does_not(settle, scripted_app):
    app = replay_app(open_source(str(RECORDING), None))
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        shown = {b.id for _, b, enabled, _ in app.main.active_bindings.values() if enabled}
        assert {"replay.back", "replay.forward", "replay.goto", "replay.play", "replay.speed"} <= shown
    live = scripted_app()
    async with live.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        shown = {b.id for _, b, enabled, _ in live.main.active_bindings.values() if enabled}
        assert not [i for i in shown if i and i.startswith("replay.")]
        before = live.main.frame.time
        await pilot.press("full_stop", "g")  # inert in the live TUI
        await settle(pilot)
        assert live.screen is live.main and live.main.frame.time == before


async def test_capture_is_off_in_replay_and_says_why(settle):
    app = replay_app(open_source(str(RECORDING), None))
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        for key in ("t", "T"):
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, CaptureForm) and app.screen is app.main
        assert messages(app).count(CAPTURE_OFF) == 2
        assert app._captures is None  # no capture manager was even made


async def test_the_preview_runs_the_rules_on_the_recorded_overflow_and_apply_says_why(settle, long_store):
    d, start = long_store
    source = ReplaySource(d, start + STALL_AT + 10)
    app = SynscopeApp(source, autotick=False, allow_apply=True)  # even with --allow-apply: no write in replay
    assert not app.allow_apply
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        app.main.table.select_inode(POD.inode)
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        for _ in range(50):
            if isinstance(app.screen, SysctlScreen):
                break
            await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SysctlScreen)
        assert screen.ns.inode == POD.inode and screen.permit is None
        assert "accept queue" in " ".join(f.title for f in screen.findings).lower()
        finding = next(f for f in screen.findings if f.id == "accept-queue")
        # the recorded sysctls were there (somaxconn 128), but no listening socket is recorded:
        # which limit it hit is unknown, and the real rules propose nothing rather than guess
        assert "the listening sockets were not read" in finding.confidence_why
        assert not [p for p in screen.proposals if p.key == "net.core.somaxconn"]
        assert source.diagnose(screen.ns, 60).sysctls.value("net.core.somaxconn") == "128"
        assert any(n.startswith("recorded: ") for n in screen.notes)
        assert "RECORDED" in str(screen.query_one("#sysctl-title").render())
        await pilot.press("a")
        await settle(pilot)
        assert APPLY_OFF in messages(app)


def test_the_rules_see_the_recorded_deltas_of_the_lab_overflow():
    source = ReplaySource(str(RECORDING))
    try:
        from tui.core.store.dump import rows, select

        (web,) = select(source.store, WEB_POD)
        when = next(r.timestamp for r in rows(source.store, [web]) if r.counter == "TcpExt.ListenDrops")
        source.go_to(when)
        source.tick()
        ns = next(n for n in source.moment.namespaces if n.name == WEB_POD)
        d = source.diagnose(ns, 60)
        assert d.deltas.get("TcpExt.ListenOverflows", 0) > 0
        assert d.sysctls is not None and d.sysctls.value("net.core.somaxconn") == "4096"
        assert d.sockets is None  # not recorded: the rules say nothing about listeners
        assert d.findings, d
    finally:
        source.close()


def _replay_as_nobody(path: str) -> int:
    source = open_source(path, "20s")
    if isinstance(source, str):
        print(source)
        return 3

    async def drive() -> str:
        app = SynscopeApp(source, autotick=False)
        async with app.run_test(size=(200, 60)) as pilot:
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            await pilot.press("full_stop")
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            return f"{os.geteuid()} {len(app.main.frame.namespaces)} {title(app)}"

    print(asyncio.run(drive()))
    return 0


def test_a_recording_file_replays_as_a_user_who_is_not_root():
    if os.geteuid() != 0:
        pytest.skip("runs as root, to become uid 65534")
    d = tempfile.mkdtemp(prefix="synscope-test-nobody-")
    try:
        os.chmod(d, 0o755)  # the user may read the file, and may write nothing beside it
        path = os.path.join(d, "incident.synscope")
        shutil.copy(RECORDING, path)
        os.chmod(path, 0o444)
        before = sorted(os.listdir(d))
        code, out, err = as_nobody(_replay_as_nobody, path)
        assert code == 0, (out, err)
        uid, count, *rest = out.strip().splitlines()[-1].split(" ", 2)
        assert uid == "65534" and int(count) >= 5 and "REPLAY" in rest[0]
        assert sorted(os.listdir(d)) == before  # nothing written beside it
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_replay_of_a_missing_or_corrupt_store_is_one_line(tmp_path, capsys):
    from tui.cli import main

    assert main(["replay", str(tmp_path / "nothing-here")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"synscope replay: {tmp_path / 'nothing-here'}: no such store or recording"]
    junk = tmp_path / "junk.synscope"
    junk.write_bytes(b"not sqlite at all " * 200)
    assert main(["replay", str(junk)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"synscope replay: {junk}: not a synscope store") and "Traceback" not in err[0]
    assert main(["replay", str(RECORDING), "--at", "last tuesday"]) == 1
    assert "not a time: 'last tuesday'" in capsys.readouterr().err
