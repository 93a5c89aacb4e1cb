"""SIGTERM and SIGHUP give the terminal back, as `q` does.

The real TUI runs on a real terminal: a tmux pane on a tmux server of the test's own
(``tmux -L``, never the user's), with an interactive shell in it. The test kills the TUI
by its pid and reads tmux's own view of the pane: the alternate screen, the cursor and
mouse tracking must be back to normal, and the shell's next command must work. Before,
Python's default action killed the TUI on the spot and left the pane in the alternate
screen with the cursor hidden and mouse tracking on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from nethelpers import require, require_root, wait_for

REPO = Path(__file__).resolve().parents[1]
FLAGS = "#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{mouse_button_flag} #{mouse_all_flag} #{mouse_sgr_flag}"
NORMAL = "0 1 0 0 0 0"  # normal screen, cursor shown, no mouse tracking of any kind


class Tmux:
    """A private tmux server with one 120x30 pane running an interactive bash."""

    def __init__(self) -> None:
        self.socket = f"synscope-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.run("new-session", "-d", "-s", "t", "-x", "120", "-y", "30", "-c", str(REPO), "bash --norc --noprofile -i")

    def run(self, *args: str) -> str:
        r = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def flags(self) -> str:
        return self.run("display-message", "-p", "-t", "t", FLAGS).strip()

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def type(self, line: str) -> None:
        self.run("send-keys", "-t", "t", "-l", line)
        self.run("send-keys", "-t", "t", "Enter")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_restores_the_terminal_like_q(sig):
    require_root()  # the live TUI on this node, as an on-call engineer runs it
    require("tmux", shutil.which("tmux") is not None)
    tmp = Path(tempfile.mkdtemp(prefix="synscope-tty-"))
    pidfile = tmp / "pid"
    tmux = Tmux()
    pid = 0
    try:
        # sh writes its pid, then exec's the TUI in its place: that pid is the TUI's
        tmux.type(f"sh -c 'echo $$ > {pidfile}; exec \"$0\" -m tui --interval 0.5' {sys.executable}; echo EXIT=$?")
        assert wait_for(pidfile.exists, timeout=20), tmux.screen()
        pid = int(pidfile.read_text())
        assert wait_for(lambda: "namespaces" in tmux.screen() and "sample" in tmux.screen(), timeout=30), tmux.screen()
        on_screen = tmux.flags()
        assert on_screen.split()[:3] == ["1", "0", "1"], on_screen  # what the TUI does to the terminal

        os.kill(pid, sig)
        assert wait_for(lambda: not _alive(pid), timeout=20), f"the TUI ignored {sig.name}"
        assert wait_for(lambda: f"EXIT={128 + sig}" in tmux.screen(), timeout=10), tmux.screen()
        assert tmux.flags() == NORMAL, (tmux.flags(), tmux.screen())
        token = uuid.uuid4().hex[:8]
        tmux.type(f"echo shell-works-{token}")
        assert wait_for(lambda: f"\nshell-works-{token}" in tmux.screen(), timeout=10), tmux.screen()
        assert "Traceback" not in tmux.screen()
    finally:
        tmux.close()
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
