"""Discovery + sampling + history, on two cadences.

Discovery (a /proc scan, Docker, kubelet state) is slower and can block on a remote API, so
it runs on its own thread every ``discover_every`` seconds; the sampling tick only picks up
the latest finished result and never waits for it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .conntrack import RECHECK_TICKS
from .history import DEFAULT_CAPACITY, History
from .idle_skip import IdleSkip
from .namespaces import Discovery, DiscoveryResult, NetNS, SourceStatus
from .sampler import SampleResult, Sampler

__all__ = ["Monitor", "Tick"]


@dataclass
class Tick:
    """What one sampling tick produced, for the UI and the CLI."""

    sample: SampleResult
    namespaces: list[NetNS]
    statuses: list[SourceStatus] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    root: bool = True
    discovered_at: float = 0.0


class Monitor:
    def __init__(
        self,
        discovery: Discovery | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        discover_every: float = 5.0,
        background: bool = True,
        conntrack_recheck: int = RECHECK_TICKS,
        idle_skip: IdleSkip | None = None,
    ) -> None:
        self.discovery = discovery or Discovery()
        self.history = History(capacity)
        self.sampler = Sampler(self.history, conntrack_recheck=conntrack_recheck, idle_skip=idle_skip)
        self.discover_every = discover_every
        self._latest: DiscoveryResult | None = None
        self._latest_at = 0.0
        self._applied: DiscoveryResult | None = None
        self._ns_ids: dict[int, int] = {}  # inode -> netns id of the namespaces being sampled
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._background = background
        self.discover_now()  # the first picture is taken before the first tick

    # -- discovery ------------------------------------------------------------------------
    def discover_now(self) -> DiscoveryResult:
        result = self.discovery.discover()
        with self._lock:
            self._latest, self._latest_at = result, time.time()
        return result

    def latest(self) -> DiscoveryResult | None:
        """The newest finished discovery (what the next tick will sample)."""
        with self._lock:
            return self._latest

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.discover_every)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.discover_now()
            except Exception as exc:  # never let discovery kill sampling
                with self._lock:
                    if self._latest is not None:
                        self._latest.notes = [f"discovery failed: {type(exc).__name__}: {exc}"]

    def start(self) -> None:
        if self._background and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="synscope-discovery", daemon=True)
            self._thread.start()

    def rediscover(self) -> None:
        """Ask the discovery thread for a fresh scan now (or do it inline if none runs)."""
        if self._thread is not None:
            self._wake.set()
        else:
            self.discover_now()

    # -- sampling -------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> Tick:
        with self._lock:
            latest, at = self._latest, self._latest_at
        if latest is not None and latest is not self._applied:
            replaced = self._replaced(latest.namespaces)
            if replaced:
                # Same inode, new namespace (the kernel recycles nsfs inode numbers, e.g. a
                # restarted container): drop the old reader and its history first, so the
                # new namespace starts a history of its own instead of continuing the old.
                self.sampler.set_namespaces([ns for ns in latest.namespaces if ns.inode not in replaced])
            self.sampler.set_namespaces(latest.namespaces)
            self._applied = latest
        sample = self.sampler.sample(now)
        assert latest is not None
        live = {ns.inode for ns in self.sampler.namespaces}
        namespaces = [ns for ns in latest.namespaces if ns.inode in live]
        return Tick(sample, namespaces, list(latest.statuses), list(latest.notes), latest.root, at)

    def _replaced(self, namespaces: list[NetNS]) -> set[int]:
        """Inodes whose namespace id changed since the last applied discovery."""
        old, new = self._ns_ids, {ns.inode: ns.ns_id for ns in namespaces if ns.ns_id}
        self._ns_ids = new
        return {inode for inode, ns_id in new.items() if old.get(inode, ns_id) != ns_id}

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self.sampler.close()
