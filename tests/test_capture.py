"""Capture: real tcpdump in real namespaces — pcap contents, bounds, no shell, no orphans.

Root tests use the `lab` fixture (named namespaces + veth from TEST-NET-2, removed at the
end). Every tcpdump is checked by the pid our manager or `synscope capture` reported, never
looked up by name. Files go to a temporary directory each test removes.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest
from nethelpers import require, require_root, wait_for

from tui.core import capture as capmod
from tui.core.capture import (
    PRESETS,
    CaptureError,
    CaptureManager,
    CaptureSpec,
    FilterError,
    TcpdumpMissing,
    check_filter,
    find_tcpdump,
    preset_filter,
    ring_files,
    syn_trouble_deltas,
)
from tui.core.namespaces import NetNS, ns_inode_of_path

SRV, CLI = "198.51.100.1", "198.51.100.2"
REPO = Path(__file__).resolve().parents[1]


# -- helpers ----------------------------------------------------------------------------
@pytest.fixture
def capdir():
    d = tempfile.mkdtemp(prefix="synscope-captest-")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def readonly_dir():
    """A directory on a tmpfs mounted read-only (made and removed here; root only)."""
    require_root()
    d = tempfile.mkdtemp(prefix="synscope-ro-")
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m,mode=0700", "tmpfs", d], check=True, timeout=30)
        try:
            yield Path(d)
        finally:
            subprocess.run(["umount", d], check=False, timeout=30)
    finally:
        os.rmdir(d)


def _need_tcpdump() -> None:
    require_root()
    require("tcpdump", shutil.which("tcpdump", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is not None)


def netns(name: str) -> NetNS:
    path = f"/run/netns/{name}"
    inode = ns_inode_of_path(path)
    assert inode, path
    return NetNS(inode, "netns", name, path=path)


def pair(lab) -> tuple[str, str]:
    srv, cli = lab.add("srv"), lab.add("cli")
    lab.veth(srv, f"{SRV}/24", cli, f"{CLI}/24")
    return srv, cli


def tcpdump_alive(pid: int) -> bool:
    """True while pid is a live (not zombie) tcpdump; a pid reused by anything else is False."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X") and os.path.basename(argv0) == b"tcpdump"


def kill_leftover(pid: int) -> None:
    """A failed test must not leave its tcpdump behind: kill it by the pid we were told."""
    if pid and tcpdump_alive(pid):
        os.kill(pid, signal.SIGKILL)


def cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0")[:-1]]


SERVER = """
import socket, sys, time
socks = []
for port in sys.argv[2:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(port)))
    s.listen(16)
    socks.append(s)
print("listening", flush=True)
time.sleep(30)
"""

CONNECT = """
import socket, sys
host, n = sys.argv[1], int(sys.argv[2])
for port in sys.argv[3:]:
    for _ in range(n):                       # bounded: n tries per port, 2 s each
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError:
            pass
print("done", flush=True)
"""


def serve(lab, ns: str, *ports: int) -> subprocess.Popen:
    p = lab.spawn(ns, [sys.executable, "-c", SERVER, SRV, *map(str, ports)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "listening"
    return p


def connect(lab, ns: str, n: int, *ports: int) -> None:
    p = lab.spawn(ns, [sys.executable, "-c", CONNECT, SRV, str(n), *map(str, ports)], stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=30)
    assert out.strip() == "done"


def read_pcap(*files: str) -> list[str]:
    lines: list[str] = []
    for f in files:
        r = subprocess.run(["tcpdump", "-r", f, "-nn"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        lines += r.stdout.splitlines()
    return lines


def syn_lines(lines: list[str], dst: str) -> list[str]:
    return [ln for ln in lines if f"> {dst}:" in ln and "Flags [S]," in ln]


# -- no root needed ---------------------------------------------------------------------
def test_presets_cover_the_issue_and_custom_is_passed_untouched():
    assert {"handshake", "syn", "synack", "rst", "listen", "port", "custom"} <= set(PRESETS)
    assert preset_filter("port", port="8080") == "tcp port 8080"
    f = preset_filter("listen", ports=[443, 80, 80])
    assert "tcp dst port 80 or tcp dst port 443" in f and "tcp-syn" in f and "ip6[53]" in f
    weird = "  tcp and len > 60 && (port 80)  "
    assert preset_filter("custom", custom=weird) == weird  # not stripped, not quoted
    for bad in ("0", "65536", "http", None):
        with pytest.raises(CaptureError):
            preset_filter("port", port=bad)
    with pytest.raises(CaptureError):
        preset_filter("custom", custom="   ")
    with pytest.raises(CaptureError):
        preset_filter("listen", ports=[])
    with pytest.raises(CaptureError):
        preset_filter("nope")


def test_ring_file_names_match_what_tcpdump_writes():
    assert ring_files("/d/x.pcap", 1) == ["/d/x.pcap"]
    assert ring_files("/d/x.pcap", 3) == ["/d/x.pcap0", "/d/x.pcap1", "/d/x.pcap2"]
    assert ring_files("/d/x.pcap", 12)[0] == "/d/x.pcap00"


def test_syn_trouble_deltas_only_syn_keys_and_resets():
    base = {"TcpExt.ListenDrops": 10, "TcpExt.ListenOverflows": 5, "TcpExt.DelayedACKs": 1}
    now = {"TcpExt.ListenDrops": 17, "TcpExt.ListenOverflows": 2, "TcpExt.DelayedACKs": 99, "TcpExt.TCPSynRetrans": 4}
    # ListenOverflows went down (reset): count from 0; DelayedACKs is not SYN trouble;
    # TCPSynRetrans had no baseline: it starts now, so no delta yet
    assert syn_trouble_deltas(base, now) == {"TcpExt.ListenDrops": 7, "TcpExt.ListenOverflows": 2}


def test_spec_bounds_are_checked():
    ns = NetNS(1, "netns", "x", path="/nonexistent")
    for kw in ({"duration": 0}, {"duration": 1e9}, {"file_mb": 0}, {"file_count": 0}, {"file_count": 1000},
               {"interface": "-w"}, {"interface": "eth0; id"}, {"filter": "  "}):
        spec = CaptureSpec(**{"ns": ns, "filter": "tcp", **kw})  # type: ignore[arg-type]
        with pytest.raises(CaptureError):
            spec.validated()


def test_tcpdump_missing_says_how_to_install(monkeypatch, capdir):
    # tcpdump cannot be uninstalled for a test: hide it by searching a PATH without it
    monkeypatch.setenv("PATH", str(capdir))
    monkeypatch.setattr(capmod.tcpdump, "_SBIN", "")
    with pytest.raises(TcpdumpMissing) as exc:
        find_tcpdump()
    assert "apt-get install tcpdump" in str(exc.value) and "dnf install tcpdump" in str(exc.value)


def test_decode_line_gives_plain_tcpdump_text_and_frame_bytes():
    # lines as this tcpdump 4.99 prints them with -e -nn (any, then an Ethernet interface)
    sll2 = ("22:03:08.296193 lo    In  ifindex 1 00:00:00:00:00:00 ethertype IPv4 (0x0800), length 80: "
            "127.0.0.1.35680 > 127.0.0.1.8080: Flags [S], seq 211369295, win 65495, length 0")
    assert capmod.decode_line(sll2) == (
        "22:03:08.296193 lo    In  IP 127.0.0.1.35680 > 127.0.0.1.8080: Flags [S], seq 211369295, win 65495, length 0", 80)
    eth = ("22:03:26.748825 da:6b:68:10:51:3b > 33:33:00:00:00:16, ethertype IPv6 (0x86dd), length 90: "
           ":: > ff02::16: HBH ICMP6, multicast listener report v2, 1 group record(s), length 28")
    assert capmod.decode_line(eth) == (
        "22:03:26.748825 IP6 :: > ff02::16: HBH ICMP6, multicast listener report v2, 1 group record(s), length 28", 90)
    assert capmod.decode_line("something else entirely") == ("something else entirely", None)


def test_filter_is_one_argv_element_after_double_dash():
    argv = capmod.shim_argv(7, "/usr/bin/tcpdump", ["tcpdump", "-i", "any", "--", "a; b $(c) `d`"])
    assert argv[-2:] == ["--", "a; b $(c) `d`"]
    assert argv[0] == sys.executable and "sh" not in os.path.basename(argv[0])


# -- real tcpdump in real namespaces --------------------------------------------------
def test_pcap_holds_the_syns_of_a_client(lab, capdir):
    _need_tcpdump()
    srv, cli = pair(lab)
    serve(lab, srv, 8080)
    mgr = CaptureManager(directory=capdir)
    try:
        cid = mgr.start(CaptureSpec(netns(srv), preset_filter("syn"), preset="syn", duration=60))
        assert mgr.wait_listening(cid), mgr.status(cid).messages
        connect(lab, cli, 3, 8080)
        assert wait_for(lambda: mgr.status(cid).packets >= 3, timeout=10), mgr.status(cid)
        live, total = mgr.lines_since(cid, 0)
        assert total == len(live) >= 3 and len(syn_lines(live, f"{SRV}.8080")) >= 3, live
        assert mgr.status(cid).bytes >= 3 * 60  # frame lengths of at least three SYNs
        assert mgr.lines_since(cid, total) == ([], total)
        mgr.stop(cid)
        st = mgr.status(cid)
        assert st.state == "done" and not tcpdump_alive(st.pid)
    finally:
        mgr.close()
    assert st.files and all(f.startswith(str(capdir)) for f in st.files)
    lines = read_pcap(*st.files)
    syns = syn_lines(lines, f"{SRV}.8080")
    assert len(syns) >= 3, lines
    assert all(f"IP {CLI}." in ln for ln in syns)
    # the syn preset keeps SYN-ACKs out
    assert not [ln for ln in lines if "Flags [S.]" in ln], lines
    for f in st.files:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
        assert os.stat(f).st_uid == 0  # -Z root: not handed to user tcpdump


def test_listen_preset_catches_syns_to_listeners_only(lab, capdir):
    _need_tcpdump()
    srv, cli = pair(lab)
    serve(lab, srv, 8080, 9090)
    ns = netns(srv)
    ports = capmod.listen_ports(ns)
    assert {8080, 9090} <= set(ports)
    mgr = CaptureManager(directory=capdir)
    try:
        cid = mgr.start(CaptureSpec(ns, preset_filter("listen", ports=ports), preset="listen", duration=60))
        assert mgr.wait_listening(cid)
        connect(lab, cli, 2, 8080, 7070, 9090)  # 7070: nobody listens, answered by RST
        assert wait_for(lambda: mgr.status(cid).packets >= 4, timeout=10)
        mgr.stop(cid)
        st = mgr.status(cid)
    finally:
        mgr.close()
    lines = read_pcap(*st.files)
    assert syn_lines(lines, f"{SRV}.8080") and syn_lines(lines, f"{SRV}.9090")
    assert not [ln for ln in lines if f"{SRV}.7070" in ln], lines


def test_bad_filter_shows_tcpdumps_message(lab, capdir):
    _need_tcpdump()
    ns = netns(lab.add("bad"))
    with pytest.raises(FilterError) as exc:
        check_filter(ns, "tcp port eighty")
    assert "tcpdump rejected the filter 'tcp port eighty'" in str(exc.value)
    assert exc.value.tcpdump_message  # tcpdump's own words, whatever its version says
    # an interface that does not exist in that namespace is reported too
    with pytest.raises(FilterError) as exc2:
        check_filter(ns, "tcp", interface="eth0")
    assert "eth0" in str(exc2.value)
    mgr = CaptureManager(directory=capdir)
    try:
        with pytest.raises(FilterError):
            mgr.start(CaptureSpec(ns, "tcp port eighty"))
        assert mgr.ids() == [] and mgr.pids() == []
    finally:
        mgr.close()
    assert list(capdir.iterdir()) == []  # nothing written for a capture that never started


def test_shell_metacharacters_reach_tcpdump_literally(lab, capdir):
    _need_tcpdump()
    srv, cli = pair(lab)
    serve(lab, srv, 8080)
    work = capdir / "cwd"
    work.mkdir()
    # a VALID filter full of shell syntax: in a shell `> 40` would create a file "40",
    # `&` would background, `( )` open a subshell, `!` expand history. (Not `len`: with
    # -i any libpcap's `len` never matches in the kernel filter on this libpcap.)
    valid = "tcp[13] & 2 != 0 and ip[2:2] > 40 and ip[2:2] < 9999 and (port 8080 or port 1) and not host 192.0.2.1"
    mgr = CaptureManager(directory=capdir / "out")
    old_cwd = os.getcwd()
    os.chdir(work)  # tcpdump inherits it: a redirect would land here
    try:
        cid = mgr.start(CaptureSpec(netns(srv), valid, duration=60))
        pid = mgr.status(cid).pid
        assert mgr.wait_listening(cid)
        argv = cmdline(pid)
        assert argv[0] == "tcpdump" and argv[-2:] == ["--", valid]
        connect(lab, cli, 2, 8080)
        assert wait_for(lambda: mgr.status(cid).packets >= 2, timeout=10)
        # invalid ones that would run commands in a shell: rejected by tcpdump, nothing ran
        for evil in (f"tcp; touch {work}/pwned1", f"tcp $(touch {work}/pwned2)", f"tcp `touch {work}/pwned3`",
                     f"tcp && touch {work}/pwned4", f"tcp | tee {work}/pwned5"):
            with pytest.raises(FilterError):
                mgr.start(CaptureSpec(netns(srv), evil))
        mgr.stop(cid)
        st = mgr.status(cid)
    finally:
        os.chdir(old_cwd)
        mgr.close()
    assert list(work.iterdir()) == []  # no "40", no pwned*
    assert len(syn_lines(read_pcap(*st.files), f"{SRV}.8080")) >= 2


def test_size_bound_holds_on_a_ring(lab, capdir, tmp_path):
    _need_tcpdump()
    ns_name = lab.add("bulk")
    # Bulk traffic over loopback inside the namespace until the capture has seen more than its
    # ring holds. A loaded machine makes tcpdump drop packets (its kernel buffer overflows), so
    # the sender does not send a fixed amount: it keeps going, paced, until the test tells it
    # to stop (a file appears), bounded by 64 MB and 60 s either way.
    stop = tmp_path / "enough"
    sink = lab.spawn(ns_name, [sys.executable, "-c", textwrap.dedent("""
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 5001)); s.listen(1); print("ready", flush=True)
        c, _ = s.accept(); c.settimeout(60)
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b: break
            n += len(b)
        print(n, flush=True)
    """)], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    mgr = CaptureManager(directory=capdir)
    try:
        cid = mgr.start(CaptureSpec(netns(ns_name), "tcp port 5001", file_mb=1, file_count=2, duration=120))
        assert mgr.wait_listening(cid)
        src = lab.spawn(ns_name, [sys.executable, "-c", textwrap.dedent("""
            import os, socket, sys, time
            stop, deadline, sent = sys.argv[1], time.monotonic() + 60, 0
            c = socket.create_connection(("127.0.0.1", 5001), timeout=20)
            chunk = b"x" * 1000
            while sent < 64_000_000 and time.monotonic() < deadline and not os.path.exists(stop):
                for _ in range(250):
                    c.sendall(chunk)
                sent += 250_000
                time.sleep(0.01)
            c.close()
        """), str(stop)])
        seen = wait_for(lambda: mgr.status(cid).bytes > 4_000_000, timeout=60)
        stop.touch()
        src.wait(timeout=30)
        assert seen, mgr.status(cid)
        # the sender sends in steps of 250 kB, and the capture's bytes count headers and ACKs
        # too, so the capture passes 4 MB once the payload reaches it: at 4 000 000 exactly
        # when the stop came at once (seen on a loaded machine)
        assert int(sink.stdout.readline()) >= 4_000_000
        mgr.stop(cid)
        st = mgr.status(cid)
    finally:
        mgr.close()
    assert len(st.files) == 2
    one_packet = 65536 + 200  # tcpdump checks the size before writing: one packet may pass it
    for f in st.files:
        assert os.path.getsize(f) <= 1_000_000 + one_packet, (f, os.path.getsize(f))
    assert st.bytes_on_disk <= st.bound_bytes + 2 * one_packet
    assert st.bytes > st.bound_bytes > st.bytes_on_disk - 2 * one_packet  # the ring came round, the disk did not grow


def test_duration_bound_ends_the_capture(lab, capdir):
    _need_tcpdump()
    ns = netns(lab.add("dur"))
    mgr = CaptureManager(directory=capdir)
    try:
        cid = mgr.start(CaptureSpec(ns, "tcp", duration=1.0))
        assert mgr.wait_done(cid, timeout=15)
        st = mgr.status(cid)
        assert st.state == "done" and st.end_reason.startswith("time limit")
        assert not tcpdump_alive(st.pid)
    finally:
        mgr.close()


def test_default_directory_is_private(lab, capdir, monkeypatch):
    _need_tcpdump()
    monkeypatch.delenv("SYNSCOPE_CAPTURE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(capdir / "cache"))
    target = capdir / "cache" / "synscope" / "captures"
    target.mkdir(parents=True, mode=0o755)
    os.chmod(target, 0o755)  # a loose directory left by someone: tightened before use
    ns = netns(lab.add("dir"))
    mgr = CaptureManager()
    try:
        assert mgr.directory == target
        cid = mgr.start(CaptureSpec(ns, "tcp", duration=30))
        assert mgr.wait_listening(cid)
        mgr.stop(cid)
        st = mgr.status(cid)
    finally:
        mgr.close()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    assert st.files and all(stat.S_IMODE(os.stat(f).st_mode) == 0o600 for f in st.files)


def test_pid_backed_namespace_and_a_wrong_inode(lab, capdir):
    _need_tcpdump()
    srv, cli = pair(lab)
    server = serve(lab, srv, 8080)
    pid = server.pid  # `ip netns exec` exec'd python: this pid is inside srv
    assert _comm(pid).startswith("python")
    inode = ns_inode_of_path(f"/run/netns/{srv}")
    by_pid = NetNS(inode, "proc", "server (pid)", pids=(pid,))  # no path: entered via /proc/PID/ns/net
    mgr = CaptureManager(directory=capdir)
    try:
        cid = mgr.start(CaptureSpec(by_pid, preset_filter("syn"), duration=60))
        assert mgr.wait_listening(cid)
        connect(lab, cli, 1, 8080)
        assert wait_for(lambda: mgr.status(cid).packets >= 1, timeout=10)
        mgr.stop(cid)
        files = mgr.status(cid).files
        # a pid whose namespace is not the one asked for (recycled pid): refused
        wrong = NetNS(inode + 1 if inode else 1, "proc", "imposter", pids=(pid,))
        with pytest.raises(CaptureError) as exc:
            mgr.start(CaptureSpec(wrong, "tcp"), check=False)
        assert "another namespace" in str(exc.value)
    finally:
        mgr.close()
    assert syn_lines(read_pcap(*files), f"{SRV}.8080")


def test_several_namespaces_at_once_are_listed_and_all_stop_on_close(lab, capdir):
    _need_tcpdump()
    a, b = lab.add("a"), lab.add("b")
    mgr = CaptureManager(directory=capdir)
    try:
        ids = [mgr.start(CaptureSpec(netns(n), "tcp", duration=60)) for n in (a, b)]
        assert all(mgr.wait_listening(i) for i in ids)
        sts = mgr.statuses()
        assert [s.id for s in sts] == ids and {s.ns_name for s in sts} == {a, b}
        pids = mgr.pids()
        assert len(pids) == 2 and all(tcpdump_alive(p) for p in pids)
        # each one really is in its own namespace
        assert {os.stat(f"/proc/{p}/ns/net").st_ino for p in pids} == {netns(a).inode, netns(b).inode}
    finally:
        mgr.close()
    assert not any(tcpdump_alive(p) for p in pids)
    assert all(not s.running for s in mgr.statuses())


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


# -- no tcpdump outlives synscope -------------------------------------------------------
def _cli_env(capdir: Path) -> dict[str, str]:
    env = dict(os.environ, SYNSCOPE_CAPTURE_DIR=str(capdir), PYTHONPATH=str(REPO))
    env["PATH"] = os.path.dirname(sys.executable) + ":" + env.get("PATH", "")
    return env


def _default_signals() -> None:
    """In the child before exec: the signals the tests send act as they do for a command typed
    in a shell. A test run under nohup, or as a background job, would hand its children an
    ignored SIGHUP or SIGINT, and "the process dies of SIGHUP" would then not happen."""
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def _start_cli(ns: str, capdir: Path, *extra: str, bound: tuple[str, ...] = ("--duration", "120")) -> tuple[subprocess.Popen, int]:
    """`synscope capture NS` (with ``extra``; bounded by ``bound``), once its tcpdump listens."""
    p = subprocess.Popen(
        [sys.executable, "-m", "tui", "capture", ns, *bound, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_cli_env(capdir), start_new_session=True,
        preexec_fn=_default_signals,
    )  # fmt: skip
    assert p.stderr is not None
    pid = 0
    for _ in range(20):
        line = p.stderr.readline()
        if "tcpdump pid" in line:
            pid = int(line.rsplit("tcpdump pid", 1)[1].split()[0])
        if "listening on" in line:
            break
    assert pid and tcpdump_alive(pid), "synscope capture did not report a live tcpdump"
    return p, pid


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_signal_to_synscope_capture_leaves_no_tcpdump(lab, capdir, sig):
    _need_tcpdump()
    ns = lab.add("sig")
    p, pid = _start_cli(ns, capdir)
    try:
        os.kill(p.pid, sig)  # to synscope only: its tcpdump is in another process group
        rc = p.wait(timeout=20)
        assert wait_for(lambda: not tcpdump_alive(pid), timeout=10), f"tcpdump {pid} outlived synscope ({sig.name})"
        if sig == signal.SIGKILL:
            assert rc == -signal.SIGKILL
        else:
            assert rc == 128 + sig  # a clean stop, with the summary printed
            err = p.stderr.read() if p.stderr else ""
            assert "packets" in err and "stopped by signal" in err, err
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        kill_leftover(pid)


MANAGER_SCRIPT = """
import os, sys, threading, time
from tui.core.capture import CaptureManager, CaptureSpec
from tui.core.namespaces import NetNS, ns_inode_of_path
path = "/run/netns/" + sys.argv[1]
mgr = CaptureManager(directory=sys.argv[2])
ids = []
# started from a thread that exits at once, like a Textual worker: PR_SET_PDEATHSIG follows
# the forking thread, so the manager must fork from its own long-lived thread
ns = NetNS(ns_inode_of_path(path), "netns", sys.argv[1], path=path)
t = threading.Thread(target=lambda: ids.append(mgr.start(CaptureSpec(ns, "tcp", duration=120))))
t.start(); t.join()
mgr.wait_listening(ids[0])
print("pid", mgr.pids()[0], flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_manager_child_dies_with_its_process_even_after_the_starting_thread_ended(lab, capdir, sig):
    _need_tcpdump()
    ns = lab.add("mgr")
    p = subprocess.Popen([sys.executable, "-c", MANAGER_SCRIPT, ns, str(capdir)], stdout=subprocess.PIPE, text=True,
                         env=_cli_env(capdir), start_new_session=True,
                         preexec_fn=_default_signals)
    pid = 0
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.startswith("pid "), line
        pid = int(line.split()[1])
        assert tcpdump_alive(pid)  # the thread that asked for it is gone; tcpdump is not
        os.kill(p.pid, sig)  # default action for TERM/HUP here: no handler, the process just dies
        p.wait(timeout=20)
        assert wait_for(lambda: not tcpdump_alive(pid), timeout=10), f"tcpdump {pid} outlived its parent ({sig.name})"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        kill_leftover(pid)


def test_cli_capture_prints_packets_and_writes_the_file(lab, capdir):
    _need_tcpdump()
    srv, cli = pair(lab)
    serve(lab, srv, 8080)
    out = capdir / "one.pcap"
    p, pid = _start_cli(srv, capdir, "--preset", "syn", "-w", str(out))  # -w: exactly that file
    try:
        assert cmdline(pid)[cmdline(pid).index("-w") + 1] == str(out)
        connect(lab, cli, 2, 8080)
        os.kill(p.pid, signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        kill_leftover(pid)
    assert len(syn_lines(stdout.splitlines(), f"{SRV}.8080")) >= 2, stdout + stderr
    assert len(syn_lines(read_pcap(str(out)), f"{SRV}.8080")) >= 2
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_cli_errors_are_messages_not_tracebacks(lab, capdir):
    _need_tcpdump()
    ns = lab.add("err")
    env = _cli_env(capdir)
    for args, want in (
        ([ns, "--filter", "tcp port eighty"], "tcpdump rejected the filter"),
        (["no-such-namespace-anywhere"], "no namespace matches"),
        ([ns, "--preset", "listen"], "nothing listens on TCP"),
        ([ns, "--preset", "port", "--port", "99999"], "port must be"),
    ):
        r = subprocess.run([sys.executable, "-m", "tui", "capture", *args], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 2 and want in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    assert list(capdir.iterdir()) == []


@pytest.mark.parametrize("where", ["-w read-only", "--dir read-only", "-w directory"])
def test_cli_capture_that_cannot_write_exits_non_zero_with_tcpdumps_reason(lab, capdir, readonly_dir, where):
    """tcpdump cannot open its file and exits; `synscope capture` used to stop it anyway,
    call that a stop, print "files: (none written)" and exit 0."""
    _need_tcpdump()
    ns = lab.add("nowr")
    args, why = {
        "-w read-only": (["-w", str(readonly_dir / "x.pcap")], "Read-only file system"),
        "--dir read-only": (["--dir", str(readonly_dir)], "Read-only file system"),
        "-w directory": (["-w", str(capdir)], "Is a directory"),
    }[where]
    r = subprocess.run([sys.executable, "-m", "tui", "capture", ns, "--duration", "60", "-q", *args],
                       capture_output=True, text=True, env=_cli_env(capdir), timeout=90)
    pid = int(r.stderr.split("tcpdump pid", 1)[1].split()[0]) if "tcpdump pid" in r.stderr else 0
    kill_leftover(pid)
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("synscope capture: nothing captured: tcpdump failed") and why in last, r.stderr
    assert "files: (none written)" in r.stderr and "Traceback" not in r.stderr
    assert pid and not tcpdump_alive(pid)
    assert list(readonly_dir.iterdir()) == [] and list(capdir.iterdir()) == []


def test_cli_rejects_zero_and_negative_bounds(capdir):
    """--files 0 once meant "the default" (``args.files or ...``): every bound below 1 is an
    error, and so is every bound above the maximum, before any namespace is looked up."""
    env = _cli_env(capdir)
    for args, want in (
        (["--files", "0"], "argument --files: must be 1 or more, not '0'"),
        (["--files", "-2"], "argument --files: must be 1 or more"),
        (["--file-mb", "0"], "argument --file-mb: must be 1 or more, not '0'"),
        (["--files", "two"], "argument --files: must be a whole number, not 'two'"),
        (["--duration", "0"], "argument --duration: must be more than 0 seconds, not '0'"),
        (["--duration", "-1"], "argument --duration: must be more than 0 seconds"),
        (["--duration", "nan"], "argument --duration: must be a number of seconds, not 'nan'"),
        (["--duration", "1e308"], "argument --duration: must be at most 86400 seconds, not '1e308'"),
        (["--files", "1000"], "argument --files: must be at most 100, not '1000'"),
        (["--file-mb", str(10**30)], "argument --file-mb: must be at most 10000"),
    ):
        # a namespace that cannot exist: the bounds are refused before it is even looked up
        cmd = [sys.executable, "-m", "tui", "capture", "no-such-ns-for-bounds", *args]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 2 and want in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        assert "no namespace matches" not in r.stderr, (args, r.stderr)
    assert list(capdir.iterdir()) == []


# -- interactive ------------------------------------------------------------------------
INTERACTIVE = """
import fcntl, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty is our terminal, as an SSH session's would be
from tui.core.capture import run_interactive
from tui.core.namespaces import NetNS, ns_inode_of_path
path = "/run/netns/" + sys.argv[1]
rc = run_interactive(NetNS(ns_inode_of_path(path), "netns", sys.argv[1], path=path), "tcp or icmp")
print("RC", rc, flush=True)
"""


def test_interactive_tcpdump_on_a_terminal_ctrl_c_returns_to_synscope(lab, capdir):
    _need_tcpdump()
    import pty

    ns = lab.add("tty")
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-c", INTERACTIVE, ns], stdin=slave, stdout=slave, stderr=slave,
                         env=_cli_env(capdir), start_new_session=True,
                         preexec_fn=_default_signals)
    os.close(slave)
    buf = b""

    def read_until(token: bytes) -> bool:
        nonlocal buf
        import select

        for _ in range(100):  # bounded: 100 × 0.2 s
            if token in buf:
                return True
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    buf += os.read(master, 4096)
                except OSError:
                    return token in buf
        return token in buf

    try:
        assert read_until(b"listening on"), buf
        tcpdumps = [c for c in _children(p.pid) if tcpdump_alive(c)]
        assert len(tcpdumps) == 1 and os.stat(f"/proc/{tcpdumps[0]}/ns/net").st_ino == netns(ns).inode
        os.write(master, b"\x03")  # Ctrl+C on the terminal: reaches tcpdump, not its parent
        assert read_until(b"RC "), buf
        p.wait(timeout=10)
        assert p.returncode == 0  # the parent survived the Ctrl+C and returned normally
        assert b"packets captured" in buf
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        os.close(master)


def test_threads_of_a_closed_manager_are_gone(lab, capdir):
    _need_tcpdump()
    ns = netns(lab.add("thr"))
    before = {t.name for t in threading.enumerate()}
    mgr = CaptureManager(directory=capdir)
    cid = mgr.start(CaptureSpec(ns, "tcp", duration=30))
    mgr.wait_listening(cid)
    mgr.close()
    assert mgr.pids() == []
    assert wait_for(lambda: not ({t.name for t in threading.enumerate()} - before), timeout=10), threading.enumerate()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _fd_targets() -> list[str]:
    """What the open fds point at, for an assertion message (listdir's own fd is gone by then)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return sorted(out)


def test_finished_captures_hold_no_fds_or_threads(lab, capdir):
    """tcpdump's stdout/stderr pipes are closed once read to the end, the namespace fd once
    tcpdump is spawned: captures that ended (and stay in the list) hold no fd, no thread."""
    _need_tcpdump()
    ns = netns(lab.add("fds"))
    mgr = CaptureManager(directory=capdir)
    try:
        # a first capture starts the long-lived spawner thread: not a per-capture cost
        mgr.wait_done(mgr.start(CaptureSpec(ns, "tcp", duration=0.5, file_mb=1, file_count=1), check=False), 20)
        fds, threads = _open_fds(), {t.name for t in threading.enumerate()}
        long = mgr.start(CaptureSpec(ns, "tcp", duration=60), check=False)
        assert mgr.wait_listening(long)
        running = mgr._get(long).proc
        assert not running.stdout.closed and not running.stderr.closed  # being read
        short = [mgr.start(CaptureSpec(ns, "tcp", duration=0.5, file_mb=1, file_count=1), check=False) for _ in range(5)]
        assert all(mgr.wait_done(cid, 20) for cid in short)  # they end at their time limit
        mgr.stop(long)  # and this one by hand
        assert mgr.wait_done(long, 20)
        assert [mgr.status(cid).state for cid in [long, *short]] == ["done"] * 6  # still listed
        # "done" comes after the readers finished and closed the pipes: no waiting needed
        for cid in [long, *short]:
            proc = mgr._get(cid).proc
            assert proc.stdout.closed and proc.stderr.closed, cid
        # and nothing else was left open per capture (other tests' objects may close fds
        # meanwhile, so not an exact count: never more than before)
        assert _open_fds() <= fds, _fd_targets()
        # a watcher thread sets "done" as its last act: it may take a moment to be gone
        assert wait_for(lambda: not ({t.name for t in threading.enumerate()} - threads)), threading.enumerate()
    finally:
        mgr.close()


APP_SCRIPT = """
import os, sys
from textual.app import App
from textual.widgets import Static
from tui.core.capture import CaptureManager, CaptureSpec
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.screens.capture import open_capture_list

name, directory, status = sys.argv[1:4]
path = "/run/netns/" + name
ns = NetNS(ns_inode_of_path(path), "netns", name, path=path)


class Tiny(App):
    def compose(self):
        yield Static("app")

    def on_mount(self):
        self.mgr = CaptureManager(directory=directory)
        self.run_worker(self.start, thread=True)  # like the form: a short-lived worker thread

    def start(self):
        cid = self.mgr.start(CaptureSpec(ns, "tcp", duration=120))
        self.mgr.wait_listening(cid)
        self.call_from_thread(open_capture_list, self, self.mgr)
        with open(status + ".tmp", "w") as f:
            f.write(str(self.mgr.pids()[0]))
        os.rename(status + ".tmp", status)

    def on_unmount(self):
        self.mgr.close()


Tiny().run()
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL", "ctrl+q"])
def test_a_textual_app_on_a_terminal_leaves_no_tcpdump(lab, capdir, how):
    """A real Textual app on a pty starts a capture from a worker thread, then dies or quits."""
    _need_tcpdump()
    import fcntl
    import pty
    import struct
    import termios

    ns = lab.add("app")
    status = capdir / "pid"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    p = subprocess.Popen([sys.executable, "-c", APP_SCRIPT, ns, str(capdir / "out"), str(status)],
                         stdin=slave, stdout=slave, stderr=slave, env=_cli_env(capdir), start_new_session=True,
                         preexec_fn=_default_signals)
    os.close(slave)

    def drain() -> None:  # keep the pty empty so the app never blocks writing its screen
        while True:
            try:
                if not os.read(master, 65536):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    pid = 0
    try:
        assert wait_for(status.exists, timeout=30), "the app did not start its capture"
        pid = int(status.read_text())
        assert tcpdump_alive(pid)
        if how == "ctrl+q":
            os.write(master, b"\x11")  # Textual's quit key, typed on the terminal
        else:
            os.kill(p.pid, getattr(signal, how))
        p.wait(timeout=30)
        assert wait_for(lambda: not tcpdump_alive(pid), timeout=10), f"tcpdump {pid} outlived the app ({how})"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        os.close(master)
        reader.join(timeout=5)
        kill_leftover(pid)


SUSPEND_SCRIPT = APP_SCRIPT.replace(
    "import os, sys\n",
    "import os, sys, fcntl, termios\nfcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pty is this session's terminal\n",
)


def test_the_terminal_key_suspends_runs_tcpdump_in_the_namespace_and_returns(lab, capdir):
    """`i` in a real Textual app on a pty: tcpdump on the terminal, Ctrl+C, Enter, back in the app."""
    _need_tcpdump()
    import fcntl
    import pty
    import struct
    import termios

    ns = lab.add("sus")
    status = capdir / "pid"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    p = subprocess.Popen([sys.executable, "-c", SUSPEND_SCRIPT, ns, str(capdir / "out"), str(status)],
                         stdin=slave, stdout=slave, stderr=slave, env=_cli_env(capdir), start_new_session=True,
                         preexec_fn=_default_signals)
    os.close(slave)
    out = bytearray()
    lock = threading.Lock()

    def drain() -> None:
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:
                return
            if not b:
                return
            with lock:
                out.extend(b)

    def seen(token: bytes) -> bool:
        with lock:
            return token in out

    def interactive_tcpdumps() -> list[int]:
        return [c for c in _children(p.pid) if tcpdump_alive(c) and "-w" not in cmdline(c)]

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    pid = inter = 0
    try:
        assert wait_for(status.exists, timeout=30), "the app did not start its capture"
        pid = int(status.read_text())
        os.write(master, b"i")  # the capture pane has the focus: tcpdump in the terminal
        assert wait_for(lambda: seen(b"listening on"), timeout=20), bytes(out)[-2000:]
        found = wait_for(interactive_tcpdumps, timeout=10)
        assert found and len(found) == 1
        inter = found[0]
        assert os.stat(f"/proc/{inter}/ns/net").st_ino == netns(ns).inode
        assert cmdline(inter)[-2:] == ["--", "tcp"]  # the selected capture's filter
        os.write(master, b"\x03")  # Ctrl+C: ends tcpdump, not the app
        assert wait_for(lambda: seen(b"press Enter"), timeout=10), bytes(out)[-2000:]
        assert wait_for(lambda: not tcpdump_alive(inter), timeout=10)
        assert p.poll() is None and tcpdump_alive(pid)  # the app and its background capture go on
        os.write(master, b"\r")  # back to the app
        assert wait_for(lambda: seen(b"\x1b[?1049h") and out.rfind(b"\x1b[?1049h") > out.find(b"press Enter"), timeout=10)
        os.write(master, b"\x11")  # and quit
        p.wait(timeout=30)
        assert wait_for(lambda: not tcpdump_alive(pid), timeout=10)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        os.close(master)
        reader.join(timeout=5)
        kill_leftover(pid)
        kill_leftover(inter)
