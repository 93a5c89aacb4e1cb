"""The live TUI with the recorder's store: it opens with the recorded past.

Real: the real `synscope record` (a subprocess) on real lab namespaces with a real listen
overflow, then the live TUI (LiveSource, the real Monitor) with ``store=`` that directory,
while the recorder keeps writing. The notes for an absent, damaged or stale store, and the
identity rule (inode and namespace id), on the checked-in recording of the lab's incidents.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from nethelpers import listen_overflow, require_root, wait_for
from recorderhelpers import start_recorder, stop, store_ticks, wait_ticks

from tui.app import SynscopeApp
from tui.core.store.dump import rows
from tui.core.store.past import load_past
from tui.core.store.reader import Store
from tui.source import LiveSource

RECORDING = Path(__file__).parent / "fixtures" / "recordings" / "lab-incidents.synscope"
WEB_POD = "shop/web-7d9c5b-x2k4q"


def _drops_recorded(directory: str, inode: int) -> int:
    try:
        s = Store(directory)
    except Exception:
        return 0
    try:
        return sum(r.delta or 0 for r in rows(s, [x for x in s.namespaces() if x.inode == inode])
                   if r.counter == "TcpExt.ListenDrops")
    finally:
        s.close()


async def test_the_live_tui_opens_with_the_recorded_overflow_and_says_since_when(lab, tmp_path, settle):
    require_root()
    server_ns, client_ns = lab.add("pastsv"), lab.add("pastcl")
    lab.veth(server_ns, "198.51.100.1/24", client_ns, "198.51.100.2/24")
    inode = os.stat(f"/run/netns/{server_ns}").st_ino
    d = str(tmp_path / "store")
    rec = start_recorder(d, "--interval", "0.5", "--discover-every", "0.5")
    try:
        wait_ticks(d, 2)
        server, client = listen_overflow(lab, server_ns, client_ns, "198.51.100.1", n=20, hold=2.0)
        client.wait(timeout=20)
        assert wait_for(lambda: _drops_recorded(d, inode) > 0, timeout=20), "the recorder never saw the drops"
        ticks_before = store_ticks(d)
        opened = time.time()
        source = LiveSource(interval=0.5, store=d, store_explicit=True)
        app = SynscopeApp(source, autotick=False)
        async with app.run_test(size=(200, 60)) as pilot:
            await settle(pilot)
            app.request_tick()
            await settle(pilot)
            frame = app.main.frame
            assert frame.summary(inode).last_moved is not None  # the "moved" column has a time
            h = source.history(inode)
            assert h is not None and h.ticks >= 3
            times = [h.times[i % h.capacity] for i in h.window()]
            moved_at = [t for t, dl in zip(times, h.deltas("TcpExt.ListenDrops")) if dl]
            # drops before the TUI started: only the recorded past can show them
            assert moved_at and min(moved_at) < opened, (moved_at, opened)
            assert min(times) < opened - 1.0
            lead = app.main.status.info.lead
            assert lead.startswith("history from the recorder since "), lead
            assert time.strftime("%H:%M", time.localtime(h.first_time)) in lead
            text = app.main.status.render_info(app.main.status.info).plain
            assert text.startswith("history from the recorder since ")
        source.close()
        # the recorder kept writing all along: the TUI only read
        assert wait_for(lambda: store_ticks(d) > ticks_before, timeout=10)
        assert rec.poll() is None
    finally:
        _, err = stop(rec)
    assert "Traceback" not in err, err


def test_a_namespace_with_the_same_inode_but_another_id_gets_no_past():
    s = Store(str(RECORDING))
    end = s.span()[1]
    live = [r.netns for r in s.namespaces(at=end)]
    s.close()
    web = next(ns for ns in live if ns.name == WEB_POD)
    # the web pod's container restarted: its new namespace got the old inode, a new id
    restarted = [replace(ns, ns_id=ns.ns_id + 1000) if ns is web else ns for ns in live]
    past = load_past(str(RECORDING), restarted, 900, explicit=True, now=end + 1)
    assert web.inode not in past.histories
    assert {ns.inode for ns in live if ns is not web} <= set(past.histories)
    assert past.note.startswith("history from the recorder since ")
    same = load_past(str(RECORDING), live, 900, explicit=True, now=end + 1)
    assert same.histories[web.inode].ticks > 0
    unknown = load_past(str(RECORDING), [replace(web, ns_id=0)], 900, explicit=True, now=end + 1)
    assert not unknown.histories  # an id not known: no past, rather than a guess by inode


def test_absent_damaged_and_stale_stores_are_one_line_notes(tmp_path):
    absent = str(tmp_path / "none")
    assert load_past(absent, [], 900, explicit=False).note == ""  # no recorder on this node: nothing said
    assert load_past(absent, [], 900, explicit=True).note == f"no recorded history: {absent}: no such store or recording"
    junk = tmp_path / "junk.synscope"
    junk.write_bytes(b"\0garbage" * 512)
    note = load_past(str(junk), [], 900, explicit=True).note
    assert note.startswith(f"no recorded history: {junk}: not a synscope store") and "\n" not in note
    torn = tmp_path / "torn.synscope"
    data = RECORDING.read_bytes()
    torn.write_bytes(data[: len(data) * 2 // 3])  # a torn copy
    note = load_past(str(torn), [], 900, explicit=True, now=time.time()).note
    assert note and "\n" not in note
    s = Store(str(RECORDING))
    end = s.span()[1]
    live = [r.netns for r in s.namespaces(at=end)]
    s.close()
    stale = load_past(str(RECORDING), live, 900, explicit=True, now=end + 3600)
    assert not stale.histories
    assert stale.note.startswith("the recorder's store ends at ") and f"synscope replay {RECORDING}" in stale.note


async def test_the_live_tui_says_a_damaged_store_and_runs_on(tmp_path, settle):
    require_root()
    junk = tmp_path / "store"
    junk.mkdir()
    shutil.copy(RECORDING, junk / "synscope.db")
    with open(junk / "synscope.db", "r+b") as f:  # flip the header: no longer a database
        f.write(b"\xff" * 100)
    source = LiveSource(interval=0.5, store=str(junk), store_explicit=True)
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.request_tick()
        await settle(pilot)
        lead = app.main.status.info.lead
        assert lead.startswith(f"no recorded history: {junk}: not a synscope store"), lead
        assert app.main.frame is not None and app.main.frame.namespaces  # the live TUI runs on
        assert not app.last_error
    source.close()
