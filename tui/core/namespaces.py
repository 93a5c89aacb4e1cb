"""Find every network namespace on the node and name it.

A namespace's identity is the inode of its nsfs file (``readlink /proc/PID/ns/net`` ->
``net:[4026531840]``). Discovery merges what several *sources* say about inodes:

* the host namespace (pid 1's, or ours when pid 1 is unreadable — EACCES happens even for
  root);
* every process (``/proc/*/ns/net``), deduplicated by inode, with a few live pids and the
  process names inside;
* named namespaces in ``/run/netns`` (``ip netns add``), pid-less ones included;
* pluggable sources (Docker, kubelet/CRI on-disk state) that add names, pods, labels and
  containers. A source that fails is reported unavailable with its reason; the others go on.

Races are normal: a process that exits mid-scan or a pid we may not read is skipped
silently.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from .netns import setns_net

__all__ = [
    "Annotation",
    "ContainerRef",
    "Discovery",
    "DiscoveryResult",
    "KIND_RANK",
    "NetNS",
    "Source",
    "SourceStatus",
    "merge_annotation",
    "netns_ids",
    "ns_inode_of_pid",
    "ns_inode_of_path",
    "pod_row_name",
    "printable",
    "process_row",
    "sort_rows",
]

NETNS_DIR = "/run/netns"
MAX_PIDS = 4  # live pids kept per namespace: the first is read, the rest are fallbacks
MAX_PROCESS_NAMES = 8

# How specific a kind is: a more specific source wins the row's kind and display name.
KIND_RANK = {"proc": 0, "netns": 1, "container": 2, "pod": 3, "host": 4}


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """One container whose processes live in a namespace."""

    name: str
    id: str = ""  # short id
    image: str = ""
    state: str = ""
    runtime: str = ""  # "docker", "kubelet", ...
    k8s_container: str = ""


def pod_row_name(k8s_namespace: str, pod: str) -> str:
    """What a pod's row is called: ``<k8s namespace>/<pod>``, as ``kubectl -n NS get pod POD``
    spells it (the pod alone when its namespace is unknown; "" without a pod)."""
    if not pod:
        return ""
    return f"{k8s_namespace}/{pod}" if k8s_namespace else pod


@dataclass(frozen=True, slots=True)
class NetNS:
    """One network namespace as the engineer should see it."""

    inode: int
    kind: str  # "host" | "pod" | "container" | "netns" | "proc"
    # What to call the row, and the only name anything shows (table, detail and chart titles,
    # snapshot, diagnose): pods are named by pod_row_name() in the sources, so nothing else
    # composes "<k8s namespace>/<pod>" again.
    name: str
    pids: tuple[int, ...] = ()  # live pids inside, first one is read; () for pid-less netns
    path: str | None = None  # a path setns() can open: /run/netns/NAME
    aliases: tuple[str, ...] = ()  # every other name it goes by (netns names, containers)
    pod: str = ""
    k8s_namespace: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    containers: tuple[ContainerRef, ...] = ()
    processes: tuple[str, ...] = ()  # process names inside (a few)
    # The namespace's never-reused id (netns cookie), 0 if the kernel cannot tell. The inode
    # is NOT enough across time: the kernel recycles nsfs inode numbers, so a restarted
    # container can come back in a new namespace with its old inode.
    ns_id: int = 0

    @property
    def pid(self) -> int | None:
        return self.pids[0] if self.pids else None

    @property
    def label(self) -> str:
        return f"net:[{self.inode}]"

    def search_text(self) -> str:
        """Everything a filter may match: names, pod, k8s namespace, labels, containers."""
        parts = [self.name, self.kind, self.label, str(self.inode), self.pod, self.k8s_namespace]
        parts += self.aliases
        parts += [f"{k}={v}" for k, v in self.labels]
        parts += [c.name for c in self.containers] + [c.id for c in self.containers]
        parts += [c.image for c in self.containers]
        parts += self.processes
        return "\n".join(p for p in parts if p).lower()

    def matches(self, pattern: str) -> bool:
        """Case-insensitive substring match on any name; ``key=value`` matches a label."""
        return pattern.strip().lower() in self.search_text()


@dataclass(frozen=True, slots=True)
class Annotation:
    """What a source knows about one namespace. Sources give inode or pid (or both)."""

    inode: int | None = None
    pid: int | None = None
    kind: str = "proc"
    name: str = ""
    aliases: tuple[str, ...] = ()
    pod: str = ""
    k8s_namespace: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    containers: tuple[ContainerRef, ...] = ()
    path: str | None = None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    available: bool
    reason: str = ""  # why it is unavailable, or a short note
    absent: bool = False  # unavailable because this node simply has none (no socket, no kubelet)


class Source(Protocol):
    """A discovery source: names what it knows. May raise; Discovery marks it unavailable."""

    name: str

    def annotations(self) -> Iterable[Annotation]: ...

    def status(self) -> SourceStatus: ...


@dataclass
class DiscoveryResult:
    namespaces: list[NetNS]
    statuses: list[SourceStatus] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    host_inode: int = 0
    root: bool = True  # False: not root, only reachable namespaces are shown


def ns_inode_of_pid(pid: int | str) -> int | None:
    """Inode of a process's net namespace, or None if it is gone or unreadable."""
    try:
        link = os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    # "net:[4026531840]"
    try:
        return int(link[5:-1])
    except ValueError:
        return None


def ns_inode_of_path(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


# _IOR(NSIO=0xb7, 13, __u64): NS_GET_ID on recent kernels; the value is the netns cookie.
NS_GET_ID = (2 << 30) | (8 << 16) | (0xB7 << 8) | 13
SO_NETNS_COOKIE = 71  # Linux >= 5.14
_ns_get_id_works: bool | None = None


def netns_ids(items: list[tuple[int, str]]) -> dict[int, int]:
    """``[(inode, path)]`` -> ``{inode: netns id}`` for the paths still naming that inode.

    ``path`` is ``/proc/PID/ns/net`` or ``/run/netns/NAME``. Uses the NS_GET_ID ioctl (no
    setns); on kernels without it, one short-lived thread setns()-es into each namespace and
    asks a socket for its SO_NETNS_COOKIE. Namespaces that vanish or cannot be asked are
    left out (the caller treats them as "unknown", never as "replaced").
    """
    global _ns_get_id_works
    out: dict[int, int] = {}
    if _ns_get_id_works is not False:
        buf = bytes(8)
        for inode, path in items:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if os.fstat(fd).st_ino != inode:  # the pid was recycled since the scan
                    continue
                out[inode] = struct.unpack("Q", fcntl.ioctl(fd, NS_GET_ID, buf))[0]
                _ns_get_id_works = True
            except OSError as exc:
                if exc.errno in (errno.ENOTTY, errno.EINVAL) and not _ns_get_id_works:
                    _ns_get_id_works = False
                    break
            finally:
                os.close(fd)
        if _ns_get_id_works is not False:
            return out
    # old kernel: setns in a throwaway thread (its namespace change dies with it)
    worker = threading.Thread(target=_cookies_by_setns, args=(items, out), name="synscope-nsid", daemon=True)
    worker.start()
    worker.join(timeout=5)
    return dict(out)


def _cookies_by_setns(items: list[tuple[int, str]], out: dict[int, int]) -> None:
    for inode, path in items:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_ino != inode:
                continue
            setns_net(fd)
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                out[inode] = struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
        except OSError:  # no SO_NETNS_COOKIE (< 5.14) or setns refused: unknown
            return
        finally:
            os.close(fd)


def printable(text: str) -> str:
    """Names come from processes, containers and files that anyone may have named: no control
    characters (newlines, escape sequences) may reach a terminal or a command to copy."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "?" for c in text)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return printable(f.read().strip().decode(errors="replace"))
    except OSError:
        return ""


def _clean(ann: Annotation) -> Annotation:
    """Every name a source hands in, made printable (see :func:`printable`)."""
    return replace(
        ann,
        name=printable(ann.name),
        aliases=tuple(printable(a) for a in ann.aliases),
        pod=printable(ann.pod),
        k8s_namespace=printable(ann.k8s_namespace),
        labels=tuple((printable(k), printable(v)) for k, v in ann.labels),
        containers=tuple(
            replace(c, name=printable(c.name), image=printable(c.image), k8s_container=printable(c.k8s_container))
            for c in ann.containers
        ),
    )


def _list_pids() -> list[int]:
    try:
        import psutil

        return psutil.pids()
    except Exception:  # psutil missing or /proc odd: fall back to listdir
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _named_netns() -> list[str]:
    # what pyroute2's netns.listnetns() does, without importing pyroute2 (~0.3 s) at start
    try:
        return sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []


class Discovery:
    """Scans the node; extra sources (Docker, kubelet) plug in through ``sources``."""

    def __init__(self, sources: Iterable[Source] = (), *, proc_scan: bool = True) -> None:
        self.sources: list[Source] = list(sources)
        self.proc_scan = proc_scan

    def discover(self) -> DiscoveryResult:
        own_pid = os.getpid()
        own_inode = ns_inode_of_pid(own_pid) or 0
        init_inode = ns_inode_of_pid(1)
        host_inode = init_inode or own_inode
        notes: list[str] = []
        root = os.geteuid() == 0
        if init_inode and own_inode and init_inode != own_inode:
            notes.append(
                f"synscope runs in net:[{own_inode}], not the node's net:[{init_inode}]: "
                "run it on the host to see the node"
            )

        pids_of: dict[int, list[int]] = {}
        unreadable = 0
        if self.proc_scan:
            for pid in _list_pids():
                inode = ns_inode_of_pid(pid)
                if inode is None:
                    unreadable += 1
                    continue
                lst = pids_of.setdefault(inode, [])
                if len(lst) < 64:  # enough to find live fallbacks without hoarding
                    lst.append(pid)
        if host_inode == own_inode:
            # read the host through ourselves: we are certainly alive
            pids_of.setdefault(host_inode, []).insert(0, own_pid)
        elif init_inode:
            pids_of.setdefault(host_inode, []).insert(0, 1)
        if not root and unreadable:
            notes.append(
                f"not root: {unreadable} processes' namespaces could not be read; "
                "only reachable namespaces are shown (run with sudo to see all)"
            )

        rows: dict[int, NetNS] = {}
        for inode, pids in pids_of.items():
            comms = () if inode == host_inode else (_comm(p) for p in pids[:MAX_PROCESS_NAMES * 2])
            rows[inode] = process_row(inode, pids, comms, host_inode)

        for name in _named_netns():
            path = os.path.join(NETNS_DIR, name)
            inode = ns_inode_of_path(path)
            if inode is None:
                continue
            merge_annotation(rows, inode, Annotation(inode=inode, kind="netns", name=name, path=path))

        statuses: list[SourceStatus] = []
        for source in self.sources:
            try:
                anns = list(source.annotations())
                status = source.status()
            except Exception as exc:  # a source failing must never take discovery down
                statuses.append(SourceStatus(getattr(source, "name", type(source).__name__), False, f"{type(exc).__name__}: {exc}"))
                continue
            statuses.append(status)
            for ann in anns:
                inode = ann.inode
                if inode is None and ann.pid is not None:
                    inode = ns_inode_of_pid(ann.pid)
                if inode is None:
                    continue
                merge_annotation(rows, inode, ann)

        ids = netns_ids([(i, f"/proc/{ns.pids[0]}/ns/net" if ns.pids else ns.path or "") for i, ns in rows.items()])
        for inode, ns_id in ids.items():
            rows[inode] = replace(rows[inode], ns_id=ns_id)

        return DiscoveryResult(sort_rows(rows.values()), statuses, notes, host_inode, root)


def process_row(inode: int, pids: Iterable[int], comms: Iterable[str], host_inode: int) -> NetNS:
    """The row the /proc scan makes of a namespace: its live pids and process names (comm)."""
    live = tuple(dict.fromkeys(pids))[:MAX_PIDS]
    if inode == host_inode:
        return NetNS(inode, "host", "host", pids=live)
    names = tuple(dict.fromkeys(n for n in comms if n))[:MAX_PROCESS_NAMES]
    label = f"{names[0]}" if names else f"net:[{inode}]"
    return NetNS(inode, "proc", f"{label} (pid {live[0]})", pids=live, processes=names)


def sort_rows(rows: Iterable[NetNS]) -> list[NetNS]:
    """Discovery's order: the host, then the most specific kinds, then by name."""
    return sorted(rows, key=lambda n: (n.kind != "host", -KIND_RANK.get(n.kind, 0), n.name))


def merge_annotation(rows: dict[int, NetNS], inode: int, ann: Annotation) -> None:
    """Fold what a source says about a namespace into its row (made if the scan missed it)."""
    ann = _clean(ann)
    cur = rows.get(inode)
    if cur is None:
        pids = (ann.pid,) if ann.pid else ()
        cur = NetNS(inode, "proc", ann.name or f"net:[{inode}]", pids=pids)
    aliases = list(cur.aliases)
    new_kind, new_name = cur.kind, cur.name
    if KIND_RANK.get(ann.kind, 0) > KIND_RANK.get(cur.kind, 0) and cur.kind != "host":
        if cur.kind != "proc" and cur.name:
            aliases.append(cur.name)
        new_kind, new_name = ann.kind, ann.name or cur.name
    elif ann.name and ann.name != cur.name:
        aliases.append(ann.name)
    aliases += [a for a in ann.aliases if a != new_name]
    labels = dict(cur.labels)
    labels.update(ann.labels)
    containers = cur.containers + tuple(c for c in ann.containers if c not in cur.containers)
    pids = cur.pids
    if ann.pid and ann.pid not in pids:
        pids = (pids + (ann.pid,))[:MAX_PIDS]
    rows[inode] = replace(
        cur,
        kind=new_kind,
        name=new_name,
        pids=pids,
        path=cur.path or ann.path,
        aliases=tuple(dict.fromkeys(a for a in aliases if a and a != new_name)),
        pod=cur.pod or ann.pod,
        k8s_namespace=cur.k8s_namespace or ann.k8s_namespace,
        labels=tuple(sorted(labels.items())),
        containers=containers,
    )
