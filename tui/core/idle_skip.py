"""The sampler's idle skip (opt-in; the recorder uses it): a namespace whose interfaces moved
no packet since the last full read is not read in full.

A full read is ``netstat`` and ``snmp`` (4 KB and 1.5 KB of text to read and compare);
``/proc/PID/net/dev`` is one small file (~20 µs). If its bytes, every interface's packet and
byte counts (``lo`` too), are those of the last full read, no TCP segment and no IP packet
left or entered the namespace, so almost every counter is where it was, and the tick is
recorded as "nothing moved" without reading the rest.

What can move without a packet, and so lags by at most ``full_every`` seconds (a full read is
made at least that often, and its deltas carry everything that moved meanwhile, so totals
stay the kernel's): counters bumped by timers alone (``TcpExt.TW``, ``TWKilled``,
``TCPAbortOnTimeout``, ``TCPAbortOnClose`` and ``TCPAbortOnLinger`` when the socket is gone
quietly), memory-pressure counters (``PruneCalled``, ``TCPMemoryPressures``…), the gauge
``Tcp.CurrEstab`` when a connection ends without a segment, and the conntrack statistics
(``Conntrack.entries`` falls as entries expire). Only namespaces read through a process are
skipped; pid-less ones (read by setns) are always read in full.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["FULL_READ_EVERY", "IdleSkip"]

FULL_READ_EVERY = 10.0  # seconds: the longest a counter that moves without a packet can lag


class IdleSkip:
    """Per namespace: the ``net/dev`` bytes of its last full read, and when that was."""

    def __init__(self, full_every: float = FULL_READ_EVERY) -> None:
        self.full_every = full_every
        self._last: dict[int, tuple[bytes, float]] = {}
        self.skipped = 0  # ticks skipped since start (for the benchmark and tests)

    def unchanged(self, inode: int, dir_fd: int, t: float, read: Callable[[str, int], bytes]) -> bool:
        """True: skip the full read of this namespace now. False: read it in full (its
        ``net/dev`` is remembered as of this tick). ``read`` is the sampler's raw read."""
        try:
            dev = read("net/dev", dir_fd)
        except OSError:
            self._last.pop(inode, None)
            return False  # the full read finds out what happened
        last = self._last.get(inode)
        if last is not None and last[0] == dev and t - last[1] < self.full_every:
            self.skipped += 1
            return True
        self._last[inode] = (dev, t)
        return False

    def last_full_read(self, inode: int) -> float | None:
        """When this namespace was last read in full (its tick's time), if it is tracked."""
        last = self._last.get(inode)
        return last[1] if last is not None else None

    def forget(self, inode: int) -> None:
        self._last.pop(inode, None)

    def retain(self, inodes: set[int]) -> None:
        for inode in [i for i in self._last if i not in inodes]:
            del self._last[inode]
