"""Namespace identity beyond the inode: the kernel recycles nsfs inode numbers.

A namespace that is freed gives its inode number back, and the next namespace created often
gets it (seen here for restarted Docker containers too). The guarantee: two namespaces with
the same inode and different namespace ids never share a history.

* The kernel's ids are checked for real: NS_GET_ID and SO_NETNS_COOKIE agree, and differ
  between live namespaces.
* The guarantee is checked deterministically through the real Monitor, Sampler and History
  (see test_same_inode_with_another_namespace_id_starts_a_new_history).
* Real reuse is tried too, opportunistically: when the kernel frees a namespace and hands its
  inode number out again is up to the kernel, so that test skips (even under CI=true) when
  the kernel does not cooperate within its bound.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from dataclasses import replace

import pytest
from nethelpers import ip, require_root, wait_for

import tui.core.namespaces as namespaces
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery, DiscoveryResult, netns_ids, ns_inode_of_path, ns_inode_of_pid


def test_ns_id_by_ioctl_and_by_setns_cookie_agree(lab):
    a, b = lab.add("ida"), lab.add("idb")
    items = [(ns_inode_of_path(f"/run/netns/{n}"), f"/run/netns/{n}") for n in (a, b)]
    items.append((ns_inode_of_pid(os.getpid()), "/proc/self/ns/net"))
    by_default = netns_ids(items)
    saved = namespaces._ns_get_id_works
    namespaces._ns_get_id_works = False  # what a kernel without NS_GET_ID does
    try:
        by_cookie = netns_ids(items)
    finally:
        namespaces._ns_get_id_works = saved
    assert len(by_default) == 3 and len(set(by_default.values())) == 3
    assert by_cookie == by_default
    # a path that now names another namespace is left out, never misattributed
    assert netns_ids([(items[0][0] + 1, items[0][1])]) == {}


class _InodeComesBackAsAnotherNamespace:
    """The real Discovery, except that from ``swap()`` on one real namespace's inode is
    reported with another live namespace's real id.

    This stands in for the kernel reusing a freed inode number for a new namespace, which a
    test cannot cause on demand (the kernel frees namespaces asynchronously and picks the
    numbers). What the Monitor sees is exactly what real reuse gives it: an inode it already
    samples, now with a namespace id it has not seen there. Everything else is real: the
    namespaces, their counters, both ids (from the kernel), Monitor.tick, Sampler, History.
    """

    def __init__(self, inode: int, other_id: int) -> None:
        self.real = Discovery()
        self.inode, self.other_id = inode, other_id
        self.swapped = False

    def swap(self) -> None:
        self.swapped = True

    def discover(self) -> DiscoveryResult:
        found = self.real.discover()
        if self.swapped:
            found.namespaces = [replace(ns, ns_id=self.other_id) if ns.inode == self.inode else ns
                                for ns in found.namespaces]
        return found


@pytest.mark.parametrize("read_by", ["pid", "setns"])
def test_same_inode_with_another_namespace_id_starts_a_new_history(lab, read_by):
    a, b = lab.add("reuse"), lab.add("other")
    inode = ns_inode_of_path(f"/run/netns/{a}")
    if read_by == "pid":  # like a container: read through /proc/<pid>/net
        p = lab.spawn(a, ["sleep", "60"])
        assert wait_for(lambda: ns_inode_of_pid(p.pid) == inode, timeout=10)
    ids = netns_ids([(inode, f"/run/netns/{a}"), (ns_inode_of_path(f"/run/netns/{b}"), f"/run/netns/{b}")])
    assert len(ids) == 2 and len(set(ids.values())) == 2, ids  # two live namespaces, two real ids
    own_id, other_id = ids[inode], next(v for k, v in ids.items() if k != inode)
    discovery = _InodeComesBackAsAnotherNamespace(inode, other_id)
    mon = Monitor(discovery, background=False)  # type: ignore[arg-type]
    try:
        mon.tick()
        mon.tick()
        old = mon.history.get(inode)
        assert old is not None and old.ticks >= 1
        row = next(ns for ns in mon.tick().namespaces if ns.inode == inode)
        assert row.ns_id == own_id and (row.pid is not None) == (read_by == "pid")

        # a fresh discovery of the same namespace (same inode, same id) continues its history
        mon.rediscover()
        mon.tick()
        assert mon.history.get(inode) is old and old.ticks >= 3

        # the same inode with another namespace's id: a new namespace, a new history
        discovery.swap()
        replaced_at = time.time()
        mon.rediscover()
        row = next(ns for ns in mon.tick().namespaces if ns.inode == inode)
        assert row.ns_id == other_id
        new = mon.history.get(inode)
        assert new is not None and new is not old
        assert new.ticks == 0 and new.first_time is not None and new.first_time >= replaced_at
        mon.tick()
        assert mon.history.get(inode) is new and new.ticks == 1  # and it goes on from there
    finally:
        mon.close()


def test_really_recycled_inode_starts_a_new_history_when_the_kernel_reuses_it():
    require_root()
    names: list[str] = []
    procs: list[subprocess.Popen] = []

    def add() -> tuple[str, int]:
        name = f"ssid{os.getpid() % 10000}{uuid.uuid4().hex[:6]}"
        ip("netns", "add", name)
        names.append(name)
        return name, ns_inode_of_path(f"/run/netns/{name}")

    def add_with_process(name: str | None = None) -> tuple[str, int, subprocess.Popen]:
        if name is None:
            name, _ = add()
        p = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "60"], start_new_session=True)
        procs.append(p)
        inode = ns_inode_of_path(f"/run/netns/{name}")
        assert wait_for(lambda: ns_inode_of_pid(p.pid) == inode, timeout=10)
        return name, inode, p

    def drop(name: str, p: subprocess.Popen) -> None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        ip("netns", "del", name)
        names.remove(name)

    mon = Monitor(Discovery(), background=False)
    try:
        old_name, inode, p = add_with_process()
        mon.rediscover()
        mon.tick()
        mon.tick()
        old = mon.history.get(inode)
        assert old is not None and old.ticks >= 1
        old_id = next(ns.ns_id for ns in mon.tick().namespaces if ns.inode == inode)
        drop(old_name, p)
        # the inode number comes back once the old namespace is freed, to whoever asks after
        # the lower free numbers are taken (the kernel hands out the lowest free one). Create
        # empty namespaces: one below ours burns a lower free number and is kept; one above
        # ours means ours is not free yet (the kernel frees a namespace asynchronously, which
        # took over 2 s in one CI run), so it is given back and we wait a little. Bounded.
        again = None
        deadline = time.monotonic() + 20
        while again is None and time.monotonic() < deadline and len(names) < 300:
            name, new_inode = add()
            if new_inode == inode:
                again = name
            elif new_inode > inode:
                ip("netns", "del", name)
                names.remove(name)
                time.sleep(0.05)
        if again is None:
            # Opportunistic: when the kernel frees a namespace and reuses its inode number is
            # its own business (seconds on one machine, never within the bound on another).
            # The guarantee itself is gated by the deterministic test above; this one only
            # adds the real thing when the kernel lets us have it, so it skips, even in CI.
            pytest.skip("the kernel did not hand the freed inode number out again within 20 s")
        add_with_process(again)
        replaced_at = time.time()
        mon.rediscover()
        tick = mon.tick()
        row = next(ns for ns in tick.namespaces if ns.inode == inode)
        assert row.name == again and row.ns_id and row.ns_id != old_id
        h = mon.history.get(inode)
        assert h is not None and h is not old and h.first_time >= replaced_at and h.ticks == 0
    finally:
        mon.close()
        for q in procs:
            if q.poll() is None:
                os.killpg(q.pid, signal.SIGKILL)
            q.wait(timeout=10)
        for name in names:
            ip("netns", "del", name, check=False)
