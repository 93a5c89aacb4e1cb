"""Run a short program (``ip``) inside one network namespace, by argv: no shell, ever.

The namespace is entered the way a capture enters it (:func:`tui.core.capture.open_ns_fd`
opens its nsfs file and checks the inode, the exec shim ``setns()``-es and ``exec``-s the
program), so a recycled pid or a re-created ``ip netns`` name can never point the program at
another namespace, and the program dies with synscope (the shim's parent-death signal).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from .capture import CaptureError, open_ns_fd, shim_argv
from .namespaces import NetNS

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


def run_program_in(ns: NetNS, argv: list[str], timeout: float = 10.0) -> ProgramOutput:
    """``argv`` run inside ``ns``; its stdout. Raises ProgramFailed (namespace gone, program
    missing, non-zero exit with its own words)."""
    exe = find_program(argv[0])
    try:
        fd = open_ns_fd(ns)
    except CaptureError as exc:
        raise ProgramFailed(str(exc)) from None
    try:
        r = subprocess.run(shim_argv(fd, exe, argv), pass_fds=(fd,), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise ProgramFailed(f"{' '.join(argv)} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise ProgramFailed(f"cannot run {exe}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode != 0:
        said = err.splitlines()[-1] if err else f"exit status {r.returncode}"
        raise ProgramFailed(f"{' '.join(argv)}: {said.removeprefix('synscope: ')}")
    return ProgramOutput(tuple(argv), r.stdout, err)
