"""What a checked-in recording holds at one moment, read straight from its store.

The Pilot tests that replay a recording (conftest's ``replayed_app``) check the App against
this: the names, kinds and labels discovery gave, and the counters the kernel moved in the
moment's tick, as the recorder stored them, not as the App's pipeline (histories, summaries,
the table) made them. Nothing is hard-coded that the store can say.
"""

from __future__ import annotations

from tui.core.history import GAP
from tui.core.store.reader import RecordedNamespace, Store


class RecordedMoment:
    """The recording at ``at`` seconds after its start: the tick the replay shows there."""

    def __init__(self, path: str, at: float, *, store: Store | None = None, tick: tuple[int, float] | None = None) -> None:
        self.path = path
        self.store = store or Store(path)
        first, _ = self.store.span() or (0.0, 0.0)
        found = tick or self.store.tick_at(first + at)
        assert found is not None, f"{path}: no tick at +{at} s"
        self.tick, self.time = found
        self.alive = [r for r in self.store.namespaces() if r.first_tick <= self.tick <= r.last_tick]

    def next(self) -> RecordedMoment:
        """The recorded tick after this one (what one step forward shows)."""
        found = self.store.next_tick(self.tick)
        assert found is not None, "the recording ends here"
        return RecordedMoment(self.path, 0.0, store=self.store, tick=found)

    def close(self) -> None:
        self.store.close()

    def name(self, r: RecordedNamespace) -> str:
        """Its name at this moment, as discovery gave it."""
        return r.netns_at(self.time).name

    def named(self, name: str) -> RecordedNamespace:
        (r,) = [r for r in self.alive if self.name(r) == name]
        return r

    def by_inode(self, inode: int) -> RecordedNamespace:
        (r,) = [r for r in self.alive if r.inode == inode]
        return r

    def moved(self, r: RecordedNamespace, ticks: int = 1) -> dict[str, int]:
        """The counters that went up in the last ``ticks`` ticks up to this one, by how much."""
        w = self.store.window(r, self.tick, ticks)
        if not w.times or w.ticks[-1] != self.tick:
            return {}
        return {k: s for k, d in w.deltas.items() if (s := sum(v for v in d if v != GAP)) > 0}

    def moved_any(self, r: RecordedNamespace, keys: tuple[str, ...] | frozenset[str]) -> int:
        """How much the counters ``keys`` moved together in this tick."""
        return sum(v for k, v in self.moved(r).items() if k in keys)

    def values(self, r: RecordedNamespace) -> dict[str, int]:
        """Every counter the recorder kept for ``r``, its value after this tick."""
        return self.store.values_at(r, self.tick)

    def sysctls(self, r: RecordedNamespace) -> dict[str, str]:
        return self.store.sysctls_at(r, self.time)
