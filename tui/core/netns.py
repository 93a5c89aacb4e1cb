"""The one way into a network namespace: open its file, check it is the one asked for, enter.

Counters, socket lists (sock_diag), routes and sysctls (``/proc/sys/net``) are those of the
*calling thread's* namespace, so whatever cannot be read through ``/proc/<pid>/net`` is read
by one dedicated thread (:class:`NetnsReader`, never the main one) that ``setns()``-es into
the namespace, reads ``/proc/thread-self/...`` (``/proc/self`` would follow the main thread)
and goes back home. A namespace is entered by

* its own path (``/run/netns/NAME``), or
* ``/proc/<pid>/ns/net`` of one of its live pids,

and every way in checks the namespace's inode against the one asked for (the opened file's
inode before ``setns``, or the thread's namespace after it): a recycled pid or a re-created
``ip netns`` name must never make us read, write or capture in some other namespace.
:func:`open_ns_fd` hands the checked fd to a child (the tcpdump shim enters it itself).

This module is below :mod:`tui.core.namespaces` (which uses :func:`setns_net` for old
kernels' namespace ids): it knows a :class:`~tui.core.namespaces.NetNS` by its attributes only.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from .namespaces import NetNS

__all__ = [
    "CLONE_NEWNET",
    "NamespaceGone",
    "NetnsReader",
    "OutOfReach",
    "entry_paths",
    "open_ns_fd",
    "read_optional_file",
    "read_proc_file",
    "run_in_namespace",
    "setns_net",
    "thread_ns_inode",
]

CLONE_NEWNET = 0x40000000
_READ_SIZE = 1 << 16


class NamespaceGone(RuntimeError):
    """The namespace vanished (or cannot be entered); the message says which and why."""


class OutOfReach(str):
    """Why a namespace could not be entered for lack of privilege (EPERM): it is still there."""


def read_proc_file(name: str, dir_fd: int | None = None) -> bytes:
    """Read a whole /proc file with raw os calls (what the benchmark calls "the raw read")."""
    fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        chunks = []
        while True:
            b = os.read(fd, _READ_SIZE)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]
    finally:
        os.close(fd)


_libc = None


def setns_net(fd: int) -> None:
    """setns(fd, CLONE_NEWNET) for the calling thread (os.setns exists only on 3.12+)."""
    if hasattr(os, "setns"):
        os.setns(fd, CLONE_NEWNET)
        return
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class NetnsReader:
    """One thread that enters pid-less namespaces by path and reads files there.

    Not root, ``setns()`` fails with EPERM, into the namespace and back home alike: the
    thread then never left home, and must not try to go back (that EPERM once froze
    sampling for good). A thread that entered a namespace but cannot return is retired, so
    it does not pin that namespace; the next call starts a fresh thread at home.
    """

    def __init__(self) -> None:
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._pool = self._new_pool()
        self._away = False  # the setns thread is in another namespace (touched only by it)

    @staticmethod
    def _new_pool() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="synscope-setns")

    def _enter(self, fd: int) -> None:
        setns_net(fd)
        self._away = True

    def _go_home(self) -> None:
        """Back to our own namespace: never keep a namespace alive after `ip netns del`."""
        if not self._away:
            return
        try:
            setns_net(self._home)
        except OSError:
            # stuck elsewhere: end this thread (its namespace reference ends with it) and
            # let the next call start a fresh one at home
            pool, self._pool = self._pool, self._new_pool()
            pool.shutdown(wait=False)
        self._away = False  # this thread is home, or retired (the new one starts at home)

    def read_many(self, items: list[tuple[int, str]], files: tuple[str, ...], optional: tuple[str, ...] = (),
                  optional_for: Collection[int] = ()) -> dict[int, tuple[bytes | None, ...] | str]:
        """``[(inode, path)]`` -> ``{inode: (bytes per file) | error text}``.

        An error text of class :class:`OutOfReach` means "not allowed to enter" (not root),
        not "vanished". ``optional`` files follow ``files`` in each tuple: read only for the
        inodes in ``optional_for`` (``None`` for the others), ``b""`` where the file is not
        there or cannot be read (conntrack's statistics, which a kernel may lack).
        """
        def run():  # type: ignore[no-untyped-def]
            try:
                return self._read_many(items, files, optional, optional_for)
            finally:
                self._go_home()

        return self._pool.submit(run).result()

    def call_in(self, path: str, fn, *args):  # type: ignore[no-untyped-def]
        """Run fn(*args) on the setns thread after entering the namespace at path."""

        def run():  # type: ignore[no-untyped-def]
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                self._enter(fd)
            finally:
                os.close(fd)
            try:
                return fn(*args)
            finally:
                self._go_home()

        return self._pool.submit(run).result()

    def _read_many(self, items: list[tuple[int, str]], files: tuple[str, ...], optional: tuple[str, ...] = (),
                   optional_for: Collection[int] = ()) -> dict[int, tuple[bytes | None, ...] | str]:
        out: dict[int, tuple[bytes | None, ...] | str] = {}
        skipped: tuple[None, ...] = (None,) * len(optional)
        for inode, path in items:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                out[inode] = f"{path}: {exc.strerror}"
                continue
            try:
                if os.fstat(fd).st_ino != inode:
                    out[inode] = f"{path} now names another namespace"
                    continue
                self._enter(fd)
            except OSError as exc:
                text = f"setns {path}: {exc.strerror}"
                out[inode] = OutOfReach(text) if exc.errno == errno.EPERM else text
                continue
            finally:
                os.close(fd)
            try:
                data: tuple[bytes | None, ...] = tuple(read_proc_file(f"/proc/thread-self/net/{f}") for f in files)
            except OSError as exc:
                out[inode] = f"read in {path}: {exc.strerror}"
                continue
            if optional:
                data += tuple(read_optional_file(f"/proc/thread-self/net/{f}") for f in optional) \
                    if inode in optional_for else skipped
            out[inode] = data
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._home >= 0:
            os.close(self._home)
            self._home = -1


def read_optional_file(name: str, dir_fd: int | None = None) -> bytes:
    """A file that may not be there: its bytes, or b"" (conntrack statistics on a kernel
    without conntrack; a process that exited between two reads is found by the next tick)."""
    try:
        return read_proc_file(name, dir_fd)
    except OSError:
        return b""


T = TypeVar("T")


def thread_ns_inode() -> int:
    """Inode of the calling thread's network namespace (not the main thread's)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


def entry_paths(ns: NetNS) -> list[str]:
    """The files ``ns`` can be entered by: its own path first, then each live pid's."""
    paths = [ns.path] if ns.path else []
    paths += [f"/proc/{pid}/ns/net" for pid in ns.pids]
    return paths


def run_in_namespace(ns: NetNS, fn: Callable[..., T], *args: object, reader: NetnsReader | None = None) -> T:
    """Call ``fn(*args)`` on a thread inside ``ns``; raises :class:`NamespaceGone` if it cannot.

    Without a ``reader`` a temporary one is made and closed. Exceptions from ``fn`` pass through.
    """
    own = reader is None
    rd = reader if reader is not None else NetnsReader()
    try:
        paths = entry_paths(ns)
        if not paths:
            raise NamespaceGone(f"{ns.name} ({ns.label}): no process and no path to enter it by")
        why: list[str] = []
        for path in paths:
            try:
                return rd.call_in(path, _verified, ns.inode, path, fn, args)
            except _FnError as exc:
                raise exc.original from None  # fn's own error, not a failure to enter
            except _WrongNamespace as exc:
                why.append(str(exc))
            except FileNotFoundError:
                why.append(f"{path} is gone")
            except PermissionError as exc:
                why.append(f"{path}: {exc.strerror} (run as root)")
            except ProcessLookupError:
                why.append(f"{path}: process exited")
            except OSError as exc:
                why.append(f"{path}: {exc.strerror or exc}")
        raise NamespaceGone(f"{ns.name} ({ns.label}) cannot be entered: " + "; ".join(why))
    finally:
        if own:
            rd.close()


class _WrongNamespace(Exception):
    pass


class _FnError(Exception):
    # carries fn's exception past the "could not enter" handlers above
    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def _verified(inode: int, path: str, fn: Callable[..., T], args: tuple) -> T:
    # runs on the setns thread, already inside whatever `path` named at open() time
    now = thread_ns_inode()
    if now != inode:
        raise _WrongNamespace(f"{path} now names net:[{now}], not net:[{inode}]")
    try:
        return fn(*args)
    except Exception as exc:
        raise _FnError(exc) from exc


def open_ns_fd(ns: NetNS) -> int:
    """Open ``ns``'s nsfs file, verified by inode, for a child to enter. The caller closes it.

    Raises :class:`NamespaceGone` saying why no way in was left.
    """
    why: list[str] = []
    for path in entry_paths(ns):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            why.append(f"{path}: {exc.strerror}")
            continue
        if os.fstat(fd).st_ino == ns.inode:
            return fd
        os.close(fd)
        why.append(f"{path} now names another namespace")
    detail = "; ".join(why) if why else "no process and no path to enter it by"
    raise NamespaceGone(f"cannot enter {ns.name} ({ns.label}): {detail}")
