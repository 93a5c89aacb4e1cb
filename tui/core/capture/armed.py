"""An armed capture: tcpdump keeps the last seconds in memory; a counter's tick saves a window.

Design, and why:

* **One tcpdump, its pcap on a pipe.** tcpdump runs in the namespace as every capture does
  (the shim, ``PR_SET_PDEATHSIG``, the spawner thread; :mod:`.manager`), with ``-w - -U``:
  each packet reaches synscope's pipe in pcap's own record format, so the packets saved are
  tcpdump's bytes as it wrote them, never a re-encoding. Not ``--immediate-mode``: libpcap
  then uses a kernel ring of a few snaplen-sized frames, and a burst on loopback (20 SYNs,
  their SYN-ACKs and retransmits within microseconds) lost a quarter of its packets
  ("dropped by kernel"), at exactly the moment a window is for. Without it libpcap hands
  packets over in blocks, at most its 1 s timeout late, so a window's file is closed
  :data:`FLUSH_GRACE` after the window's end.
* **The pre-trigger ring is in memory, bounded twice**: by bytes (:attr:`Armed.ring_bound`,
  a share of the capture's limit, at most :data:`RING_MAX_BYTES`) and by time (the packets
  of the last ``before`` + :data:`RING_SLACK` seconds, by their pcap timestamps). Nothing
  touches the disk until a trigger: an hour armed on an idle namespace writes nothing, and a
  busy one cannot fill the disk while waiting. Why not tcpdump's own ``-C -W`` ring on disk:
  it rotates by size, not time, so "30 s before" would be whatever the files still hold,
  and cutting a window out of it means reading files tcpdump may be truncating.
* **The counters are checked on the caller's tick** (:meth:`Armed.observe`): the TUI's
  sampling tick, or the headless command's own tick of the one namespace. No extra reader,
  no extra process: an armed capture costs its tcpdump and a dictionary comparison a tick.
* **A trigger** is a tick whose values, against the tick before, fire the
  :class:`~.trigger.Trigger`. Its window is the packets whose timestamps lie in
  ``[tick - before, tick + after]``, where ``tick`` is the sample's own time (wall clock,
  as pcap timestamps are). Its file is created 0600 (``O_EXCL``) in the capture directory at
  once, filled with what the ring holds from ``tick - before``, then with packets as they
  come; it is closed :data:`FLUSH_GRACE` after ``tick + after`` (packets of the window's last
  moment are still on their way through the pipe), by the manager's watcher thread, which
  looks every :data:`SERVICE_EVERY` seconds.
* **Re-arming**: growth during a window is noted on it, not a new trigger; after the window
  is saved the next tick that fires starts the next one, up to ``max_triggers``; then the
  manager stops tcpdump.
* **Disk bound**: the ring's bound plus every kept window stay within the capture's limit
  (``file_mb`` × ``file_count``, as for a capture that starts now). A window whose next
  packet would pass it is cut there (its file keeps the whole packets written so far and
  says "cut at the disk bound"), and the capture ends: there is no room for another.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from .trigger import Trigger

__all__ = ["FLUSH_GRACE", "RING_MAX_BYTES", "RING_SLACK", "SERVICE_EVERY", "Armed", "TriggerWindow", "window_path"]

RING_MAX_BYTES = 16_000_000  # the most the pre-trigger ring holds in memory (pcap record bytes)
RING_SLACK = 5.0  # seconds kept beyond `before`: a trigger is seen a tick's work after its sample
FLUSH_GRACE = 1.3  # seconds after a window's end before its file is closed: libpcap's 1 s block timeout, and margin
SERVICE_EVERY = 0.1  # how often the watcher thread writes pending packets and closes windows
KEEP_EVENTS = 200

_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
          b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}


def window_path(base: str, number: int) -> str:
    """``/d/web-20260101-120000-3.pcap`` -> ``/d/web-20260101-120000-3-trigger1.pcap``."""
    stem, ext = os.path.splitext(base)
    return f"{stem}-trigger{number}{ext or '.pcap'}"


@dataclass(frozen=True)
class TriggerWindow:
    """One trigger and its saved window, as the list and the summary show it."""

    number: int
    fired_at: float  # the tick's sample time (wall clock) whose values fired the trigger
    deltas: dict[str, int]  # what fired it: counter -> growth in that one tick
    path: str
    start: float  # asked: fired_at - before
    end: float  # asked: fired_at + after
    state: str  # "collecting" | "saved" | "cut"
    packets: int
    bytes: int  # the file's size
    first_ts: float | None  # the first and last packet's timestamps in the file
    last_ts: float | None
    saved_at: float | None  # wall clock when the file was closed
    more: dict[str, int] = field(default_factory=dict)  # growth seen while the window was open
    note: str = ""  # why it starts later than asked, why it was cut


class _Window:
    def __init__(self, number: int, fired_at: float, deltas: dict[str, int], path: str, before: float, after: float) -> None:
        self.number = number
        self.fired_at = fired_at
        self.deltas = deltas
        self.path = path
        self.start = fired_at - before
        self.end = fired_at + after
        self.state = "collecting"
        self.packets = 0
        self.bytes = 0
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.saved_at: float | None = None
        self.more: dict[str, int] = {}
        self.notes: list[str] = []
        self.fd: int | None = None
        self.next_seq = 0  # the first ring record not yet looked at for this window
        self.lost = False  # the byte bound pushed some of its packets out before they were written

    def frozen(self) -> TriggerWindow:
        return TriggerWindow(self.number, self.fired_at, dict(self.deltas), self.path, self.start, self.end, self.state,
                             self.packets, self.bytes, self.first_ts, self.last_ts, self.saved_at, dict(self.more),
                             "; ".join(self.notes))


class Armed:
    """The ring, the trigger and the windows of one armed capture. Thread-safe: the pcap
    reader calls :meth:`push`, the tick :meth:`observe`, the watcher :meth:`service`."""

    def __init__(self, trigger: Trigger, *, before: float, after: float, max_triggers: int, base: str,
                 limit_bytes: int) -> None:
        self.trigger = trigger
        self.before = before
        self.after = after
        self.max_triggers = max_triggers
        self.base = base
        self.limit_bytes = limit_bytes
        self.ring_bound = min(RING_MAX_BYTES, limit_bytes // (max_triggers + 1))
        self.window_budget = limit_bytes - self.ring_bound
        self.lock = threading.Lock()
        self.header: bytes | None = None
        self._order = "<"
        self._scale = 1e-6
        self.ring: deque[tuple[int, float, bytes]] = deque()
        self.ring_bytes = 0
        self.seq = 0
        self.armed_at: float | None = None  # tcpdump said "listening on": packets from here on
        self.lost_until = 0.0  # newest timestamp the byte bound pushed out of the ring
        self.prev: dict[str, int] | None = None
        self.windows: list[_Window] = []
        self.active: _Window | None = None
        self.disk_used = 0
        self.finished = ""  # why no more windows will come: the manager then stops tcpdump
        self.events: deque[str] = deque(maxlen=KEEP_EVENTS)
        self.event_count = 0

    # -- the pcap stream --------------------------------------------------------------------
    def set_header(self, header: bytes) -> None:
        order, scale = _MAGIC.get(header[:4], ("<", 1e-6))
        with self.lock:
            self.header, self._order, self._scale = header, order, scale

    def record_time(self, rec_header: bytes) -> tuple[float, int, int]:
        """(timestamp, captured length, length on the wire) of a pcap record header."""
        sec, frac, incl, orig = struct.unpack(self._order + "IIII", rec_header)
        return sec + frac * self._scale, incl, orig

    def push(self, ts: float, record: bytes) -> None:
        with self.lock:
            self.seq += 1
            self.ring.append((self.seq, ts, record))
            self.ring_bytes += len(record)
            keep_from = ts - self.before - RING_SLACK
            w = self.active
            while self.ring:
                seq, old_ts, old = self.ring[0]
                over = self.ring_bytes > self.ring_bound
                # by age only what no open window still has to write
                if not over and (old_ts >= keep_from or (w is not None and seq >= w.next_seq)):
                    break
                self.ring.popleft()
                self.ring_bytes -= len(old)
                if over and old_ts >= keep_from:  # pushed out by the byte bound, not by age
                    self.lost_until = max(self.lost_until, old_ts)
                    if w is not None and seq >= w.next_seq and w.start <= old_ts <= w.end and not w.lost:
                        w.lost = True
                        w.notes.append("packets lost: the ring's byte bound was passed before they were written")

    def listening(self, t: float) -> None:
        with self.lock:
            self.armed_at = t
            self._say(t, f"armed: {self.trigger.title}; keeping {self.before:g} s before and {self.after:g} s after, "
                         f"up to {self.max_triggers} trigger{'s' if self.max_triggers != 1 else ''}")

    # -- the tick ---------------------------------------------------------------------------
    def observe(self, t: float, values: dict[str, int]) -> dict[str, int]:
        """One tick's values (sample time ``t``); the deltas when this tick fired a trigger."""
        with self.lock:
            prev, self.prev = self.prev, dict(values)
            if prev is None or self.armed_at is None or self.finished:
                return {}
            fired = self.trigger.fired(prev, values)
            if not fired:
                return {}
            w = self.active
            if w is not None:
                for k, d in fired.items():
                    w.more[k] = w.more.get(k, 0) + d
                return {}
            if len(self.windows) >= self.max_triggers:
                return {}
            n = len(self.windows) + 1
            w = _Window(n, t, fired, window_path(self.base, n), self.before, self.after)
            covered = max(self.armed_at, self.lost_until)
            if covered > w.start:
                why = (f"armed only {t - self.armed_at:.1f} s before the trigger" if covered == self.armed_at
                       else f"the ring's {self.ring_bound / 1e6:g} MB bound held less")
                w.notes.append(f"starts {covered - w.start:.1f} s later than asked: {why}")
            self.windows.append(w)
            self.active = w
            self._say(t, f"trigger {n}: {_deltas_text(fired)}; saving {w.path}")
            return fired

    # -- the watcher ------------------------------------------------------------------------
    def service(self, now: float, ending: str = "") -> None:
        """Write the active window's new packets; close it once its end (plus the grace) has
        passed, or at once when ``ending`` (tcpdump has stopped: that is why)."""
        with self.lock:
            w = self.active
            if w is None or self.header is None:
                return
            recs = [r for seq, ts, r in self.ring if seq >= w.next_seq and w.start <= ts <= w.end]
            times = [ts for seq, ts, _ in self.ring if seq >= w.next_seq and w.start <= ts <= w.end]
            w.next_seq = self.seq + 1
            close = bool(ending) or now >= w.end + FLUSH_GRACE
            header = self.header
        cut = False
        try:
            if w.fd is None:
                w.fd = os.open(w.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                self._write(w, header)
            for ts, rec in zip(times, recs):
                if self.disk_used + len(rec) > self.window_budget:
                    cut = True
                    break
                self._write(w, rec)
                with self.lock:
                    w.packets += 1
                    w.first_ts = ts if w.first_ts is None else min(w.first_ts, ts)
                    w.last_ts = ts if w.last_ts is None else max(w.last_ts, ts)
        except OSError as exc:
            with self.lock:
                w.notes.append(f"cannot write {w.path}: {exc.strerror}")
                self.finished = f"cannot write {w.path}: {exc.strerror}"
            cut = True
        if cut or close:
            with self.lock:
                if cut and not self.finished:
                    w.notes.append(f"cut at the disk bound ({self.limit_bytes / 1e6:g} MB with the ring)")
                    self.finished = "disk bound reached"
                elif ending and now < w.end:
                    w.notes.append(f"cut short at {now - w.fired_at:.1f} s after the trigger: {ending}")
                if not w.packets and not cut:
                    w.notes.append("no packet matched the filter in the window")
                w.state = "cut" if cut else "saved"
                w.saved_at = now
                self.active = None
                if not self.finished and len(self.windows) >= self.max_triggers:
                    self.finished = f"{self.max_triggers} trigger{'s' if self.max_triggers != 1 else ''} saved"
                self._say(now, f"saved {w.path}: {w.packets} packets" + (f" ({'; '.join(w.notes)})" if w.notes else ""))
            if w.fd is not None:
                os.close(w.fd)
                w.fd = None

    def _write(self, w: _Window, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(w.fd, view)  # type: ignore[arg-type]
            view = view[n:]
        with self.lock:
            w.bytes += len(data)
            self.disk_used += len(data)

    def _say(self, t: float, text: str) -> None:
        self.events.append(f"{time.strftime('%H:%M:%S', time.localtime(t))} {text}")
        self.event_count += 1

    # -- reading ----------------------------------------------------------------------------
    def snapshot(self) -> tuple[tuple[TriggerWindow, ...], bool, int, int]:
        """(windows, a window is open, ring packets, ring bytes)."""
        with self.lock:
            return tuple(w.frozen() for w in self.windows), self.active is not None, len(self.ring), self.ring_bytes

    def files(self) -> tuple[str, ...]:
        with self.lock:
            return tuple(w.path for w in self.windows if w.bytes)

    def events_since(self, seen: int) -> tuple[list[str], int]:
        with self.lock:
            total = self.event_count
            new = min(total - seen, len(self.events))
            return (list(self.events)[len(self.events) - new:] if new > 0 else []), total


def _deltas_text(deltas: dict[str, int]) -> str:
    return ", ".join(f"{k} +{d}" for k, d in sorted(deltas.items(), key=lambda kv: -kv[1]))
