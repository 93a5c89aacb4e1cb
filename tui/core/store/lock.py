"""One recorder per store directory: an exclusive ``flock`` on ``DIR/recorder.lock``.

The kernel drops the lock when the process dies (SIGKILL, power loss), so a stale file never
blocks a new recorder; the file keeps the holder's pid only to name it in the message.
"""

from __future__ import annotations

import fcntl
import os

__all__ = ["LOCK_NAME", "RecorderLock", "StoreLocked"]

LOCK_NAME = "recorder.lock"


class StoreLocked(RuntimeError):
    """Another recorder holds the directory."""


class RecorderLock:
    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, LOCK_NAME)
        self.fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLocked(f"another recorder (pid {holder}) is writing to {os.path.dirname(self.path) or '.'}: "
                              "one store has one recorder; stop that one first (systemctl stop synscope-record), "
                              "or give this one another --dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1

    def __enter__(self) -> RecorderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
