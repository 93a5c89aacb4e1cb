"""Name namespaces after the Docker containers and Kubernetes pods that live in them.

One ``GET /containers/json`` per discovery lists the running containers; a container is
inspected (for ``State.Pid``) only when it is new or its process changed, so a quiet node
costs one API call per cycle. Containers are grouped by the network namespace their process
is in, which is what makes ``--network container:X`` and a pod's sandbox ("pause")
container plus its app containers a single row:

* a group with the Kubernetes labels ``io.kubernetes.pod.name`` / ``.namespace`` is a
  ``pod`` row named ``<k8s namespace>/<pod>`` (:func:`~tui.core.namespaces.pod_row_name`);
* any other group is a ``container`` row named after the container that owns the namespace
  (the one not started with ``--network container:...``); the others become aliases;
* host-network containers are in the host's namespace: they become aliases and containers
  of the host row, which stays ``host``.

Docker being down, absent, slow or refusing us is a status with a short reason, never an
exception: the client is dropped and rebuilt on the next cycle, so the source comes back
by itself when dockerd does.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Any

from collections.abc import Callable

from ..namespaces import Annotation, ContainerRef, SourceStatus, ns_inode_of_pid, pod_row_name

__all__ = ["DockerSource", "DEFAULT_SOCKET", "DEFAULT_TIMEOUT", "container_from_api", "group_containers", "status_note"]

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_TIMEOUT = 2.0  # seconds per API call: discovery must never hang on a stuck dockerd

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
CONTAINER_NAME = "io.kubernetes.container.name"
SANDBOX = "POD"  # io.kubernetes.container.name of the pause/sandbox container
# Per-container labels: they differ inside one pod, so they stay on the ContainerRef.
_PER_CONTAINER = ("io.kubernetes.container.", "annotation.io.kubernetes.container.")


@dataclass(frozen=True, slots=True)
class Container:
    """One running container, from ``GET /containers/json`` and ``/containers/ID/json``."""

    id: str
    name: str
    image: str
    state: str
    labels: dict[str, str]
    network_mode: str
    pid: int

    @property
    def k8s_container(self) -> str:
        return self.labels.get(CONTAINER_NAME, "")

    def ref(self) -> ContainerRef:
        return ContainerRef(self.name, self.id[:12], self.image, self.state, "docker", self.k8s_container)


def _starttime(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat: with the pid, it names one process for its whole life."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ")"
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def reason_for(exc: BaseException, where: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """A short, human reason for a Docker failure (the UI shows it on one line)."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # the SDK wraps requests wraps urllib3 wraps OSError
        seen.add(id(e))
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(x) for x in chain)
    codes = {x.errno for x in chain if isinstance(x, OSError) and x.errno}
    for x in chain:
        for arg in getattr(x, "args", ()):
            if isinstance(arg, OSError) and arg.errno:
                codes.add(arg.errno)
            for inner in getattr(arg, "args", ()):
                if isinstance(inner, OSError) and inner.errno:
                    codes.add(inner.errno)
    if errno.EACCES in codes or errno.EPERM in codes or "Permission denied" in text:
        return f"permission denied on {where} (run as root or as a member of the docker group)"
    if errno.ECONNREFUSED in codes or "Connection refused" in text:
        return f"nothing listens on {where} (dockerd not running?)"
    if errno.ENOENT in codes or "No such file or directory" in text:
        return f"no Docker socket at {where}"
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return f"Docker at {where} did not answer within {timeout:g} s"
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return f"Docker API error: {explanation}"[:200]
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    return f"Docker: {first}"[:200]


class DockerSource:
    """Discovery source for Docker (and Kubernetes on dockershim / cri-dockerd)."""

    name = "docker"

    def __init__(self, base_url: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._env = dict(env)
        self.base_url = base_url or env.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
        self.timeout = timeout
        self._client: Any = None  # docker.APIClient, built lazily and dropped on failure
        self._pids: dict[str, tuple[int, str, str]] = {}  # id -> (pid, starttime, network mode)
        self._status = SourceStatus(self.name, False, "not asked yet")
        self._ever_answered = False

    @property
    def socket_path(self) -> str | None:
        if self.base_url.startswith("unix://"):
            return self.base_url[len("unix://") :]
        return None

    @property
    def where(self) -> str:
        return self.socket_path or self.base_url

    def status(self) -> SourceStatus:
        return self._status

    def _fail(self, reason: str, absent: bool = False) -> list[Annotation]:
        self._status = SourceStatus(self.name, False, reason, absent)
        self.close()
        return []

    def _connect(self) -> Any:
        if self._client is None:
            import docker  # late: the SDK pulls in requests, which the core rarely needs
            from docker.utils import kwargs_from_env

            kwargs = kwargs_from_env(environment=self._env)  # DOCKER_TLS_VERIFY, DOCKER_CERT_PATH
            kwargs["base_url"] = self.base_url
            self._client = docker.APIClient(timeout=self.timeout, **kwargs)
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a broken client must not raise either
                pass

    def annotations(self) -> list[Annotation]:
        sock = self.socket_path
        if sock is not None:
            try:
                os.stat(sock)
            except FileNotFoundError:  # a node without Docker: one calm line, no retry storm
                self._pids.clear()
                # absent only if Docker never answered: a socket gone mid-run is dockerd stopping
                if self._ever_answered:
                    return self._fail(f"no Docker socket at {sock} (dockerd stopped?)")
                return self._fail(f"no Docker socket at {sock}", absent=True)
            except OSError:
                pass  # e.g. EACCES on the directory: connecting says it better
        try:
            client = self._connect()
            listed = client.containers(filters={"status": "running"})
            containers = [c for c in (self._container(client, item) for item in listed) if c is not None]
        except Exception as exc:  # any SDK / transport / API failure: report it, never raise
            return self._fail(reason_for(exc, self.where, self.timeout))
        alive = {c.id for c in containers}
        for cid in list(self._pids):
            if cid not in alive:
                del self._pids[cid]
        anns, unreadable = group_containers(containers)
        self._status = SourceStatus(self.name, True, status_note(len(containers), unreadable))
        self._ever_answered = True
        return anns

    def _container(self, client: Any, item: dict) -> Container | None:
        cid = item["Id"]
        cached = self._pids.get(cid)
        if cached is not None and _starttime(cached[0]) == cached[1]:
            return container_from_api(item, pid=cached[0], network_mode=cached[2])
        try:
            info = client.inspect_container(cid)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:  # removed between list and inspect
                return None
            raise
        c = container_from_api(item, info)
        if c is not None:
            start = _starttime(c.pid)
            if start is not None:
                self._pids[cid] = (c.pid, start, (info.get("HostConfig") or {}).get("NetworkMode") or "")
        return c


def container_from_api(item: dict, inspect: dict | None = None, *, pid: int = 0,
                       network_mode: str = "") -> Container | None:
    """A container from its ``/containers/json`` entry and its ``/containers/ID/json``
    (``inspect``), or from the entry and what an earlier inspect gave (``pid``,
    ``network_mode``). None for a container with no running process."""
    if inspect is not None:
        state = inspect.get("State") or {}
        pid = int(state.get("Pid") or 0)
        if not pid or not state.get("Running"):
            return None
        network_mode = (inspect.get("HostConfig") or {}).get("NetworkMode") or ""
    if not pid:
        return None
    cid = item["Id"]
    names = item.get("Names") or []
    name = (names[0] if names else cid[:12]).lstrip("/")
    return Container(
        id=cid,
        name=name,
        image=item.get("Image") or "",
        state=item.get("State") or "running",
        labels=dict(item.get("Labels") or {}),
        network_mode=network_mode or (item.get("HostConfig") or {}).get("NetworkMode", ""),
        pid=pid,
    )


def group_containers(containers: list[Container], inode_of: Callable[[int], int | None] = ns_inode_of_pid,
                     host_inode: int | None = None) -> tuple[list[Annotation], int]:
    """One annotation per network namespace the containers' processes are in, and how many
    containers were left out because their namespace could not be read.

    ``inode_of`` and ``host_inode`` default to this node's /proc (the scripted source hands
    in its own, to build its rows through this very code)."""
    if host_inode is None:
        host_inode = ns_inode_of_pid(1) or ns_inode_of_pid(os.getpid())
    groups: dict[int, list[Container]] = {}
    unreadable = 0
    for c in containers:
        inode = inode_of(c.pid)
        if inode is None:
            unreadable += 1
            continue
        groups.setdefault(inode, []).append(c)
    anns = []
    for inode, members in groups.items():
        # the namespace's owner first: the pod sandbox, else the one not joining another
        members.sort(key=lambda c: (c.k8s_container != SANDBOX, c.network_mode.startswith("container:"), c.name))
        anns.append(_annotation(inode, members, inode == host_inode))
    return anns, unreadable


def status_note(running: int, unreadable: int) -> str:
    note = f"{running} running container{'s' if running != 1 else ''}"
    if unreadable:
        note += f"; {unreadable} not shown: their namespaces are unreadable (not root?)"
    return note


def _pod_of(c: Container) -> str:
    return pod_row_name(c.labels.get(POD_NAMESPACE, ""), c.labels.get(POD_NAME, ""))


def _annotation(inode: int, members: list[Container], is_host: bool) -> Annotation:
    refs = tuple(c.ref() for c in members)
    owner = members[0]
    if is_host:
        # Host-network containers and pods: the row stays "host"; they only add names, so
        # `--ns kube-proxy` finds the host row. Their labels and pod say nothing about the host.
        aliases = tuple(dict.fromkeys([n for c in members for n in (_pod_of(c), c.name) if n]))
        return Annotation(inode=inode, pid=owner.pid, kind="container", aliases=aliases, containers=refs)
    pod = next((c.labels[POD_NAME] for c in members if c.labels.get(POD_NAME)), "")
    k8s_ns = next((c.labels[POD_NAMESPACE] for c in members if c.labels.get(POD_NAMESPACE)), "")
    labels: dict[str, str] = {}
    for c in members:  # the owner's labels win; per-container labels stay on the containers
        for k, v in c.labels.items():
            if not k.startswith(_PER_CONTAINER):
                labels.setdefault(k, v)
    if pod:
        return Annotation(inode=inode, pid=owner.pid, kind="pod", name=pod_row_name(k8s_ns, pod), pod=pod, k8s_namespace=k8s_ns,
                          labels=tuple(sorted(labels.items())), containers=refs)
    return Annotation(inode=inode, pid=owner.pid, kind="container", name=owner.name,
                      aliases=tuple(c.name for c in members[1:]), labels=tuple(sorted(labels.items())),
                      containers=refs)
