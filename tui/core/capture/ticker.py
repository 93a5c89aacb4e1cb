"""The tick of one namespace, for an armed capture without the TUI (``synscope capture --when``).

A :class:`~tui.core.sampler.Sampler` of that namespace alone — the TUI's own reader, so the
same pid or setns path and the same counters — whose every sample goes to
:meth:`CaptureManager.observe`, the method the TUI's sampling tick calls.
"""

from __future__ import annotations

from ..namespaces import NetNS
from ..sampler import Sampler, SampleResult
from .manager import CaptureManager

__all__ = ["NamespaceTicker"]


class NamespaceTicker:
    def __init__(self, ns: NetNS, manager: CaptureManager) -> None:
        self.ns = ns
        self.manager = manager
        # conntrack read every tick: a trigger on a Conntrack counter must see each tick's growth
        self.sampler = Sampler(conntrack_recheck=1)
        self.sampler.set_namespaces([ns])

    def values(self, inode: int) -> dict[str, int] | None:
        h = self.sampler.history.get(inode)
        return h.values() if h is not None else None

    def tick(self) -> SampleResult:
        """Read the namespace once and let every armed capture look; ``dropped`` says it is gone."""
        result = self.sampler.sample()
        if not result.dropped:
            self.manager.observe(result.time, self.values)
        return result

    def close(self) -> None:
        self.sampler.close()
