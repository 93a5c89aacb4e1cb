"""The incident bundle (tui/core/bundle.py and `synscope bundle`), on real lab namespaces.

A real capture with the capture manager, real counters sampled into a real History, ``ip``
run inside the namespace, and the tar.gz opened with ``tar`` and every member parsed:
pcaps with ``tcpdump -r``, JSON with json.load, CSV with csv. Secrets that a process in the
namespace holds in its environment and on its command line must appear nowhere in it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest
from nethelpers import require
from test_capture import CLI, SRV, _need_tcpdump, connect, netns, pair, serve, syn_lines

from tui.core.bundle import BundleError, GivenCapture, counter_window, identity_record, write_bundle
from tui.core.capture import CaptureManager, CaptureSpec, preset_filter
from tui.core.history import History
from tui.core.namespaces import Discovery, NetNS, ns_inode_of_path
from tui.core.rules import diagnose_namespace
from tui.core.sampler import Sampler

SECRET_ENV = "s3cr3t-env-value-7f1d"
SECRET_ARG = "s3cr3t-arg-value-93ab"


@pytest.fixture
def capdir():
    d = tempfile.mkdtemp(prefix="synscope-bundle-cap-")
    m = CaptureManager(directory=d)
    try:
        yield m
    finally:
        m.close()
        shutil.rmtree(d, ignore_errors=True)


def discovered(name: str) -> NetNS:
    """The lab namespace as discovery names it (with its processes' pids and names)."""
    inode = ns_inode_of_path(f"/run/netns/{name}")
    ns = next((n for n in Discovery().discover().namespaces if n.inode == inode), None)
    assert ns is not None, name
    return ns


def members(path: str) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def sampled_history(ns: NetNS, traffic, n: int = 3) -> History:
    """n real samples of the namespace, with traffic between them."""
    h = History()
    s = Sampler(h, conntrack_recheck=1)
    try:
        s.set_namespaces([ns])
        s.sample()
        for _ in range(n - 1):
            traffic()
            s.sample()
    finally:
        s.close()
    return h


def test_a_lab_namespace_bundle_opens_and_every_member_parses(lab, capdir, tmp_path):
    _need_tcpdump()
    srv, cli = pair(lab)
    server = serve(lab, srv, 8080)
    # a process holding secrets the way a container does: in its environment and argv
    holder = lab.spawn(srv, [sys.executable, "-c", "import time; time.sleep(60)", f"--token={SECRET_ARG}"],
                       env={**os.environ, "SYNSCOPE_TEST_SECRET": SECRET_ENV})
    assert server.poll() is None and holder.poll() is None
    ns = discovered(srv)
    assert ns.pids, "discovery found no process in the lab namespace"

    # a real capture here, and one in the other namespace, which must stay out of the bundle
    mine = capdir.start(CaptureSpec(ns, preset_filter("handshake"), preset="handshake", duration=60))
    other = capdir.start(CaptureSpec(netns(cli), preset_filter("handshake"), preset="handshake", duration=60))
    assert capdir.wait_listening(mine) and capdir.wait_listening(other)
    h = sampled_history(ns, lambda: connect(lab, cli, 3, 8080))
    deadline = time.monotonic() + 10
    while capdir.status(mine).packets < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    capdir.stop(mine)
    mine_file = capdir.status(mine).files[0]
    # a pcap cut in the middle of a record, as a running capture's file can be
    cut = tmp_path / "cut.pcap"
    with open(mine_file, "rb") as f:
        data = f.read()
    cut.write_bytes(data + data[24:24 + 20])

    host = discovered_host = next(n for n in Discovery().discover().namespaces if n.kind == "host")
    assert discovered_host
    diag = diagnose_namespace(ns, h.get(ns.inode), host=host, always_read=True)
    out = tmp_path / "b.tar.gz"
    modes_during: list[int] = []
    result = write_bundle(
        ns, str(out), counters=counter_window(h.get(ns.inode), 300, "test"),  # type: ignore[arg-type]
        diagnosis=diag, captures=[*capdir.statuses(), GivenCapture(ns.inode, (str(cut),))], host=host,
        before_part=lambda _part: modes_during.append(stat.S_IMODE(os.stat(out).st_mode)),
    )
    # mode 0600 from the start: the file existed with it before any part was read
    assert modes_during and set(modes_during) == {0o600}
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600

    listing = subprocess.run(["tar", "-tzvf", str(out)], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert all(line.startswith("-rw-------") for line in listing.stdout.splitlines()), listing.stdout
    got = members(str(out))
    assert set(result.members) == set(got)
    for name in ("README.txt", "notes.json", "identity.json", "versions.json", "counters.csv", "counters.json",
                 "diagnosis.txt", "diagnosis.json", "sysctl-namespace.txt", "sysctl-host.txt", "sysctl.json",
                 "sockets.json", "listeners.txt", "ip-addr.txt", "ip-route.txt", "ip-s-link.txt", "ip-addr.json"):
        assert name in got, (name, sorted(got))
    assert json.loads(got["notes.json"]) == [n for n in json.loads(got["notes.json"]) if n["part"] == "conntrack"]

    extract = tmp_path / "x"
    subprocess.run(["tar", "-xzf", str(out), "-C", str(extract.parent), "--one-top-level=x"], check=True, timeout=30)
    for name, body in got.items():
        if name.endswith(".json"):
            with open(extract / name) as f:
                json.load(f)
        elif name.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(body.decode())))
            assert rows[0] == ["time_utc", "unix_time", "counter", "value", "delta"] and len(rows) > 1
    # the pcaps: this namespace's capture (whole) and the cut one (cut back to whole records)
    pcaps = sorted(n for n in got if n.startswith("captures/"))
    assert pcaps == sorted([f"captures/{os.path.basename(mine_file)}", "captures/cut.pcap"]), pcaps
    other_file = os.path.basename(capdir.status(other).files[0])
    assert f"captures/{other_file}" not in got
    for name in pcaps:
        r = subprocess.run(["tcpdump", "-nn", "-r", str(extract / name)], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "truncated" not in r.stderr, (name, r.stderr)
        assert syn_lines(r.stdout.splitlines(), f"{SRV}.8080"), (name, r.stdout)
    assert got["captures/cut.pcap"] == data

    # what each part says is this namespace's
    ident = json.loads(got["identity.json"])
    assert ident["inode"] == ns.inode and ident["name"] == srv and ident["path"] == f"/run/netns/{srv}"
    assert not {k for k in ident if any(w in k.lower() for w in ("env", "cmdline", "command", "args", "argv"))}
    for name, body in got.items():
        assert SECRET_ENV.encode() not in body and SECRET_ARG.encode() not in body, name
    assert SRV in got["ip-addr.txt"].decode() and CLI not in got["ip-addr.txt"].decode()
    assert any(a["addr_info"] for a in json.loads(got["ip-addr.json"]))
    assert f"{SRV}/24" in got["ip-route.txt"].decode() or "198.51.100.0/24" in got["ip-route.txt"].decode()
    assert "RX:" in got["ip-s-link.txt"].decode()
    socks = json.loads(got["sockets.json"])
    assert [x["port"] for x in socks["listeners"]] == [8080]
    assert "198.51.100.1:8080" in got["listeners.txt"].decode()
    sysctl = json.loads(got["sysctl.json"])
    assert sysctl["namespace"]["net.core.somaxconn"] and sysctl["host"]["net.core.somaxconn"]
    # a per-interface key exists for the namespace's veth and not the host's
    veth = json.loads(got["ip-addr.json"])[-1]["ifname"]
    assert f"net.ipv4.conf.{veth}.forwarding" in sysctl["namespace"]
    assert json.loads(got["versions.json"])["kernel"] == os.uname().release
    counters = json.loads(got["counters.json"])
    assert counters["series"]["Tcp.PassiveOpens"]["deltas"] and sum(counters["series"]["Tcp.PassiveOpens"]["deltas"]) >= 6
    diagnosis = json.loads(got["diagnosis.json"])
    assert diagnosis["inode"] == ns.inode
    readme = got["README.txt"].decode()
    for name in got:
        assert name in readme, name
    assert "tcpdump -nn -r" in readme and "Wireshark" in readme and "synscope replay" in readme
    assert "no recorder store was found" in readme


def test_a_namespace_that_vanishes_mid_bundle_is_a_note(lab, tmp_path):
    name = lab.add("gone")
    ns = netns(name)

    def remove_it(part: str) -> None:
        if part == "sysctls":  # after identity, counters and diagnosis: delete the namespace
            subprocess.run(["ip", "netns", "del", name], check=True, timeout=30)
            lab.names.remove(name)

    out = tmp_path / "gone.tar.gz"
    result = write_bundle(ns, str(out), counters=None, counters_missing="no history in this test",
                          diagnosis=None, before_part=remove_it)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    got = members(str(out))
    assert "identity.json" in got and "README.txt" in got
    for missing in ("sysctl.json", "sockets.json", "ip-addr.txt", "ip-route.txt", "ip-s-link.txt"):
        assert missing not in got
    notes = json.loads(got["notes.json"])
    parts = [n["part"] for n in notes]
    assert parts[:1] == ["counters"] and "namespace" in parts
    for p in ("sysctls", "sockets", "ip addr", "ip route", "ip -s link"):
        assert p in parts, parts
    gone = next(n["note"] for n in notes if n["part"] == "namespace")
    assert f"{name} (net:[{ns.inode}]) vanished while the bundle was written" in gone
    readme = got["README.txt"].decode()
    assert "vanished while the bundle was written" in readme and "Traceback" not in readme
    assert "counters: not included: no history in this test" in readme
    assert len(result.notes) == len(notes)


def test_existing_file_is_refused_unless_asked_and_keeps_0600(lab, tmp_path):
    ns = netns(lab.add("ow"))
    out = tmp_path / "b.tar.gz"
    out.write_text("keep me")
    os.chmod(out, 0o644)
    with pytest.raises(BundleError) as e:
        write_bundle(ns, str(out))
    assert e.value.exists and out.read_text() == "keep me"
    write_bundle(ns, str(out), overwrite=True)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600 and "README.txt" in members(str(out))
    with pytest.raises(BundleError, match="No such file or directory"):
        write_bundle(ns, str(tmp_path / "no" / "such" / "dir.tar.gz"))
    with pytest.raises(BundleError, match="is a directory"):
        write_bundle(ns, str(tmp_path))


def test_identity_has_no_environment_or_command_line():
    from tui.core.namespaces import ContainerRef

    ns = NetNS(7, "pod", "shop/web-1", pids=(42,), pod="web-1", k8s_namespace="shop",
               labels=(("app", "web"),), containers=(ContainerRef("web", "abc123", "nginx:1.27", "running", "docker"),),
               processes=("nginx",))
    rec = identity_record(ns)
    assert rec["labels"] == {"app": "web"} and rec["containers"][0]["image"] == "nginx:1.27"
    assert set(rec) == {"name", "kind", "inode", "netns", "ns_id", "path", "pids", "aliases", "pod", "k8s_namespace",
                        "labels", "containers", "process_names"}
    assert set(rec["containers"][0]) == {"name", "id", "image", "state", "runtime", "k8s_container"}


def _netstat(v: int) -> tuple[bytes, ...]:
    return (f"TcpExt: ListenDrops\nTcpExt: {v}\n".encode(), b"Tcp: CurrEstab\nTcp: 3\n")


def test_counter_window_values_deltas_and_a_reset():
    h = History().ingest(1, 100.0, _netstat(5))
    h.ingest(101.0, _netstat(8))
    h.ingest(102.0, _netstat(2))  # went down: a reset
    h.ingest(103.0, _netstat(4))
    w = counter_window(h, None, "test")
    assert w.times == (101.0, 102.0, 103.0) and w.start == 100.0
    assert w.deltas["TcpExt.ListenDrops"] == [3, None, 2]
    assert w.values["TcpExt.ListenDrops"] == [None, 2, 4]  # before the reset: unknowable
    assert w.values["Tcp.CurrEstab"] == [3, 3, 3] and "Tcp.CurrEstab" not in w.deltas
    assert w.values_at_end == {"TcpExt.ListenDrops": 4, "Tcp.CurrEstab": 3}
    assert "4 samples 1 s apart over 3 s" in w.source
    last = counter_window(h, 1.0, "test")
    assert last.times == (102.0, 103.0) and last.start == 101.0


# -- the headless command ---------------------------------------------------------------------


def synscope(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})


def test_headless_bundle_exit_codes_and_default_name(lab, tmp_path):
    require("ip", shutil.which("ip") is not None)
    name = lab.add("cmd")
    assert not os.path.exists("/var/lib/synscope/synscope.db"), \
        "a recorder store in the default directory: this test is of the bundle without one (tests/test_bundle_store.py has it)"
    r = synscope("bundle", name, "--sample", "1", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    path = r.stdout.strip()
    assert os.path.dirname(path) == str(tmp_path)
    assert os.path.basename(path).startswith(f"synscope-bundle-{name}-") and path.endswith("Z.tar.gz")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    got = members(path)
    readme = " ".join(got["README.txt"].decode().split())
    assert ("counters: sampled by `synscope bundle` as it ran: 2 samples 1 s apart over 1 s; "
            "no recorder store was found at /var/lib/synscope, so nothing from before the command is here") in readme, \
        readme
    assert "Traceback" not in r.stderr

    out = str(tmp_path / "x.tar.gz")
    assert synscope("bundle", name, "--sample", "1", "-o", out).returncode == 0
    again = synscope("bundle", name, "--sample", "1", "-o", out)
    assert again.returncode == 1 and "exists: not overwritten (--force overwrites it)" in again.stderr
    assert synscope("bundle", name, "--sample", "1", "-o", out, "--force").returncode == 0

    nothing = synscope("bundle", "no-such-namespace-xyz", "--sample", "1")
    assert nothing.returncode == 1 and "no namespace matches 'no-such-namespace-xyz'" in nothing.stderr
    unwritable = synscope("bundle", name, "-o", str(tmp_path / "missing" / "b.tar.gz"))
    assert unwritable.returncode == 1 and "cannot write" in unwritable.stderr and "Traceback" not in unwritable.stderr
    for bad in (["--window", "0"], ["--window", "5x"], ["--sample", "nan"], ["--window", "-5m"]):
        r = synscope("bundle", name, *bad)
        assert r.returncode == 2, (bad, r.stderr)
    missing_pcap = synscope("bundle", name, "--pcap", str(tmp_path / "nope.pcap"))
    assert missing_pcap.returncode == 1 and "no such file" in missing_pcap.stderr
    helptext = synscope("bundle", "--help").stdout
    assert "--store" in helptext and "recording.synscope" in helptext and "mode 0600" in helptext


# -- the TUI: `w` in the capture pane and in the sysctl preview -------------------------------


async def test_w_writes_the_bundle_from_the_capture_pane_and_the_sysctl_preview(lab, tmp_path, monkeypatch):
    """The real app on the live node: a real capture in a lab namespace, `w` in the capture pane
    (its pcap goes in), then `s` and `w` in the sysctl preview; each bundle is written by a
    thread worker into $SYNSCOPE_DIR and the notification names it."""
    _need_tcpdump()
    from tui.app import SynscopeApp
    from tui.screens.capture import CaptureScreen
    from tui.screens.sysctl import SysctlScreen
    from tui.source import LiveSource

    state, caps = tmp_path / "state", tmp_path / "caps"
    monkeypatch.setenv("SYNSCOPE_DIR", str(state))
    monkeypatch.setenv("SYNSCOPE_CAPTURE_DIR", str(caps))
    srv, cli = pair(lab)
    serve(lab, srv, 8080)
    inode = ns_inode_of_path(f"/run/netns/{srv}")
    app = SynscopeApp(LiveSource(interval=0.3), ns_filter=srv, autotick=False)

    def bundles() -> list[str]:
        return sorted(str(p) for p in state.glob("synscope-bundle-*.tar.gz")) if state.exists() else []

    def said() -> list[str]:
        return [n.message for n in app._notifications]

    try:
        async with app.run_test(size=(120, 40)) as pilot:
            async def step() -> None:
                app.request_tick()
                for _ in range(3):
                    await app.workers.wait_for_complete()
                    await pilot.pause()

            await step()
            ns = app.main.selected_namespace
            assert ns is not None and ns.inode == inode
            cid = app.captures.start(CaptureSpec(ns, preset_filter("handshake"), preset="handshake", duration=60))
            assert app.captures.wait_listening(cid)
            connect(lab, cli, 3, 8080)
            await step()
            deadline = time.monotonic() + 10
            while app.captures.status(cid).packets < 6 and time.monotonic() < deadline:
                await pilot.pause(0.05)

            app.open_capture_list()
            await pilot.pause()
            assert isinstance(app.screen, CaptureScreen) and app.screen.selected == cid
            await pilot.press("w")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert len(bundles()) == 1, (bundles(), said())
            first = bundles()[0]
            assert any(f"bundle written: {first}" in m for m in said()), said()
            got = members(first)
            pcap = f"captures/{os.path.basename(app.captures.status(cid).files[0])}"
            assert pcap in got and json.loads(got["identity.json"])["inode"] == inode
            assert "synscope's history in this session" in " ".join(got["README.txt"].decode().split())
            assert stat.S_IMODE(os.stat(first).st_mode) == 0o600

            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("s")
            for _ in range(20):
                await app.workers.wait_for_complete()
                await pilot.pause()
                if isinstance(app.screen, SysctlScreen):
                    break
            assert isinstance(app.screen, SysctlScreen)
            await pilot.press("w")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert len(bundles()) == 2, (bundles(), said())
            second = next(b for b in bundles() if b != first)
            assert any(f"bundle written: {second}" in m for m in said()), said()
            got = members(second)
            assert pcap in got and "diagnosis.json" in got and "sysctl.json" in got
            assert json.loads(got["diagnosis.json"])["inode"] == inode
    finally:
        app.source.close()


def test_a_pcap_gone_before_it_is_read_is_a_note(lab, tmp_path):
    ns = netns(lab.add("pc"))
    gone = str(tmp_path / "gone.pcap")
    out = tmp_path / "b.tar.gz"
    result = write_bundle(ns, str(out), captures=[GivenCapture(ns.inode, (gone,)), GivenCapture(ns.inode + 1, (gone,))])
    got = members(str(out))
    assert not [n for n in got if n.startswith("captures/")]
    notes = json.loads(got["notes.json"])
    assert {"part": "captures", "note": "captures/gone.pcap not included: No such file or directory"} in notes
    assert sum(n["part"] == "captures" for n in notes) == 1  # the other namespace's is not even tried
    readme = got["README.txt"].decode()
    assert "captures/gone.pcap not included" in readme and "\n  captures/gone.pcap\n" not in readme
    assert "captures: captures/gone.pcap not included: No such file or directory" in result.notes


def test_not_root_the_bundle_is_written_with_what_it_could_read(lab):
    """As uid 65534: a pid-less namespace cannot be entered, so what is read inside it is
    missing, each part says why, and the bundle is still written, 0600, by that user."""
    import gzip  # noqa: F401  (imported before the fork: the child may not read the venv or /root)
    import platform  # noqa: F401

    import tui.core.conntrack
    import tui.core.diagnosis_report
    import tui.core.sockets
    import tui.core.sysctl
    import tui.version  # noqa: F401
    from nethelpers import as_nobody

    from pathlib import Path

    ns = netns(lab.add("nr"))
    out_dir = Path(tempfile.mkdtemp(prefix="synscope-bundle-nobody-"))  # in /tmp: pytest's tmp_path is root's 0700
    os.chown(out_dir, 65534, 65534)
    out = out_dir / "b.tar.gz"

    def child() -> int:
        result = write_bundle(ns, str(out))
        print(json.dumps(list(result.notes)))
        return 0

    try:
        rc, stdout, stderr = as_nobody(child)
        st = os.stat(out) if out.exists() else None
        got = members(str(out)) if st else {}
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    assert rc == 0, stderr
    notes = json.loads(stdout)
    assert st is not None and st.st_uid == 65534 and stat.S_IMODE(st.st_mode) == 0o600
    assert "identity.json" in got and "sysctl.json" not in got and "ip-addr.txt" not in got
    for part in ("sysctls", "sockets", "ip addr", "conntrack"):
        said = next((n for n in notes if n.startswith(f"{part}: ")), "")
        assert "run as root" in said or "not permitted" in said, (part, notes)
    assert not any(n.startswith("namespace: ") for n in notes)  # it is there: not "vanished"
