"""The incident bundle with a recorder store: the window's recording, and the counters from it.

The real recorder (``synscope record``, a subprocess, as a user runs it) records real lab
namespaces; a real listen overflow happens in one; ``synscope bundle --store`` bundles it.
The tar's ``recording.synscope`` opens with the store's reader, holds that namespace and no
other (a second namespace recorded in the same store is absent), and its ListenDrops deltas
add up to the counters CSV's, which add up to the kernel's count. A store that is corrupt,
locked, or does not hold the namespace is a note, never a traceback, and the bundle is
still written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import time
from dataclasses import replace

import pytest
from nethelpers import listen_overflow, wait_for
from recorderhelpers import ROOT, kernel_value, start_recorder, stop, wait_ticks

from tui.core.namespaces import Discovery, NetNS, ns_inode_of_path
from tui.core.recorded_window import NoRecordedWindow, find_recorded_window
from tui.core.store.reader import Store


def synscope(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def members(path: str) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def discovered(name: str) -> NetNS:
    inode = ns_inode_of_path(f"/run/netns/{name}")
    ns = next((n for n in Discovery().discover().namespaces if n.inode == inode), None)
    assert ns is not None, name
    return ns


def csv_sum(data: bytes, counter: str) -> tuple[int, int]:
    """The sum of a counter's deltas in counters.csv, and its last value."""
    rows = [r for r in csv.DictReader(io.StringIO(data.decode())) if r["counter"] == counter]
    return sum(int(r["delta"]) for r in rows if r["delta"] not in ("", "reset")), int(rows[-1]["value"]) if rows else 0


def recorded_value(store_dir: str, inode: int, key: str) -> int | None:
    """The store's latest value of a counter of the namespace with that inode (None: not there yet)."""
    try:
        s = Store(store_dir)
    except Exception:
        return None
    try:
        rs = [r for r in s.namespaces() if r.inode == inode]
        return s.values_at(rs[-1], rs[-1].last_tick).get(key) if rs else None
    finally:
        s.close()


def test_a_recorded_namespace_bundle_holds_its_recording_alone_and_the_counters_from_it(lab, tmp_path):
    server_ns, client_ns, other_ns = lab.add("bsv"), lab.add("bcl"), lab.add("bot")
    lab.veth(server_ns, "198.51.100.1/24", client_ns, "198.51.100.2/24")
    store_dir = str(tmp_path / "store")
    # small chunks: the window crosses several, so the recording's re-cut chunks are tested
    rec = start_recorder(store_dir, "--interval", "0.2", "--chunk-ticks", "5", "--keyframe-chunks", "2")
    try:
        wait_ticks(store_dir, 3)
        server_inode, other_inode = (ns_inode_of_path(f"/run/netns/{n}") for n in (server_ns, other_ns))
        assert wait_for(lambda: recorded_value(store_dir, server_inode, "TcpExt.ListenDrops") is not None
                        and recorded_value(store_dir, other_inode, "Tcp.ActiveOpens") is not None, timeout=30)
        # the other namespace moves too: its counters are in the store, and must stay out of the bundle
        refused = lab.spawn(other_ns, [sys.executable, "-c", "import socket\nfor _ in range(5): "
                                       "socket.socket().connect_ex(('127.0.0.1', 9))"])
        assert refused.wait(timeout=20) == 0
        assert wait_for(lambda: (recorded_value(store_dir, other_inode, "Tcp.ActiveOpens") or 0) >= 5, timeout=30)
        server, client = listen_overflow(lab, server_ns, client_ns, "198.51.100.1", n=20, hold=2.0)
        client.wait(timeout=30)
        kernel = kernel_value(server.pid, "TcpExt.ListenDrops")
        assert kernel > 0
        # the recorder has caught up with the kernel's count
        assert wait_for(lambda: recorded_value(store_dir, server_inode, "TcpExt.ListenDrops") == kernel, timeout=30)
        assert kernel_value(server.pid, "TcpExt.ListenDrops") == kernel  # the client is gone: it stands still
        out = str(tmp_path / "b.tar.gz")
        r = synscope("bundle", server_ns, "--store", store_dir, "--window", "5m", "-o", out)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr and "sampling" not in r.stderr, r.stderr
    finally:
        stop(rec)
    got = members(out)
    assert "recording.synscope" in got
    readme = " ".join(got["README.txt"].decode().split())
    assert f"counters: taken from the recorder's store {store_dir}" in readme, readme
    assert "recording: recording.synscope" in readme and "synscope replay recording.synscope" in readme
    assert json.loads(got["notes.json"]) == []
    csv_drops, csv_last = csv_sum(got["counters.csv"], "TcpExt.ListenDrops")
    assert csv_drops == kernel and csv_last == kernel  # the whole overflow is in the window
    counters = json.loads(got["counters.json"])
    assert counters["source"].startswith("taken from the recorder's store") and counters["window_asked_seconds"] == 300
    diagnosis = json.loads(got["diagnosis.json"])
    assert "TcpExt.ListenDrops" in json.dumps(diagnosis)  # made on the store's window, where it grew

    rec_file = tmp_path / "recording.synscope"
    rec_file.write_bytes(got["recording.synscope"])
    s = Store(str(rec_file))
    try:
        live = discovered(server_ns)
        (rns,) = s.namespaces()
        assert (rns.inode, rns.ns_id) == (live.inode, live.ns_id) and rns.netns.name == server_ns
        w = s.window(rns, rns.last_tick, rns.last_tick - rns.first_tick)
        assert sum(w.deltas["TcpExt.ListenDrops"]) == csv_drops
        assert s.values_at(rns, rns.last_tick)["TcpExt.ListenDrops"] == csv_last
        assert w.times[0] == pytest.approx(counters["times"][0]) and w.times[-1] == pytest.approx(counters["times"][-1])
        m = s.history_at(s.span()[1])  # as replay opens it, at its end
        assert [n.name for n in m.namespaces] == [server_ns] and s.notes == []
    finally:
        s.close()
    # `synscope replay recording.synscope` opens it: the replay's source shows that namespace alone
    from tui.commands.replay import open_source

    source = open_source(str(rec_file), None)
    assert not isinstance(source, str), source
    try:
        frame = source.tick()
        assert [n.name for n in frame.namespaces] == [server_ns]
        replayed = source.counter_window(live.inode, 300)
        assert replayed is not None and sum(d or 0 for d in replayed.deltas["TcpExt.ListenDrops"]) == csv_drops
    finally:
        source.close()
    # nothing of another namespace, nor the node's statuses and notes, in the file
    con = sqlite3.connect(f"file:{rec_file}?mode=ro", uri=True)
    try:
        for table in ("chunks", "keyframes", "names", "sysctls"):
            assert {x for (x,) in con.execute(f"SELECT DISTINCT ns FROM {table}")} <= {rns.row}, table
        assert [x for (x,) in con.execute("SELECT inode FROM namespaces")] == [live.inode]
        assert con.execute("SELECT COUNT(*) FROM statuses").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
        assert "host" not in dict(con.execute("SELECT key, value FROM meta"))
    finally:
        con.close()
    raw = rec_file.read_bytes()
    assert other_ns.encode() not in raw and client_ns.encode() not in raw
    # and the store itself had the other namespace, moving: absent by choice, not by chance
    full = Store(store_dir)
    try:
        others = [x for x in full.namespaces() if x.inode == other_inode]
        assert others and full.values_at(others[-1], others[-1].last_tick)["Tcp.ActiveOpens"] >= 5
    finally:
        full.close()


def _record_briefly(store_dir: str, ticks: int = 6) -> None:
    """The real recorder for a few ticks (--ticks), then stopped by itself."""
    p = subprocess.run([sys.executable, "-m", "tui", "record", "--dir", store_dir, "--interval", "0.2",
                        "--ticks", str(ticks)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.returncode == 0, p.stderr


def _corrupt(store_dir: str) -> None:
    os.makedirs(store_dir)
    with open(os.path.join(store_dir, "synscope.db"), "wb") as f:
        f.write(b"this is not a database, it was overwritten by accident\n" * 64)


@pytest.mark.parametrize("trouble", ["corrupt", "not-covering", "missing"])
def test_a_store_that_cannot_give_the_window_is_a_note_and_the_bundle_is_written(lab, tmp_path, trouble):
    store_dir = str(tmp_path / "store")
    if trouble == "corrupt":
        _corrupt(store_dir)
    elif trouble == "not-covering":
        _record_briefly(store_dir)  # before the namespace exists: the store has others, never this one
    name = lab.add("bst")
    out = str(tmp_path / "b.tar.gz")
    r = synscope("bundle", name, "--store", store_dir, "--sample", "1", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "note: recording: not included: " in r.stderr, r.stderr
    got = members(out)
    assert "recording.synscope" not in got and "counters.csv" in got
    notes = json.loads(got["notes.json"])
    (note,) = [n for n in notes if n["part"] == "recording"]
    # not covering: the store never saw this namespace, or (when the kernel gave it the inode
    # of one the store recorded, which other namespaces' churn on the node makes happen) saw
    # only that other one: either way none of it is this namespace's
    whys = {"corrupt": ("not a synscope store",), "not-covering": ("does not hold", "only as another namespace"),
            "missing": ("no such store",)}[trouble]
    (why,) = [w for w in whys if w in note["note"]] or [None]
    assert why is not None and store_dir in note["note"], note
    readme = " ".join(got["README.txt"].decode().split())
    assert "the recorder's store could not give them (see Notes)" in readme and why in readme, readme


def test_a_locked_store_is_a_note(lab, tmp_path):
    """A store another process holds with an exclusive lock (as `sqlite3` with BEGIN
    EXCLUSIVE in exclusive locking mode would): the reader gives up after SQLite's busy
    timeout, and that is a note."""
    store_dir = str(tmp_path / "store")
    _record_briefly(store_dir)
    holder = sqlite3.connect(os.path.join(store_dir, "synscope.db"), isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        name = lab.add("blk")
        out = str(tmp_path / "b.tar.gz")
        t0 = time.monotonic()
        r = synscope("bundle", name, "--store", store_dir, "--sample", "1", "-o", out)
        took = time.monotonic() - t0
    finally:
        holder.close()
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    (note,) = [n for n in json.loads(members(out)["notes.json"]) if n["part"] == "recording"]
    assert "locked" in note["note"], note
    assert took < 60


def test_the_identity_is_inode_and_namespace_id_never_the_inode_alone(lab, tmp_path):
    """The kernel recycling an inode cannot be forced here, so the live namespace is given
    another namespace id (as a recycled inode's new namespace has) against a real store: the
    store's namespace with that inode must not be taken, and a kernel giving no id (0) gets
    nothing from the store."""
    name = lab.add("bid")
    store_dir = str(tmp_path / "store")
    _record_briefly(store_dir)
    live = discovered(name)
    assert live.ns_id, "this kernel gives no namespace id"
    got = find_recorded_window(store_dir, live, 300, now=time.time())
    try:
        assert (got.rns.inode, got.rns.ns_id) == (live.inode, live.ns_id)
    finally:
        got.close()
    with pytest.raises(NoRecordedWindow, match="only as another namespace"):
        find_recorded_window(store_dir, replace(live, ns_id=live.ns_id + 1), 300)
    with pytest.raises(NoRecordedWindow, match="no namespace id"):
        find_recorded_window(store_dir, replace(live, ns_id=0), 300)
    with pytest.raises(NoRecordedWindow, match="no recorder store was found") as absent:
        find_recorded_window(str(tmp_path / "none"), live, 300, explicit=False)
    assert absent.value.absent


async def test_the_tuis_bundle_takes_the_recording_from_the_store_the_tui_was_given(lab, tmp_path, monkeypatch):
    """The real app on the live node with --store: a bundle request (what `w` posts) gets
    the recording from that store; the counters stay the session's history, as on screen."""
    from tui.app import SynscopeApp
    from tui.screens.bundle import BundleRequested
    from tui.source import LiveSource

    state = tmp_path / "state"
    monkeypatch.setenv("SYNSCOPE_DIR", str(state))
    name = lab.add("btu")
    store_dir = str(tmp_path / "store")
    _record_briefly(store_dir)
    inode = ns_inode_of_path(f"/run/netns/{name}")
    app = SynscopeApp(LiveSource(interval=0.3, store=store_dir, store_explicit=True), ns_filter=name, autotick=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(2):
                app.request_tick()
                await app.workers.wait_for_complete()
                await pilot.pause()
            ns = app.main.selected_namespace
            assert ns is not None and ns.inode == inode
            app.post_message(BundleRequested(ns))
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            said = [n.message for n in app._notifications]
            (path,) = [str(p) for p in state.glob("synscope-bundle-*.tar.gz")]
            assert any(f"bundle written: {path}" in m for m in said), said
    finally:
        app.source.close()
    got = members(path)
    readme = " ".join(got["README.txt"].decode().split())
    assert "synscope's history in this session" in readme and f"from the recorder's store {store_dir}" in readme
    rec_file = tmp_path / "r.synscope"
    rec_file.write_bytes(got["recording.synscope"])
    s = Store(str(rec_file))
    try:
        assert [r.inode for r in s.namespaces()] == [inode]
    finally:
        s.close()


def test_a_store_this_user_may_not_read_is_said_so(lab, tmp_path):
    """The recorder's directory is 0700 root: a bundle run as another user is told so,
    not that there is no store."""
    import shutil
    import tempfile

    from nethelpers import as_nobody

    name = lab.add("bnr")
    share = tempfile.mkdtemp(prefix="synscope-nr-")  # pytest's tmp_path is 0700: uid 65534 needs a way in
    os.chmod(share, 0o755)
    try:
        store_dir = os.path.join(share, "store")
        _record_briefly(store_dir)
        assert os.stat(store_dir).st_mode & 0o777 == 0o700
        live = discovered(name)

        def look() -> int:
            try:
                find_recorded_window(store_dir, live, 300, explicit=False)
            except NoRecordedWindow as exc:
                print(json.dumps({"why": str(exc), "absent": exc.absent}))
                return 0
            return 1

        code, out, err = as_nobody(look)
        assert code == 0, err
        got = json.loads(out)
        assert "cannot be read by this user" in got["why"] and not got["absent"], got
    finally:
        shutil.rmtree(share, ignore_errors=True)
