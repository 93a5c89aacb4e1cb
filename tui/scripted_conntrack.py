"""The scripted node's own conntrack statistics, as ``/proc/net/stat/nf_conntrack`` prints them.

Opt-in (``ScriptedSource(conntrack_race=True)``): the node's kube-proxy NAT loses the SNAT
source-port race during the incident's stalls, so ``insert_failed`` and ``drop`` grow
together there (what the kernel counts when a new connection's entry finds its tuple taken
and the packet is dropped), and ``entries`` follows the node's flows. The text has the 6.18
header and one row per CPU of 8-digit hex numbers, and goes through the real
:func:`~tui.core.conntrack.conntrack_section`, as the sampler hands it to History.
"""

from __future__ import annotations

from tui.core.conntrack import conntrack_section

__all__ = ["ScriptedConntrack"]

HEADER = ("entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop "
          "icmp_error  expect_new expect_create expect_delete search_restart")
CPUS = 2


class ScriptedConntrack:
    """The node's conntrack counters, step by step (deterministic: a function of the step)."""

    def __init__(self) -> None:
        self._step = 0
        self.totals = {name: 0 for name in HEADER.split()}

    def _advance_to(self, step: int) -> None:
        while self._step < step:
            self._step += 1
            s = self._step
            if (s % 30) >= 22:  # the scripted stall: 8 s in every 30
                lost = 1 + s % 3
                self.totals["insert_failed"] += lost
                self.totals["drop"] += lost
            self.totals["clashres"] += 1 if s % 4 == 0 else 0
            self.totals["search_restart"] += 1 if s % 9 == 0 else 0

    def text(self, step: int) -> bytes:
        """The file as the kernel prints it at this step (per-CPU rows; entries on each)."""
        self._advance_to(step)
        entries = 31_000 + (step * 37) % 900
        rows = [HEADER]
        for cpu in range(CPUS):
            cells = []
            for name in HEADER.split():
                total = self.totals[name]
                value = entries if name == "entries" else total // CPUS + (total % CPUS if cpu == 0 else 0)
                cells.append(f"{value:08x}")
            rows.append(" ".join(cells))
        return ("\n".join(rows) + "\n").encode()

    def section(self, step: int) -> bytes:
        return conntrack_section(self.text(step))
