#!/usr/bin/env python3
"""Time from starting ``synscope`` to its first frame with rows on a real terminal.

    sudo python bench/bench_first_frame.py [-n 1000] [--runs 3] [--size 200x60] [--with-processes]
                                           [--compare DIR]

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

PREFIX = "sbff-"
_PYCACHE = tempfile.mkdtemp(prefix="synscope-bench-pycache-")
# the children's environment: bytecode cached as an installed package has it (see above)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV["PYTHONPYCACHEPREFIX"] = _PYCACHE
TITLE = re.compile(rb"namespaces (\d+) / (\d+)")


def imports_alone() -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "import tui.app"], cwd=ROOT, check=True, env=CHILD_ENV)
    return time.monotonic() - t0


def run_once(n: int, size: tuple[int, int], timeout: float, code: Path = ROOT) -> tuple[float | None, float | None]:
    """(seconds from spawning synscope to its first frame with the N namespaces, seconds from
    ``q`` to its exit); None for what did not happen."""
    master, slave = os.openpty()
    cols, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**CHILD_ENV, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
    t0 = time.monotonic()
    # `python -m tui` from the checkout's directory: its own tui package comes first on sys.path
    proc = subprocess.Popen([sys.executable, "-m", "tui"], cwd=code, stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    first = None
    seen = b""
    try:
        deadline = t0 + timeout
        while time.monotonic() < deadline and first is None:
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
            if any(int(m.group(2)) >= n for m in TITLE.finditer(seen)):
                first = now
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
    return first, quit_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000, help="namespaces to create (default 1000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", default="200x60")
    ap.add_argument("--with-processes", action="store_true", help="one sleeping process in each namespace")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--compare", type=Path, metavar="DIR", help="another checkout to start in every run, interleaved")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (ip netns add)", file=sys.stderr)
        return 2
    size = tuple(int(x) for x in args.size.split("x"))
    names: list[str] = []
    pids: list[int] = []
    try:
        names = make_namespaces(PREFIX, args.n)
        if args.with_processes:
            pids = park_processes(names)
        kind = "with a process each" if args.with_processes else "pid-less"
        print(f"{args.n} namespaces ({kind}), terminal {args.size}, {args.runs} runs")
        run_once(args.n, size, args.timeout)  # type: ignore[arg-type]  # not measured: writes the bytecode
        if args.compare:
            run_once(args.n, size, args.timeout, args.compare)  # type: ignore[arg-type]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        firsts, floors, others = [], [], []
        for r in range(args.runs):
            first, quit_s = run_once(args.n, size, args.timeout)  # type: ignore[arg-type]
            floor = imports_alone()
            floors.append(floor)
            line = (f"  run {r + 1}: first rows " + ("never (timeout)" if first is None else f"{first:.2f} s")
                    + f", imports alone {floor:.2f} s, quit "
                    + ("did NOT exit within 5 s: killed" if quit_s is None else f"{quit_s:.2f} s"))
            if first is not None:
                firsts.append(first)
            if args.compare:
                other, _ = run_once(args.n, size, args.timeout, args.compare)  # type: ignore[arg-type]
                line += ", compared checkout: " + ("never" if other is None else f"{other:.2f} s")
                if other is not None:
                    others.append(other)
            print(line)
        if firsts:
            print(f"median: first rows {statistics.median(firsts):.2f} s, imports alone {statistics.median(floors):.2f} s"
                  f" (of {len(firsts)} runs)")
        if firsts and others:
            a, b = statistics.median(firsts), statistics.median(others)
            print(f"compared checkout {args.compare}: first rows {b:.2f} s; this one takes {a / b:.2f} x its time")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        kill(pids)
        delete_namespaces(names)
        shutil.rmtree(_PYCACHE, ignore_errors=True)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.count(PREFIX)
    if left:
        print(f"warning: {left} namespaces left behind", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
