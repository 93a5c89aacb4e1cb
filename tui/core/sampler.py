"""Read every namespace's counters each tick.

* A namespace with a process in it is read through ``/proc/<pid>/net/{netstat,snmp}``:
  no fork, no setns. We hold a directory fd on ``/proc/<pid>`` so a recycled pid can never
  make us read some other namespace: when the process dies the fd goes stale and we move to
  the next live pid (verified by inode), or drop the namespace with a note.
* A named namespace with no process (``ip netns add`` and nothing started in it) is read by
  one dedicated thread that ``setns()``-es into it and reads ``/proc/thread-self/net/...``
  (:class:`tui.core.netns.NetnsReader`, the one way into a namespace, which the sockets,
  routes and sysctl readers share through :attr:`Sampler.netns_reader`).
"""

from __future__ import annotations

import errno
import os
import threading
import time
from dataclasses import dataclass, field

from .conntrack import CONNTRACK_FILE, RECHECK_TICKS, ConntrackReader
from .counters import CounterParseError
from .history import History
from .idle_skip import IdleSkip
from .namespaces import NetNS
from .netns import NetnsReader, OutOfReach, read_optional_file, read_proc_file

__all__ = ["FILES", "Sampler", "SampleResult"]

FILES = ("netstat", "snmp")
NAMES_IN_A_NOTE = 10  # namespaces named in one note; the rest are counted


@dataclass
class SampleResult:
    time: float
    duration: float  # seconds the whole tick took
    read: int  # namespaces read this tick
    dropped: list[tuple[NetNS, str]] = field(default_factory=list)  # vanished mid-read
    errors: dict[int, str] = field(default_factory=dict)  # inode -> parse error (kept, retried)
    # namespaces we may not enter (not root): still there, not read, said in one note each tick
    unreachable: list[NetNS] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        # one note per reason, not per namespace: on a node where pods churn, a tick can lose
        # dozens, and one line each pushed the status line to three lines at 80 columns
        by_why: dict[str, list[tuple[NetNS, str]]] = {}
        for ns, why in self.dropped:
            # the same error, each with its own path: one reason
            same = why[len(ns.path) + 2:] if ns.path and why.startswith(f"{ns.path}: ") else why
            by_why.setdefault(same, []).append((ns, why))
        notes = []
        for same, gone in by_why.items():
            if len(gone) == 1:
                ns, why = gone[0]
                notes.append(f"{ns.name} ({ns.label}) vanished: {why}")
                continue
            names = ", ".join(ns.name for ns, _ in gone[:NAMES_IN_A_NOTE])
            more = f" and {len(gone) - NAMES_IN_A_NOTE} more" if len(gone) > NAMES_IN_A_NOTE else ""
            notes.append(f"{len(gone)} namespaces vanished: {names}{more}: {same}")
        notes += [f"net:[{i}]: {e}" for i, e in self.errors.items()]
        if self.unreachable:
            names = ", ".join(ns.name for ns in self.unreachable[:NAMES_IN_A_NOTE])
            more = f" and {len(self.unreachable) - NAMES_IN_A_NOTE} more" if len(self.unreachable) > NAMES_IN_A_NOTE else ""
            what = ("named namespaces with no process in them: entering one needs root" if len(self.unreachable) > 1
                    else "a named namespace with no process in it: entering it needs root")
            notes.append(f"out of reach: {names}{more} ({what})")
        return notes


def _ns_link_at(dirfd: int) -> str:
    """``net:[inode]`` of the process pinned by dirfd; readlink costs half a stat here."""
    try:
        return os.readlink("ns/net", dir_fd=dirfd)
    except OSError:
        return ""


class _PidTarget:
    __slots__ = ("candidates", "dirfd", "link", "ns", "pid")

    def __init__(self, ns: NetNS) -> None:
        self.ns = ns
        self.dirfd: int | None = None
        self.pid: int | None = None
        self.candidates = list(ns.pids)
        self.link = ns.label  # "net:[inode]", what ns/net of a process inside reads

    def open_next(self) -> bool:
        """Open /proc/<pid> for the next candidate pid still in this namespace."""
        self.close()
        while self.candidates:
            pid = self.candidates.pop(0)
            try:
                fd = os.open(f"/proc/{pid}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                continue
            # verify through the fd: it pins this very process, so a recycled pid cannot slip in
            if _ns_link_at(fd) != self.link:
                os.close(fd)
                continue
            self.dirfd, self.pid = fd, pid
            return True
        return False

    def still_there(self) -> bool:
        """The pinned process is still in this namespace (it may have called unshare/setns)."""
        return self.dirfd is not None and _ns_link_at(self.dirfd) == self.link

    def close(self) -> None:
        if self.dirfd is not None:
            os.close(self.dirfd)
            self.dirfd = None


class Sampler:
    """Reads all namespaces, feeds History, reports what vanished."""

    def __init__(self, history: History | None = None, files: tuple[str, ...] = FILES, *, conntrack: bool = True,
                 conntrack_recheck: int = RECHECK_TICKS, idle_skip: IdleSkip | None = None) -> None:
        self.history = history if history is not None else History()
        self.idle_skip = idle_skip  # opt-in (the recorder): see tui/core/idle_skip.py
        self.files = files
        # conntrack's statistics, as a third file History gets (b"" while not in use); a
        # namespace not using conntrack is read every `conntrack_recheck` ticks only
        self.conntrack: ConntrackReader | None = ConntrackReader(conntrack_recheck) if conntrack else None
        self._pid_targets: dict[int, _PidTarget] = {}
        self._path_targets: dict[int, NetNS] = {}
        self._unreachable: dict[int, NetNS] = {}  # setns refused (EPERM): not retried
        self._netns_reader: NetnsReader | None = None
        self._lock = threading.Lock()

    @property
    def netns_reader(self) -> NetnsReader:
        if self._netns_reader is None:
            self._netns_reader = NetnsReader()
        return self._netns_reader

    def set_namespaces(self, namespaces: list[NetNS]) -> None:
        """Adopt a discovery result: keep open targets that still exist, open new ones."""
        with self._lock:
            keep = {ns.inode for ns in namespaces}
            for inode in list(self._pid_targets):
                if inode not in keep:
                    self._pid_targets.pop(inode).close()
            self._path_targets = {}
            # privileges do not change while we run: a namespace we may not enter is not
            # tried again every discovery, unless its inode now names another namespace
            self._unreachable = {ns.inode: ns for ns in namespaces
                                 if ns.inode in self._unreachable and ns.ns_id == self._unreachable[ns.inode].ns_id}
            for ns in namespaces:
                cur = self._pid_targets.get(ns.inode)
                if ns.pids:
                    if cur is not None:
                        cur.ns = ns
                        cur.candidates = [p for p in ns.pids if p != cur.pid]
                    else:
                        t = _PidTarget(ns)
                        if t.open_next():
                            self._pid_targets[ns.inode] = t
                        elif ns.path:
                            self._path_targets[ns.inode] = ns
                elif ns.path:
                    if cur is not None:
                        self._pid_targets.pop(ns.inode).close()
                    if ns.inode not in self._unreachable:
                        self._path_targets[ns.inode] = ns
            self.history.retain(keep)
            if self.conntrack is not None:
                self.conntrack.retain(keep)
            if self.idle_skip is not None:
                self.idle_skip.retain(keep)

    @property
    def namespaces(self) -> list[NetNS]:
        return [t.ns for t in self._pid_targets.values()] + list(self._path_targets.values())

    def sample(self, now: float | None = None) -> SampleResult:
        start = time.monotonic()
        t = time.time() if now is None else now
        result = SampleResult(t, 0.0, 0)
        history = self.history
        files = self.files
        ct = self.conntrack
        skip = self.idle_skip
        with self._lock:
            for inode, target in list(self._pid_targets.items()):
                data = None
                while data is None:
                    # one stat through the pinned fd: a process that unshare()d or setns()ed
                    # away must not have its new namespace's counters filed under this one
                    if not target.still_there():
                        if not target.open_next():
                            break
                        continue
                    try:
                        if skip is not None and skip.unchanged(inode, target.dirfd, t, read_proc_file):
                            data = ()  # no packet moved: nothing read, a tick with no deltas
                        else:
                            data = tuple(read_proc_file(f"net/{f}", target.dirfd) for f in files)
                    except OSError as exc:
                        if exc.errno not in (errno.ESRCH, errno.ENOENT, errno.EINVAL, errno.EACCES, errno.EBADF):
                            raise
                        if not target.open_next():
                            break
                if data is None:
                    ns = target.ns
                    if ns.path:  # the last process left a named namespace: read it by path
                        self._pid_targets.pop(inode).close()
                        self._path_targets[inode] = ns
                        continue
                    self._pid_targets.pop(inode).close()
                    history.forget(inode)
                    if ct is not None:
                        ct.forget(inode)
                    result.dropped.append((ns, "no process of it is left in it"))
                    continue
                if skip is not None and not data:
                    h = history.get(inode)
                    if h is not None and h.last_time is not None:
                        h.repeat(t)
                        result.read += 1
                    else:  # nothing to repeat (its last read failed to parse): read it next tick
                        skip.forget(inode)
                    continue
                if ct is not None:
                    raw = read_optional_file(f"net/{CONNTRACK_FILE}", target.dirfd) if ct.want(inode) else None
                    data += (ct.section(inode, raw),)
                self._ingest(inode, t, data, target.ns, result)
            if self._path_targets:
                items = [(i, ns.path) for i, ns in self._path_targets.items() if ns.path]
                optional = (CONNTRACK_FILE,) if ct is not None else ()
                wanted = {i for i, _ in items if ct.want(i)} if ct is not None else set()
                for inode, got in self.netns_reader.read_many(items, files, optional, wanted).items():
                    ns = self._path_targets[inode]
                    if isinstance(got, str):
                        del self._path_targets[inode]
                        history.forget(inode)
                        if ct is not None:
                            ct.forget(inode)
                        if isinstance(got, OutOfReach):
                            self._unreachable[inode] = ns
                        else:
                            result.dropped.append((ns, got))
                        continue
                    if ct is not None:
                        got = (*got[:-1], ct.section(inode, got[-1]))
                    self._ingest(inode, t, got, ns, result)  # type: ignore[arg-type]
            result.unreachable = list(self._unreachable.values())
        result.duration = time.monotonic() - start
        return result

    def _ingest(self, inode: int, t: float, data: tuple[bytes, ...], ns: NetNS, result: SampleResult) -> None:
        try:
            self.history.ingest(inode, t, data, ns.label)
        except CounterParseError as exc:
            result.errors[inode] = str(exc)
            return
        result.read += 1

    def close(self) -> None:
        with self._lock:
            for t in self._pid_targets.values():
                t.close()
            self._pid_targets.clear()
            if self._netns_reader is not None:
                self._netns_reader.close()
                self._netns_reader = None
