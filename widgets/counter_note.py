"""Under the detail panel: the focused counter in netstat -s words, what it counts, why it moves.

Takes a counter key, does no I/O: the words come from the catalog (tui.core.catalog). The
panel's rows have room for a few words of the netstat -s wording at 80 columns; this line
always has the whole of it, and at every size, because the engineer who knows
"SYNs to LISTEN sockets dropped" from netstat -s is looking for exactly that.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.core.catalog import CATALOG, Group, netstat_line
from tui.source import nstat_name

__all__ = ["CounterNote", "note_text"]


def note_text(key: str | None) -> Text:
    """The note for one counter: its nstat name and netstat -s line, then what it counts and
    what usually makes it move (each starts a line; long ones wrap)."""
    t = Text()
    if key is None:
        t.append("no counter focused", style="dim")
        return t
    t.append(nstat_name(key), style="bold")
    c = CATALOG.get(key)
    if c is None:
        t.append("  not in synscope's catalog: see the kernel's Documentation/networking/snmp_counter.rst",
                 style="dim")
        return t
    # conntrack's counters are not in netstat -s: their words are synscope's own
    t.append("  conntrack: " if c.group is Group.CONNTRACK else "  netstat -s: ", style="dim")
    if c.wording:
        # the count comes first ("24 SYNs to ...") unless the wording has its place ("N times")
        t.append(netstat_line(c).removeprefix("N "), style="bold cyan")
    else:
        t.append(netstat_line(c), style="bold cyan")
        if c.group is not Group.CONNTRACK:
            t.append("  (no wording of its own)", style="dim")
    if c.note:
        t.append("\n")
        t.append(c.note)
    if c.cause:
        t.append(" Usually: ", style="bold" if c.note else "")
        t.append(c.cause)
    return t


class CounterNote(Static):
    """One counter explained, in a few lines across the screen's width."""

    DEFAULT_CSS = """
    CounterNote { height: auto; max-height: 5; padding: 0 1; background: $boost; color: $text-muted; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__("", **kw)
        self.key: str | None = None
        self._shown = False

    def show(self, key: str | None) -> None:
        if key == self.key and self._shown:
            return
        self.key, self._shown = key, True
        self.update(note_text(key))
