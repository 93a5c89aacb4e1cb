"""Conntrack counters per namespace: the parse, History's Conntrack group, and the real kernel.

The real tests build client -> router (MASQUERADE) -> server in namespaces of their own, and
one more namespace with a MASQUERADE rule of its own off that path: only the router's and
that one's conntrack is in use. Flows through the router move the router's ``entries``, and
SYN|FIN segments crafted on a raw socket in the client move the router's ``invalid`` and
nobody else's — which is what "per namespace" means on this kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from nethelpers import SYN_FIN, nat_path, send_syn_fin, wait_for

from tui.core.catalog import Group, group_of, info
from tui.core.conntrack import (
    ENTRIES,
    RECHECK_TICKS,
    ConntrackReader,
    conntrack_section,
    conntrack_view,
    entry_size,
    parse_conntrack_stat,
)
from tui.core.counters import CounterParseError, is_gauge, parse_proc_net
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.sampler import Sampler

HEADER = ("entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop "
          "icmp_error  expect_new expect_create expect_delete search_restart")


def _row(**v: int) -> str:
    names = HEADER.split()
    cells = [f"{v.get(n, 0):08x}" for n in names]
    return cells[0] + "  " + " ".join(cells[1:13]) + "  " + " ".join(cells[13:])


def _file(*rows: str) -> bytes:
    return (HEADER + "\n" + "\n".join(rows) + "\n").encode()


# ------------------------------------------------------------------------------ the parse


def test_recorded_file_sums_the_cpus_and_takes_entries_once(fixtures_dir):
    # a NAT namespace after 25 SYN|FIN segments and 4 UDP flows (recorded on 6.18, 2 CPUs):
    # invalid is 0x7 on one CPU and 0x12 on the other; entries, 4, is on both rows
    data = (fixtures_dir / "linux-6.18-conntrack" / "nf_conntrack").read_bytes()
    got = parse_conntrack_stat(data)
    assert got["invalid"] == 25
    assert got["entries"] == 4
    assert list(got) == HEADER.split()  # driven by the header, in its order
    assert parse_proc_net(conntrack_section(data))["Conntrack.invalid"] == 25


def test_the_header_drives_the_columns():
    # a kernel with other columns, in another order, and 3 CPUs
    data = b"drop entries newthing\n00000001 00000009 000000ff\n00000002 00000009 00000001\n00000003 00000009 00000000\n"
    assert parse_conntrack_stat(data) == {"drop": 6, "entries": 9, "newthing": 256}


@pytest.mark.parametrize("data, problem", [
    (b"", "no 'entries' column"),
    (HEADER.encode() + b"\n", "no per-CPU rows"),
    (_file(_row(invalid=1))[:-30], "values for 17 names"),
    (_file(_row(invalid=1)).replace(b"00000001", b"0000zz01"), "not hex"),
])
def test_a_malformed_file_says_what_is_wrong(data, problem):
    with pytest.raises(CounterParseError, match=problem):
        parse_conntrack_stat(data)


def test_conntrack_keys_form_their_own_group_with_entries_a_gauge():
    assert is_gauge(ENTRIES)
    assert not is_gauge("Conntrack.insert_failed")
    for key in ("Conntrack.insert_failed", "Conntrack.drop", "Conntrack.early_drop", "Conntrack.invalid",
                "Conntrack.clashres", "Conntrack.search_restart", ENTRIES):
        assert group_of(key) is Group.CONNTRACK, key
        assert info(key).wording and info(key).note, key
    assert group_of("Conntrack.some_future_column") is Group.CONNTRACK  # a newer kernel's column


# ------------------------------------------------------------------------------ History


def test_history_has_no_conntrack_rows_until_a_value_is_not_zero():
    netstat = b"TcpExt: ListenDrops\nTcpExt: 0\n"
    idle = conntrack_section(_file(_row(), _row()))
    assert idle == b""  # all zeros: no section at all
    h = NsHistory()
    h.ingest(0.0, (netstat, idle))
    h.ingest(1.0, (netstat, idle))
    assert not [k for k in h.values() if k.startswith("Conntrack.")]
    assert conntrack_view(h) is None
    # it shows up: the counters were 0 until now, so what it shows is their growth
    h.ingest(2.0, (netstat, conntrack_section(_file(_row(entries=3, invalid=2), _row(entries=3, invalid=5)))))
    assert h.last_deltas == {"Conntrack.invalid": 7}
    assert h.values()[ENTRIES] == 3
    assert h.gauge_values(ENTRIES) == [0, 3]  # two ticks (the first sample has no deltas)
    view = conntrack_view(h)
    assert view is not None and (view.entries, view.entries_peak, dict(view.deltas)) == (3, 3, {"invalid": 7})


def test_reader_keeps_a_namespace_in_use_and_rechecks_the_others_every_few_ticks():
    r = ConntrackReader()
    zero, busy = _file(_row(), _row()), _file(_row(entries=2, drop=1), _row(entries=2))
    assert r.want(1)
    assert r.section(1, zero) == b""
    # not in use: read again only after RECHECK_TICKS ticks
    asked = [r.want(1) for _ in range(RECHECK_TICKS)]
    assert asked == [False] * (RECHECK_TICKS - 1) + [True]
    assert r.section(1, None) == b""  # not read: the last section
    sec = r.section(1, busy)
    assert parse_proc_net(sec)["Conntrack.drop"] == 1 and r.in_use(1)
    assert all(r.want(1) for _ in range(3))  # in use: every tick
    # entries back to 0 and nothing else: still shown, as zeros (the gauge follows it down)
    again = parse_proc_net(r.section(1, zero))
    assert again[ENTRIES] == 0 and again["Conntrack.drop"] == 0
    # a kernel without conntrack (b""): nothing, and not read every tick
    assert r.section(2, b"") == b"" and not r.want(2)
    r.retain({2})
    assert not r.in_use(1)


def test_entry_size_is_read_from_slabinfo(tmp_path):
    f = tmp_path / "slabinfo"
    f.write_text("slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> ...\n"
                 "nf_conntrack          32     32    256   16    1 : tunables    0    0    0 : slabdata      2      2      0\n")
    assert entry_size(str(f)) == 256
    assert entry_size(str(tmp_path / "missing")) is None


# ------------------------------------------------------------------------------ the real kernel

HOLDER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.2", 7000)); s.listen(64); s.settimeout(60)
print("listening", flush=True)
held = []
for line in sys.stdin:                 # "N": accept N more; "close": close them all
    if line.strip() == "close":
        for c in held:
            c.close()
        held = []
    else:
        for _ in range(int(line)):
            held.append(s.accept()[0])
    print("ok", len(held), flush=True)
"""

OPENER = """
import socket, sys
held = []
for line in sys.stdin:                 # bounded by what the test writes
    if line.strip() == "close":
        for c in held:
            c.close()
        held = []
    else:
        held += [socket.create_connection(("198.51.100.2", 7000), timeout=10) for _ in range(int(line))]
    print("ok", len(held), flush=True)
"""


def _ask(proc: subprocess.Popen, line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def _ns(name: str, pids: tuple[int, ...] = ()) -> NetNS:
    path = f"/run/netns/{name}"
    return NetNS(ns_inode_of_path(path) or 0, "netns", name, pids=pids, path=path)


def _file_says(ns: str) -> dict[str, int]:
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/stat/nf_conntrack"], capture_output=True,
                         check=True, timeout=10).stdout
    return parse_conntrack_stat(out)


def test_conntrack_is_per_namespace_entries_follow_the_flows_and_syn_fin_moves_invalid_only_there(lab):
    client, router, server = nat_path(lab)
    other = lab.add("ot")  # conntrack in use too (a MASQUERADE rule and a flow of its own), off the path
    subprocess.run(["ip", "netns", "exec", other, "iptables", "-t", "nat", "-A", "POSTROUTING", "!", "-o", "lo", "-j", "MASQUERADE"],
                   check=True, timeout=10)
    lab.python(other, "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9))"
               ).wait(timeout=10)
    holder = lab.python(server, HOLDER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "listening"
    opener = lab.python(client, OPENER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    # the router read both ways: pid-less by its path (the setns thread), and through a process in it
    sleeper = lab.python(router, "import time; time.sleep(300)")

    def router_pids() -> tuple[int, ...]:
        out = subprocess.run(["ip", "netns", "pids", router], capture_output=True, text=True, check=True).stdout
        return tuple(int(p) for p in out.split())

    pids = wait_for(router_pids, timeout=10)  # once `ip netns exec` has entered it
    names = {"client": client, "router": router, "server": server, "other": other}
    by_path = Sampler()
    by_pid = Sampler()
    try:
        by_path.set_namespaces([_ns(n) for n in names.values()])
        by_pid.set_namespaces([_ns(router, pids)])
        assert sleeper.poll() is None and pids

        def conntrack_of(sampler: Sampler, name: str) -> dict[str, int]:
            h = sampler.history.get(_ns(name).inode)
            assert h is not None
            return {k.partition(".")[2]: v for k, v in h.values().items() if k.startswith("Conntrack.")}

        def sampled(n_entries: int) -> bool:
            by_path.sample()
            by_pid.sample()
            return all(conntrack_of(s, router).get("entries") == n_entries for s in (by_path, by_pid))

        by_path.sample()
        by_pid.sample()
        for more, want in ((5, 5), (3, 8)):  # 5 connections, then 3 more: one entry each, in the router only
            assert _ask(opener, str(more)) == f"ok {want}"
            assert _ask(holder, str(more)) == f"ok {want}"
            assert wait_for(lambda w=want: sampled(w), timeout=10, interval=0.2), conntrack_of(by_path, router)
            assert _file_says(router)["entries"] == want
        assert conntrack_of(by_path, other)["entries"] == 1  # its own UDP flow, none of the router's
        for name in ("client", "server"):  # nothing of theirs needs conntrack: no Conntrack rows at all
            assert conntrack_of(by_path, names[name]) == {}, name

        # 30 segments with SYN|FIN: the router's conntrack calls each one invalid
        before = {n: conntrack_of(by_path, names[n]).get("invalid", 0) for n in ("router", "other")}
        send_syn_fin(lab, client, "203.0.113.1", "198.51.100.2", 7000, 30)

        def invalid_grew() -> bool:
            by_path.sample()
            by_pid.sample()
            return conntrack_of(by_path, router)["invalid"] - before["router"] >= 30

        assert wait_for(invalid_grew, timeout=10 + RECHECK_TICKS, interval=0.2), conntrack_of(by_path, router)
        assert conntrack_of(by_path, router)["invalid"] - before["router"] == 30  # these, and nothing else
        assert conntrack_of(by_pid, router)["invalid"] == conntrack_of(by_path, router)["invalid"]
        assert _file_says(router)["invalid"] == conntrack_of(by_path, router)["invalid"]
        assert conntrack_of(by_path, other).get("invalid", 0) == before["other"] == 0
        for name in ("client", "server"):
            assert conntrack_of(by_path, names[name]) == {}, name
            assert not any(_file_says(names[name]).values()), name  # the kernel's file agrees: all zeros
    finally:
        by_path.close()
        by_pid.close()


def test_entries_go_back_down_when_the_kernel_frees_the_closed_flows(lab):
    """Closed flows leave the table once their state's timeout ran out (1 s here) *and* the
    kernel frees them: its background scan, one for every namespace, took up to a minute
    here; listing the table (/proc/net/nf_conntrack, or `conntrack -L`) frees expired entries
    at once, so the test lists it as an engineer would rather than wait for the scan."""
    client, router, server = nat_path(lab)
    for timeout in ("time_wait", "close", "fin_wait", "last_ack", "close_wait"):
        subprocess.run(["ip", "netns", "exec", router, "sysctl", "-qw", f"net.netfilter.nf_conntrack_tcp_timeout_{timeout}=1"],
                       check=True, timeout=10)
    holder = lab.python(server, HOLDER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "listening"
    opener = lab.python(client, OPENER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sampler = Sampler()
    try:
        sampler.set_namespaces([_ns(router)])
        h = None

        def entries(listed: bool = False) -> int:
            nonlocal h
            if listed:
                subprocess.run(["ip", "netns", "exec", router, "cat", "/proc/net/nf_conntrack"], check=True,
                               capture_output=True, timeout=10)
            sampler.sample()
            h = sampler.history.get(_ns(router).inode)
            return h.values().get(ENTRIES, -1) if h else -1

        assert _ask(opener, "4") == "ok 4" and _ask(holder, "4") == "ok 4"
        assert wait_for(lambda: entries() == 4, timeout=10, interval=0.2)
        assert _ask(opener, "close") == "ok 0" and _ask(holder, "close") == "ok 0"
        assert wait_for(lambda: entries(listed=True) == 0, timeout=60, interval=0.5), entries()
        # still in use, so the gauge shows its way down instead of vanishing
        assert h is not None and 4 in h.gauge_values(ENTRIES) and h.gauge_values(ENTRIES)[-1] == 0
    finally:
        sampler.close()


def test_nf_conntrack_max_is_global_on_this_kernel(lab):
    """Read inside a namespace it is the host's; writing it there fails (the same value is
    written, so nothing could change even if it did not)."""
    ns = lab.add("mx")
    with open("/proc/sys/net/netfilter/nf_conntrack_max") as f:
        host = f.read().strip()
    inside = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/sys/net/netfilter/nf_conntrack_max"],
                            capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    assert inside == host
    w = subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", f"echo {host} > /proc/sys/net/netfilter/nf_conntrack_max"],
                       capture_output=True, text=True, timeout=10)
    assert w.returncode != 0 and "denied" in w.stderr.lower(), w
    with open("/proc/sys/net/netfilter/nf_conntrack_max") as f:
        assert f.read().strip() == host


def test_snapshot_and_diagnose_json_carry_conntrack_and_the_sockets_summary(lab):
    client, router, server = nat_path(lab)
    holder = lab.python(server, HOLDER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "listening"
    opener = lab.python(client, OPENER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert _ask(opener, "2") == "ok 2" and _ask(holder, "2") == "ok 2"  # 2 entries in the router
    with open("/proc/sys/net/netfilter/nf_conntrack_max") as f:
        ct_max = int(f.read())
    # SYN|FIN segments all through both windows (bounded: 4000 segments, 5 ms apart; the lab stops it)
    lab.spawn(client, [sys.executable, "-c", textwrap.dedent(SYN_FIN), "203.0.113.1", "198.51.100.2", "7000", "4000"],
              stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    cmd = [sys.executable, "-m", "tui", "diagnose", "--json", "--all", "--interval", "1.5", "--ns", lab.prefix]
    got = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    recs = {r["name"]: r for r in map(json.loads, got.stdout.splitlines())}
    r = recs[router]
    f = {x["id"]: x for x in r["findings"]}["conntrack-invalid"]
    assert f["confidence"] == "medium" and f["confidence_why"] and f["evidence"]["Conntrack.invalid"] > 0
    assert r["conntrack"]["deltas"]["invalid"] == f["evidence"]["Conntrack.invalid"]
    assert r["conntrack"]["entries"] == 2 and r["conntrack"]["max"] == ct_max
    assert recs[client]["conntrack"] is None and recs[server]["conntrack"] is None
    assert {x["port"] for x in recs[server]["sockets"]["listeners"]} == {7000}
    assert recs[server]["sockets"]["states"]["ESTAB"] == 2 and recs[server]["sockets_error"] is None

    snap = subprocess.run([sys.executable, "-m", "tui", "snapshot", "--json", "--interval", "0.5", "--ns", lab.prefix],
                          capture_output=True, text=True, timeout=120)
    assert snap.returncode == 0, snap.stderr
    recs = {r["name"]: r for r in map(json.loads, snap.stdout.splitlines())}
    assert recs[router]["conntrack"]["entries"] == 2 and recs[router]["conntrack"]["max"] == ct_max
    assert recs[router]["deltas"].get("Conntrack.invalid", 0) == recs[router]["conntrack"]["deltas"].get("invalid", 0) > 0
    assert recs[client]["conntrack"] is None
    assert recs[client]["sockets"]["states"] == {"ESTAB": 2} and recs[client]["sockets"]["peers"][0]["address"] == \
        "198.51.100.2"


def test_the_table_summary_counts_conntrack_drops_for_the_rows_marker():
    from tui.source import summarize

    netstat = b"TcpExt: ListenDrops\nTcpExt: 0\n"
    h = NsHistory()
    h.ingest(0.0, (netstat, conntrack_section(_file(_row(entries=9, drop=1)))))
    h.ingest(1.0, (netstat, conntrack_section(_file(_row(entries=9, drop=4, early_drop=2, insert_failed=3)))))
    s = summarize(1, h)
    # drop +3 and early_drop +2; insert_failed is not added again (its drops are in drop)
    assert (s.ct_delta, s.ct_lit, s.ct_last_moved) == (5, True, 1.0)
    h.ingest(2.0, (netstat, conntrack_section(_file(_row(entries=3, drop=4, early_drop=2, insert_failed=3)))))
    s = summarize(1, h)
    assert (s.ct_delta, s.ct_lit, s.ct_last_moved) == (0, False, 1.0) and not s.syn_lit
