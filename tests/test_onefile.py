"""dist/synscope, the single file, run the way it is run on a node.

The executable is built by scripts/build-onefile.sh (or taken from the build cache when the
sources are unchanged: tests/buildcache.py). Every run here is as root, from a directory
outside the checkout, with a scrubbed environment (PATH only: no venv, no PYTHONPATH), and
with TMPDIR pointing at a directory of the test's, so that what the file unpacks at start
can be checked to be gone afterwards. Real namespaces, real kernel counters, real tcpdump.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import buildcache
from nethelpers import listen_overflow, require, wait_for
from nodehelpers import ROOT, SCRUBBED_ENV, pcap_records, pyproject_version, syn_to_closed_port

from tui.version import BUILD_PATHS

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]  # the first test may build the file (~1-2 min)


@pytest.fixture(scope="session")
def onefile() -> Path:
    return buildcache.onefile()


@pytest.fixture
def node_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A working directory outside the checkout and the scrubbed environment to run in."""
    cwd = tmp_path / "node"
    unpack = tmp_path / "tmp"
    cwd.mkdir()
    unpack.mkdir()
    yield cwd, {**SCRUBBED_ENV, "TMPDIR": str(unpack)}
    assert list(unpack.iterdir()) == [], "the executable left its unpacked runtime behind"


def run(exe: Path, args: list[str], node: tuple[Path, dict[str, str]], timeout: float = 120) -> subprocess.CompletedProcess:
    cwd, env = node
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_version_names_the_version_and_a_commit_with_these_sources(onefile, node_dir):
    out = run(onefile, ["--version"], node_dir)
    assert out.returncode == 0, out.stderr
    m = re.fullmatch(r"synscope (\S+) \(commit (\S+); onefile; Python 3\.\d+\.\d+\)\n", out.stdout)
    assert m, out.stdout
    assert m.group(1) == pyproject_version()
    commit = m.group(2)
    if shutil.which("git") and (ROOT / ".git").exists():
        assert commit != "unknown", "built from a git checkout, yet no commit was baked in"
        sha = commit.removesuffix("-dirty")
        if sha == commit:  # a clean build: its commit must hold exactly the program we run
            diff = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", sha, "--", *BUILD_PATHS], timeout=30)
            assert diff.returncode == 0, f"the file says commit {sha}, but the sources differ from it"


def test_size_within_target(onefile):
    size = onefile.stat().st_size
    assert size <= 60_000_000, f"dist/synscope is {size / 1e6:.1f} MB, the target is 60 MB"


def test_glibc_floor_is_the_one_the_readme_states(onefile, node_dir):
    """The README says which nodes can run the file; the bundle's own version needs decide it."""
    code = (ROOT / "scripts" / "glibc_floor.py").read_text()
    out = run(onefile, ["-I", "-S", "-c", code], node_dir)
    assert out.returncode == 0, out.stderr
    floor, needed_by = out.stdout.split()
    readme = (ROOT / "README.md").read_text()
    stated = re.findall(r"glibc (\d+\.\d+) or newer", readme)
    assert stated, "the README does not say which glibc the executable needs"
    assert set(stated) == {floor}, f"the bundle needs glibc {floor} ({needed_by}); the README says {sorted(set(stated))}"


def test_snapshot_json_shows_the_listen_drops_of_a_test_namespace(onefile, node_dir, lab):
    srv = lab.add("srv")
    cli = lab.add("cli")
    lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    # 20 connections to a backlog-1 server that never accepts: SYNs are dropped at once and
    # their retransmits (1, 3, 7 s later) are dropped again. Any 8 s window starting within 7 s
    # of the burst holds one of them, so the snapshot's two samples, 8 s apart, see drops
    # whatever the executable's start-up time (under 7 s by far).
    listen_overflow(lab, srv, cli, "198.51.100.1", n=20, hold=16)
    out = run(onefile, ["snapshot", "--json", "--ns", srv, "--interval", "8"], node_dir)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    mine = [r for r in records if r["name"] == srv]
    assert len(mine) == 1, [r["name"] for r in records]
    rec = mine[0]
    assert rec["kind"] == "netns" and rec["path"] == f"/run/netns/{srv}"
    assert rec["deltas"].get("TcpExt.ListenDrops", 0) > 0, rec["deltas"]
    assert rec["deltas"].get("TcpExt.ListenOverflows", 0) > 0, rec["deltas"]


def test_exporter_once_runs_from_the_file(onefile, node_dir, lab):
    """The image and the DaemonSet run this file: the exporter and prometheus_client are in it."""
    name = lab.add("exp")
    out = run(onefile, ["exporter", "--once"], node_dir)
    assert out.returncode == 0, out.stderr
    assert f'kind="netns",name="{name}"' in out.stdout
    assert "# TYPE synscope_netstat_TcpExt_ListenDrops counter" in out.stdout
    assert "process_resident_memory_bytes" in out.stdout  # prometheus_client's ProcessCollector, bundled


def _tmux(sock: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-S", sock, *args], capture_output=True, text=True, timeout=30)


def test_tui_starts_in_tmux_and_quits_on_q(onefile, node_dir, lab, tmp_path):
    require("tmux (apt-get install tmux)", shutil.which("tmux") is not None)
    ns = lab.add("tui")
    cwd, env = node_dir
    sock = str(tmp_path / "tmux.sock")  # a tmux server of our own, never the user's
    rc_file = tmp_path / "rc"
    # env -i inside the pane: tmux's own environment must not leak in. stderr is the pane's:
    # Textual draws there.
    inner = " ".join(f"{k}={v}" for k, v in {**env, "TERM": "xterm-256color"}.items())
    command = f"cd {cwd} && env -i {inner} {onefile} --ns {ns}; echo $? > {rc_file}"
    started = _tmux(sock, "new-session", "-d", "-s", "t", "-x", "100", "-y", "30", command)
    assert started.returncode == 0, started.stderr
    try:
        def table_row() -> str | None:  # the namespace's row (not the title bar's filter): name, then kind
            screen = _tmux(sock, "capture-pane", "-p", "-t", "t").stdout
            return screen if re.search(rf"^\s*{ns}\s+netns\b", screen, re.MULTILINE) else None

        screen = wait_for(table_row, timeout=60)
        assert screen, f"the table never showed {ns}:\n{_tmux(sock, 'capture-pane', '-p', '-t', 't').stdout}"
        assert "SYN/s" in screen, screen  # the table header: a drawn frame, not just a title
        _tmux(sock, "send-keys", "-t", "t", "q")
        assert wait_for(rc_file.exists, timeout=30), "synscope did not quit on q"
        assert wait_for(lambda: rc_file.read_text().strip(), timeout=5) == "0"
    finally:
        _tmux(sock, "kill-server")


def test_capture_writes_a_pcap_with_the_nodes_tcpdump(onefile, node_dir, lab, tmp_path):
    require("tcpdump (apt-get install tcpdump)", shutil.which("tcpdump", path=SCRUBBED_ENV["PATH"]) is not None)
    ns = lab.add("cap")
    cwd, env = node_dir
    pcap = tmp_path / "cap.pcap"
    # --duration well beyond the test's own steps: the SIGINT below must come first even on a
    # loaded machine (under load the 20 s it had ran out first, and the capture ended by itself)
    proc = subprocess.Popen([str(onefile), "capture", ns, "--preset", "syn", "--duration", "300", "-w", str(pcap)],
                            cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        tcpdump_pid = None
        assert proc.stderr is not None
        for line in proc.stderr:  # synscope's progress lines; ends if it exits
            if m := re.search(r"tcpdump pid (\d+)", line):
                tcpdump_pid = int(m.group(1))
            if "listening" in line:
                break
        assert tcpdump_pid, "capture never said it started tcpdump"
        # the node's tcpdump gets the caller's library path, not the bundle's (runtime hook)
        with open(f"/proc/{tcpdump_pid}/environ", "rb") as f:
            tcpdump_env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        assert b"LD_LIBRARY_PATH" not in tcpdump_env, tcpdump_env.get(b"LD_LIBRARY_PATH")
        syn_to_closed_port(lab, ns)
        time.sleep(0.5)  # tcpdump -U writes each packet as it comes; let the last one land
        # Ctrl+C at a terminal: SIGINT to the whole process group, i.e. to the bootloader AND to
        # the Python it started (which the bootloader forwards its copy to): counted once, so
        # the capture stops cleanly and reports
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert re.search(r"synscope: \d+ packets, .* \(stopped by signal\); files: " + re.escape(str(pcap)), err), err
    assert "Flags [S]" in out, out  # tcpdump's decoded lines, relayed by synscope
    assert pcap_records(pcap) >= 1
    assert not os.path.exists(f"/proc/{tcpdump_pid}"), "tcpdump outlived the capture"
