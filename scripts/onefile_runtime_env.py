"""PyInstaller runtime hook of dist/synscope: runs before synscope's own code.

The onefile bootloader puts its unpacked runtime first in LD_LIBRARY_PATH (keeping the
caller's value, if any, in LD_LIBRARY_PATH_ORIG). The programs synscope starts -- the node's
tcpdump, ip, git -- must load the node's own libraries, not the bundle's: a tcpdump built
against the node's OpenSSL can fail to start against the bundle's. The dynamic loader read
the variable when this process started, so restoring it here changes nothing for synscope
itself, only for its children. (A copy that the program starts of itself reuses the unpacked
runtime and gets no such entry: then there is nothing to undo.)
"""

import os
import sys

_orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
if _orig is not None:
    os.environ["LD_LIBRARY_PATH"] = _orig
else:
    _home = getattr(sys, "_MEIPASS", None)
    _parts = os.environ.get("LD_LIBRARY_PATH", "").split(":")
    if _home and _home in _parts:
        _rest = [p for p in _parts if p and p != _home]
        if _rest:
            os.environ["LD_LIBRARY_PATH"] = ":".join(_rest)
        else:
            del os.environ["LD_LIBRARY_PATH"]

# Ctrl+C at a terminal sends SIGINT to the whole foreground process group: to the bootloader
# and to this process. The bootloader forwards its copy here, so one Ctrl+C arrives twice and
# the second KeyboardInterrupt lands in the middle of the cleanup the first one started
# (capture lost its summary that way). Count signals that arrive within a quarter second of
# each other as one. A signal sent to the bootloader alone (docker stop, kill PID) still
# arrives exactly once: forwarded.
import signal  # noqa: E402
import time  # noqa: E402

if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    _last_sigint = float("-inf")

    def _one_sigint_per_ctrl_c(signum, frame):  # type: ignore[no-untyped-def]
        global _last_sigint
        now = time.monotonic()
        if now - _last_sigint < 0.25:
            return
        _last_sigint = now
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, _one_sigint_per_ctrl_c)
