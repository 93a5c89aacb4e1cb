"""Which capabilities the exporter needs: root with all but a few dropped (setpriv), as the
DaemonSet runs it: in a network namespace of its own (the pod's), seeing the node's pids.

What the kernel decides (checked here, not assumed):
* reading another process's ``/proc/PID/ns/net`` (and so its ``/proc/PID/net/*``, which
  synscope reads only after checking that link through a pinned fd) is a ptrace "read"
  access check: allowed without CAP_SYS_PTRACE only for a process of our own uid, dumpable,
  whose permitted capabilities are a subset of ours. A root exporter with no capability fails
  it for every root process (they have more capabilities), every other uid and every
  non-dumpable process; in a pod's network that includes the node's own namespace.
* entering a namespace that has no process (``setns``) needs CAP_SYS_ADMIN; without it such a
  namespace is out of reach, and said so (``synscope_namespaces_unreachable``).
* CAP_DAC_READ_SEARCH adds nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from nethelpers import NetnsLab, require, require_root, wait_for
from promhelpers import REPO

from tui.core.namespaces import ns_inode_of_path, ns_inode_of_pid

NODUMP = "import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(120)"  # PR_SET_DUMPABLE 0


def exported_inodes(text: str) -> set[int]:
    return {int(i) for i in re.findall(r'^synscope_netstat_Tcp_RetransSegs\{netns="(\d+)"', text, re.M)}


def gauge(text: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m, name
    return float(m.group(1))


@pytest.fixture(scope="module")
def node():
    """Namespaces as a node has them: a process of another uid, a root one, a non-dumpable
    one, one with no process; and one for the exporter itself (the pod's network)."""
    require_root()
    require("setpriv (util-linux)", shutil.which("setpriv") is not None)
    with NetnsLab("c") as lab:
        names = {k: lab.add(k) for k in ("nobody", "root", "nodump", "pidless", "self")}
        lab.spawn(names["nobody"], ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "sleep", "120"])
        lab.spawn(names["root"], ["sleep", "120"])
        lab.spawn(names["nodump"], [sys.executable, "-c", NODUMP])
        inodes = {k: ns_inode_of_path(f"/run/netns/{n}") for k, n in names.items()}

        def started() -> bool:  # every process is in its namespace (ip netns exec has exec'd)
            want = {inodes[k] for k in ("nobody", "root", "nodump")}
            seen = set()
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        seen.add(int(os.readlink(f"/proc/{pid}/ns/net")[5:-1]))
                    except OSError:
                        pass
            return want <= seen

        assert wait_for(started, timeout=10)
        yield names, inodes
        for p in lab.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)


def once_with(caps: str, names: dict[str, str]) -> subprocess.CompletedProcess:
    bounding = f"-all,{caps}" if caps else "-all"
    argv = ["ip", "netns", "exec", names["self"], "setpriv", "--inh-caps=-all", "--ambient-caps=-all",
            f"--bounding-set={bounding}", "--", sys.executable, "-m", "tui", "exporter", "--once"]
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize(("caps", "seen", "unreachable"), [
    ("", {"self"}, {"nobody", "root", "nodump", "pidless"}),
    ("+dac_read_search", {"self"}, {"nobody", "root", "nodump", "pidless"}),
    ("+sys_ptrace", {"self", "node", "nobody", "root", "nodump"}, {"pidless"}),
    ("+sys_ptrace,+sys_admin", {"self", "node", "nobody", "root", "nodump", "pidless"}, set()),
])
def test_what_each_capability_lets_the_exporter_read(node, caps, seen, unreachable):
    names, inodes = node
    r = once_with(caps, names)
    # the machine's own namespace, through this test's own process (root, every capability):
    # pid 1 would do on a node, but here even root may not read pid 1's ns/net (EACCES)
    wanted = {**inodes, "node": ns_inode_of_pid(os.getpid())}
    got = exported_inodes(r.stdout)
    assert {k for k, i in wanted.items() if i in got} == seen, (caps, r.stderr)
    # the named ones it cannot read by a process it tries through /run/netns, and says so
    assert gauge(r.stdout, "synscope_namespaces_unreachable") >= len(unreachable)
    for k in unreachable:
        assert names[k] in r.stderr, (k, r.stderr)
