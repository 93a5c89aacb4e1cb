"""Run a short program (``ip``) inside one network namespace, by argv: no shell, ever.

The program is started from the setns thread (:func:`tui.core.netns.run_in_namespace`),
after that thread has checked it is in the namespace asked for (by inode): a child inherits
the network namespace of the *thread* that forks it, so ``ip`` runs there as if under
``nsenter --net``, with no shim process in between (a Python shim cost ~20 ms a program).
The program is short-lived and bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from .namespaces import NetNS
from .netns import NamespaceGone, NetnsReader, run_in_namespace

__all__ = ["ProgramFailed", "ProgramOutput", "find_program", "run_program_in"]

_SBIN = ":/usr/sbin:/sbin:/usr/local/sbin:/usr/bin:/bin"


class ProgramFailed(RuntimeError):
    """The program could not be run there, or said it failed; the message says why."""


@dataclass(frozen=True, slots=True)
class ProgramOutput:
    argv: tuple[str, ...]
    stdout: bytes
    stderr: str


def find_program(name: str) -> str:
    """The program's path (also looked for in the sbin directories a sudo PATH may lack)."""
    exe = shutil.which(name, path=os.environ.get("PATH", "") + _SBIN)
    if exe is None:
        raise ProgramFailed(f"{name} is not installed (iproute2 provides ip)")
    return exe


def _run_here(exe: str, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    # on the setns thread, inside the namespace: the child is forked from here
    return subprocess.run([exe, *argv[1:]], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})


def run_program_in(ns: NetNS, argv: list[str], timeout: float = 10.0, reader: NetnsReader | None = None) -> ProgramOutput:
    """``argv`` run inside ``ns``; its stdout. Raises ProgramFailed (namespace gone, program
    missing, non-zero exit with its own words)."""
    exe = find_program(argv[0])
    try:
        r = run_in_namespace(ns, _run_here, exe, argv, timeout, reader=reader)
    except NamespaceGone as exc:
        raise ProgramFailed(str(exc)) from None
    except subprocess.TimeoutExpired:
        raise ProgramFailed(f"{' '.join(argv)} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise ProgramFailed(f"cannot run {exe}: {exc.strerror or exc}") from None
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode != 0:
        said = err.splitlines()[-1] if err else f"exit status {r.returncode}"
        raise ProgramFailed(f"{' '.join(argv)}: {said}")
    return ProgramOutput(tuple(argv), r.stdout, err)
