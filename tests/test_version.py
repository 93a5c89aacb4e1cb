"""synscope --version: the commit from git in a checkout, "unknown" where nothing recorded it.

(The single file's baked-in commit is tested in test_onefile.py.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nodehelpers import ROOT, pyproject_version


def version_line(cwd: Path, pythonpath: Path) -> str:
    out = subprocess.run([sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main(['--version']))"],
                         cwd=cwd, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(pythonpath)}, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_checkout_names_its_head_commit(tmp_path):
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                          timeout=30).stdout.strip()
    line = version_line(tmp_path, ROOT)  # run from elsewhere: the commit is the code's, not the cwd's
    m = re.fullmatch(r"synscope (\S+) \(commit (\S+); checkout; Python \S+\)\n", line)
    assert m, line
    assert m.group(1) == pyproject_version()
    assert m.group(2) in (head, f"{head}-dirty")


def test_a_copy_outside_any_repository_says_unknown(tmp_path):
    """Like a `pip install .` copy in site-packages: no git, nothing baked in."""
    copy = tmp_path / "site-packages"
    shutil.copytree(ROOT / "tui", copy / "tui", ignore=shutil.ignore_patterns("__pycache__"))
    line = version_line(tmp_path, copy)
    assert re.fullmatch(r"synscope \S+ \(commit unknown; installed; Python \S+\)\n", line), line
