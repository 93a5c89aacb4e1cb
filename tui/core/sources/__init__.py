"""Discovery sources beyond the /proc scan and /run/netns: they name namespaces.

Each source implements :class:`tui.core.namespaces.Source`. ``default_sources()`` is what the
app and the CLI use; a source that cannot work here (no Docker) reports itself unavailable
with a reason instead of failing.
"""

from __future__ import annotations

from ..namespaces import Source

__all__ = ["default_sources"]


def default_sources() -> list[Source]:
    """Docker (``DOCKER_HOST`` or the default socket) and the kubelet's on-disk state.

    Both are always listed: on a node without one of them it shows as unavailable, with the
    reason, which is itself useful to the engineer ("no Docker socket at ...").
    """
    from .docker import DockerSource
    from .kubelet import KubeletSource

    return [DockerSource(), KubeletSource()]
