#!/usr/bin/env python3
"""Time from starting ``synscope`` to its first frame with rows on a real terminal.

    sudo python bench/bench_first_frame.py [-n 1000] [--runs 3] [--size 200x60] [--with-processes]
                                           [--compare DIR] [--store-hours H]

Creates N named network namespaces (``ip netns add``; pid-less by default, so they are read
by the setns thread, or with one sleeping process each with ``--with-processes``), then
starts the real ``synscope`` (``python -m tui``) on a pseudo-terminal of the given size and
reads what it draws. Reported per run, from the moment the process is spawned:

  first rows   the title bar says ``namespaces S / T`` with T >= N: the table and its names
               are on screen (from the first discovery; the first read follows at once,
               rates one interval after it)
  imports      ``python -c "import tui.app"`` alone, timed the same way in the same run: the
               floor no start of the TUI can go under (Python, Textual and synscope's code)
  quit         ``q`` right after the first rows, until the process has exited

Bytecode: an installed synscope has its .pyc files (pip writes them); a checkout run with
PYTHONDONTWRITEBYTECODE=1 compiles every module of its own at each start (~0.1 s here). So
the children run with that variable unset and PYTHONPYCACHEPREFIX pointing at a temporary
directory (nothing is written into the checkout), after one start that is not measured.

``--compare DIR`` also starts the synscope in DIR (another checkout, e.g. ``git archive
COMMIT | tar -x -C DIR``) in every run, interleaved with this one, and prints the ratio of
the medians: on a shared machine that ratio is what to compare, not the seconds.

``--store-hours H`` measures the start with a running recorder's store present: it finds
the namespaces it created with the real discovery (tui/core/namespaces.py, so the store holds
their real inodes and namespace ids and the past loads for them), writes an H-hour store of
them with the real StoreWriter in a temporary directory (about 10 % busy, as
bench_store_read's), ending now, and starts synscope with ``--store DIR`` in every run,
interleaved with runs without it. Before each of those runs the store gets the ticks up to
the present (its last tick within a second of now, as a running recorder's), since the past
loads only from a fresh store. Reported too: when the status line said "history from the
recorder since HH:MM" (the past on screen), and the ratio of the first-rows medians.

A process that does not exit within 5 s of ``q`` is killed by its pid and reported.
Everything the script creates (namespaces, sleepers) is removed at the end, also on failure.
The machine's load average is printed: on a shared VM the figures move with it.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_sample import delete_namespaces, kill, make_namespaces, park_processes  # noqa: E402
from bench_store_read import SyntheticStore  # noqa: E402

PREFIX = "sbff-"
_PYCACHE = tempfile.mkdtemp(prefix="synscope-bench-pycache-")
# the children's environment: bytecode cached as an installed package has it (see above)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = _PYCACHE
TITLE = re.compile(rb"namespaces (\d+) / (\d+)")
PAST = b"history from the recorder since"
NO_PAST = re.compile(rb"(no recorded history|the recorder's store (ends|has none))")  # load_past's other notes


def imports_alone() -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "import tui.app"], cwd=ROOT, check=True, env=CHILD_ENV)
    return time.monotonic() - t0


def run_once(n: int, size: tuple[int, int], timeout: float, code: Path = ROOT,
             store: str | None = None) -> tuple[float | None, float | None, float | None]:
    """(seconds from spawning synscope to its first frame with the N namespaces, seconds from
    ``q`` to its exit, seconds from spawning to the status line's "history from the recorder
    since": with ``store`` only); None for what did not happen."""
    master, slave = os.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**CHILD_ENV, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
    t0 = time.monotonic()
    # `python -m tui` from the checkout's directory: its own tui package comes first on sys.path
    argv = [sys.executable, "-m", "tui"] + (["--store", store] if store else [])
    proc = subprocess.Popen(argv, cwd=code, stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    first = past = None
    seen = b""
    try:
        deadline = t0 + timeout
        # with a store, on until the past is on screen (it loads before the first read)
        while time.monotonic() < deadline and (first is None or (store is not None and past is None)):
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:
                break
            now = time.monotonic() - t0
            seen += chunk
            if first is None and any(int(m.group(2)) >= n for m in TITLE.finditer(seen)):
                first = now
            if store is not None and past is None:
                if PAST in seen:
                    past = now
                elif NO_PAST.search(seen):
                    break  # a store that did not load: the run reports no past
            seen = seen[-64:]  # keep a tail: a title split across two reads still matches
    finally:
        quit_s: float | None = None
        t_quit = time.monotonic()
        try:
            os.write(master, b"q")
            while proc.poll() is None and time.monotonic() - t_quit < 5:
                if select.select([master], [], [], 0.05)[0]:
                    os.read(master, 1 << 16)  # keep the pty drained while it restores the screen
        except OSError:  # EIO: the child closed the terminal on its way out
            pass
        try:
            proc.wait(timeout=max(0.0, 5 - (time.monotonic() - t_quit)))
            quit_s = time.monotonic() - t_quit
        except subprocess.TimeoutExpired:
            pass
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the session we started, by its pid
            proc.wait(timeout=5)
        os.close(master)
    return first, quit_s, past


def discovered(names: list[str]):  # type: ignore[no-untyped-def]
    """The NetNS rows the real discovery gives for the namespaces this script created."""
    from tui.core.namespaces import Discovery

    wanted = set(names)
    rows = [ns for ns in Discovery().discover().namespaces
            if ns.name in wanted or wanted & set(ns.aliases)]
    missing = len(names) - len(rows)
    if missing or any(not ns.ns_id for ns in rows):
        raise SystemExit(f"discovery found {len(rows)} of {len(names)} namespaces"
                         f" ({sum(not ns.ns_id for ns in rows)} without a namespace id): the past could not match")
    return rows


def write_store(directory: str, hours: float, names: list[str]) -> SyntheticStore:
    """An HOURS store of the created namespaces ending now, left open to be kept fresh."""
    rows = discovered(names)
    busy = max(1, round(len(rows) / 10))
    t0 = time.monotonic()
    store = SyntheticStore(directory, hours, len(rows), busy, namespaces=rows)
    start = time.time() - hours * 3600
    for tick in range(int(hours * 3600)):
        store.tick(start + tick)
    store.catch_up()  # the bulk took minutes: the ticks since, up to now
    mb = os.path.getsize(os.path.join(directory, "synscope.db")) / 2**20
    print(f"wrote a {hours:g} h store of {len(rows)} namespaces ({busy} busy) in {time.monotonic() - t0:.0f} s: {mb:.1f} MB")
    return store


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000, help="namespaces to create (default 1000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", default="200x60")
    ap.add_argument("--with-processes", action="store_true", help="one sleeping process in each namespace")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--compare", type=Path, metavar="DIR", help="another checkout to start in every run, interleaved")
    ap.add_argument("--store-hours", type=float, metavar="H",
                    help="also start with an H-hour recorder's store of the namespaces (--store), interleaved")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (ip netns add)", file=sys.stderr)
        return 2
    size = tuple(int(x) for x in args.size.split("x"))
    names: list[str] = []
    pids: list[int] = []
    store_dir = tempfile.mkdtemp(prefix="synscope-bench-ff-store-") if args.store_hours else None
    store: SyntheticStore | None = None
    try:
        names = make_namespaces(PREFIX, args.n)
        if args.with_processes:
            pids = park_processes(names)
        kind = "with a process each" if args.with_processes else "pid-less"
        print(f"{args.n} namespaces ({kind}), terminal {args.size}, {args.runs} runs")
        if store_dir:
            store = write_store(store_dir, args.store_hours, names)
        run_once(args.n, size, args.timeout)  # type: ignore[arg-type]  # not measured: writes the bytecode
        if args.compare:
            run_once(args.n, size, args.timeout, args.compare)  # type: ignore[arg-type]
        stored, pasts, loaded = [], [], 0
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        firsts, floors, others = [], [], []
        for r in range(args.runs):
            first, quit_s, _ = run_once(args.n, size, args.timeout)  # type: ignore[arg-type]
            floor = imports_alone()
            floors.append(floor)
            line = (f"  run {r + 1}: first rows " + ("never (timeout)" if first is None else f"{first:.2f} s")
                    + f", imports alone {floor:.2f} s, quit "
                    + ("did NOT exit within 5 s: killed" if quit_s is None else f"{quit_s:.2f} s"))
            if first is not None:
                firsts.append(first)
            if args.compare:
                other, _, _ = run_once(args.n, size, args.timeout, args.compare)  # type: ignore[arg-type]
                line += ", compared checkout: " + ("never" if other is None else f"{other:.2f} s")
                if other is not None:
                    others.append(other)
            if store is not None:
                store.catch_up()  # fresh, as a running recorder's
                with_store, _, past = run_once(args.n, size, args.timeout, store=store_dir)  # type: ignore[arg-type]
                line += (", with the store: first rows " + ("never" if with_store is None else f"{with_store:.2f} s")
                         + ", past on screen " + ("NOT loaded" if past is None else f"{past:.2f} s"))
                if with_store is not None:
                    stored.append(with_store)
                if past is not None:
                    pasts.append(past)
                    loaded += 1
            print(line)
        if firsts:
            print(f"median: first rows {statistics.median(firsts):.2f} s, imports alone {statistics.median(floors):.2f} s"
                  f" (of {len(firsts)} runs)")
        if firsts and others:
            a, b = statistics.median(firsts), statistics.median(others)
            print(f"compared checkout {args.compare}: first rows {b:.2f} s; this one takes {a / b:.2f} x its time")
        if firsts and stored:
            a, b = statistics.median(stored), statistics.median(firsts)
            print(f"with the {args.store_hours:g} h store: first rows {a:.2f} s, {a / b:.2f} x the time without;"
                  f" past loaded in {loaded} of {args.runs} runs"
                  + (f", on screen after {statistics.median(pasts):.2f} s (median)" if pasts else ""))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if store is not None:
            store.close()
        if store_dir:
            shutil.rmtree(store_dir, ignore_errors=True)
        kill(pids)
        delete_namespaces(names)
        shutil.rmtree(_PYCACHE, ignore_errors=True)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count(PREFIX)
    if left:
        print(f"warning: {left} namespaces left behind", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
