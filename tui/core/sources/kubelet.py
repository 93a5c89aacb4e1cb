"""Name pod namespaces on nodes without Docker (containerd, CRI-O), from the node alone.

No cluster API, no CRI socket: only what the kubelet and the runtime leave on the node.

* ``/proc/<pid>/cgroup``: every container process of a pod sits in the pod's cgroup, whose
  path carries the pod UID — ``/kubepods/burstable/pod<uid>/<ctr>`` (cgroupfs driver) or
  ``/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/
  cri-containerd-<ctr>.scope`` (systemd driver). With ``/proc/<pid>/ns/net`` that ties a UID
  to a network namespace.
* ``/var/log/pods/<namespace>_<pod>_<uid>/<container>/``: the kubelet's log directories turn
  the UID into a namespace and pod name (neither may contain ``_``), and list the containers.
* ``/run/netns/cni-<uuid>`` (containerd; CRI-O pins ``/run/netns/<uuid>``): the sandbox's
  namespace, matched to a pod by inode. That gives the row a path, so it stays readable even
  between its processes.

What it cannot tell: labels and annotations (they live in the API server), which container a
process belongs to (only the pod), images, and the pod of a namespace none of whose
processes we can see (a CNI namespace left without a process is shown under its netns name).
The roots are parameters so tests can point them at a tree laid out as the kubelet lays it.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..namespaces import Annotation, ContainerRef, SourceStatus, pod_row_name

__all__ = ["KubeletSource", "PodDir", "count_pod_process", "pod_annotations", "pod_uid_from_cgroup", "parse_pod_dir",
           "pods_from_dirs", "status_note"]

POD_UID_LABEL = "io.kubernetes.pod.uid"

# A pod UID is a UUID; a static (mirror) pod's is 32 hex digits. The systemd driver writes
# the dashes as underscores. Anchored on "kubepods" so an unrelated "pod..." never matches.
_UID = r"[0-9a-f]{8}[-_]?[0-9a-f]{4}[-_]?[0-9a-f]{4}[-_]?[0-9a-f]{4}[-_]?[0-9a-f]{12}"
_CGROUP_POD = re.compile(rf"kubepods\S*?[/-]pod({_UID})(?:\.slice)?(?:/|$)", re.MULTILINE)


def _uid_key(uid: str) -> str:
    """One spelling for both drivers and for /var/log/pods: lowercase hex, no separators."""
    return uid.lower().replace("-", "").replace("_", "")


def pod_uid_from_cgroup(text: str) -> str | None:
    """The pod UID in a /proc/PID/cgroup text (dashed form), or None if not a pod process."""
    m = _CGROUP_POD.search(text)
    return m.group(1).replace("_", "-") if m else None


@dataclass(frozen=True, slots=True)
class PodDir:
    namespace: str
    name: str
    uid: str
    containers: tuple[str, ...]


def parse_pod_dir(dirname: str) -> tuple[str, str, str] | None:
    """``<namespace>_<pod>_<uid>`` -> (namespace, pod, uid); None for anything else."""
    parts = dirname.split("_")
    if len(parts) != 3 or not all(parts):
        return None
    if not re.fullmatch(_UID, parts[2].lower()):
        return None
    return parts[0], parts[1], parts[2]


class KubeletSource:
    """Discovery source for Kubernetes nodes, from cgroups, pod log dirs and CNI netns."""

    name = "kubelet"

    def __init__(self, proc_root: str = "/proc", pod_log_root: str = "/var/log/pods",
                 netns_root: str = "/run/netns") -> None:
        self.proc_root = proc_root
        self.pod_log_root = pod_log_root
        self.netns_root = netns_root
        self._status = SourceStatus(self.name, False, "not asked yet")
        self._uids: dict[tuple[str, int], str | None] = {}  # (pid, netns inode) -> pod UID or None

    def status(self) -> SourceStatus:
        return self._status

    # -- what the node has ------------------------------------------------------------------
    def pod_dirs(self) -> tuple[dict[str, PodDir], str]:
        """{uid key: PodDir} from the log directories, and a problem ("" if none)."""
        try:
            entries = os.listdir(self.pod_log_root)
        except FileNotFoundError:
            return {}, f"{self.pod_log_root} missing"
        except OSError as exc:
            return {}, f"cannot read {self.pod_log_root}: {exc.strerror}"
        dirs = []
        for entry in entries:
            if parse_pod_dir(entry) is None:
                continue
            try:
                containers = tuple(sorted(c for c in os.listdir(os.path.join(self.pod_log_root, entry))
                                          if os.path.isdir(os.path.join(self.pod_log_root, entry, c))))
            except OSError:
                containers = ()
            dirs.append((entry, containers))
        return pods_from_dirs(dirs), ""

    def _inode(self, pid: str) -> int | None:
        try:
            link = os.readlink(os.path.join(self.proc_root, pid, "ns", "net"))
        except OSError:
            return None
        if not (link.startswith("net:[") and link.endswith("]")):
            return None
        try:
            return int(link[5:-1])
        except ValueError:
            return None

    def _cgroup(self, pid: str) -> str:
        try:
            with open(os.path.join(self.proc_root, pid, "cgroup"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def pod_processes(self, host_inode: int | None) -> dict[int, tuple[Counter[str], int]]:
        """{netns inode: (pod uid -> processes seen, first pid)} for processes in pod cgroups."""
        try:
            pids = sorted((p for p in os.listdir(self.proc_root) if p.isdigit()), key=int)
        except OSError:
            return {}
        found: dict[int, tuple[Counter[str], int]] = {}
        known, self._uids = self._uids, {}
        for pid in pids:
            inode = self._inode(pid)
            if inode is None:
                continue
            # one pod process names a pod's namespace; only the host's is shared by many pods
            if inode != host_inode and inode in found:
                continue
            # a process's pod does not change: its cgroup file is read once, not every cycle
            # (most processes are host daemons, read for nothing). Keyed by (pid, netns): a
            # reused pid in another namespace is read again; one reused in the same namespace
            # between two scans keeps the old answer (at worst a hostNetwork pod's name is
            # missing from the host row until that pid goes away).
            key = (pid, inode)
            uid = known[key] if key in known else pod_uid_from_cgroup(self._cgroup(pid))
            if uid is not None or inode == host_inode:
                # "not a pod" is kept only for host processes: one caught in its pod's netns
                # before the runtime moved it into the pod's cgroup is asked again next time
                self._uids[key] = uid
            if uid is None:
                continue
            count_pod_process(found, inode, int(pid), uid)
        return found

    def netns_by_inode(self) -> dict[int, str]:
        try:
            names = sorted(os.listdir(self.netns_root))
        except OSError:
            return {}
        out: dict[int, str] = {}
        for name in names:
            try:
                out.setdefault(os.stat(os.path.join(self.netns_root, name)).st_ino, name)
            except OSError:
                continue
        return out

    # -- the Source protocol ----------------------------------------------------------------
    def annotations(self) -> list[Annotation]:
        pods, problem = self.pod_dirs()
        host_inode = self._inode("1") or (self._inode("self") if self.proc_root == "/proc" else None)
        found = self.pod_processes(host_inode)
        if not pods and not found:
            reason = problem or f"no pods in {self.pod_log_root}"
            self._status = SourceStatus(self.name, False, f"no kubelet pods on this node ({reason}, no kubepods cgroups)",
                                        absent=True)
            return []
        anns, named, unnamed = pod_annotations(pods, found, self.netns_by_inode(), host_inode, self.netns_root)
        self._status = SourceStatus(self.name, True, status_note(named, unnamed, self.pod_log_root, problem))
        return anns


def pods_from_dirs(dirs: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, PodDir]:
    """``[(log dir name, its container dirs)]`` -> {uid key: PodDir}; other names are skipped."""
    pods: dict[str, PodDir] = {}
    for entry, containers in dirs:
        parsed = parse_pod_dir(entry)
        if parsed is not None:
            pods[_uid_key(parsed[2])] = PodDir(*parsed, containers)
    return pods


def count_pod_process(found: dict[int, tuple[Counter[str], int]], inode: int, pid: int, uid: str) -> None:
    """One process of pod ``uid`` seen in netns ``inode`` (the first one seen is the row's pid)."""
    counts, _first = found.setdefault(inode, (Counter(), pid))
    counts[uid] += 1


def pod_annotations(pods: dict[str, PodDir], found: dict[int, tuple[Counter[str], int]], netns: dict[int, str],
                    host_inode: int | None, netns_root: str = "/run/netns") -> tuple[list[Annotation], int, int]:
    """What the node's files say, as annotations: (annotations, pods named, pods known by UID only).

    ``pods``: :meth:`KubeletSource.pod_dirs`; ``found``: :meth:`KubeletSource.pod_processes`;
    ``netns``: :meth:`KubeletSource.netns_by_inode`. Pure, so the scripted source builds its
    pods through it too."""
    anns: list[Annotation] = []
    named = unnamed = 0
    for inode, (counts, pid) in found.items():
        uids = [uid for uid, _ in counts.most_common()]
        if inode == host_inode:
            # host-network pods: names on the host row, which stays "host"
            aliases = tuple(_pod_name(pods, uid) for uid in uids)
            anns.append(Annotation(inode=inode, kind="container", aliases=aliases))
            continue
        uid = uids[0]
        pod = pods.get(_uid_key(uid))
        named += pod is not None
        unnamed += pod is None
        containers = tuple(ContainerRef(c, runtime="kubelet", k8s_container=c) for c in pod.containers) if pod else ()
        path = os.path.join(netns_root, netns[inode]) if inode in netns else None
        anns.append(Annotation(
            inode=inode,
            pid=pid,
            kind="pod",
            name=_pod_name(pods, uid),
            aliases=tuple(_pod_name(pods, u) for u in uids[1:]),
            pod=pod.name if pod else "",
            k8s_namespace=pod.namespace if pod else "",
            labels=((POD_UID_LABEL, uid),),
            containers=containers,
            path=path,
        ))
    return anns, named, unnamed


def status_note(named: int, unnamed: int, pod_log_root: str, problem: str = "") -> str:
    note = f"{named} pod namespace{'s' if named != 1 else ''} named from cgroups and {pod_log_root}"
    if unnamed:
        note += f"; {unnamed} known only by pod UID (no log directory)"
    if problem:
        note += f"; {problem}"
    return note


def _pod_name(pods: dict[str, PodDir], uid: str) -> str:
    pod = pods.get(_uid_key(uid))
    return pod_row_name(pod.namespace, pod.name) if pod else f"pod {uid}"
