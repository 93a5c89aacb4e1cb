"""Not root, next to a named namespace with no process in it (``ip netns add`` and nothing run).

Entering such a namespace needs ``setns()``, which uid 65534 may not do: not into it, and
not back into its own namespace either. That second EPERM used to escape the sampler, so
``snapshot`` died with ``PermissionError`` and the TUI's sampling stopped for good. Now the
namespace is one "out of reach" note and everything else is sampled.

Each test runs the real code as uid 65534 in a forked child (nethelpers.as_nobody) against
a real pid-less namespace the lab creates.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os

from conftest import LAB_RECORDING
from nethelpers import as_nobody, ip, require_root, wait_for

import tui.cli
from tui.app import SynscopeApp
from tui.core.namespaces import ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.replay_source import ReplaySource
from tui.source import LiveSource


def _names(note: str, name: str) -> bool:
    """The note names our namespace (unless the node has more pid-less ones than a note lists)."""
    return name in note or " more (" in note


def _import_everything_the_cli_needs() -> None:
    import importlib

    for mod in [*tui.cli.COMMANDS.values(), "tui.core.sources.docker", "tui.core.sources.kubelet"]:
        importlib.import_module(mod)  # the sources are imported lazily by default_sources


def test_snapshot_as_non_root_notes_a_pidless_namespace_and_samples_the_rest(lab):
    name = lab.add("pidless")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    _import_everything_the_cli_needs()
    rc, out, err = as_nobody(tui.cli.main, ["snapshot", "--interval", "0.2", "--json"])
    assert rc == 0, err
    assert "Traceback" not in err and "PermissionError" not in err, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert any(r["kind"] == "host" and r["deltas"] is not None for r in recs), out
    assert all(r["inode"] != inode for r in recs)  # not a row we could not read
    notes = [ln for ln in err.splitlines() if "out of reach" in ln]
    assert len(notes) == 1 and _names(notes[0], name) and "root" in notes[0], err


def test_diagnose_as_non_root_goes_on_past_a_pidless_namespace(lab):
    name = lab.add("pidlessd")
    _import_everything_the_cli_needs()
    rc, out, err = as_nobody(tui.cli.main, ["diagnose", "--interval", "0.2", "--all", "--json"])
    assert rc == 0, err
    assert "Traceback" not in err and "PermissionError" not in err, err
    assert any(json.loads(line)["kind"] == "host" for line in out.splitlines()), out
    notes = [ln for ln in err.splitlines() if "out of reach" in ln]
    assert len(notes) == 1 and _names(notes[0], name), err


async def _tui_ticks(want: int) -> int:
    """The real App on the live source, ticking by itself, until `want` frames or 30 s."""
    source = LiveSource(interval=0.2)
    app = SynscopeApp(source)
    try:
        async with app.run_test(size=(200, 40)) as pilot:
            for _ in range(300):  # bounded: 300 × 0.1 s
                await pilot.pause(0.1)
                if (app.latest.seq if app.latest else 0) >= want or app.last_error:
                    break
            frame = app.main.frame
            result = {
                "frames": app.latest.seq if app.latest else 0,
                "error": app.last_error,
                "notes": list(frame.notes) if frame else [],
                "inodes": [ns.inode for ns in frame.namespaces] if frame else [],
                "status": app.main.status.render_info(app.main.status.info).plain if app.main.status.info else "",
            }
    finally:
        source.close()
    print(json.dumps(result), flush=True)
    return 0


async def _warm_up() -> None:
    """Load every module a running App imports lazily, while we may still read them all (on
    the lab's recording: any source will do, and the live one's first frame is the test's)."""
    app = SynscopeApp(ReplaySource(str(LAB_RECORDING)), autotick=False)
    async with app.run_test(size=(200, 40)) as pilot:
        app.request_tick()
        await app.workers.wait_for_complete()
        await pilot.pause()


def test_tui_as_non_root_keeps_sampling_next_to_a_pidless_namespace(lab):
    name = lab.add("pidlesst")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    _import_everything_the_cli_needs()
    asyncio.run(_warm_up())
    rc, out, err = as_nobody(lambda: asyncio.run(_tui_ticks(4)))
    assert rc == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    # before the fix: no frame at all, and "sampling failed: PermissionError" for good
    assert res["error"] == "", res
    assert res["frames"] >= 4, res
    assert inode not in res["inodes"] and res["inodes"], res
    reach = [n for n in res["notes"] if "out of reach" in n]
    assert len(reach) == 1 and _names(reach[0], name), res["notes"]
    assert "out of reach" in res["status"] and "sampling failed" not in res["status"], res["status"]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


CAP_SYS_ADMIN = 21


def _drop_sys_admin_on_this_thread() -> int:
    """capset(2) acts on the calling thread only: this thread alone loses CAP_SYS_ADMIN."""
    libc = ctypes.CDLL(None, use_errno=True)
    head = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, pid 0: this thread
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(head), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    data[0].effective &= ~(1 << CAP_SYS_ADMIN)
    data[0].permitted &= ~(1 << CAP_SYS_ADMIN)
    if libc.capset(ctypes.byref(head), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_a_setns_thread_that_cannot_go_home_is_retired_and_does_not_pin_the_namespace(lab):
    """Entered, then lost the right to leave (a real per-thread capability drop): the reader
    keeps its result, ends that thread, and the next call runs at home on a fresh thread."""
    require_root()
    a, b = lab.add("stuck"), lab.add("peer")
    lab.veth(a, "203.0.113.1/24", b, "203.0.113.2/24")
    inode = ns_inode_of_path(f"/run/netns/{a}")
    home = os.stat("/proc/thread-self/ns/net").st_ino
    reader = NetnsReader()
    try:
        assert reader.call_in(f"/run/netns/{a}", _drop_sys_admin_on_this_thread) == inode  # no EPERM escapes
        assert reader.call_in("/proc/self/ns/net", lambda: os.stat("/proc/thread-self/ns/net").st_ino) == home
        ip("netns", "del", a)
        lab.names.remove(a)
        # the retired thread has ended: nothing holds the deleted namespace, its veth is gone
        assert wait_for(lambda: ip("-n", b, "-o", "link", "show").stdout.count("@if") == 0, 5), \
            "the stuck thread still holds the deleted namespace"
    finally:
        reader.close()
