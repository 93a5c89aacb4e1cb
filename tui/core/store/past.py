"""The recorder's past for the live TUI: the histories a running recorder has, at start.

``synscope`` (with a store: the recorder's default directory, or ``--store DIR``) opens with
the last ``capacity`` ticks the recorder wrote, so a stall from ten minutes ago is on screen
at once. Only read: the store is opened read-only (tui.core.store.schema.connect_read), the
recorder keeps writing meanwhile.

A recorded namespace is the live one only if both its inode *and* its namespace id (the
kernel's never-reused nsid) match: a restarted container whose new namespace got the old
inode starts with no past rather than a mixed one. The first live tick's deltas count from
the recorded values, which is right only if the recorder is running (its last tick a few
seconds old): an older store is not loaded, and the note says to replay it instead.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ..history import NsHistory
from ..namespaces import NetNS
from .reader import Store, StoreError

__all__ = ["RecordedPast", "load_past"]

FRESH_S = 10.0  # the store's last tick at most this old (plus 3 recorder intervals): the recorder is running


@dataclass
class RecordedPast:
    histories: dict[int, NsHistory] = field(default_factory=dict)  # inode -> its recorded history
    since: float | None = None  # the oldest recorded tick loaded
    note: str = ""  # what the status line says: where the history comes from, or why there is none


def _hm(t: float) -> str:
    return time.strftime("%H:%M", time.localtime(t))


def load_past(path: str, namespaces: list[NetNS], capacity: int, *, explicit: bool,
              now: float | None = None) -> RecordedPast:
    """The recorded histories of the live namespaces. Never raises for a store's trouble:
    absent, unreadable or damaged gives a one-line note (none for an absent default dir)."""
    now = time.time() if now is None else now
    if not explicit and not os.path.exists(path):
        return RecordedPast()  # no recorder on this node: nothing to say
    try:
        store = Store(path)
    except StoreError as exc:
        return RecordedPast(note=f"no recorded history: {exc}")
    except OSError as exc:
        return RecordedPast(note=f"no recorded history: {path}: {exc.strerror or exc}")
    try:
        span = store.span()
        if span is None:
            return RecordedPast(note=f"no recorded history: {path} holds no tick yet")
        interval = float(store.meta.get("interval", 1.0))
        if now - span[1] > FRESH_S + 3 * interval:
            return RecordedPast(note=f"the recorder's store ends at {_hm(span[1])} (recorder not running?): "
                                     f"synscope replay {path} shows it")
        moment = store.history_at(span[1], capacity)
        past = RecordedPast()
        for ns in namespaces:
            rns = moment.recorded.get(ns.inode)
            h = moment.history.get(ns.inode)
            if rns is None or h is None or not ns.ns_id or rns.ns_id != ns.ns_id:
                continue  # not recorded, or another namespace that got the same inode
            past.histories[ns.inode] = h
            first = h.first_time
            if first is not None and (past.since is None or first < past.since):
                past.since = first
        damaged = f" ({store.notes[0]})" if store.notes else ""
        if past.histories and past.since is not None:
            past.note = f"history from the recorder since {_hm(past.since)}{damaged}"
        else:
            past.note = f"the recorder's store has none of these namespaces{damaged}"
        return past
    except Exception as exc:  # a damaged store must never stop the live TUI
        return RecordedPast(note=f"no recorded history: {path}: {type(exc).__name__}: {exc}")
    finally:
        store.close()
