"""Where capture files go: a private directory, safe names, the ring of files tcpdump writes."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import CaptureError

__all__ = ["default_capture_dir", "private_dir", "ring_files", "safe_name"]


def default_capture_dir() -> Path:
    """$SYNSCOPE_CAPTURE_DIR, else $XDG_CACHE_HOME/synscope/captures (~/.cache/...)."""
    env = os.environ.get("SYNSCOPE_CAPTURE_DIR")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "synscope" / "captures"


def private_dir(path: Path, enforce: bool) -> Path:
    """Create ``path`` 0700; if ``enforce``, refuse one we don't own and tighten its mode."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError as exc:
        raise CaptureError(f"cannot create the capture directory {path}: {exc.strerror}") from None
    if not os.path.isdir(path) or os.path.islink(path):
        raise CaptureError(f"{path} is not a directory")
    if enforce:
        if st.st_uid != os.geteuid():
            raise CaptureError(f"capture directory {path} belongs to uid {st.st_uid}, not us: refusing to write there")
        if st.st_mode & 0o077:
            os.chmod(path, 0o700)
    return path


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:60] or "ns"


def ring_files(base: str, count: int) -> list[str]:
    """The file names tcpdump ``-C -W count -w base`` writes: base itself when count is 1."""
    if count <= 1:
        return [base]
    width = len(str(count - 1))
    return [f"{base}{i:0{width}d}" for i in range(count)]
