"""A namespace's window in the recorder's store, for the incident bundle.

:func:`find_recorded_window` opens the store read-only (:class:`~tui.core.store.reader.Store`)
and finds the live namespace in it **by identity**: its inode *and* its namespace id (the
kernel's never-reused id). An inode alone is not enough: the kernel recycles nsfs inode
numbers, so a recorded namespace with the same inode may be another, gone one; its data must
never go into this namespace's bundle. A kernel that gives no namespace id (0) therefore gets
no recording at all.

What it gives (:class:`RecordedWindow`): the window's ticks of that one namespace, as an
:class:`~tui.core.history.NsHistory` (what the counters CSV and the diagnosis are made from,
as the TUI makes them from its own history) and as a recording file of its own
(:func:`~tui.core.store.excerpt.write_namespace_excerpt`: that namespace alone, the window
alone).

Every trouble with the store — absent, unreadable, locked, corrupt, not covering the
namespace or the window — is a :class:`NoRecordedWindow` whose message is for README.txt, as
is; ``absent`` tells "there is no store here" (said, not a failure) from the rest.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from .counters import is_gauge
from .history import NsHistory
from .namespaces import NetNS
from .store.reader import RecordedNamespace, Store

__all__ = ["FRESH_S", "NoRecordedWindow", "RecordedWindow", "find_recorded_window"]

# the store's last tick at most this old (plus 3 of its intervals): a recorder is writing it
FRESH_S = 10.0


class NoRecordedWindow(Exception):
    """The store cannot give this namespace's window; the message says why, for README.txt."""

    def __init__(self, message: str, *, absent: bool = False) -> None:
        super().__init__(message)
        self.absent = absent


def _hms(t: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(t))


@dataclass
class RecordedWindow:
    """``rns``'s ticks ``first`` (the sample before the window) to ``last`` in ``store``."""

    path: str
    store: Store
    rns: RecordedNamespace
    first: int
    last: int
    start: float  # the time of tick `first`
    end: float  # the time of tick `last`
    asked: float  # the window asked, seconds
    behind: float  # how long before the bundle the store's last tick of it is
    interval: float

    @property
    def fresh(self) -> bool:
        """A recorder is writing it: its last tick is a few intervals old at most."""
        return self.behind <= FRESH_S + 3 * self.interval

    @property
    def notes(self) -> list[str]:
        """What the store said was damaged and skipped while it was read (in words)."""
        return list(self.store.notes)

    def ticks_words(self) -> str:
        """``7 ticks from 02:49:09 UTC to 02:49:10 UTC``."""
        return f"{self.last - self.first + 1} ticks from {_hms(self.start)} to {_hms(self.end)}"

    def describe(self) -> str:
        """Where, and over what, for README.txt."""
        span = self.end - self.start
        told = (f"the recorder's store {self.path}: net:[{self.rns.inode}] (namespace id {self.rns.ns_id}), "
                f"{self.ticks_words()}, {span:.0f} s")
        if span < self.asked - 1.5 * self.interval:
            told += f" (less than the {self.asked:g} s asked: that is all the store has of it)"
        if not self.fresh:
            told += f"; the store ends {self.behind:.0f} s before the bundle (is the recorder running?)"
        return told

    def history(self) -> NsHistory:
        """The window as a history, as the live TUI would have sampled it."""
        n = self.last - self.first
        w = self.store.window(self.rns, self.last, n)
        gauges = dict(w.gauges)
        for key, v in w.values.items():  # a gauge that never changed in the window: its value throughout
            if is_gauge(key) and key not in gauges and w.times:
                gauges[key] = [v] * len(w.times)
        return NsHistory.from_recording(w.first_time, w.times, w.deltas, gauges, w.values, max(n, 1))

    def write_recording(self, path: str) -> int:
        """This namespace alone over the window, as a recording file at ``path``; its size."""
        from .store.excerpt import write_namespace_excerpt

        return write_namespace_excerpt(self.store, self.rns, self.first, self.last, path)

    def close(self) -> None:
        self.store.close()


def find_recorded_window(path: str, ns: NetNS, seconds: float, *, now: float | None = None,
                         explicit: bool = True) -> RecordedWindow:
    """``ns``'s last ``seconds`` (up to ``now``) in the store at ``path``. Raises
    :class:`NoRecordedWindow`, never anything else for the store's trouble. ``explicit``: the
    user named the store (an absent one is then a failure to say, not ``absent``)."""
    from .store.reader import StoreError
    from .store.schema import db_path

    now = time.time() if now is None else now
    if os.path.isdir(path) and not os.access(path, os.R_OK | os.X_OK):  # the recorder's 0700 dir, not root
        raise NoRecordedWindow(f"the recorder's store {path} cannot be read by this user (not root?)")
    if not os.path.exists(db_path(path)) and not explicit:
        raise NoRecordedWindow(f"no recorder store was found at {path}", absent=True)
    try:
        store = Store(path)
    except StoreError as exc:
        if "locked" in str(exc):  # another process holds SQLite's exclusive lock on it
            raise NoRecordedWindow(f"the recorder's store {path} is locked by another process (SQLite: database is "
                                   "locked), so it could not be read") from None
        raise NoRecordedWindow(f"the recorder's store cannot be read: {exc}") from None
    except Exception as exc:  # unreadable, locked, garbage in meta: a note, never a traceback
        raise NoRecordedWindow(f"the recorder's store {path} cannot be read: {type(exc).__name__}: {exc}") from None
    try:
        return _window(path, store, ns, seconds, now)
    except NoRecordedWindow:
        store.close()
        raise
    except Exception as exc:
        store.close()
        damaged = f" ({store.notes[0]})" if store.notes else ""
        raise NoRecordedWindow(f"the recorder's store {path} cannot be read: {type(exc).__name__}: {exc}{damaged}") \
            from None


def _window(path: str, store: Store, ns: NetNS, seconds: float, now: float) -> RecordedWindow:
    damaged = f" ({store.notes[0]})" if store.notes else ""
    if not ns.ns_id:
        raise NoRecordedWindow(f"the kernel gives no namespace id for {ns.name} ({ns.label}), so a recorded "
                               "namespace with its inode cannot be told from another that had that inode before: "
                               "nothing of the store is used")
    same_inode = [r for r in store.namespaces() if r.inode == ns.inode]
    mine = [r for r in same_inode if r.ns_id == ns.ns_id]
    if not mine:
        if same_inode:
            raise NoRecordedWindow(f"the recorder's store {path} has net:[{ns.inode}] only as another namespace (namespace "
                                   f"id {same_inode[-1].ns_id}, this one's is {ns.ns_id}: the inode was reused), so "
                                   f"none of it is used{damaged}")
        raise NoRecordedWindow(f"the recorder's store {path} does not hold {ns.name} ({ns.label}){damaged}")
    rns = max(mine, key=lambda r: r.last_tick)  # a recorder restarted: its latest session
    t0 = now - seconds
    if rns.last_time < t0:
        raise NoRecordedWindow(f"the recorder's store {path} has {ns.name} ({ns.label}) only until "
                               f"{_hms(rns.last_time)}, before the window ({seconds:g} s up to {_hms(now)})")
    end = store.tick_at(now)
    start = store.tick_at(t0)
    if end is None or start is None:
        raise NoRecordedWindow(f"the recorder's store {path} holds no tick{damaged}")
    first, last = max(start[0], rns.first_tick), min(end[0], rns.last_tick)
    if last <= first:
        raise NoRecordedWindow(f"the recorder's store {path} has only one sample of {ns.name} in the window "
                               f"(the recorder started at {_hms(rns.first_time)}): no deltas yet")
    times = store.tick_times(first, last)
    if len(times) != last - first + 1:
        raise NoRecordedWindow(f"the recorder's store {path} has lost tick times in the window{damaged}")
    interval = float(store.meta.get("interval", 1.0) or 1.0)
    return RecordedWindow(path, store, rns, first, last, times[0][1], times[-1][1], seconds,
                          max(0.0, now - times[-1][1]), interval)
