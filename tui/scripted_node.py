"""The node the scripted source pretends to be, named through the real discovery code.

Tests, snapshots, screenshots and the UI benchmark run on :class:`tui.source.ScriptedSource`.
Its rows must look exactly like the rows the live sources make, or the screens are tested on
names no node ever shows (a table that prefixed the pod's k8s namespace a second time went
unseen that way). So nothing here writes a ``NetNS`` by hand. The node is described the way
the live sources read it, and those sources' own code turns it into rows:

* processes, as the /proc scan sees them (pid, comm, netns inode, cgroup text) ->
  :func:`~tui.core.namespaces.process_row`;
* ``/run/netns`` names -> the netns annotation Discovery makes;
* Docker containers as the Engine API returns them (``GET /containers/json`` entries and
  ``/containers/ID/json``), labelled the way the kubelet's dockershim / cri-dockerd labels
  pod containers -> :func:`~tui.core.sources.docker.container_from_api` and
  :func:`~tui.core.sources.docker.group_containers`;
* the kubelet's files (``/var/log/pods/<ns>_<pod>_<uid>/<container>/`` and each process's
  cgroup) -> :func:`~tui.core.sources.kubelet.parse_pod_dir`,
  :func:`~tui.core.sources.kubelet.pod_uid_from_cgroup` and
  :func:`~tui.core.sources.kubelet.pod_annotations`;
* all merged by :func:`~tui.core.namespaces.merge_annotation`, in Discovery's source order
  (Docker, then the kubelet), and ordered by :func:`~tui.core.namespaces.sort_rows`.

The node: Kubernetes on Docker (cri-dockerd), the seed incident's setup. Pods are a
sandbox ("pause") container plus app containers joined to its network namespace; the kubelet
source names the same pods from their cgroups and log directories. Beside them: a compose
container, a container with a CJK name, one with a very long name, a hand-labelled container
whose labels carry markup, a pid-less ``ip netns``, a daemon in a private namespace, and a
hostNetwork pod whose name lands on the host row.

Inodes and pids are fixed (tests refer to them); ids and UIDs are derived from names.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace

from tui.core.namespaces import Annotation, NetNS, SourceStatus, merge_annotation, process_row, sort_rows
from tui.core.sources import docker as docker_source
from tui.core.sources import kubelet as kubelet_source

__all__ = ["HOST_INODE", "ScriptedNode", "scripted_node"]

HOST_INODE = 4026531840
POD_LOG_ROOT = "/var/log/pods"
PAUSE_IMAGE = "registry.k8s.io/pause:3.9"


def _docker_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _pod_uid(namespace: str, pod: str) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(f"{namespace}/{pod}".encode()).digest(), version=4))


@dataclass
class ScriptedNode:
    """The node's raw facts, as the live sources would read them."""

    processes: list[tuple[int, int, str, str]] = field(default_factory=list)  # (pid, netns inode, comm, cgroup)
    named_netns: list[tuple[str, int]] = field(default_factory=list)  # /run/netns/NAME -> inode
    containers: list[tuple[dict, dict]] = field(default_factory=list)  # (/containers/json entry, inspect)
    pod_dirs: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # log dir name, its containers
    behaviours: dict[int, str] = field(default_factory=dict)  # inode -> how its counters move

    # -- describing the node ------------------------------------------------------------------
    def process(self, pid: int, inode: int, comm: str, cgroup: str = "0::/system.slice/x.service\n") -> None:
        self.processes.append((pid, inode, comm, cgroup))

    def container(self, name: str, image: str, pid: int, labels: dict[str, str] | None = None,
                  network_mode: str = "bridge") -> str:
        """A running container as the Engine API describes it; returns its id."""
        cid = _docker_id(name)
        entry = {"Id": cid, "Names": [f"/{name}"], "Image": image, "State": "running", "Labels": dict(labels or {}),
                 "HostConfig": {"NetworkMode": network_mode}}
        inspect = {"Id": cid, "State": {"Running": True, "Pid": pid}, "HostConfig": {"NetworkMode": network_mode}}
        self.containers.append((entry, inspect))
        return cid

    def pod(self, namespace: str, pod: str, inode: int, pids: list[tuple[int, str, str]],
            labels: dict[str, str] | None = None, *, host_network: bool = False, qos: str = "burstable") -> None:
        """A pod on cri-dockerd: its sandbox (the first pid, "pause") and one container per
        other ``(pid, comm, container name)``, with the labels the kubelet puts on them,
        their processes in the pod's cgroup, and the kubelet's log directory."""
        uid = _pod_uid(namespace, pod)
        k8s = {"io.kubernetes.pod.name": pod, "io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid}
        (spid, _, _), apps = pids[0], pids[1:]
        sandbox_name = f"k8s_POD_{pod}_{namespace}_{uid}_0"
        sandbox = self.container(sandbox_name, PAUSE_IMAGE, spid,
                                 {**(labels or {}), **k8s, "io.kubernetes.container.name": "POD",
                                  "io.kubernetes.docker.type": "podsandbox"},
                                 "host" if host_network else "default")
        for pid, comm, cname in pids:
            cid = sandbox if pid == spid else _docker_id(f"k8s_{cname}_{pod}_{namespace}_{uid}_0")
            cgroup = (f"12:pids:/kubepods/{qos}/pod{uid}/{cid}\n"
                      f"4:memory:/kubepods/{qos}/pod{uid}/{cid}\n0::/\n")
            self.process(pid, inode, comm, cgroup)
        for pid, _comm, cname in apps:
            self.container(f"k8s_{cname}_{pod}_{namespace}_{uid}_0", f"registry.local/{namespace}/{cname}:1.8.2", pid,
                           {**k8s, "io.kubernetes.container.name": cname, "io.kubernetes.docker.type": "container",
                            "annotation.io.kubernetes.container.restartCount": "0"},
                           "host" if host_network else f"container:{sandbox}")
        self.pod_dirs.append((f"{namespace}_{pod}_{uid}", tuple(sorted(c for _, _, c in apps))))

    # -- reading it the way the live sources do -------------------------------------------------
    def namespaces(self) -> tuple[list[NetNS], tuple[SourceStatus, ...]]:
        """The rows Discovery makes of this node, and the sources' statuses."""
        by_inode: dict[int, list[int]] = {}
        comms: dict[int, str] = {}
        inode_of: dict[int, int] = {}
        for pid, inode, comm, _ in self.processes:
            by_inode.setdefault(inode, []).append(pid)
            comms[pid] = comm
            inode_of[pid] = inode
        rows = {inode: process_row(inode, pids, (comms[p] for p in pids), HOST_INODE) for inode, pids in by_inode.items()}
        for name, inode in self.named_netns:
            merge_annotation(rows, inode, Annotation(inode=inode, kind="netns", name=name, path=f"/run/netns/{name}"))

        # Docker: the API's records through the source's own parsing and grouping
        running = [c for c in (docker_source.container_from_api(e, i) for e, i in self.containers) if c is not None]
        docker_anns, unreadable = docker_source.group_containers(running, inode_of.get, HOST_INODE)
        # the kubelet: log directories and cgroups through the source's own parsing
        pods = kubelet_source.pods_from_dirs(self.pod_dirs)
        assert len(pods) == len(self.pod_dirs), "a pod log directory the kubelet source would not read"
        found: dict[int, tuple[Counter[str], int]] = {}
        for pid, inode, _, cgroup in sorted(self.processes):  # the source scans /proc in pid order
            if inode != HOST_INODE and inode in found:  # one pod process names a pod's namespace
                continue
            uid = kubelet_source.pod_uid_from_cgroup(cgroup)
            if uid is not None:
                kubelet_source.count_pod_process(found, inode, pid, uid)
        kubelet_anns, named, unnamed = kubelet_source.pod_annotations(pods, found, {}, HOST_INODE)
        for ann in (*docker_anns, *kubelet_anns):  # Discovery's order: Docker, then the kubelet
            assert ann.inode is not None
            merge_annotation(rows, ann.inode, ann)
        # every namespace has a kernel id on a kernel that can tell (NS_GET_ID)
        ordered = [replace(ns, ns_id=4096 + i) for i, ns in enumerate(sort_rows(rows.values()))]
        statuses = (
            SourceStatus("docker", True, docker_source.status_note(len(running), unreadable)),
            SourceStatus("kubelet", True, kubelet_source.status_note(named, unnamed, POD_LOG_ROOT)),
        )
        return ordered, statuses


def scripted_node(extra: int = 0) -> ScriptedNode:
    """The seed's incident: a pod whose SYN drops and delayed ACKs climb, among calm ones;
    ``extra`` more calm pods (a few flickering) for the benchmark's crowd."""
    n = ScriptedNode()
    b = HOST_INODE
    for pid, comm in ((1, "systemd"), (612, "dockerd"), (640, "containerd"), (701, "kubelet"), (902, "sshd")):
        n.process(pid, b, comm)
    n.behaviours[b] = "busy"
    # the incident's pod and its neighbours (mservice), DNS (kube-system)
    n.pod("mservice", "web-7d9f8c6b5-x2x4q", b + 1201, [(48213, "pause", "POD"), (48240, "nginx", "web"),
                                                        (48291, "java", "app")],
          {"app": "web", "pod-template-hash": "7d9f8c6b5"})
    n.behaviours[b + 1201] = "incident"
    n.pod("mservice", "gateway-66b9d4c7f-pq7rt", b + 1202, [(48877, "pause", "POD"), (48901, "envoy", "gateway")],
          {"app": "gateway", "pod-template-hash": "66b9d4c7f"})
    n.behaviours[b + 1202] = "client"
    n.pod("mservice", "api-5c6d7b8f9-q8w2e", b + 1203, [(49102, "pause", "POD"), (49130, "python3", "api")],
          {"app": "api", "pod-template-hash": "5c6d7b8f9"})
    n.behaviours[b + 1203] = "calm"
    n.pod("kube-system", "coredns-5d78c9869d-7xk2p", b + 1204, [(1733, "pause", "POD"), (1760, "coredns", "coredns")],
          {"k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d"})
    n.behaviours[b + 1204] = "udp"
    # a hostNetwork pod: its processes are in the host's namespace; it names the host row
    n.pod("kube-system", "kube-proxy-x8k2n", b, [(2210, "pause", "POD"), (2236, "kube-proxy", "kube-proxy")],
          {"k8s-app": "kube-proxy"}, host_network=True, qos="besteffort")
    # plain Docker containers
    n.process(30511, b + 1205, "redis-server")
    n.container("shop-redis-1", "redis:7", 30511, {"com.docker.compose.project": "shop",
                                                   "com.docker.compose.service": "redis"})
    n.behaviours[b + 1205] = "old-burst"
    n.named_netns.append(("blue", b + 1206))  # `ip netns add blue`, nothing running in it
    n.behaviours[b + 1206] = "idle"
    n.process(812, b + 1207, "chronyd")  # a daemon in a private namespace (PrivateNetwork=yes)
    n.behaviours[b + 1207] = "idle"
    # odd names: markup, brackets, unicode, very long — they must render literally. Labels
    # are anyone's to set: a container labelled by hand as a pod, with markup in the labels
    n.process(50001, b + 1208, "sleep")
    n.container("markup-test", "busybox", 50001, {"io.kubernetes.pod.name": "[bold]x[/]",
                                                   "io.kubernetes.pod.namespace": "[red]team[/red]",
                                                   "app": "[link=x]y[/link]"})
    n.behaviours[b + 1208] = "calm"
    n.process(50002, b + 1209, "pay")
    n.container("支付服务-容器", "pay:2", 50002)
    n.behaviours[b + 1209] = "calm"
    n.process(50003, b + 1210, "worker")
    n.container("a-very-long-container-name-from-a-compose-project-0123456789abcdef-worker-17", "worker:1", 50003)
    n.behaviours[b + 1210] = "idle"
    for k in range(extra):  # the benchmark's crowd: calm pods, a few flickering
        inode = 4026540000 + k
        pod = f"load-{k:03d}-6d5f7c9b8-{k * 7919 % 100000:05d}"
        n.pod(f"team-{k % 17:02d}", pod, inode, [(60000 + 2 * k, "pause", "POD"), (60001 + 2 * k, "app", "app")],
              {"app": f"load-{k % 40}"})
        n.behaviours[inode] = "load"
    return n
