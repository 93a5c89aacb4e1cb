"""What the headless subcommands share: two samples S seconds apart, and saying on stderr
what synscope could not see (not root, failed sources, vanished namespaces)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tui.core.diagnosis_report import ns_identity  # noqa: F401 (snapshot and sockets import it from here)
from tui.core.monitor import Monitor, Tick
from tui.core.namespaces import Discovery, NetNS
from tui.core.netns import NamespaceGone, NetnsReader
from tui.core.sockets import sockets_summary
from tui.core.sources import default_sources


@contextmanager
def two_samples(interval: float) -> Iterator[tuple[Monitor, Tick, Tick]]:
    """A monitor sampled twice, ``interval`` seconds apart; closed on exit. Both samples read
    every namespace's conntrack statistics (the TUI skips those not in use on most ticks)."""
    monitor = Monitor(Discovery(default_sources()), background=False, conntrack_recheck=1)
    try:
        first = monitor.tick()
        time.sleep(interval)
        yield monitor, first, monitor.tick()
    finally:
        monitor.close()


def report_blind_spots(first: Tick, second: Tick, what: str = "shown") -> None:
    if not second.root or os.geteuid() != 0:
        print(f"synscope: not root: only the namespaces this user can reach are {what} (run with sudo to see all)",
              file=sys.stderr)
    for note in dict.fromkeys(second.notes + first.sample.notes + second.sample.notes):  # each once
        print(f"synscope: {note}", file=sys.stderr)
    for st in second.statuses:
        if not st.available:
            state = "not on this node" if st.absent else "unavailable"
            print(f"synscope: source {st.name} {state}: {st.reason}", file=sys.stderr)


def matching(namespaces: list[NetNS], pattern: str) -> list[NetNS]:
    """The namespaces ``--ns`` selects; says so on stderr when it selects none."""
    shown = [ns for ns in namespaces if not pattern or ns.matches(pattern)]
    if pattern and not shown:
        print(f"synscope: no namespace matches {pattern!r}", file=sys.stderr)
    return shown


def sockets_record(ns: NetNS, reader: NetnsReader) -> dict:
    """``{"sockets": summary or None, "sockets_error": why or None}`` for a JSON record."""
    try:
        return {"sockets": sockets_summary(ns, reader).as_dict(), "sockets_error": None}
    except (NamespaceGone, OSError) as exc:
        return {"sockets": None, "sockets_error": str(exc)}
