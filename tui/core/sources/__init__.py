"""Discovery sources beyond the /proc scan and /run/netns: they name namespaces.

Each source implements :class:`tui.core.namespaces.Source`. ``default_sources()`` is what the
app and the CLI use; a source that cannot work here (no Docker) reports itself unavailable
with a reason instead of failing.
"""

from __future__ import annotations

from ..namespaces import Source

__all__ = ["default_sources"]


def default_sources() -> list[Source]:
    return []
