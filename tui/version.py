"""What ``synscope --version`` says: the version, the git commit, and which form is running.

Three forms, three honest sources for the commit:
* the single-file executable and the image (which carries that same file): the build wrote
  ``_synscope_build.py`` with the version and commit and bundled it, so nothing is guessed at
  run time;
* a checkout (``pip install -e .``, ``python -m tui``): ``git`` is asked about the directory the
  code was imported from, when that is a work tree;
* anything else (a ``pip install .`` copy in site-packages, a tarball): "unknown".

``-dirty`` after a commit means the files that make the program (``tui/``, ``widgets/``,
``pyproject.toml``, and for a build ``scripts/``) differ from that commit. Only ``--version`` runs this: a normal start
never calls git.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from dataclasses import dataclass

UNKNOWN = "unknown"
# the paths whose content makes the program; a single-file build also depends on scripts/
PROGRAM_PATHS = ("tui", "widgets", "pyproject.toml")
BUILD_PATHS = (*PROGRAM_PATHS, "scripts")


@dataclass(frozen=True)
class VersionInfo:
    version: str
    commit: str
    form: str  # "onefile", "checkout" or "installed"

    def line(self) -> str:
        return f"synscope {self.version} (commit {self.commit}; {self.form}; Python {platform.python_version()})"


def _baked() -> VersionInfo | None:
    try:
        import _synscope_build  # written and bundled by scripts/build-onefile.sh
    except ImportError:
        return None
    return VersionInfo(_synscope_build.VERSION, _synscope_build.COMMIT, _synscope_build.FORM)


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("synscope")
    except PackageNotFoundError:
        return UNKNOWN


def _pyproject_version(work_tree: str) -> str:
    import tomllib

    try:
        with open(os.path.join(work_tree, "pyproject.toml"), "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return _installed_version()


def git_commit(work_tree: str, paths: tuple[str, ...] = PROGRAM_PATHS) -> str | None:
    """The short commit of ``work_tree`` (with ``-dirty`` when files under ``paths`` differ from
    it), or None when it is not a synscope work tree or git is missing."""
    if not os.path.isfile(os.path.join(work_tree, "pyproject.toml")):
        return None

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", work_tree, *args], capture_output=True, text=True, timeout=5,
                                 stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or os.path.realpath(top) != os.path.realpath(work_tree):
        return None  # the package sits in some other repository (or none): not ours to name
    commit = git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return None
    changed = git("status", "--porcelain", "--", *paths)
    return f"{commit}-dirty" if changed else commit


def version_info() -> VersionInfo:
    baked = _baked()
    if baked is not None:
        return baked
    work_tree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../tui/version.py -> ...
    commit = git_commit(work_tree)
    if commit is not None:
        return VersionInfo(_pyproject_version(work_tree), commit, "checkout")  # the checkout's own, not a stale install's
    return VersionInfo(_installed_version(), UNKNOWN, "installed")


class VersionAction(argparse.Action):
    """``--version``: like argparse's own, but git is asked only when the flag is given."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kw: object) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0,
                         help="show the version and the git commit it was built from, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(version_info().line(), file=sys.stdout, flush=True)
        parser.exit(0)
