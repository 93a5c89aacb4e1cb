"""The sockets view's reads: the selected namespace's sockets, every tick while the pane is open.

The main screen owns the pane; this keeps the view's state (open or not, the read in flight,
the namespace asked for next) so that tui/screens/main.py only forwards its ticks, selections
and the key. Reads run in a Textual thread worker (``source.sockets`` enters the namespace on the
sampler's setns thread, a few ms for thousands of sockets), one at a time: a request for
another namespace that comes while one runs waits as the only pending one, and one for the
namespace being read is that read, so a slow namespace never piles up threads. Results come back as a message, and one for a namespace no longer selected, or
arriving after the pane closed, is dropped. Closing the pane ends the requests: nothing is
read while it is closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from tui.core.namespaces import NetNS
from tui.core.netns import NamespaceGone

if TYPE_CHECKING:
    from textual.worker import Worker

    from tui.screens.main import MainScreen

    from tui.core.sockets import SocketsSummary

__all__ = ["SocketsRead", "SocketsView"]


class SocketsRead(Message):
    """One read finished: the summary, or the line that says why there is none."""

    def __init__(self, ns: NetNS, summary: SocketsSummary | None, error: str) -> None:
        super().__init__()
        self.ns, self.summary, self.error = ns, summary, error


class SocketsView:
    def __init__(self, owner: MainScreen) -> None:
        self.owner = owner  # runs the read's worker, gets its message, has the data source
        self.open = False
        self.reads = 0  # reads started (tests and the benchmark count them)
        self._worker: Worker | None = None
        self._pending: NetNS | None = None
        self._reading: NetNS | None = None  # the namespace of the read in flight
        self._shown: NetNS | None = None  # the namespace whose sockets the pane shows

    @property
    def busy(self) -> bool:
        return self._worker is not None and not self._worker.is_finished

    def close(self) -> None:
        self.open = False
        self._pending = None
        self._shown = None

    def request(self, ns: NetNS | None, present: set[int] | None = None) -> str:
        """Read ns's sockets now (or as soon as the read in flight ends).

        Returns the line to show instead when there is nothing to read: no namespace selected,
        or the one shown vanished from the node (``present``: the inodes of the latest frame).
        """
        if not self.open:
            return ""
        if ns is None:
            gone = self._shown
            self._pending = None
            if gone is not None and present is not None and gone.inode not in present:
                return f"{gone.name} ({gone.label}) vanished: its namespace is no longer on the node"
            return "no namespace selected"
        if self.busy and self._reading is not None and self._reading.inode == ns.inode:
            # that read is still running: its answer is this one (a tick and the selection
            # it moved ask twice; a read slower than a tick is skipped, never queued)
            self._pending = None
            return ""
        self._pending = ns
        if not self.busy:
            self._start()
        return ""

    def _start(self) -> None:
        ns, self._pending = self._pending, None
        if ns is None:
            return
        self.reads += 1
        self._reading = ns
        self._worker = self.owner.run_worker(lambda: self._read(ns), thread=True, exit_on_error=False,
                                           group="sockets", name=f"sockets {ns.label}")

    def _read(self, ns: NetNS) -> None:  # in the worker thread: only posts a message
        try:
            summary = self.owner.source.sockets(ns)  # type: ignore[attr-defined]
        except NamespaceGone as exc:
            self.owner.post_message(SocketsRead(ns, None, f"cannot read its sockets: {exc}"))
        except OSError as exc:
            why = exc.strerror or str(exc)
            hint = " (run as root)" if isinstance(exc, PermissionError) else ""
            self.owner.post_message(SocketsRead(ns, None, f"sock_diag refused: {why}{hint}"))
        except Exception as exc:  # a bug must show as a line, never kill the app
            self.owner.post_message(SocketsRead(ns, None, f"reading sockets failed: {type(exc).__name__}: {exc}"))
        else:
            self.owner.post_message(SocketsRead(ns, summary, ""))

    def finished(self, msg: SocketsRead, selected: int | None) -> bool:
        """A read came back: True when the pane should show it (open, and ns still selected).
        Starts the pending read, if any."""
        if self.open and self._pending is not None:
            self._start()
        if not self.open or msg.ns.inode != selected:
            return False
        self._shown = msg.ns
        return True
