"""The recorder against real namespaces: what the store holds is what the kernel counted.

Real namespaces from NetnsLab, real listen overflows, the real Monitor and Sampler (with the
idle skip), a real SQLite store in a temporary directory; `synscope record` and `synscope
dump` run as subprocesses where the test is about the command (the lock, SIGKILL, a full
disk, a non-root reader).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from nethelpers import as_nobody, ip, listen_overflow, require_root, wait_for
from recorderhelpers import ROOT, kernel_value, start_recorder, stop, wait_ticks

from tui.core.idle_skip import IdleSkip
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery
from tui.core.recorder import Recorder
from tui.core.store.dump import rows, select, write_recording
from tui.core.store.reader import Store
from tui.core.store.writer import StoreWriter


def _recorder(directory: str, **kw) -> Recorder:
    monitor = Monitor(Discovery(), background=False, idle_skip=IdleSkip())
    return Recorder(directory, monitor, interval=0.1, chunk_ticks=kw.pop("chunk_ticks", 5),
                    keyframe_chunks=kw.pop("keyframe_chunks", 2), **kw)


def _ticks_until(rec: Recorder, pred, timeout: float = 20.0, every: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec.record_tick()
        if pred():
            return True
        time.sleep(every)
    return False


def _rec_of(store: Store, inode: int):  # type: ignore[no-untyped-def]
    found = [r for r in store.namespaces() if r.inode == inode]
    assert found, f"net:[{inode}] not in the store: {[(r.netns.name, r.inode) for r in store.namespaces()]}"
    return found


def test_listen_drops_in_the_store_add_up_to_the_kernels(lab, tmp_path):
    server_ns, client_ns = lab.add("sv"), lab.add("cl")
    lab.veth(server_ns, "198.51.100.1/24", client_ns, "198.51.100.2/24")
    idle_ns = lab.add("idle")
    parked = lab.spawn(idle_ns, ["sleep", "60"])  # a process in it: read through /proc, idle-skipped
    rec = _recorder(str(tmp_path))
    try:
        rec.record_tick()
        server, client = listen_overflow(lab, server_ns, client_ns, "198.51.100.1", n=20, hold=2.0)
        client.wait(timeout=20)
        inode = os.stat(f"/run/netns/{server_ns}").st_ino
        # ticks until the kernel's count stands still for a second (the client is gone)
        last = [-1, time.monotonic()]

        def steady() -> bool:
            v = kernel_value(server.pid, "TcpExt.ListenDrops")
            if v != last[0]:
                last[:] = [v, time.monotonic()]
            return time.monotonic() - last[1] > 1.0

        assert _ticks_until(rec, steady)
        rec.record_tick()
        kernel = kernel_value(server.pid, "TcpExt.ListenDrops")
        assert kernel > 0
        assert rec.monitor.sampler.idle_skip.skipped > 0  # the parked namespace was skipped
    finally:
        rec.close()
    store = Store(str(tmp_path))
    (r,) = [x for x in _rec_of(store, inode) if x.netns.name == server_ns]
    baseline = store.values_at(r, r.first_tick).get("TcpExt.ListenDrops", 0)
    deltas = [row.delta for row in rows(store, [r]) if row.counter == "TcpExt.ListenDrops"]
    assert baseline + sum(deltas) == kernel, (baseline, deltas, kernel)
    assert store.values_at(r, r.last_tick)["TcpExt.ListenDrops"] == kernel
    # and the rebuilt History says the same as the one the monitor had
    m = store.history_at(store.span()[1])
    h = m.history.get(inode)
    assert h is not None and h.values()["TcpExt.ListenDrops"] == kernel
    assert sum(d for d in h.deltas("TcpExt.ListenDrops") if d) == sum(deltas)
    assert "TcpExt.ListenDrops" in h.moved() and h.total_delta("TcpExt.ListenOverflows") > 0
    idle = [x for x in store.namespaces() if x.netns.name == idle_ns]
    assert idle and not [row for row in rows(store, idle) if row.counter.startswith("TcpExt.Listen")]
    assert store.notes == []
    parked.kill()


def test_idle_skip_keeps_totals_exact_and_reads_at_least_every_10_s(lab):
    """A namespace read through its process: skipped while its net/dev stands still, read
    in full when a packet moves, and after full_every seconds even if none did."""
    ns = lab.add("sk")
    ip("-n", ns, "addr", "add", "198.51.100.9/32", "dev", "lo")
    proc = lab.spawn(ns, ["sleep", "60"])
    wait_for(lambda: os.path.exists(f"/proc/{proc.pid}/ns/net"))
    inode = os.stat(f"/run/netns/{ns}").st_ino
    skip = IdleSkip(full_every=0.6)
    mon = Monitor(Discovery(), background=False, idle_skip=skip)
    try:
        def found() -> bool:
            mon.rediscover()  # no discovery thread here: scan now
            return any(n.inode == inode and n.pids for n in mon.tick().namespaces)

        assert wait_for(found, timeout=10)
        for _ in range(3):
            mon.tick()
        full_reads: set[float | None] = set()
        for _ in range(20):  # 2 s of nothing moving: skipped, but read in full every 0.6 s
            mon.tick()
            full_reads.add(skip.last_full_read(inode))
            time.sleep(0.1)
        assert None not in full_reads and 2 <= len(full_reads) <= 5, full_reads
        talk = lab.python(ns, """
            import socket
            s = socket.socket(); s.bind(("198.51.100.9", 7070)); s.listen(4)
            for _ in range(3):                       # bounded: three connections to itself
                c = socket.create_connection(("198.51.100.9", 7070), timeout=5)
                a, _ = s.accept(); a.close(); c.close()
            print("done", flush=True)
        """, stdout=subprocess.PIPE, text=True)
        assert talk.stdout.readline().strip() == "done"
        talk.wait(timeout=10)
        got = 0
        for _ in range(3):
            mon.tick()
            got += mon.history.get(inode).last_deltas.get("Tcp.ActiveOpens", 0)
        assert got == 3  # the first tick after the packets read the namespace in full
        from tui.core.counters import parse_proc_net

        with open(f"/proc/{proc.pid}/net/snmp", "rb") as f:
            kernel = parse_proc_net(f.read())
        assert mon.history.get(inode).values()["Tcp.ActiveOpens"] == kernel["Tcp.ActiveOpens"]
    finally:
        mon.close()


def test_a_second_recorder_refuses_with_a_clear_message(tmp_path):
    require_root()
    first = start_recorder(str(tmp_path), "--interval", "0.2")
    try:
        wait_ticks(str(tmp_path), 2)
        second = subprocess.run([sys.executable, "-m", "tui", "record", "--dir", str(tmp_path)], cwd=ROOT,
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert f"another recorder (pid {first.pid}) is writing to {tmp_path}" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the first goes on
    finally:
        _, err = stop(first)
    assert first.returncode == 0, err


def test_sigkill_mid_write_loses_at_most_the_tick_being_written(tmp_path):
    require_root()
    proc = start_recorder(str(tmp_path), "--interval", "0.1", "--chunk-ticks", "7")
    try:
        wait_ticks(str(tmp_path), 25)
        seen = Store(str(tmp_path))
        seen_last = seen.span()[1]
        seen.close()
        killed_at = time.time()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        stop(proc)
    s = Store(str(tmp_path))
    first, last = s.span()
    assert last >= seen_last  # everything committed before the kill is there
    assert killed_at - last < 1.0  # ~one interval of 0.1 s, with the machine's scheduling on top
    m = s.history_at(last)
    assert m.namespaces and m.history.get(m.namespaces[0].inode).ticks > 20
    assert s.notes == []
    s.close()
    # a new recorder seals what the killed one left open, and goes on after it
    again = start_recorder(str(tmp_path), "--interval", "0.1", "--chunk-ticks", "7")
    try:
        wait_for(lambda: (x := Store(str(tmp_path))).span()[1] > last and not x.close(), timeout=20)
    finally:
        _, err = stop(again)
    assert again.returncode == 0, err
    s = Store(str(tmp_path))
    assert s.span()[0] == first and s.span()[1] > last
    con = sqlite3.connect(os.path.join(tmp_path, "synscope.db"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*) FROM open_ticks").fetchone()[0] == 0  # sealed on the clean stop
    con.close()


def test_corrupt_last_bytes_are_a_note_not_a_traceback(tmp_path):
    require_root()
    store_dir = tmp_path / "store"
    proc = start_recorder(str(store_dir), "--interval", "0.05", "--chunk-ticks", "5")
    try:
        wait_ticks(str(store_dir), 60)
    finally:
        _, err = stop(proc)
    assert proc.returncode == 0, err

    def read_all(path) -> tuple[list, list[str]]:  # type: ignore[type-arg]
        s = Store(str(path))
        span = s.span()
        got: list = []  # type: ignore[type-arg]
        if span is not None:
            got.append(sorted(s.history_at(span[1]).values.items()))
            got += list(rows(s, s.namespaces()))
        notes = list(s.notes)
        s.close()
        return got, notes

    intact, _ = read_all(store_dir / "synscope.db")
    noticed = 0
    for cut in (64, 4096, 9000):
        damaged = tmp_path / f"damaged-{cut}.db"
        shutil.copy(store_dir / "synscope.db", damaged)
        size = damaged.stat().st_size
        with open(damaged, "r+b") as f:  # the last bytes overwritten, as a torn write leaves them
            f.seek(size - cut)
            f.write(b"\xa5" * cut)
        got, notes = read_all(damaged)
        # bytes the store does not use (a free page, a page's unused end) can be damaged
        # with nothing to notice; damage to what is read must be a note, never a silent change
        assert notes or got == intact, f"damage of the last {cut} bytes changed what is read, without a note"
        noticed += bool(notes)
        p = subprocess.run([sys.executable, "-m", "tui", "dump", str(damaged)], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
        assert "Traceback" not in p.stderr and p.returncode in (0, 1), p.stderr
        assert "damaged" in p.stderr or not notes, p.stderr
    assert noticed, "no damage was noticed, not even of the last 9000 bytes"


def test_retention_by_age_drops_the_oldest_periods(tmp_path):
    require_root()
    rec = _recorder(str(tmp_path), retain=2.0, chunk_ticks=3, keyframe_chunks=2)
    try:
        started = time.time()
        for _ in range(80):
            rec.record_tick()
            time.sleep(0.05)
        s = Store(str(tmp_path))
        first, last = s.span()
        assert first > started + 1.0  # the oldest ticks are gone
        assert last - first < 2.0 + 2 * 6 * 0.2  # at most the retention plus a period or two in flight
        m = s.history_at(last)
        host = [n for n in m.namespaces if n.kind == "host"]
        assert host and m.history.get(host[0].inode).values()  # its keyframe is still there
        s.close()
    finally:
        rec.close()


def test_retention_by_size_never_grows_past_max_size(tmp_path):
    """The writer alone (synthetic ticks: a busy node's worth of changing counters, made up),
    so the limit is reached in seconds; it checks the bytes on disk, database and WAL."""
    from tui.core.namespaces import NetNS

    limit = 2 << 20
    base = time.time() - 5000
    w = StoreWriter(str(tmp_path), max_bytes=limit, chunk_ticks=10, keyframe_chunks=2, retain=1e9)
    rows_ = [w.open_namespace(NetNS(4026530000 + i, "netns", f"n{i}", ns_id=i + 1), {"TcpExt.ListenDrops": 0})
             for i in range(40)]
    import random

    rnd = random.Random(7)
    peak = 0
    for tick in range(3000):
        w.begin(base + tick)
        for r in rows_:
            w.moved(r, {f"TcpExt.C{k}": rnd.randrange(1, 1 << 30) for k in range(8)})
        w.commit(values_of=lambda row: {"TcpExt.ListenDrops": 1})
        peak = max(peak, w.size())
    assert peak <= limit, peak
    s = Store(str(tmp_path))
    first, last = s.span()
    assert first > base + 100 and last == base + 2999  # the oldest went, the newest stayed
    s.close()
    w.close()


def test_namespaces_that_appear_are_written_in_the_ticks_one_transaction(lab, tmp_path):
    """The writer alone, with the real namespaces of this node (Discovery) and a lab's 30 more:
    their first rows (the namespace, its names, its keyframe, new keys) go in with the tick,
    one transaction, not one fsynced transaction each; a reader sees them all or none."""
    require_root()
    for i in range(30):
        lab.add(f"n{i}")
    found = Discovery().discover().namespaces
    w = StoreWriter(str(tmp_path), chunk_ticks=10, keyframe_chunks=2)
    begins: list[str] = []
    w.con.set_trace_callback(lambda sql: begins.append(sql) if sql.startswith("BEGIN") else None)
    t = time.time()
    w.begin(t)
    rows_ = [w.open_namespace(ns, {"TcpExt.ListenDrops": 3, f"TcpExt.New{i}": i}) for i, ns in enumerate(found)]
    peek = sqlite3.connect(f"file:{tmp_path / 'synscope.db'}?mode=ro", uri=True)
    assert peek.execute("SELECT COUNT(*) FROM namespaces").fetchone()[0] == 0  # nothing before the commit
    w.commit()
    assert len(begins) == 1, begins
    assert peek.execute("SELECT COUNT(*) FROM namespaces").fetchone()[0] == len(found) >= 31
    peek.close()
    w.begin(t + 1)
    w.moved(rows_[0], {"TcpExt.ListenDrops": 2, "TcpExt.Brandnew": 1})  # a key never seen: with this tick too
    w.commit()
    assert len(begins) == 2, begins
    w.close()
    s = Store(str(tmp_path))
    m = s.history_at(t + 1)
    assert {ns.inode for ns in m.namespaces} == {ns.inode for ns in found}
    first = m.values[found[0].inode]
    assert first["TcpExt.ListenDrops"] == 5 and first["TcpExt.Brandnew"] == 1 and first["TcpExt.New0"] == 0
    assert m.values[found[-1].inode][f"TcpExt.New{len(found) - 1}"] == len(found) - 1
    s.close()


def test_a_commit_retried_after_the_size_limit_keeps_the_periods_keyframes(tmp_path):
    """A tick at a keyframe period's end whose COMMIT hits the size limit is rolled back, the
    oldest period dropped, and the tick written again: with its keyframes (a rolled-back attempt
    used to forget which namespaces had moved, and the retry wrote none). A fake here, and only
    here: a disk that fills at the very COMMIT cannot be staged on demand, so one COMMIT raises
    SQLite's own "database or disk is full", and the limit's two checks say yes."""
    from tui.core.namespaces import NetNS

    w = StoreWriter(str(tmp_path), chunk_ticks=4, keyframe_chunks=2)  # a period ends at tick 7
    t = 1000.0
    w.begin(t)
    row = w.open_namespace(NetNS(4026530001, "netns", "a", ns_id=1), {"TcpExt.ListenDrops": 0})
    w.commit()
    for _ in range(7):
        t += 1
        w.begin(t)
        w.moved(row, {"TcpExt.ListenDrops": 1})
        if w.tick < 7:
            w.commit()
    real = w.con

    class CommitFailsOnce:
        failed = False

        def execute(self, sql, *args):  # type: ignore[no-untyped-def]
            if sql == "COMMIT" and not self.failed:
                self.failed = True
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(real, name)

    w.con = CommitFailsOnce()  # type: ignore[assignment]
    w._at_size_limit = lambda: True  # type: ignore[method-assign]
    w._drop_oldest_period = lambda: True  # type: ignore[method-assign]
    w.commit(values_of=lambda r: {"TcpExt.ListenDrops": 7, "TcpExt.SeenInTheKeyframeOnly": 9})
    assert w.con.failed  # type: ignore[attr-defined]
    w.con = real
    assert real.execute("SELECT ns, tick FROM keyframes ORDER BY tick").fetchall() == [(row, 0), (row, 7)]
    assert dict(real.execute("SELECT name, id FROM keys")) == w.keys  # no key cached whose row was rolled back
    w.close()
    s = Store(str(tmp_path))
    assert s.history_at(t).values[4026530001] == {"TcpExt.ListenDrops": 7, "TcpExt.SeenInTheKeyframeOnly": 9}
    s.close()


def test_a_reader_refreshing_while_the_recorder_commits_sees_one_snapshot(tmp_path):
    """Store.refresh reads the index in several queries. A commit landing between two of them
    (made to land there: the writer commits when the reader starts its names query) used to
    show the new namespace without the tick it started in or the keys it brought (read before
    the commit): a namespace past the recording's end, counters named key57. In one read
    transaction the reader sees the store as it was before that commit, and the next refresh
    sees all of it."""
    from tui.core.namespaces import NetNS

    w = StoreWriter(str(tmp_path), chunk_ticks=10, keyframe_chunks=2)
    t = time.time()
    w.begin(t)
    w.open_namespace(NetNS(4026530001, "netns", "first", ns_id=1), {"TcpExt.ListenDrops": 0})
    w.commit()
    s = Store(str(tmp_path))
    committed = []

    def commit_between(sql: str) -> None:
        if sql.startswith("SELECT ns, tick, identity FROM names") and not committed:
            committed.append(sql)
            w.begin(t + 1)
            w.open_namespace(NetNS(4026530002, "netns", "second", ns_id=2), {"TcpExt.ListenDrops": 0})
            w.commit()

    s.con.set_trace_callback(commit_between)
    s.refresh()
    s.con.set_trace_callback(None)
    assert committed  # the commit did land in the middle of the refresh
    assert [r.netns.name for r in s.namespaces()] == ["first"] and not s.notes, s.notes
    s.refresh()
    assert [r.netns.name for r in s.namespaces()] == ["first", "second"] and not s.notes, s.notes
    s.close()
    w.close()


def test_a_full_disk_stops_writing_with_a_message_and_no_corruption(tmp_path):
    require_root()
    mnt = tmp_path / "small"
    mnt.mkdir()
    # room for the first ticks of every namespace on this node (~1.5 KB each in the database,
    # as much again in the WAL), then not much more: a node with 500 namespaces filled 400 KB
    # before its first tick, and the store rightly held no tick
    size = 400 + 4 * len(Discovery().discover().namespaces)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}k", "synscope-test", str(mnt)], check=True, timeout=10)
    try:
        proc = start_recorder(str(mnt / "store"), "--interval", "0.02", "--chunk-ticks", "50")
        try:
            proc.wait(timeout=120)
        finally:
            out, err = stop(proc)
        assert proc.returncode == 1, err
        assert f"the disk holding {mnt / 'store'} is full" in err and "stopped writing" in err, err
        assert "Traceback" not in err
        con = sqlite3.connect(f"file:{mnt / 'store' / 'synscope.db'}?mode=ro", uri=True)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        s = Store(str(mnt / "store"))
        assert s.span() is not None and s.history_at(s.span()[1]).namespaces
        s.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], timeout=10)


def test_dump_csv_and_json_rows_and_a_recording_a_non_root_user_reads(lab, tmp_path):
    server_ns, client_ns = lab.add("sv"), lab.add("cl")
    lab.veth(server_ns, "198.51.100.1/24", client_ns, "198.51.100.2/24")
    store_dir = tmp_path / "store"
    rec = _recorder(str(store_dir))
    try:
        rec.record_tick()
        server, client = listen_overflow(lab, server_ns, client_ns, "198.51.100.1", n=10, hold=1.0)
        client.wait(timeout=20)
        for _ in range(15):
            rec.record_tick()
            time.sleep(0.1)
    finally:
        rec.close()
    dump = [sys.executable, "-m", "tui", "dump", str(store_dir), "--ns", server_ns]
    p = subprocess.run(dump, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    table = list(csv.DictReader(io.StringIO(p.stdout)))
    assert table and set(table[0]) == {"time", "timestamp", "namespace", "kind", "pod", "k8s_namespace", "inode",
                                       "ns_id", "counter", "delta", "value"}
    drops = [r for r in table if r["counter"] == "TcpExt.ListenDrops"]
    assert drops and {r["namespace"] for r in table} == {server_ns}
    assert all(int(r["delta"]) > 0 for r in drops)
    assert int(drops[-1]["value"]) == kernel_value(server.pid, "TcpExt.ListenDrops")
    pj = subprocess.run([*dump, "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    objs = [json.loads(line) for line in pj.stdout.splitlines()]
    assert [(o["counter"], o["delta"], o["value"]) for o in objs] == \
        [(r["counter"], int(r["delta"]) if r["delta"] else None, int(r["value"])) for r in table]
    # the recording: one file, read as uid 65534 from a directory that user may not write
    import tempfile
    from pathlib import Path

    out = Path(tempfile.mkdtemp(prefix="synscope-share-"))  # pytest's tmp_path is 0700: uid 65534 needs a way in
    os.chmod(out, 0o755)
    try:
        _share_and_read(dump, out, table, server_ns)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _share_and_read(dump: list[str], out, table: list[dict], server_ns: str) -> None:  # type: ignore[no-untyped-def]
    rec_file = out / "incident.synscope"
    p = subprocess.run([*dump, "--format", "recording", "-o", str(rec_file)], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and rec_file.exists(), p.stderr
    assert sorted(os.listdir(out)) == ["incident.synscope"]
    expected = [(r["counter"], r["delta"], r["value"]) for r in table]

    def read_as_nobody() -> int:
        s = Store(str(rec_file))
        got = [(r.counter, "" if r.delta is None else str(r.delta), str(r.value))
               for r in rows(s, select(s, server_ns))]
        m = s.history_at(s.span()[1])
        print(json.dumps({"rows": got, "names": [n.name for n in m.namespaces], "notes": s.notes}))
        return 0

    code, stdout, stderr = as_nobody(read_as_nobody)
    assert code == 0, stderr
    got = json.loads(stdout)
    assert [tuple(x) for x in got["rows"]] == expected
    assert server_ns in got["names"] and got["notes"] == []
    assert sorted(os.listdir(out)) == ["incident.synscope"]  # nothing written beside it


def test_write_recording_slice_keeps_values_exact(lab, tmp_path):
    ns = lab.add("sl")
    ip("-n", ns, "addr", "add", "198.51.100.7/32", "dev", "lo")
    rec = _recorder(str(tmp_path / "store"))
    try:
        for i in range(30):
            if i % 5 == 0:
                subprocess.run(["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", "198.51.100.7"],
                               capture_output=True, timeout=10)
            rec.record_tick()
    finally:
        rec.close()
    s = Store(str(tmp_path / "store"))
    first, last = s.span()
    mid = first + (last - first) / 2
    chosen = select(s, ns)
    write_recording(s, chosen, str(tmp_path / "slice.db"), since=mid)
    r2 = Store(str(tmp_path / "slice.db"))
    (a,) = chosen
    (b,) = select(r2, ns)
    assert b.last_tick == a.last_tick and r2.span()[1] == last
    assert r2.values_at(b, b.last_tick) == s.values_at(a, a.last_tick)
    assert r2.span()[0] >= first and r2.notes == []


@pytest.mark.parametrize("when", ["10m", "1h30m", "2026-12-02T01:10:00"])
def test_when_parses_as_replay_and_dump_take_it(when):
    from tui.core.store.when import parse_when

    now = 1_800_000_000.0
    t = parse_when(when, now)
    assert t < now or when[0] == "2"


def test_stepping_forward_equals_rebuilding_at_the_next_tick(lab, tmp_path):
    """Store.advance (one tick appended, what replay's step and play use) gives the History
    that history_at builds from scratch at that tick: values, deltas, gauges, moved."""
    server_ns, client_ns = lab.add("sv"), lab.add("cl")
    lab.veth(server_ns, "198.51.100.1/24", client_ns, "198.51.100.2/24")
    rec = _recorder(str(tmp_path), chunk_ticks=4)
    try:
        rec.record_tick()
        server, client = listen_overflow(lab, server_ns, client_ns, "198.51.100.1", n=10, hold=1.0)
        for _ in range(25):
            rec.record_tick()
            time.sleep(0.05)
        client.wait(timeout=20)
    finally:
        rec.close()
    s = Store(str(tmp_path))
    first, last = s.span()
    m = s.history_at(first + 0.3)
    steps = 0
    while True:
        nxt = s.advance(m)
        if nxt is None:
            break
        m = nxt
        steps += 1
        fresh = s.history_at(m.time)
        assert fresh.tick == m.tick and set(fresh.recorded) == set(m.recorded)
        for inode in fresh.recorded:
            a, b = m.history.get(inode), fresh.history.get(inode)
            assert a.values() == b.values(), inode
            assert a.moved() == b.moved()
            for key in b.moved() + ["Tcp.CurrEstab"]:
                assert a.deltas(key, 20) == b.deltas(key, 20), key
                assert a.gauge_values(key, 20) == b.gauge_values(key, 20) if key == "Tcp.CurrEstab" else True
            assert a.last_deltas == b.last_deltas
    assert steps >= 15 and m.time == last
