"""Starting tcpdump inside a namespace: the exec shim that enters it, finding tcpdump, checks.

The shim (:data:`_SHIM`, run as ``python -I -S -c``) gets an fd opened and checked by
:func:`open_ns_fd`, sets ``PR_SET_PDEATHSIG``, checks its parent is still synscope,
``setns()``-es into the fd and ``exec``-s tcpdump, which takes over its pid. No shell: the
filter is one argv element after ``--``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading

from .. import netns
from ..namespaces import NetNS
from ..netns import NamespaceGone
from .errors import CaptureError, FilterError, TcpdumpMissing

__all__ = [
    "INSTALL_HINT",
    "check_filter",
    "check_interface",
    "find_tcpdump",
    "interactive_argv",
    "open_ns_fd",
    "preflight",
    "require_root",
    "run_interactive",
    "shim_argv",
]

INSTALL_HINT = "install it with: apt-get install tcpdump (Debian/Ubuntu) or dnf install tcpdump (RHEL/Fedora)"


# Run as `python -I -S -c _SHIM PPID FD EXE ARGV0 ARGS...`. Python's own startup ignores
# SIGPIPE and SIGXFSZ and an ignored signal stays ignored across exec: restore them.
_SHIM = r"""
import ctypes, os, signal, sys
def die(msg, code):
    os.write(2, ("synscope: " + msg + "\n").encode())
    os._exit(code)
ppid, fd, exe = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
    die("prctl(PR_SET_PDEATHSIG) failed: " + os.strerror(ctypes.get_errno()), 126)
if os.getppid() != ppid:
    os._exit(125)  # synscope died before we got here: do not start an orphan
if fd >= 0:
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        die("cannot enter the network namespace: " + os.strerror(ctypes.get_errno()), 126)
    os.close(fd)
for s in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(s, signal.SIG_DFL)
try:
    os.execv(exe, sys.argv[4:])
except OSError as e:
    die("cannot run " + exe + ": " + e.strerror, 127)
"""


def shim_argv(ns_fd: int, exe: str, argv: list[str]) -> list[str]:
    """The argv that enters the namespace open at ``ns_fd`` and execs ``exe`` with ``argv``."""
    return [sys.executable, "-I", "-S", "-c", _SHIM, str(os.getpid()), str(ns_fd), exe, *argv]


def open_ns_fd(ns: NetNS) -> int:
    """Open ``ns``'s nsfs file, verified by inode (:func:`tui.core.netns.open_ns_fd`), for the
    shim to enter. Raises :class:`CaptureError`; the caller closes the fd."""
    try:
        return netns.open_ns_fd(ns)
    except NamespaceGone as exc:
        raise CaptureError(str(exc)) from None


_SBIN = ":/usr/sbin:/sbin:/usr/local/sbin"


def find_tcpdump() -> str:
    """tcpdump's path (also looked for in the sbin directories a sudo PATH may lack)."""
    path = os.environ.get("PATH", "") + _SBIN
    exe = shutil.which("tcpdump", path=path)
    if exe is None:
        raise TcpdumpMissing(f"tcpdump is not installed: {INSTALL_HINT}")
    return exe


def require_root() -> None:
    if os.geteuid() != 0:
        raise CaptureError("capturing needs root (entering a namespace, raw sockets): run synscope with sudo")


def check_interface(interface: str) -> str:
    iface = interface.strip() or "any"
    if iface.startswith("-") or any(c.isspace() for c in iface) or len(iface) > 15:
        raise CaptureError(f"not an interface name: {interface!r}")
    return iface


def preflight(ns: NetNS) -> str:
    """Everything but the filter checked up front (root, tcpdump, the namespace); tcpdump's path."""
    require_root()
    exe = find_tcpdump()
    os.close(open_ns_fd(ns))
    return exe


def check_filter(ns: NetNS, filter_text: str, interface: str = "any", timeout: float = 20.0) -> None:
    """Compile the filter with ``tcpdump -d`` inside ``ns``; raise FilterError with tcpdump's words."""
    require_root()
    exe = find_tcpdump()
    iface = check_interface(interface)
    fd = open_ns_fd(ns)
    try:
        r = subprocess.run(
            shim_argv(fd, exe, ["tcpdump", "-d", "-i", iface, "--", filter_text]),
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        raise CaptureError(f"tcpdump -d did not answer within {timeout:g} s") from None
    finally:
        os.close(fd)
    if r.returncode != 0:
        # "tcpdump: data link type LINUX_SLL2" is chatter; keep the lines that say what is wrong
        lines = [ln.strip() for ln in r.stderr.splitlines() if ln.strip() and "data link type" not in ln]
        msg = "\n".join(ln.removeprefix("tcpdump: ") for ln in lines) or f"tcpdump -d exited with status {r.returncode}"
        raise FilterError(filter_text, msg)


def interactive_argv(ns_fd: int, filter_text: str, interface: str = "any") -> list[str]:
    exe = find_tcpdump()
    args = ["tcpdump", "-i", check_interface(interface), "-nn", "-l", "-Z", "root"]
    if filter_text.strip():
        args += ["--", filter_text]
    return shim_argv(ns_fd, exe, args)


def run_interactive(ns: NetNS, filter_text: str, interface: str = "any") -> int:
    """tcpdump in ``ns`` on this terminal until Ctrl+C; returns its exit status.

    tcpdump stays in our process group, the terminal's foreground, so Ctrl+C reaches it;
    we ignore SIGINT meanwhile (main thread only) so that same Ctrl+C does not end us.
    """
    require_root()
    fd = open_ns_fd(ns)
    try:
        argv = interactive_argv(fd, filter_text, interface)
        main = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            return subprocess.run(argv, pass_fds=(fd,)).returncode
        finally:
            if main:
                signal.signal(signal.SIGINT, old)
    finally:
        os.close(fd)
