"""Run a function inside one network namespace, on the sampler's dedicated setns thread.

Socket lists (sock_diag) and sysctls (``/proc/sys/net``) are those of the *calling thread's*
namespace, so both are read by a thread that has ``setns()``-ed into the namespace. We use
:class:`~tui.core.sampler.NetnsReader` (one thread, never the main one) and enter by

* the namespace's own path (``/run/netns/NAME``), or
* ``/proc/<pid>/ns/net`` of one of its live pids,

and, once inside, check that the thread's namespace inode is the one we were asked for: a
recycled pid or a re-created ``ip netns`` name must never make us read — or write — some
other namespace.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from .namespaces import NetNS
from .sampler import NetnsReader

__all__ = ["NamespaceGone", "run_in_namespace", "thread_ns_inode"]

T = TypeVar("T")


class NamespaceGone(RuntimeError):
    """The namespace vanished (or cannot be entered); the message says which and why."""


def thread_ns_inode() -> int:
    """Inode of the calling thread's network namespace (not the main thread's)."""
    return os.stat("/proc/thread-self/ns/net").st_ino


def _entry_paths(ns: NetNS) -> list[str]:
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
        paths = _entry_paths(ns)
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
