"""Why a capture could not be started: messages for the engineer, as they are."""

from __future__ import annotations

__all__ = ["CaptureError", "FilterError", "TcpdumpMissing"]


class CaptureError(Exception):
    """A capture could not be started; the message is for the engineer, as is."""


class TcpdumpMissing(CaptureError):
    pass


class FilterError(CaptureError):
    """tcpdump rejected the filter; ``tcpdump_message`` is tcpdump's own words."""

    def __init__(self, filter_text: str, tcpdump_message: str) -> None:
        super().__init__(f"tcpdump rejected the filter {filter_text!r}: {tcpdump_message}")
        self.filter_text = filter_text
        self.tcpdump_message = tcpdump_message
