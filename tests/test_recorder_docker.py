"""`synscope record` against the suite's own Docker engine (tests/dockerd.py): a pod's listen
overflow lands in the store under the pod's name, exactly as the kernel counted it, and a
restarted container starts a new history (new namespace id), never one mixed with the old."""

from __future__ import annotations

import pytest
from dockerd import docker_engine, pid_of  # noqa: F401  (docker_engine is a fixture)
from nethelpers import CLIENT, SERVER, wait_for
from recorderhelpers import kernel_value, start_recorder, stop
from test_docker import _tag, containers, in_netns, kill, pod_labels  # noqa: F401  (containers is a fixture)

from tui.core.namespaces import ns_inode_of_pid
from tui.core.store.dump import rows, select
from tui.core.store.reader import Store

pytestmark = pytest.mark.docker


def _store_has(directory: str, pred):  # type: ignore[no-untyped-def]
    try:
        s = Store(directory)
    except Exception:
        return False
    try:
        return pred(s)
    finally:
        s.close()


def test_a_pods_listen_drops_are_recorded_under_its_name_exactly(docker_engine, containers, tmp_path):  # noqa: F811
    tag = _tag()
    pod = f"web-{tag}"
    sandbox = containers(f"k8s_POD_{pod}_shop_0", labels=pod_labels(pod, "shop", "POD", app="web"))
    containers(f"k8s_web_{pod}_shop_0", labels=pod_labels(pod, "shop", "web", app="web"),
               network_mode=f"container:{sandbox.id}")
    pid = pid_of(sandbox)
    inode = ns_inode_of_pid(pid)
    rec = start_recorder(str(tmp_path), "--interval", "0.2", "--chunk-ticks", "10",
                         env={"DOCKER_HOST": docker_engine.url})
    server = client = None
    try:
        assert wait_for(lambda: _store_has(str(tmp_path), lambda s: any(r.netns.name == f"shop/{pod}"
                                                                         for r in s.namespaces())), timeout=30)
        server = in_netns(pid, SERVER, "127.0.0.1", "8080", "60", stdout=__import__("subprocess").PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        client = in_netns(pid, CLIENT, "127.0.0.1", "8080", "20", "2.0")
        client.wait(timeout=30)
        kernel = kernel_value(pid, "TcpExt.ListenDrops")
        assert kernel > 0

        def recorded() -> bool:
            def total(s: Store) -> bool:
                (r,) = [x for x in s.namespaces() if x.inode == inode]
                return s.values_at(r, r.last_tick).get("TcpExt.ListenDrops") == kernel_value(pid, "TcpExt.ListenDrops")
            return _store_has(str(tmp_path), total)

        assert wait_for(recorded, timeout=20)
    finally:
        kill(*(p for p in (server, client) if p is not None))
        _, err = stop(rec)
    assert rec.returncode == 0, err
    s = Store(str(tmp_path))
    (r,) = [x for x in s.namespaces() if x.inode == inode]
    ns = r.netns
    assert (ns.kind, ns.name, ns.pod, ns.k8s_namespace) == ("pod", f"shop/{pod}", pod, "shop")
    assert dict(ns.labels)["app"] == "web" and {c.k8s_container for c in ns.containers} == {"POD", "web"}
    baseline = s.values_at(r, r.first_tick).get("TcpExt.ListenDrops", 0)
    drops = [row for row in rows(s, select(s, pod)) if row.counter == "TcpExt.ListenDrops"]
    assert drops and {row.namespace for row in drops} == {f"shop/{pod}"} and {row.pod for row in drops} == {pod}
    assert baseline + sum(row.delta or 0 for row in drops) == kernel
    overflows = [row for row in rows(s, [r]) if row.counter == "TcpExt.ListenOverflows"]
    assert sum(row.delta or 0 for row in overflows) > 0
    assert s.notes == []


def test_a_restarted_container_gets_a_new_history_under_the_same_name(docker_engine, containers, tmp_path):  # noqa: F811
    name = f"cache-{_tag()}"
    ct = containers(name)
    old_pid = pid_of(ct)
    old_inode = ns_inode_of_pid(old_pid)
    rec = start_recorder(str(tmp_path), "--interval", "0.2", "--chunk-ticks", "10",
                         env={"DOCKER_HOST": docker_engine.url})
    try:
        assert wait_for(lambda: _store_has(str(tmp_path), lambda s: any(r.netns.name == name
                                                                         for r in s.namespaces())), timeout=30)
        ct.restart(timeout=1)
        new_pid = pid_of(ct)
        assert new_pid != old_pid
        assert wait_for(lambda: _store_has(str(tmp_path), lambda s: len([r for r in s.namespaces()
                                                                         if r.netns.name == name]) == 2), timeout=30)
        wait_for(lambda: _store_has(str(tmp_path), lambda s: s.span()[1] - max(
            r.first_time for r in s.namespaces() if r.netns.name == name) > 2), timeout=20)
    finally:
        _, err = stop(rec)
    assert rec.returncode == 0, err
    s = Store(str(tmp_path))
    old, new = sorted((r for r in s.namespaces() if r.netns.name == name), key=lambda r: r.first_tick)
    assert old.ns_id != new.ns_id and old.inode == old_inode
    assert old.last_tick < new.first_tick  # one after the other, never both
    # the moment after the restart: the new namespace's history only, counted from its start
    m = s.history_at(s.span()[1])
    h = m.history.get(new.inode)
    assert h is not None and m.recorded[new.inode].row == new.row
    assert h.ticks == new.last_tick - new.first_tick
    assert [n.name for n in m.namespaces].count(name) == 1
    # the moment before: the old one, alone
    before = s.history_at(old.last_time)
    assert before.recorded[old.inode].row == old.row and new.row not in {r.row for r in before.recorded.values()}
