"""Text formatters the widgets share (no Textual here: headless commands use them too)."""

from __future__ import annotations

__all__ = ["human_bytes"]


def human_bytes(n: float) -> str:
    """Bytes as people read them: ``512 B``, ``1.5 kB``, ``25.0 MB`` (powers of 1000, as tcpdump's -C)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"
