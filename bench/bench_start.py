"""Start to first frame: the single-file executable against the venv install, as a ratio.

    sudo python bench/bench_start.py [--runs 15] [--size 80x24]
        [--venv .venv/bin/synscope] [--onefile dist/synscope]

Each run starts the TUI on a pseudo-terminal of the given size, with a scrubbed environment
(PATH and TERM only) and from /, as on a node, and times it from the exec to the first frame
that shows a sample (the status line's "sample N s ago": the namespaces are on screen), then
sends q and waits for the exit. The two forms alternate run by run, so drift on a shared
machine hits both alike; medians are compared, and minimums (the runs least disturbed by
other work on the machine). The onefile form unpacks its runtime into $TMPDIR at every
start: that is part of what is measured. Target: onefile <= 1.5 x venv.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import termios
import time

FIRST_FRAME = re.compile(rb"sample [0-9.]+ ?m?s ago")
ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>78]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")


def one_start(exe: str, cols: int, rows: int, timeout: float = 30.0) -> tuple[float, float]:
    """(seconds to the first frame, seconds from q to the exit) of one TUI start."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "xterm-256color"}
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of the asked size, then synscope
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.chdir("/")
        os.execve(exe, [exe], env)
    screen = b""
    first = quit_time = None
    try:
        deadline = t0 + timeout
        while first is None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{exe}: no first frame within {timeout:g} s; screen so far: {ESCAPES.sub(b'', screen)[-300:]!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise RuntimeError(f"{exe} exited before its first frame: {ESCAPES.sub(b'', screen)[-300:]!r}")
                screen += chunk
                if FIRST_FRAME.search(ESCAPES.sub(b"", screen[-8192:])):
                    first = time.perf_counter() - t0
        t1 = time.perf_counter()
        os.write(fd, b"q")
        while True:  # drain the pty until the exit closes it (a full pty would block the app)
            ready, _, _ = select.select([fd], [], [], max(0.0, t1 + timeout - time.perf_counter()))
            if not ready:
                raise TimeoutError(f"{exe}: did not quit within {timeout:g} s of q")
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:
                break
        os.waitpid(pid, 0)
        pid = 0
        quit_time = time.perf_counter() - t1
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)  # the one we started
            os.waitpid(pid, 0)
        os.close(fd)
    return first, quit_time


def main() -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--venv", default=os.path.join(here, ".venv", "bin", "synscope"))
    ap.add_argument("--onefile", default=os.path.join(here, "dist", "synscope"))
    args = ap.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    forms = {"venv": os.path.abspath(args.venv), "onefile": os.path.abspath(args.onefile)}
    for exe in forms.values():
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"bench_start: {exe} is not an executable (build-onefile.sh? pip install?)")
    for exe in forms.values():
        one_start(exe, cols, rows)  # warm the page cache once each: every measured run is a warm start
    times: dict[str, list[float]] = {name: [] for name in forms}
    quits: dict[str, list[float]] = {name: [] for name in forms}
    for _ in range(args.runs):
        for name, exe in forms.items():
            first, quit_time = one_start(exe, cols, rows)
            times[name].append(first)
            quits[name].append(quit_time)
    size = os.path.getsize(forms["onefile"])
    print(f"start to first frame, {args.size}, {args.runs} runs each (alternating), warm page cache, as uid {os.geteuid()}")
    for name, exe in forms.items():
        t = times[name]
        print(f"  {name:8s} median {statistics.median(t) * 1000:6.0f} ms  (min {min(t) * 1000:.0f}, max {max(t) * 1000:.0f});"
              f"  q to exit {statistics.median(quits[name]) * 1000:.0f} ms   {exe}")
    ratio = statistics.median(times["onefile"]) / statistics.median(times["venv"])
    best = min(times["onefile"]) / min(times["venv"])
    print(f"  onefile / venv = {ratio:.2f} x medians, {best:.2f} x minimums  (target <= 1.5 x);"
          f"  onefile size {size / 1e6:.1f} MB (target <= 60 MB)")


if __name__ == "__main__":
    main()
