"""How a headless command that runs until stopped (``capture``, ``capture --when``) stops.

SIGTERM (kill, a service manager) and SIGHUP (the SSH session dropped) set an event the
command's loop watches, so it stops tcpdump cleanly and flushes its files, as Ctrl+C does;
Python's default for both is to die on the spot and leave a half-written pcap. The command
exits 128 + the first signal's number, as a shell reports a command a signal ended.
"""

from __future__ import annotations

import signal
import threading
from types import TracebackType

__all__ = ["SignalStop"]

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class SignalStop:
    """``with SignalStop() as stop``: ``stop.event`` is set by SIGTERM or SIGHUP; the
    handlers that were there before come back at the end of the block."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.caught: list[int] = []
        self._old: dict[int, object] = {}

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.caught.append(signum)
        self.event.set()

    def interrupted(self) -> None:
        """Ctrl+C reached the loop as KeyboardInterrupt: count it as a signal too."""
        self.caught.append(signal.SIGINT)

    def exit_code(self) -> int | None:
        """128 + the first signal's number, or None when no signal stopped the command."""
        return 128 + self.caught[0] if self.caught else None

    def __enter__(self) -> SignalStop:
        self._old = {s: signal.signal(s, self._on_signal) for s in _SIGNALS}
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)  # type: ignore[arg-type]
