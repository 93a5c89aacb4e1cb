"""The core against the real kernel: namespaces, veth, a listen overflow, setns reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from nethelpers import ip, listen_overflow, wait_for

from tui.core.counters import parse_proc_net
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery, NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.sampler import Sampler


def _overflow_pair(lab):
    srv = lab.add("srv")
    cli = lab.add("cli")
    lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    return srv, cli


def test_listen_overflow_moves_server_and_client_counters(lab):
    srv, cli = _overflow_pair(lab)
    srv_inode = ns_inode_of_path(f"/run/netns/{srv}")
    cli_inode = ns_inode_of_path(f"/run/netns/{cli}")
    mon = Monitor(background=False)
    try:
        mon.tick()  # first sample: no deltas yet
        server, client = listen_overflow(lab, srv, cli, "198.51.100.1", n=20, hold=2.5)
        mon.rediscover()  # the server process now lives in srv: read through its pid
        totals: dict[int, dict[str, int]] = {srv_inode: {}, cli_inode: {}}

        def grew():
            tick = mon.tick()
            for inode in totals:
                h = mon.history.get(inode)
                if h:
                    for k, d in h.last_deltas.items():
                        totals[inode][k] = totals[inode].get(k, 0) + d
            s, c = totals[srv_inode], totals[cli_inode]
            ok = s.get("TcpExt.ListenDrops", 0) > 0 and s.get("TcpExt.ListenOverflows", 0) > 0 and c.get("TcpExt.TCPSynRetrans", 0) > 0
            return ok and tick

        assert wait_for(grew, timeout=15, interval=0.5), totals
        s = totals[srv_inode]
        # on the server, every overflow is also counted as a listen drop
        assert s["TcpExt.ListenDrops"] >= s["TcpExt.ListenOverflows"] > 0
        assert totals[cli_inode]["TcpExt.TCPSynRetrans"] > 0
        # nothing of this reached the client as a listen drop
        assert totals[cli_inode].get("TcpExt.ListenDrops", 0) == 0
        client.wait(timeout=10)
    finally:
        mon.close()


def test_pidless_netns_read_via_setns_matches_ip_netns_exec(lab):
    ns = lab.add("idle")
    path = f"/run/netns/{ns}"
    inode = ns_inode_of_path(path)
    reader = NetnsReader()
    try:
        ours = reader.read_many([(inode, path)], ("netstat", "snmp"))[inode]
    finally:
        reader.close()
    assert not isinstance(ours, str), ours
    theirs = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/netstat"], capture_output=True, check=True).stdout
    # an idle namespace: no traffic between the two reads, so the files agree to the byte
    assert parse_proc_net(ours[0]) == parse_proc_net(theirs)
    # and it is not our own namespace read by mistake: a fresh netns has no TCP history
    assert parse_proc_net(ours[1])["Tcp.ActiveOpens"] == 0
    assert os.stat(path).st_ino != os.stat("/proc/self/ns/net").st_ino


def test_discovery_sees_named_and_process_namespaces(lab):
    named = lab.add("named")
    busy = lab.add("busy")
    p = lab.python(busy, "import time; time.sleep(20)")
    busy_inode = ns_inode_of_path(f"/run/netns/{busy}")

    def seen():
        r = Discovery().discover()
        # `ip netns exec` execs python: wait until the process shows its final name
        return any(n.inode == busy_inode and any("python" in x for x in n.processes) for n in r.namespaces) and r

    res = wait_for(seen, 5)
    assert res, "the process namespace was not discovered"
    by_inode = {n.inode: n for n in res.namespaces}
    named_ns = by_inode[ns_inode_of_path(f"/run/netns/{named}")]
    assert named_ns.kind == "netns" and named_ns.name == named and named_ns.pids == ()
    busy_ns = by_inode[busy_inode]
    assert busy_ns.kind == "netns" and busy_ns.name == busy
    assert busy_ns.pids and busy_ns.pids[0] > 0
    assert res.namespaces[0].kind == "host"
    # deduplicated by inode
    assert len(by_inode) == len(res.namespaces)
    p.kill()


def test_namespace_vanishing_mid_run_is_dropped_with_a_note(lab):
    gone = lab.add("gone")
    path = f"/run/netns/{gone}"
    inode = ns_inode_of_path(path)
    sampler = Sampler()
    try:
        sampler.set_namespaces([n for n in Discovery().discover().namespaces if n.inode in (inode,)])
        assert sampler.sample().read == 1
        ip("netns", "del", gone)
        lab.names.remove(gone)
        res = sampler.sample()
        assert res.read == 0
        assert [ns.inode for ns, _ in res.dropped] == [inode]
        assert "vanished" in res.notes[0]
        assert sampler.history.get(inode) is None
    finally:
        sampler.close()


def test_namespaces_vanishing_together_are_one_note(lab):
    names = [lab.add(f"g{i}") for i in range(12)]
    inodes = {ns_inode_of_path(f"/run/netns/{n}") for n in names}
    sampler = Sampler()
    try:
        sampler.set_namespaces([n for n in Discovery().discover().namespaces if n.inode in inodes])
        assert sampler.sample().read == 12
        for n in names:
            ip("netns", "del", n)
            lab.names.remove(n)
        res = sampler.sample()
        assert {ns.inode for ns, _ in res.dropped} == inodes
        gone = [note for note in res.notes if "vanished" in note]
        assert len(gone) == 1, res.notes  # the same reason (each with its own path): one note
        assert gone[0].startswith("12 namespaces vanished: ") and " and 2 more: " in gone[0], gone
        assert sum(n in gone[0] for n in names) == 10  # ten named, the rest counted
    finally:
        sampler.close()


def test_snapshot_json_shows_listen_overflow(lab):
    srv, cli = _overflow_pair(lab)
    server, client = listen_overflow(lab, srv, cli, "198.51.100.1", n=20, hold=4)
    out = subprocess.run(
        [sys.executable, "-m", "tui", "snapshot", "--interval", "2.5", "--json", "--ns", lab.prefix],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    recs = {r["name"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert set(recs) == {srv, cli}, recs.keys()
    assert recs[srv]["deltas"].get("TcpExt.ListenDrops", 0) > 0
    assert recs[srv]["deltas"].get("TcpExt.ListenOverflows", 0) > 0
    assert recs[cli]["deltas"].get("TcpExt.TCPSynRetrans", 0) > 0
    assert recs[srv]["kind"] == "netns" and recs[srv]["pid"]
    client.wait(timeout=10)


def test_named_namespace_keeps_being_read_after_its_last_process_exits(lab):
    ns = lab.add("leaves")
    inode = ns_inode_of_path(f"/run/netns/{ns}")
    p = lab.python(ns, "import time; time.sleep(30)")
    assert wait_for(lambda: any(n.inode == inode and n.pids for n in Discovery().discover().namespaces), 5)
    target = next(n for n in Discovery().discover().namespaces if n.inode == inode)
    sampler = Sampler()
    try:
        sampler.set_namespaces([target])
        assert sampler.sample().read == 1
        p.kill()
        p.wait(timeout=5)
        res = sampler.sample()  # the pid is gone: read through /run/netns by setns instead
        assert res.read == 1 and res.dropped == []
        assert sampler.history.get(inode).ticks == 1
    finally:
        sampler.close()


def test_snapshot_as_non_root_says_so_and_shows_what_it_can(lab):
    """As uid 65534: a forked child drops root and runs the CLI in-process (everything it needs
    is imported before the fork, so the checkout's and venv's permissions do not matter)."""
    import importlib

    import tui.cli

    for mod in tui.cli.COMMANDS.values():
        importlib.import_module(mod)
    import tui.core.sources.docker  # imported lazily by default_sources
    import tui.core.sources.kubelet

    rd_out, wr_out = os.pipe()
    rd_err, wr_err = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 70
        try:
            os.dup2(wr_out, 1)
            os.dup2(wr_err, 2)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (the child exits right after)
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            code = tui.cli.main(["snapshot", "--interval", "0.2", "--json"])
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(wr_out)
    os.close(wr_err)
    with os.fdopen(rd_out) as f_out, os.fdopen(rd_err) as f_err:
        stdout, stderr = f_out.read(), f_err.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, stderr
    assert "not root" in stderr and "only" in stderr
    recs = [json.loads(line) for line in stdout.splitlines()]
    assert any(r["kind"] == "host" for r in recs)
    assert "Traceback" not in stderr


MOVER = r"""
import ctypes, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 7000)); s.listen(50)
for _ in range(30):  # some traffic in namespace A
    c = socket.create_connection(("127.0.0.1", 7000)); a, _ = s.accept(); c.close(); a.close()
print("ready", flush=True); sys.stdin.readline()
if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:  # into a fresh namespace B
    sys.exit("unshare failed")
print("moved", flush=True); time.sleep(20)
"""


def test_a_process_that_moves_to_another_namespace_is_not_read_as_the_old_one(lab):
    ns = lab.add("mover")
    inode = ns_inode_of_path(f"/run/netns/{ns}")
    p = lab.python(ns, MOVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    target = next(n for n in Discovery().discover().namespaces if n.inode == inode)
    sampler = Sampler()
    try:
        sampler.set_namespaces([target])
        sampler.sample()
        opens = sampler.history.get(inode).values()["Tcp.ActiveOpens"]
        assert opens >= 30
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "moved"
        res = sampler.sample()
        # the named namespace A is still read (by setns now), never namespace B under A's name
        h = sampler.history.get(inode)
        assert h is not None and h.values()["Tcp.ActiveOpens"] == opens
        assert h.last_resets == () and res.dropped == []
    finally:
        sampler.close()


def test_the_setns_thread_does_not_keep_a_deleted_namespace_alive(lab):
    a = lab.add("pin")
    b = lab.add("peer")
    lab.veth(a, "203.0.113.1/24", b, "203.0.113.2/24")
    inode = ns_inode_of_path(f"/run/netns/{a}")
    sampler = Sampler()
    try:
        sampler.set_namespaces([NetNS(inode, "netns", a, path=f"/run/netns/{a}")])
        assert sampler.sample().read == 1  # read by setns: the thread entered it
        links_before = ip("-n", b, "-o", "link", "show").stdout.count("@if")
        assert links_before == 1  # b's end of the veth
        ip("netns", "del", a)
        lab.names.remove(a)
        # deleting a destroys it (and the veth with it) only if nothing holds it: the
        # reader thread must have gone home after reading
        assert wait_for(lambda: ip("-n", b, "-o", "link", "show").stdout.count("@if") == 0, 5), \
            "the deleted namespace is still alive (its veth end remains in the peer)"
    finally:
        sampler.close()


def test_a_process_name_with_control_characters_reaches_no_terminal(lab):
    """Anyone may name a process (prctl PR_SET_NAME, no privilege): newlines and escape
    sequences in it must not reach the screen, the JSON consumers or a command to copy."""
    ns = lab.add("evil")
    inode = ns_inode_of_path(f"/run/netns/{ns}")
    lab.spawn(ns, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                   "import ctypes, time; ctypes.CDLL(None).prctl(15, b'x\\n\\x1b]0;t\\x07#', 0, 0, 0); time.sleep(20)"])

    def renamed():
        r = Discovery().discover()
        return next((n for n in r.namespaces if n.inode == inode and any(p.startswith("x") for p in n.processes)), None)

    row = wait_for(renamed, 5)
    assert row is not None, "the renamed process was not discovered"
    for text in (*row.processes, row.name, *row.aliases):
        assert text.isprintable(), repr(text)
    assert "x?" in " ".join(row.processes)
