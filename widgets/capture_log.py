"""The decoded packets of one capture, newest at the bottom; plain text, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable

from textual.widgets import Log

from tui.core.capture import KEEP_LINES

__all__ = ["CaptureLog", "compact"]

_TS_US = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3})\d{3} ")
_SPACES = re.compile(r" {2,}")


def compact(line: str) -> str:
    """Fit a tcpdump line to 80 columns: ms timestamps, single spaces, no "IP " for IPv4.

    "22:07:48.563647 eth0  In  IP 198.51.100.2.34074 > 198.51.100.1.8080: Flags [S], ..."
    -> "22:07:48.563 eth0 In 198.51.100.2.34074 > 198.51.100.1.8080: Flags [S], ..." so the
    flags are on screen at 80 columns. The pcap file keeps everything.
    """
    line = _SPACES.sub(" ", _TS_US.sub(r"\1 ", line, count=1))
    return line.replace(" IP ", " ", 1)


class CaptureLog(Log):
    """tcpdump's lines for the selected capture. ``show_capture`` switches capture; ``add`` appends."""

    DEFAULT_CSS = """
    CaptureLog { height: 1fr; border: round $primary-darken-2; }
    CaptureLog:focus { border: round $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        # keep what the core keeps: switching captures re-fills from there
        super().__init__(max_lines=KEEP_LINES, auto_scroll=True, id=id)
        self.capture_id: int | None = None
        self.border_title = "packets"

    def show_capture(self, capture_id: int | None, lines: Iterable[str]) -> None:
        self.capture_id = capture_id
        self.clear()
        self.add(lines)

    def add(self, lines: Iterable[str]) -> None:
        lines = [compact(ln) for ln in lines]
        if lines:
            self.write_lines(lines)
