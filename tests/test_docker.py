"""Docker naming against a real Docker engine the tests start themselves (tests/dockerd.py).

Containers are labelled the way the kubelet (dockershim / cri-dockerd) labels them, so a pod
row here is built from the same labels it is built from on a Kubernetes node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from dockerd import docker_engine, pid_of  # noqa: F401  (docker_engine is a fixture)
from nethelpers import CLIENT, SERVER, wait_for

from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery, NetNS, ns_inode_of_pid
from tui.core.sources.docker import DockerSource

pytestmark = pytest.mark.docker

POD_NAME = "io.kubernetes.pod.name"
POD_NS = "io.kubernetes.pod.namespace"
CTR_NAME = "io.kubernetes.container.name"


def _tag() -> str:
    return uuid.uuid4().hex[:6]


def pod_labels(pod: str, ns: str, container: str, **extra: str) -> dict[str, str]:
    return {POD_NAME: pod, POD_NS: ns, CTR_NAME: container, "io.kubernetes.pod.uid": "0d3f5c2e-1111-4a2b-9c3d-5e6f7a8b9c0d",
            **extra}


def row(namespaces: list[NetNS], inode: int) -> NetNS:
    found = [ns for ns in namespaces if ns.inode == inode]
    assert len(found) == 1, f"net:[{inode}] in {[(n.name, n.inode) for n in namespaces]}"
    return found[0]


@pytest.fixture
def containers(docker_engine):  # noqa: F811
    """Containers a test starts through ``containers(...)``; all removed after the test."""
    made = []

    def run(*args, **kw):
        ct = docker_engine.run(*args, **kw)
        made.append(ct)
        return ct

    yield run
    for ct in reversed(made):
        try:
            ct.remove(force=True)
        except Exception:
            pass


def in_netns(pid: int, code: str, *args: str, **kw) -> subprocess.Popen:
    """A host python entered into a container's network namespace (busybox has no python)."""
    return subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", code, *args],
                            start_new_session=True, **kw)


def kill(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)  # the session we started, by its pid
        p.wait(timeout=10)


def test_pod_row_is_named_after_the_pod_and_shows_its_listen_drops(docker_engine, containers):  # noqa: F811
    tag = _tag()
    pod = f"web-{tag}"
    sandbox = containers(f"k8s_POD_{pod}_shop_0", labels=pod_labels(pod, "shop", "POD", app="web"))
    app = containers(f"k8s_web_{pod}_shop_0", labels=pod_labels(pod, "shop", "web", app="web"),
                     network_mode=f"container:{sandbox.id}")
    pid = pid_of(sandbox)
    inode = ns_inode_of_pid(pid)
    assert inode is not None and ns_inode_of_pid(pid_of(app)) == inode  # one namespace, two containers

    source = DockerSource(docker_engine.url)
    mon = Monitor(Discovery([source]), background=False)
    server = client = None
    try:
        first = mon.tick()
        status = {s.name: s for s in first.statuses}["docker"]
        assert status.available, status
        r = row(first.namespaces, inode)
        assert (r.kind, r.name, r.pod, r.k8s_namespace) == ("pod", f"shop/{pod}", pod, "shop")
        # both containers on the one row, the sandbox first; no row of their own
        assert [c.k8s_container for c in r.containers] == ["POD", "web"]
        assert {c.name for c in r.containers} == {sandbox.name, app.name}
        assert all(c.runtime == "docker" and len(c.id) == 12 for c in r.containers)
        assert not [ns for ns in first.namespaces if ns.name in (sandbox.name, app.name)]
        labels = dict(r.labels)
        assert labels["app"] == "web" and CTR_NAME not in labels  # per-container labels stay on the containers
        for pattern in ("shop", pod, app.name, "app=web", "io.kubernetes.pod.namespace=shop"):
            assert r.matches(pattern), pattern
        assert not r.matches("app=db")

        # a backlog-1 server that never accepts, and a client, both inside the pod's namespace
        server = in_netns(pid, SERVER, "127.0.0.1", "8080", "30", stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        client = in_netns(pid, CLIENT, "127.0.0.1", "8080", "20", "2.5", stdout=subprocess.PIPE, text=True)
        drops: dict[int, int] = {}

        def pod_row_dropped():
            tick = mon.tick()
            for ns in tick.namespaces:
                h = mon.history.get(ns.inode)
                if h:
                    drops[ns.inode] = drops.get(ns.inode, 0) + h.last_deltas.get("TcpExt.ListenDrops", 0)
                    assert all(d >= 0 for d in h.last_deltas.values()), (ns.name, h.last_deltas)
            return drops.get(inode, 0) > 0 and tick

        tick = wait_for(pod_row_dropped, timeout=15, interval=0.5)
        assert tick, drops
        assert row(tick.namespaces, inode).name == f"shop/{pod}"  # the drops are on the pod's row
        assert mon.history.get(inode).total_delta("TcpExt.ListenOverflows") > 0
    finally:
        kill(*(p for p in (server, client) if p is not None))
        mon.close()


def test_shared_namespace_is_one_row_and_host_network_folds_into_host(docker_engine, containers):  # noqa: F811
    tag = _tag()
    db = containers(f"ss-db-{tag}")
    exporter = containers(f"ss-db-exporter-{tag}", network_mode=f"container:{db.id}")
    hostnet = containers(f"ss-hostnet-{tag}", network_mode="host",
                         labels=pod_labels(f"kube-proxy-{tag}", "kube-system", "kube-proxy"))
    alone = containers(f"ss-alone-{tag}")
    db_inode = ns_inode_of_pid(pid_of(db))
    result = Discovery([DockerSource(docker_engine.url)]).discover()

    r = row(result.namespaces, db_inode)
    assert (r.kind, r.name) == ("container", db.name)  # named after the namespace's owner
    assert exporter.name in r.aliases
    assert [c.name for c in r.containers] == [db.name, exporter.name]
    assert not r.pod and not r.k8s_namespace

    host = row(result.namespaces, result.host_inode)
    assert (host.kind, host.name) == ("host", "host")
    assert hostnet.name in [c.name for c in host.containers]
    assert f"kube-system/kube-proxy-{tag}" in host.aliases and hostnet.name in host.aliases
    assert host.pod == "" and host.k8s_namespace == ""  # a host-network pod does not rename the host
    assert host.matches(f"kube-proxy-{tag}")

    solo = row(result.namespaces, ns_inode_of_pid(pid_of(alone)))
    assert (solo.kind, solo.name, solo.aliases) == ("container", alone.name, ())
    assert solo.containers[0].image == "synscope-busybox:test"


def _snapshot(docker_engine, *args: str) -> tuple[int, list[dict], str]:  # noqa: F811
    env = {**os.environ, "DOCKER_HOST": docker_engine.url}
    p = subprocess.run([sys.executable, "-m", "tui", "snapshot", "--json", "--interval", "0.2", *args],
                       capture_output=True, text=True, timeout=60, env=env)
    return p.returncode, [json.loads(line) for line in p.stdout.splitlines() if line.strip()], p.stderr


def test_snapshot_shows_docker_names_and_filters_by_them(docker_engine, containers):  # noqa: F811
    tag = _tag()
    pod = f"api-{tag}"
    sandbox = containers(f"k8s_POD_{pod}_pay-{tag}_0", labels=pod_labels(pod, f"pay-{tag}", "POD", tier=f"t{tag}"))
    app = containers(f"k8s_api_{pod}_pay-{tag}_0", labels=pod_labels(pod, f"pay-{tag}", "api", tier=f"t{tag}"),
                     network_mode=f"container:{sandbox.id}")
    inode = ns_inode_of_pid(pid_of(sandbox))

    # by Kubernetes namespace, pod, container name, label: each finds exactly the pod's row
    for pattern in (f"pay-{tag}", pod, app.name, f"tier=t{tag}"):
        rc, recs, err = _snapshot(docker_engine, "--ns", pattern)
        assert rc == 0, err
        assert [r["inode"] for r in recs] == [inode], (pattern, recs)
        rec = recs[0]
        assert rec["kind"] == "pod" and rec["name"] == f"pay-{tag}/{pod}"
        assert rec["pod"] == pod and rec["k8s_namespace"] == f"pay-{tag}"
        assert rec["labels"]["tier"] == f"t{tag}"
        assert [c["name"] for c in rec["containers"]] == [sandbox.name, app.name]
        assert {c["runtime"] for c in rec["containers"]} == {"docker"}
        assert "source docker unavailable" not in err

    rc, recs, err = _snapshot(docker_engine, "--ns", f"tier=nope{tag}")
    assert rc == 1 and recs == [] and "no namespace matches" in err


def test_snapshot_says_why_docker_is_missing_and_still_shows_the_host(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    p = subprocess.run([sys.executable, "-m", "tui", "snapshot", "--json", "--interval", "0.1", "--ns", "host"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    assert f"source docker not on this node: no Docker socket at {tmp_path}/no-such.sock" in p.stderr
    assert "Traceback" not in p.stderr
    assert any(json.loads(line)["kind"] == "host" for line in p.stdout.splitlines())


def test_start_stop_restart_churn(docker_engine, containers):  # noqa: F811
    """Each change shows after one discovery cycle; a replaced namespace never inherits history."""
    tag = _tag()
    ct = containers(f"ss-churn-{tag}")
    mon = Monitor(Discovery([DockerSource(docker_engine.url)]), background=False)

    def cycle():
        mon.rediscover()  # one discovery cycle (inline: no discovery thread here)
        tick = mon.tick()
        for ns in tick.namespaces:
            h = mon.history.get(ns.inode)
            if h:
                assert all(d >= 0 for d in h.last_deltas.values()), (ns.name, h.last_deltas)
        return tick, [ns for ns in tick.namespaces if ns.name == ct.name]

    try:
        tick, rows = cycle()
        assert len(rows) == 1
        old = rows[0]
        mon.tick()
        assert mon.history.get(old.inode) is not None and old.ns_id

        ct.stop(timeout=0)
        tick, rows = cycle()
        assert rows == []  # gone, not a stale row
        assert old.ns_id not in {ns.ns_id for ns in tick.namespaces}

        recycled = 0
        for action in ("start", "restart", "restart", "restart"):
            before = time.time()
            ct.start() if action == "start" else ct.restart(timeout=0)
            tick, rows = cycle()
            assert len(rows) == 1, (action, [(n.name, n.inode) for n in tick.namespaces])
            new = rows[0]
            assert new.pid == pid_of(ct) and new.ns_id and new.ns_id != old.ns_id, action
            h = mon.history.get(new.inode)
            # a fresh history: nothing from before the restart, even if the kernel handed the
            # new namespace the old one's inode number
            assert h is not None and h.first_time >= before and h.ticks == 0, action
            assert old.inode == new.inode or mon.history.get(old.inode) is None
            recycled += old.inode == new.inode
            mon.tick()
            old = new
        print(f"inode numbers recycled in {recycled} of 4 restarts")
    finally:
        mon.close()


def test_background_discovery_picks_up_churn(docker_engine, containers):  # noqa: F811
    mon = Monitor(Discovery([DockerSource(docker_engine.url)]), discover_every=0.2)
    mon.start()
    try:
        ct = containers(f"ss-bg-{_tag()}")
        assert wait_for(lambda: any(ns.name == ct.name for ns in mon.tick().namespaces), timeout=10)
        ct.stop(timeout=0)
        assert wait_for(lambda: all(ns.name != ct.name for ns in mon.tick().namespaces), timeout=10)
    finally:
        mon.close()


def test_docker_permission_denied_is_a_reason(docker_engine):  # noqa: F811
    """A real EACCES: the same source, in a process that dropped root before connecting."""
    code = textwrap.dedent(f"""
        import os, docker, requests
        from tui.core.sources.docker import DockerSource
        s = DockerSource({docker_engine.url!r})
        s.annotations(); assert s.status().available  # as root: every module the call needs is loaded
        s.close()
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        print(len(s.annotations()), s.status().available, s.status().reason)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"0 False permission denied on {docker_engine.sock} (run as root or as a member of the docker group)"


def test_dockerd_hang_stop_and_return(docker_engine, containers):  # noqa: F811
    tag = _tag()
    ct = containers(f"ss-survivor-{tag}")
    source = DockerSource(docker_engine.url, timeout=1.0)
    mon = Monitor(Discovery([source]), background=False)

    def docker_status(tick):
        return {s.name: s for s in tick.statuses}["docker"]

    try:
        mon.rediscover()
        tick = mon.tick()
        assert docker_status(tick).available
        assert any(ns.name == ct.name for ns in tick.namespaces)

        # dockerd hangs (SIGSTOP): the source gives up after its timeout and says so
        os.kill(docker_engine.proc.pid, signal.SIGSTOP)
        try:
            mon.rediscover()
            tick = mon.tick()
        finally:
            os.kill(docker_engine.proc.pid, signal.SIGCONT)
        st = docker_status(tick)
        assert not st.available and st.reason == f"Docker at {docker_engine.sock} did not answer within 1 s"
        assert any(ns.kind == "host" for ns in tick.namespaces)  # the rest of discovery carried on

        # dockerd stops: unavailable with a reason, no exception, the host row is still there
        docker_engine.stop()
        try:
            mon.rediscover()
            tick = mon.tick()
            st = docker_status(tick)
            assert not st.available and not st.absent  # it was there: its going is a failure, shown in full
            assert st.reason in (f"no Docker socket at {docker_engine.sock} (dockerd stopped?)",
                                 f"nothing listens on {docker_engine.sock} (dockerd not running?)"), st.reason
            assert any(ns.kind == "host" for ns in tick.namespaces)
            assert not any(ns.name == ct.name for ns in tick.namespaces)  # its container went with it
        finally:
            docker_engine.start()  # the same socket; later tests need the engine too

        # dockerd is back: the same source reconnects by itself
        again = containers(f"ss-after-{tag}")
        mon.rediscover()
        tick = mon.tick()
        assert docker_status(tick).available, docker_status(tick)
        assert any(ns.name == again.name for ns in tick.namespaces)
    finally:
        mon.close()


@pytest.mark.parametrize("width", [80, 200])
async def test_pod_row_on_screen_reads_namespace_slash_pod_once(docker_engine, containers, width):  # noqa: F811
    """The real source names the row "<k8s namespace>/<pod>"; the table shows exactly that,
    below 120 columns and above (it used to prefix the k8s namespace a second time)."""
    from tui.app import SynscopeApp
    from tui.source import LiveSource

    tag = _tag()
    pod = f"web-{tag}"
    sandbox = containers(f"k8s_POD_{pod}_mservice_0", labels=pod_labels(pod, "mservice", "POD", app="web"))
    containers(f"k8s_web_{pod}_mservice_0", labels=pod_labels(pod, "mservice", "web", app="web"),
               network_mode=f"container:{sandbox.id}")
    inode = ns_inode_of_pid(pid_of(sandbox))
    source = LiveSource(interval=0.5, monitor=Monitor(Discovery([DockerSource(docker_engine.url)]), background=False))
    app = SynscopeApp(source, ns_filter=pod, autotick=False)
    try:
        async with app.run_test(size=(width, 30)) as pilot:
            for _ in range(3):
                await app.workers.wait_for_complete()
                await pilot.pause()
            table = app.main.table
            assert table.order == [inode], (table.order, inode)
            row = table.render_line(1).text
            assert f" mservice/{pod} " in row, row
            assert row.count("mservice") == 1, row  # not "mservice/mservice/web-…"
            assert " pod " in row
            # the detail panel's title names it the same way, once
            assert app.main.panel.border_title is not None
            title = app.main.panel.border_title
            assert title.startswith(f"mservice/{pod} · pod") and title.count("mservice") == 1, title
    finally:
        source.close()
