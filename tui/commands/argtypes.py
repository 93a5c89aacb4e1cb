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


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def duration(maximum: float) -> Callable[[str], float]:
    """A type: ``30s``, ``5m``, ``1h`` or plain seconds, more than 0 and at most ``maximum``."""
    plain = seconds(maximum)

    def parse(text: str) -> float:
        t = text.strip().lower()
        unit = _UNITS.get(t[-1:]) if t else None
        if unit is None:
            return plain(t)
        try:
            n = float(t[:-1])
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a duration such as 30s, 5m or 1h, not {text!r}") from None
        return plain(repr(n * unit))

    parse.__name__ = "duration"
    return parse
