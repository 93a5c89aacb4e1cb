"""Durations, sizes and moments as the recorder's and replay's options spell them.

* a duration: ``90s``, ``10m``, ``1h30m``, ``24h``, ``7d`` (or plain seconds, ``600``);
* a moment (``--at``, ``--since``, ``--until``): a duration *ago* (``10m``), or an ISO time
  (``2026-12-02T01:10:00``, ``01:10`` today; local time unless it carries a zone);
* a size: ``256MB``, ``1GB``, ``500KB``, ``1048576`` (bytes; MB = 2^20 bytes).
"""

from __future__ import annotations

import datetime as _dt
import math
import re

__all__ = ["parse_duration", "parse_size", "parse_when"]

MAX_DURATION = 3650 * 86400.0
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds; ValueError with the reason for anything else (0, negative, nan)."""
    t = text.strip().lower()
    try:
        s = float(t)
    except ValueError:
        pos, s = 0, 0.0
        for m in _PART.finditer(t):
            if m.start() != pos:
                break
            s += float(m.group(1)) * _UNIT[m.group(2)]
            pos = m.end()
        if pos != len(t) or not t:
            raise ValueError(f"not a duration: {text!r} (say 90s, 10m, 1h30m, 24h)") from None
    if math.isnan(s) or s <= 0 or math.isinf(s):
        raise ValueError(f"a duration must be more than 0: {text!r}")
    if s > MAX_DURATION:
        raise ValueError(f"a duration must be at most 3650d: {text!r}")
    return s


def parse_size(text: str) -> int:
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r} (say 256MB, 1GB)")
    n = float(m.group(1))
    unit = (m.group(2) or "b").lower()[:1]
    n *= {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[unit]
    if n < 1:
        raise ValueError(f"a size must be more than 0: {text!r}")
    return int(n)


def parse_when(text: str, now: float) -> float:
    """A moment: a duration ago, or an ISO date/time (local unless it has a zone)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    t = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", t):
            today = _dt.datetime.fromtimestamp(now).date()
            moment = _dt.datetime.combine(today, _dt.time.fromisoformat(t.zfill(5) if len(t) == 4 else t))
        else:
            moment = _dt.datetime.fromisoformat(t)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (say 10m or 1h30m for that long ago, or 2026-12-02T01:10)") from None
    return moment.timestamp()
