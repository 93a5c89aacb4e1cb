"""Replay: the TUI on a recorded store or recording file, behind the DataSource interface.

`synscope replay [STORE|FILE] [--at WHEN]` runs the same App on this source. Each
``tick()`` shows one recorded moment (a :class:`tui.core.store.reader.Moment`); the replay
keys move that moment (:meth:`ReplaySource.step`, :meth:`jump`, :meth:`go_to`,
:meth:`play`) by setting where to go next, cheaply, on the UI thread; the move itself (the
store's reads) happens in the next ``tick()``, which the App runs in its sampling worker. A
step forward appends one tick to the histories (:meth:`Store.advance`); any other move
rebuilds them at the new moment (:meth:`Store.history_at`).

Playing at 1x/10x/60x: each of the App's ticks (one interval) moves 1, 10 or 60 recorded
ticks. Paused, a tick shows the same moment again (the title and the status still update).

What replay cannot do, and says: capture (tcpdump needs the live namespace, and the one
recorded may be gone) and apply (a sysctl written now would not change the past). The
sysctl preview runs the real rules (:func:`tui.core.rules.diagnose`) on the recorded deltas
and the recorded sysctls; listening sockets are not recorded.

No textual import here (like :mod:`tui.source`): this runs in the App's worker thread.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from tui.core.history import NsHistory
from tui.core.namespaces import NetNS
from tui.core.store.reader import Moment, Store
from tui.source import Frame, NsDetail, build_detail, summarize

if TYPE_CHECKING:
    from tui.core.bundle import CounterWindow
    from tui.core.rules import Diagnosis
    from tui.core.sockets import SocketsSummary

__all__ = ["CAPTURE_OFF", "APPLY_OFF", "SPEEDS", "ReplaySource"]

SPEEDS = (1, 10, 60)  # recorded ticks per interval while playing
CAPTURE_OFF = "capture is off in replay: these namespaces are recorded, tcpdump needs the live one (run synscope)"
APPLY_OFF = "apply is off in replay: the sysctls are recorded, and writing one now would not change the past"
# keys a non-host namespace shows but cannot set on the kernels the recorder reads (read-only
# there, or absent): the recorder keeps the values, not whether they were writable
_GLOBAL_KEYS = frozenset({"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets",
                          "net.core.netdev_max_backlog", "net.core.rmem_max", "net.core.wmem_max"})


class ReplaySource:
    """A store or recording file, shown one recorded moment at a time."""

    scripted = False
    replay = True  # the App and the main screen turn capture and apply off, and show the replay keys
    capture_off = CAPTURE_OFF  # what the capture keys say instead
    apply_off = APPLY_OFF  # what the sysctl preview's apply says instead

    def __init__(self, store: Store | str, at: float | None = None, *, capacity: int = 900, utc: bool = False) -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        span = self.store.span()
        if span is None:
            raise ValueError(f"{self.store.path}: the recording holds no tick yet")
        self.span = span
        self.interval = float(self.store.meta.get("interval", 1.0))
        self.host = self.store.meta.get("host", "")
        self.capacity = capacity
        self._clock = time.gmtime if utc else time.localtime  # utc: the same on every machine (snapshots)
        self._lock = threading.Lock()  # the moment: held while the worker reads the store
        self._moves = threading.Lock()  # where to go next: the keys take only this one, never waiting on a read
        self._seq = 0
        self.playing = False
        self.speed = SPEEDS[0]
        self.clamped = ""  # the last move went past an end: what the status says
        start = span[1] if at is None else at
        self.moment: Moment = self._rebuild(start)
        self._target: tuple[str, float] | None = None  # the next move: ("step", n) | ("jump", s) | ("at", t)

    # -- moving in time (UI thread: cheap, the store is read in the next tick) --------------------
    def step(self, n: int) -> None:
        """One recorded tick forward (n > 0) or back (n < 0)."""
        with self._moves:
            self.playing = False
            self._target = ("step", float(n))

    def jump(self, seconds: float) -> None:
        with self._moves:
            self.playing = False
            self._target = ("at", self._pending_time() + seconds)

    def go_to(self, t: float) -> None:
        with self._moves:
            self.playing = False
            self._target = ("at", t)

    def play(self, speed: int | None = None) -> None:
        """Play at ``speed`` (1, 10 or 60); without one: pause if playing, else play at the last speed."""
        with self._moves:
            if speed is None:
                self.playing = not self.playing
            else:
                self.speed, self.playing = speed, True

    def next_speed(self) -> int:
        """The speed after this one (1x -> 10x -> 60x -> 1x); playing at it."""
        with self._moves:
            self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)] if self.speed in SPEEDS else SPEEDS[0]
            self.playing = True
            return self.speed

    def _pending_time(self) -> float:
        if self._target is not None and self._target[0] == "at":
            return self._target[1]
        return self.moment.time

    # -- the store's reads (the App's worker thread) ------------------------------------------------
    def _rebuild(self, t: float) -> Moment:
        first, last = self.span
        self.clamped = ""
        if t < first:
            self.clamped, t = "the recording starts here", first
        elif t > last:
            self.clamped, t = "the recording ends here", last
        return self.store.history_at(t, self.capacity)

    def _forward(self, n: int) -> None:
        for _ in range(n):
            nxt = self.store.advance(self.moment)
            if nxt is None:
                self.clamped, self.playing = "the recording ends here", False
                return
            self.moment = nxt
        self.clamped = ""

    def _move(self) -> None:
        with self._moves:
            target, self._target = self._target, None
            playing, speed = self.playing, self.speed
        if target is not None:
            kind, value = target
            if kind == "step" and value > 0:
                self._forward(int(value))
            elif kind == "step":
                found = self.moment.tick
                t = self.moment.time
                for _ in range(int(-value)):
                    got = self.store.tick_at(t - 1e-6)
                    if got is None or got[0] >= found:
                        break
                    found, t = got
                if found == self.moment.tick:
                    self.clamped = "the recording starts here"
                else:
                    self.moment = self._rebuild(t)
            else:
                self.moment = self._rebuild(value)
        elif playing:
            self._forward(speed)

    def tick(self) -> Frame:
        with self._lock:
            self._move()
            m = self.moment
            summaries = {ns.inode: summarize(ns.inode, m.history.get(ns.inode)) for ns in m.namespaces}
            self._seq += 1
            notes = tuple(m.notes) + tuple(self.store.notes)
            return Frame(m.time, list(m.namespaces), summaries, tuple(m.statuses), notes, True, 0.0, 0.0, self._seq)

    # -- what the screen shows -----------------------------------------------------------------
    def title(self) -> str:
        """The title's replay part: the replayed wall-clock time and the play state."""
        state = f"playing {self.speed}x" if self.playing else "paused"
        day = time.strftime("%Y-%m-%d", self._clock(self.moment.time))
        return f"REPLAY {day} {self.clock(self.moment.time)} · {state}"

    def position(self) -> str:
        """Where in the recording (the status line): its span and, at an end, that it is one."""
        first, last = self.span
        where = f"recorded {self.clock(first)}..{self.clock(last)}"
        return f"{where} · {self.clamped}" if self.clamped else where

    def now(self) -> float:
        return self.moment.time

    def clock(self, t: float) -> str:
        return time.strftime("%H:%M:%S", self._clock(t))

    def history(self, inode: int) -> NsHistory | None:
        return self.moment.history.get(inode)

    def values(self, inode: int) -> dict[str, int]:
        with self._lock:
            h = self.moment.history.get(inode)
            return h.values() if h else {}

    def detail(self, inode: int, *, all_counters: bool = False, baseline=None, chart_key: str | None = None) -> NsDetail | None:  # type: ignore[no-untyped-def]
        with self._lock:
            h = self.moment.history.get(inode)
            if h is None:
                return None
            return build_detail(inode, h, interval=self.interval, all_counters=all_counters, baseline=baseline,
                                chart_key=chart_key)

    def counter_window(self, inode: int, seconds: float) -> CounterWindow | None:
        from tui.core.bundle import counter_window

        with self._lock:
            h = self.moment.history.get(inode)
            return counter_window(h, seconds, f"the recording {self.store.path}") if h else None

    def diagnose(self, ns: NetNS, n: int | None = None) -> Diagnosis:
        """The real rules on the recorded deltas and the recorded sysctls (no socket is recorded)."""
        from tui.core.rules import Diagnosis, deltas_from_history, diagnose
        from tui.core.sysctl import SysctlState

        with self._lock:
            m = self.moment
            h = m.history.get(ns.inode)
            when = self.clock(m.time)
            if h is None or h.ticks == 0:
                return Diagnosis(ns, (), None, None, None, {}, (f"recorded: no deltas at {when}",))
            deltas, window = deltas_from_history(h, n)
            kernel_keys = list(h.values())
            rns = m.recorded.get(ns.inode)
            values = self.store.sysctls_at(rns, m.time) if rns is not None else {}
            host = next((r for r in m.recorded.values() if r.netns.kind == "host"), None)
            host_values = self.store.sysctls_at(host, m.time) if host is not None else {}
        notes = [f"recorded: the deltas of the {window or 0:.0f} s before {when} and the sysctls as the recorder "
                 "read them, not this node's now; listening sockets are not recorded"]
        state = None
        if values:
            is_host = ns.kind == "host"
            writable = frozenset(values) if is_host else frozenset(k for k in values if k not in _GLOBAL_KEYS)
            state = SysctlState(ns.inode, is_host, values, writable, host_values or values, kernel="(the recorder's)")
        else:
            notes.append("no sysctls recorded for this namespace")
        findings = diagnose(deltas, state, None, window=window, kernel_keys=kernel_keys)
        return Diagnosis(ns, tuple(findings), state, None, window, deltas, tuple(notes))

    def sockets(self, ns: NetNS) -> SocketsSummary:
        """Sockets are not recorded: the sockets pane (l) says so instead of reading the live node."""
        from tui.core.netns import NamespaceGone

        raise NamespaceGone("sockets are not recorded (replay has the counters, names and sysctls); "
                            "run synscope for the live ones")

    def close(self) -> None:
        self.store.close()
