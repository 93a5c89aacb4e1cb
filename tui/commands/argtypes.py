"""argparse types for the numbers synscope takes: refused at parse time, with exit status 2.

``float()`` accepts ``nan``, ``inf`` and ``1e308``; none of them is a number of seconds
anything can sleep, and they used to reach ``time.sleep`` or a timer and fail there with a
traceback-worthy ValueError or OverflowError.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["MAX_INTERVAL", "duration", "seconds", "whole_number"]

MAX_INTERVAL = 24 * 3600.0  # a sampling interval or diagnosis window of more than a day is a typo


def seconds(maximum: float) -> Callable[[str], float]:
    """A type: seconds, more than 0 and at most ``maximum`` (nan and inf are refused)."""

    def parse(text: str) -> float:
        try:
            s = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
        if math.isnan(s):
            raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}")
        if s <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text!r}")
        if s > maximum:  # inf too
            raise argparse.ArgumentTypeError(f"must be at most {maximum:g} seconds, not {text!r}")
        return s

    parse.__name__ = "seconds"  # what argparse names in "invalid seconds value"
    return parse


def whole_number(maximum: int) -> Callable[[str], int]:
    """A type: a whole number from 1 to ``maximum`` (0 must not quietly mean "the default")."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"must be 1 or more, not {text!r}")
        if n > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, not {text!r}")
        return n

    parse.__name__ = "whole number"
    return parse


def duration(maximum: float) -> Callable[[str], float]:
    """A type: ``30s``, ``5m``, ``1h30m``, ``24h`` or plain seconds (tui.core.store.when), more
    than 0 and at most ``maximum``."""
    from tui.core.store.when import parse_duration

    def parse(text: str) -> float:
        try:
            value = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text!r}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:g} s, not {text!r}")
        return value

    parse.__name__ = "duration"
    return parse
