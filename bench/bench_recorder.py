#!/usr/bin/env python3
"""What the recorder costs, as ratios measured in one run.

    sudo python bench/bench_recorder.py [-n 110] [--busy 0.1] [--interval 0.5] [--ticks 120]

Creates N named namespaces with one process each (read through /proc, as pods are); in a
tenth of them ("busy") that process makes a loopback TCP connection and a small exchange
every 50 ms (bounded: it stops by itself after the run's length), the rest sleep. Then, the
two alternating in blocks of ticks in the same run:

  (a) sampling alone     the TUI's Monitor: discovery result applied, read, parse, history
  (b) recorder           synscope record's tick: (a) with the idle skip, plus the store
                         (the tick's transaction, fsynced; a chunk sealed every 60 ticks)
  (b') recorder, no skip the same without the idle skip

CPU seconds (process time, so fsync waits do not count) per tick; the ratio (b)/(a) is the
figure (target <= 1.3x). Then the idle namespace: µs of one idle namespace in a tick with
the idle skip (its net/dev read and compared) against the raw read of its two files
(netstat and snmp). Then disk: bytes of chunks and keyframes per namespace-hour, idle and
busy, from the store (b) wrote, the store's size per hour, and 24 h of this node. Everything
it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_sample import delete_namespaces, kill, make_namespaces  # noqa: E402

from tui.core.idle_skip import IdleSkip  # noqa: E402
from tui.core.monitor import Monitor  # noqa: E402
from tui.core.namespaces import Discovery  # noqa: E402
from tui.core.recorder import Recorder  # noqa: E402
from tui.core.netns import read_proc_file, setns_net  # noqa: E402


def park(names: list[str], busy: set[str], seconds: float) -> list[int]:
    """One process per namespace: busy ones talk to themselves on loopback, the rest wait."""
    pids = []
    for name in names:
        pid = os.fork()
        if pid == 0:
            try:
                setns_net(os.open(f"/run/netns/{name}", os.O_RDONLY))
                signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
                os.system("ip link set lo up")
                if name in busy:
                    srv = socket.socket()
                    srv.bind(("127.0.0.1", 7000))
                    srv.listen(16)
                    end = time.monotonic() + seconds
                    while time.monotonic() < end:  # bounded: the run's length, 20 exchanges a second
                        c = socket.create_connection(("127.0.0.1", 7000))
                        a, _ = srv.accept()
                        c.sendall(b"x" * 200)
                        a.recv(512)
                        a.sendall(b"y" * 100)
                        c.recv(512)
                        c.close()
                        a.close()
                        time.sleep(0.05)
                while True:
                    signal.pause()
            finally:
                os._exit(0)
        pids.append(pid)
    return pids


def cpu_per_tick(fn, ticks: int, interval: float) -> list[float]:
    out = []
    for _ in range(ticks):
        c0 = time.process_time()
        fn()
        out.append(time.process_time() - c0)
        time.sleep(interval)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=110)
    ap.add_argument("--busy", type=float, default=0.1)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--ticks", type=int, default=120, help="ticks of each kind")
    ap.add_argument("--disk-ticks", type=int, default=600)
    ap.add_argument("--disk-interval", type=float, default=0.1)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root (namespaces)", file=sys.stderr)
        return 1
    prefix = f"bnr{os.getpid() % 10000}x"
    names = make_namespaces(prefix, args.n)
    busy = set(names[:max(1, round(args.n * args.busy))])
    run_for = 3 * args.ticks * args.interval * 2 + (args.disk_ticks + 60) * args.disk_interval * 2 + 60
    pids = park(names, busy, run_for)
    tmp = tempfile.mkdtemp(prefix="synscope-bench-rec-")
    try:
        time.sleep(1.0)
        plain = Monitor(Discovery(), background=False)
        skip = IdleSkip()
        rec = Recorder(os.path.join(tmp, "with-skip"), Monitor(Discovery(), background=False, idle_skip=skip),
                       interval=args.interval)
        rec_noskip = Recorder(os.path.join(tmp, "no-skip"), Monitor(Discovery(), background=False),
                              interval=args.interval)
        for m in (plain, rec.monitor, rec_noskip.monitor):
            m.tick()
        kinds = {"(a) sampling alone": plain.tick, "(b) recorder": rec.record_tick,
                 "(b') recorder, no idle skip": rec_noskip.record_tick}
        cpu: dict[str, list[float]] = {k: [] for k in kinds}
        block = 10
        for r in range(args.ticks // block):
            for k in list(kinds)[r % 3:] + list(kinds)[:r % 3]:
                cpu[k] += cpu_per_tick(kinds[k], block, args.interval / 3)
        n_ns = len(plain.sampler.namespaces)
        print(f"{n_ns} namespaces sampled ({len(busy)} busy), {args.ticks} ticks of each, interleaved in blocks of {block}")
        base = statistics.median(cpu["(a) sampling alone"])
        for k, v in cpu.items():
            med = statistics.median(v)
            print(f"  {k:<30} {med * 1e3:7.2f} ms CPU per tick (median)  {med / base:5.2f}x   "
                  f"mean {statistics.mean(v) * 1e3:6.2f} ms")
        # the idle namespace: its share of a tick with the skip vs the raw read of its two files
        idle = [ns for ns in rec.monitor.sampler.namespaces if ns.name.startswith(prefix) and ns.name not in busy]
        dirfds = [os.open(f"/proc/{ns.pids[0]}", os.O_RDONLY | os.O_DIRECTORY) for ns in idle if ns.pids]
        idle_mon = Monitor(Discovery(), background=False, idle_skip=IdleSkip())
        idle_mon.sampler.set_namespaces(idle)
        idle_mon.sampler.sample()

        def raw() -> None:
            for fd in dirfds:
                read_proc_file("net/netstat", fd)
                read_proc_file("net/snmp", fd)

        raws, skips = [], []
        for _ in range(30):
            t0 = time.perf_counter()
            raw()
            raws.append((time.perf_counter() - t0) / len(dirfds))
            t0 = time.perf_counter()
            idle_mon.sampler.sample()
            skips.append((time.perf_counter() - t0) / len(idle))
        r_us, s_us = statistics.median(raws) * 1e6, statistics.median(skips) * 1e6
        print(f"  idle namespace in a tick with the skip: {s_us:.1f} µs; raw read of netstat+snmp: {r_us:.1f} µs "
              f"({s_us / r_us:.2f}x)")
        for fd in dirfds:
            os.close(fd)
        idle_mon.close()
        rec.close()
        rec_noskip.close()
        plain.close()
        # disk: a recorder of its own, ticking at --disk-interval; the first chunk (first
        # keyframes and names, once per namespace) is left out of the per-hour figures
        disk = Recorder(os.path.join(tmp, "disk"), Monitor(Discovery(), background=False, idle_skip=IdleSkip()),
                        interval=args.disk_interval)
        for _ in range(60):
            disk.record_tick()
            time.sleep(args.disk_interval)
        size0 = disk.writer.size()
        for _ in range(args.disk_ticks):
            disk.record_tick()
            time.sleep(args.disk_interval)
        disk.writer.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size1 = disk.writer.size()
        ticks = args.disk_ticks
        path = disk.writer.path
        con = sqlite3.connect(path)
        inode_busy = {os.stat(f"/run/netns/{x}").st_ino for x in busy}
        inode_idle = {os.stat(f"/run/netns/{x}").st_ino for x in names if x not in busy}
        per: dict[str, list[int]] = {"busy": [], "idle": []}
        for row, inode in con.execute("SELECT id, inode FROM namespaces").fetchall():
            kind = "busy" if inode in inode_busy else "idle" if inode in inode_idle else None
            if kind is None:
                continue
            b = con.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM chunks WHERE ns = ? AND chunk >= 1",
                            (row,)).fetchone()[0]
            b += con.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM keyframes WHERE ns = ? AND tick >= 60",
                             (row,)).fetchone()[0]
            per[kind].append(b)
        times = con.execute("SELECT COALESCE(SUM(LENGTH(times)), 0) FROM tick_chunks WHERE chunk >= 1").fetchone()[0]
        first = con.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM keyframes WHERE tick < 60").fetchone()[0]
        con.close()
        disk.close()
        f = 3600 / ticks  # per namespace-hour at 1 tick a second
        busy_h = statistics.mean(per["busy"]) * f
        idle_h = statistics.mean(per["idle"]) * f
        print(f"  disk, {ticks} ticks after the first chunk (ticks {args.disk_interval:g} s apart): "
              f"busy namespace {busy_h / 1024:.1f} KB per namespace-hour, idle {idle_h / 1024:.3f} KB; "
              f"tick times {times * f / 1024:.1f} KB per hour; first keyframes {first / n_ns:.0f} B per namespace, once")
        node_day = (len(busy) * busy_h + (n_ns - len(busy)) * idle_h + times * f) * 24
        file_day = (size1 - size0) / ticks * 86400
        print(f"  24 h of this node at 1 s: {node_day / 2**20:.1f} MB of blobs; the file (database and WAL) grew "
              f"{(size1 - size0) / 1024:.0f} KB in {ticks} ticks -> {file_day / 2**20:.1f} MB per 24 h "
              f"(target <= 64 MB)")
    finally:
        kill(pids)
        delete_namespaces(names)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
