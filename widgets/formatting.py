"""Text formatters the widgets share (no Textual here: headless commands use them too)."""

from __future__ import annotations

__all__ = ["fmt_ago", "fmt_rate", "human_bytes"]


def human_bytes(n: float) -> str:
    """Bytes as people read them: ``512 B``, ``1.5 kB``, ``25.0 MB`` (powers of 1000, as tcpdump's -C)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def fmt_rate(r: float) -> str:
    """A rate in a narrow column: ``·`` for none, ``3``, ``2.5``, ``12``, ``1.2k``, ``15k``."""
    if r <= 0:
        return "·"
    if r >= 9999.5:
        return f"{r / 1000:.0f}k"
    if r >= 999.5:
        return f"{r / 1000:.1f}k"
    if r >= 9.95 or r == int(r):
        return f"{r:.0f}"
    return f"{r:.1f}"


def _scaled(s: int) -> tuple[int, str, str]:
    """Seconds up to 2 min, minutes up to 2 h, then hours: (number, short unit, long unit)."""
    if s < 120:
        return s, "s", "s"
    if s < 7200:
        return s // 60, "m", "min"
    return s // 3600, "h", "h"


def fmt_ago(seconds: float | None, short: bool = False, compact: bool = False) -> str:
    """When a counter last moved, the one wording of the table and the panel.

    ``compact`` (the table's "moved" column): ``45s``, ``3m``, ``2h``; ``short`` (a narrow
    panel): ``45s ago``, ``now``, ``never moved``; else ``last moved 45 s ago``,
    ``last moved 3 min ago``, ``moving now``, ``never moved``.
    """
    if seconds is None:
        return "never moved"
    s = int(seconds)
    n, unit, long_unit = _scaled(max(0, s))
    if compact:
        return f"{n}{unit}"
    if s <= 0:
        return "now" if short else "moving now"
    if short:
        return f"{n}{unit} ago"
    return f"last moved {n} {long_unit} ago"
