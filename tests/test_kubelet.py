"""The kubelet path (containerd / CRI-O nodes, no Docker, no cluster API).

No kubelet runs here, so a directory tree laid out as the kubelet and the runtime lay it out
STANDS IN FOR A REAL KUBELET: a /proc root whose ``<pid>/cgroup`` files carry the pod cgroup
paths (a real process's cgroup cannot be faked, and this machine has no kubepods cgroups),
and a /var/log/pods with ``<namespace>_<pod>_<uid>/<container>/`` directories. What can be
real is real: the CNI namespaces are real ``ip netns add cni-<uuid>`` namespaces made by the
test, with real processes in them whose real pids the fake /proc names, so Discovery, the
sampler and the kernel counters run for real underneath.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from nethelpers import CLIENT, SERVER, ip, require_root, wait_for
from spy import record_calls

from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery, ns_inode_of_path, ns_inode_of_pid
from tui.core.sources.kubelet import KubeletSource, parse_pod_dir, pod_uid_from_cgroup

UID_WEB = "2ea3e8b5-4f9b-4b39-8e2b-2b7c4a4f0f5e"  # a Deployment's pod
UID_ETCD = "5f1c1d7e6b3a8a1d9e0f2a3b4c5d6e7f"  # a static pod: 32 hex digits, no dashes
UID_PROXY = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"  # a hostNetwork pod
UID_DONE = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"  # a pod whose processes are all gone
UID_NOLOG = "7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a"  # a pod process whose log dir we cannot see
CTR = "3f" * 32  # a 64-hex container id

SYSTEMD_CONTAINERD = (
    "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{u}.slice/cri-containerd-{c}.scope\n"
)
CGROUPFS_V1 = (
    "12:pids:/kubepods/burstable/pod{u}/{c}\n"
    "11:memory:/kubepods/burstable/pod{u}/{c}\n"
    "1:name=systemd:/kubepods/burstable/pod{u}/{c}\n"
    "0::/\n"
)
SYSTEMD_CRIO_BESTEFFORT = "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{u}.slice/crio-{c}.scope\n"


def test_pod_uid_from_cgroup_for_both_drivers_and_runtimes():
    assert pod_uid_from_cgroup(SYSTEMD_CONTAINERD.format(u=UID_WEB.replace("-", "_"), c=CTR)) == UID_WEB
    assert pod_uid_from_cgroup(CGROUPFS_V1.format(u=UID_WEB, c=CTR)) == UID_WEB
    assert pod_uid_from_cgroup(SYSTEMD_CRIO_BESTEFFORT.format(u=UID_PROXY.replace("-", "_"), c=CTR)) == UID_PROXY
    assert pod_uid_from_cgroup(CGROUPFS_V1.format(u=UID_ETCD, c=CTR)) == UID_ETCD  # static pod
    # guaranteed QoS pods sit right under kubepods; the pod's own cgroup (the pause) too
    assert pod_uid_from_cgroup(f"0::/kubepods/pod{UID_WEB}\n") == UID_WEB
    # kubelet started with --cgroup-root (kind, nested nodes)
    assert pod_uid_from_cgroup(f"0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod{UID_WEB.replace('-', '_')}.slice/cri-containerd-{CTR}.scope") == UID_WEB
    # not pod processes
    for text in ("0::/init.scope\n", f"0::/system.slice/docker-{CTR}.scope\n", "0::/user.slice/user-0.slice/session-3.scope\n",
                 f"0::/docker/{CTR}\n", "0::/system.slice/podman-pod1.scope\n", "0::/kubepods.slice\n",
                 "0::/kubepods.slice/kubepods-burstable.slice\n", ""):
        assert pod_uid_from_cgroup(text) is None, text


def test_parse_pod_log_dir():
    assert parse_pod_dir(f"shop_web-7d9f_{UID_WEB}") == ("shop", "web-7d9f", UID_WEB)
    assert parse_pod_dir(f"kube-system_etcd-node1_{UID_ETCD}") == ("kube-system", "etcd-node1", UID_ETCD)
    for bad in ("README", f"shop_{UID_WEB}", f"a_b_c_{UID_WEB}", "shop_web_not-a-uid", f"_web_{UID_WEB}"):
        assert parse_pod_dir(bad) is None, bad


def _link_ns(proc: Path, pid: int, inode: int, cgroup: str) -> None:
    (proc / str(pid) / "ns").mkdir(parents=True)
    os.symlink(f"net:[{inode}]", proc / str(pid) / "ns" / "net")  # what readlink /proc/PID/ns/net gives
    (proc / str(pid) / "cgroup").write_text(cgroup)


def _pod_log_dir(logs: Path, ns: str, pod: str, uid: str, *containers: str) -> None:
    for c in containers:
        (logs / f"{ns}_{pod}_{uid}" / c).mkdir(parents=True)
        (logs / f"{ns}_{pod}_{uid}" / c / "0.log").write_text("")


@pytest.fixture
def node(tmp_path):
    """Two real CNI namespaces with a real process each, and a kubelet-shaped tree naming them."""
    require_root()
    netns = [f"cni-{uuid.uuid4()}" for _ in range(2)]
    procs: list[subprocess.Popen] = []
    try:
        for name in netns:
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
            # the "pause" of the pod: a real process in the real namespace (bounded life)
            procs.append(subprocess.Popen(["ip", "netns", "exec", name, "sleep", "120"], start_new_session=True))
        inodes = [ns_inode_of_path(f"/run/netns/{name}") for name in netns]
        assert wait_for(lambda: all(ns_inode_of_pid(p.pid) == i for p, i in zip(procs, inodes)), timeout=10)
        host = ns_inode_of_pid(1) or ns_inode_of_pid(os.getpid())

        proc, logs = tmp_path / "proc", tmp_path / "pods"
        _link_ns(proc, 1, host, "0::/init.scope\n")
        # pod web (containerd, systemd driver): its pause + an app process in cni netns 0
        _link_ns(proc, procs[0].pid, inodes[0], SYSTEMD_CONTAINERD.format(u=UID_WEB.replace("-", "_"), c="ab" * 32))
        _link_ns(proc, 990001, inodes[0], SYSTEMD_CONTAINERD.format(u=UID_WEB.replace("-", "_"), c=CTR))
        # static pod etcd (cgroupfs driver, cgroup v1) in cni netns 1
        _link_ns(proc, procs[1].pid, inodes[1], CGROUPFS_V1.format(u=UID_ETCD, c=CTR))
        # a hostNetwork pod (CRI-O), and a plain host daemon
        _link_ns(proc, 990002, host, SYSTEMD_CRIO_BESTEFFORT.format(u=UID_PROXY.replace("-", "_"), c=CTR))
        _link_ns(proc, 990003, host, "0::/system.slice/sshd.service\n")
        _pod_log_dir(logs, "shop", "web-7d9f", UID_WEB, "app", "istio-proxy")
        _pod_log_dir(logs, "kube-system", "etcd-node1", UID_ETCD, "etcd")
        _pod_log_dir(logs, "kube-system", "kube-proxy-x2x", UID_PROXY, "kube-proxy")
        _pod_log_dir(logs, "batch", "done-job", UID_DONE, "main")  # finished: no process, no row
        (logs / "README").write_text("not a pod")
        yield {"proc": proc, "logs": logs, "netns": netns, "inodes": inodes, "procs": procs, "host": host}
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)  # the session we started, by its pid
            p.wait(timeout=10)
        for name in netns:
            ip("netns", "del", name, check=False)


def test_kubelet_tree_names_pods(node):
    source = KubeletSource(proc_root=str(node["proc"]), pod_log_root=str(node["logs"]), netns_root="/run/netns")
    anns = {a.inode: a for a in source.annotations()}
    status = source.status()
    assert status.available and status.reason.startswith("2 pod namespaces named"), status

    web = anns[node["inodes"][0]]
    assert (web.kind, web.name, web.pod, web.k8s_namespace) == ("pod", "shop/web-7d9f", "web-7d9f", "shop")
    assert [c.name for c in web.containers] == ["app", "istio-proxy"]  # from the log dirs
    assert dict(web.labels) == {"io.kubernetes.pod.uid": UID_WEB}
    assert web.pid == node["procs"][0].pid and web.path == f"/run/netns/{node['netns'][0]}"

    etcd = anns[node["inodes"][1]]
    assert (etcd.kind, etcd.name) == ("pod", "kube-system/etcd-node1")
    assert dict(etcd.labels) == {"io.kubernetes.pod.uid": UID_ETCD}

    host = anns[node["host"]]  # hostNetwork pods name the host row, they do not rename it
    assert host.aliases == ("kube-system/kube-proxy-x2x",) and host.name == "" and not host.pod
    assert len(anns) == 3  # the finished pod and the sshd make no row

    # a pod process whose log directory is not there: named by its UID, and the note says so
    _link_ns(node["proc"], 990004, 4026599999, CGROUPFS_V1.format(u=UID_NOLOG, c=CTR))
    anns = {a.inode: a for a in source.annotations()}
    assert anns[4026599999].name == f"pod {UID_NOLOG}" and anns[4026599999].pod == ""
    assert "1 known only by pod UID" in source.status().reason


def test_kubelet_pods_through_discovery_and_sampling(node):
    """End to end on the real namespaces: the CNI netns row becomes the pod's, counters move on it."""
    source = KubeletSource(proc_root=str(node["proc"]), pod_log_root=str(node["logs"]), netns_root="/run/netns")
    mon = Monitor(Discovery([source]), background=False)
    server = client = None
    try:
        tick = mon.tick()
        web = next(ns for ns in tick.namespaces if ns.inode == node["inodes"][0])
        assert (web.kind, web.name, web.k8s_namespace) == ("pod", "shop/web-7d9f", "shop")
        assert node["netns"][0] in web.aliases  # the CNI name it also goes by
        assert web.path == f"/run/netns/{node['netns'][0]}"
        assert web.matches("shop") and web.matches(UID_WEB) and web.matches("istio-proxy")
        host = next(ns for ns in tick.namespaces if ns.kind == "host")
        assert "kube-system/kube-proxy-x2x" in host.aliases and host.name == "host"

        # a listen overflow inside the pod's namespace shows on the pod's row
        enter = ["ip", "netns", "exec", node["netns"][0], sys.executable, "-c"]
        server = subprocess.Popen([*enter, SERVER, "127.0.0.1", "8080", "30"], stdout=subprocess.PIPE, text=True,
                                  start_new_session=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        client = subprocess.Popen([*enter, CLIENT, "127.0.0.1", "8080", "20", "2.5"], stdout=subprocess.PIPE,
                                  text=True, start_new_session=True)
        drops = {"n": 0}

        def dropped():
            mon.tick()
            h = mon.history.get(web.inode)
            drops["n"] += h.last_deltas.get("TcpExt.ListenDrops", 0) if h else 0
            return drops["n"] > 0

        assert wait_for(dropped, timeout=15, interval=0.5), drops
    finally:
        for p in (server, client):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            if p is not None:
                p.wait(timeout=10)
        mon.close()

    # the pod's last process exits (and leaves /proc): its CNI netns stays, pid-less; the
    # kubelet path cannot name it any more, so it is shown under its netns name, read by path
    pause = node["procs"][0]
    os.killpg(pause.pid, signal.SIGKILL)
    pause.wait(timeout=10)
    for entry in (node["proc"] / str(pause.pid), node["proc"] / "990001"):
        (entry / "ns" / "net").unlink()
    mon = Monitor(Discovery([source]), background=False)
    try:
        mon.tick()
        tick = mon.tick()
        left = next(ns for ns in tick.namespaces if ns.inode == node["inodes"][0])
        assert (left.kind, left.name, left.pids, left.path) == ("netns", node["netns"][0], (), f"/run/netns/{node['netns'][0]}")
        assert mon.history.get(left.inode) is not None  # still sampled, through setns
    finally:
        mon.close()


def test_node_without_kubelet_is_unavailable_with_a_reason(tmp_path):
    (tmp_path / "proc" / "1").mkdir(parents=True)
    source = KubeletSource(proc_root=str(tmp_path / "proc"), pod_log_root=str(tmp_path / "no-pods"), netns_root=str(tmp_path))
    assert source.annotations() == []
    st = source.status()
    assert not st.available
    assert st.reason == f"no kubelet pods on this node ({tmp_path}/no-pods missing, no kubepods cgroups)"


def test_cgroup_files_are_read_once_per_process(node, monkeypatch):
    source = KubeletSource(proc_root=str(node["proc"]), pod_log_root=str(node["logs"]), netns_root="/run/netns")
    read = record_calls(monkeypatch, source, "_cgroup")
    first = {a.inode: a.name for a in source.annotations()}
    assert "990003" in read and len(read) >= 5  # the host daemon too, the first time
    read.clear()
    assert {a.inode: a.name for a in source.annotations()} == first
    assert read == []  # nothing changed: no cgroup file read again
    # pid 990003 now shows up in another namespace (a reused pid): read again, and named
    link = node["proc"] / "990003" / "ns" / "net"
    link.unlink()
    os.symlink("net:[4026599998]", link)
    (node["proc"] / "990003" / "cgroup").write_text(CGROUPFS_V1.format(u=UID_NOLOG, c=CTR))
    anns = {a.inode: a for a in source.annotations()}
    assert read == ["990003"] and anns[4026599998].name == f"pod {UID_NOLOG}"


def test_a_process_not_yet_in_its_pod_cgroup_is_asked_again(node, monkeypatch):
    """A runtime moves a new container's process into the pod netns, then into its cgroup:
    caught in between, it is not a pod process yet, and must not stay unnamed."""
    source = KubeletSource(proc_root=str(node["proc"]), pod_log_root=str(node["logs"]), netns_root="/run/netns")
    _link_ns(node["proc"], 990005, 4026599997, "0::/system.slice/containerd.service\n")
    assert 4026599997 not in {a.inode for a in source.annotations()}
    (node["proc"] / "990005" / "cgroup").write_text(CGROUPFS_V1.format(u=UID_NOLOG, c=CTR))
    read = record_calls(monkeypatch, source, "_cgroup")
    anns = {a.inode: a for a in source.annotations()}
    assert "990005" in read and anns[4026599997].name == f"pod {UID_NOLOG}"
    assert "990003" not in read  # the host daemon's answer is kept
