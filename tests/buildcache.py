"""Builds the shipping tests need, made once and kept between runs.

* ``dist/synscope`` (scripts/build-onefile.sh), kept under a key that is a hash of everything
  the build reads: tui/, widgets/, pyproject.toml, scripts/, and the Python that is bundled.
  Docs or test changes reuse the build; any change to the program rebuilds it. Dependency
  releases do not change the key: delete the cache directory to pick them up.
* The image's base rootfs (scripts/build-base-rootfs.sh, mmdebstrap), kept under a hash of
  that script.

The cache is ``$SYNSCOPE_TEST_CACHE``, else /var/cache/synscope-test; it keeps the three
executables used last. A fresh machine simply builds (about a minute for the executable,
half a minute for the rootfs). Builds are made in a temp dir and renamed into place under a
lock, so two suites sharing the machine neither race nor see half a build. Nothing is
written into the checkout.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from nethelpers import require

from tui.version import BUILD_PATHS

ROOT = Path(__file__).resolve().parent.parent
BUILD_INPUTS = BUILD_PATHS  # the same paths whose change marks a build's commit "-dirty"


def cache_dir() -> Path:
    path = Path(os.environ.get("SYNSCOPE_TEST_CACHE", "/var/cache/synscope-test"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _files(top: Path) -> list[Path]:
    if top.is_file():
        return [top]
    return sorted(p for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def source_key(python: str) -> str:
    """sha256 over the build's inputs (path and content) and the Python that gets bundled."""
    h = hashlib.sha256()
    for name in BUILD_INPUTS:
        for path in _files(ROOT / name):
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    bundled = subprocess.run([python, "-c", "import sys, sysconfig; print(sys.version, sysconfig.get_config_var('LIBDIR'))"],
                             capture_output=True, text=True, check=True, timeout=60).stdout
    h.update(bundled.encode())
    return h.hexdigest()[:20]


@contextmanager
def _locked(path: Path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another suite building the same thing: wait for it
        yield


def onefile_path() -> Path:
    """The cached dist/synscope for the current sources, built first if there is none."""
    python = os.environ.get("PYTHON", "python3")
    key = source_key(python)
    cache = cache_dir()
    target = cache / "onefile" / key / "synscope"
    with _locked(cache / "onefile.lock"):
        if target.exists():
            os.utime(target.parent)  # recently used: the last to be pruned
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cache))
        try:
            env = {**os.environ, "PYTHON": python, "SYNSCOPE_DIST": str(tmp),
                   "SYNSCOPE_BUILD_DIR": str(cache / "onefile-build")}  # its venv is reused by the next build
            out = subprocess.run(["bash", str(ROOT / "scripts" / "build-onefile.sh")], env=env, capture_output=True,
                                 text=True, timeout=900)
            if out.returncode != 0:
                pytest.fail(f"build-onefile.sh failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
            print(out.stdout, file=sys.stderr)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / "synscope", target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _keep_newest(cache / "onefile", KEEP_BUILDS)
    return target


KEEP_BUILDS = 3  # ~27 MB each: the current sources' and two more (another branch, a revert)


def _keep_newest(directory: Path, n: int) -> None:
    builds = sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[n:]:
        shutil.rmtree(old, ignore_errors=True)


def base_rootfs_path() -> Path:
    """The cached mmdebstrap rootfs tarball for deploy/Dockerfile's base, built first if missing."""
    script = ROOT / "scripts" / "build-base-rootfs.sh"
    key = hashlib.sha256(script.read_bytes()).hexdigest()[:20]
    cache = cache_dir()
    target = cache / "rootfs" / f"bookworm-slim-{key}.tar"
    with _locked(cache / "rootfs.lock"):
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(["bash", str(script), str(target)], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            pytest.fail(f"build-base-rootfs.sh failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return target


def onefile() -> Path:
    """For a test: the executable (skips, or fails under CI=true, when it cannot be built here)."""
    require("root (the executable is tried on network namespaces)", os.geteuid() == 0)
    require("PyInstaller's tools (apt-get install binutils)", shutil.which("objdump") is not None and shutil.which("strip") is not None)
    return onefile_path()


def base_rootfs() -> Path:
    """For a test: the base rootfs tarball (skips, or fails under CI=true, without mmdebstrap)."""
    require("root (mmdebstrap)", os.geteuid() == 0)
    require("mmdebstrap (apt-get install mmdebstrap)", shutil.which("mmdebstrap") is not None)
    return base_rootfs_path()
