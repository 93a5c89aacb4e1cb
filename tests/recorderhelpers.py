"""Running ``synscope record`` as a user runs it (a subprocess), and waiting on its store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from nethelpers import wait_for

from tui.core.store.reader import Store

ROOT = Path(__file__).resolve().parents[1]


def start_recorder(directory: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``synscope record --dir DIRECTORY ARGS`` in a session of its own (killed by its pid)."""
    return subprocess.Popen([sys.executable, "-m", "tui", "record", "--dir", directory, *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[str, str]:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    out, err = proc.communicate(timeout=timeout)
    return out, err


def store_ticks(directory: str) -> int:
    """How many ticks the store holds now (0 while there is none)."""
    try:
        s = Store(directory)
    except Exception:
        return 0
    try:
        span = s.span()
        if span is None:
            return 0
        last = s.tick_at(span[1])
        first = s.tick_at(span[0])
        return 0 if last is None or first is None else last[0] - first[0] + 1
    finally:
        s.close()


def wait_ticks(directory: str, n: int, timeout: float = 30) -> int:
    got = wait_for(lambda: store_ticks(directory) >= n and store_ticks(directory), timeout=timeout, interval=0.2)
    assert got, f"the store in {directory} has fewer than {n} ticks after {timeout} s"
    return got


def kernel_value(pid: int, key: str) -> int:
    """A counter as the kernel has it now, from /proc/PID/net/netstat or snmp."""
    from tui.core.counters import parse_proc_net

    for f in ("netstat", "snmp"):
        with open(f"/proc/{pid}/net/{f}", "rb") as fh:
            values = parse_proc_net(fh.read())
        if key in values:
            return values[key]
    raise KeyError(key)
