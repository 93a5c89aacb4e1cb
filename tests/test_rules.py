"""Findings from recorded counters (fixtures) and hand-made sysctl states.

The old-kernel signature cannot be produced on this machine: kernel 6.18 has neither the
PAWSPassive counter nor net.ipv4.tcp_tw_recycle (both removed in 4.12). So that rule is
tested on the recorded old-kernel fixture (node_exporter's, pre-4.12) with deltas built from
it, and a SysctlState written by hand as that old kernel would report it. The live rules
(accept queue, NAT timestamps) are also tested for real in test_diagnose*.py.
"""

from __future__ import annotations

from pathlib import Path

from tui.core.history import NsHistory
from tui.core.rules import deltas_from_history, diagnose, proposals_of
from tui.core.sockets import ListenSocket
from tui.core.sysctl import SysctlState

FIX = Path(__file__).parent / "fixtures" / "proc"


def bumped(text: bytes, bumps: dict[str, int]) -> bytes:
    """The same /proc/net text with some counters increased ("TcpExt.PAWSPassive": 127)."""
    lines = text.decode().splitlines()
    out = []
    for head, vals in zip(lines[0::2], lines[1::2]):
        sec, _, names = head.partition(":")
        _, _, numbers = vals.partition(":")
        nums = numbers.split()
        for i, name in enumerate(names.split()):
            if f"{sec}.{name}" in bumps:
                nums[i] = str(int(nums[i]) + bumps[f"{sec}.{name}"])
        out += [head, f"{sec}: " + " ".join(nums)]
    return ("\n".join(out) + "\n").encode()


def history_of(before: tuple[bytes, ...], after: tuple[bytes, ...], dt: float = 10.0) -> NsHistory:
    h = NsHistory()
    h.ingest(1000.0, before)
    h.ingest(1000.0 + dt, after)
    return h


def old_kernel_state(recycle: str = "1", timestamps: str = "1") -> SysctlState:
    # what a CentOS 7 (3.10) host namespace reports; written by hand, see the module docstring
    vals = {
        "net.core.somaxconn": "128",
        "net.ipv4.tcp_tw_recycle": recycle,
        "net.ipv4.tcp_timestamps": timestamps,
        "net.ipv4.tcp_max_syn_backlog": "512",
        "net.ipv4.tcp_syncookies": "1",
    }
    return SysctlState(1, True, vals, frozenset(vals), vals, "3.10.0-1160.el7.x86_64")


def modern_state(**over: str) -> SysctlState:
    vals = {
        "net.core.somaxconn": "4096",
        "net.ipv4.tcp_timestamps": "1",
        "net.ipv4.tcp_max_syn_backlog": "2048",
        "net.ipv4.tcp_syncookies": "1",
        "net.ipv4.tcp_tw_reuse": "2",
    }
    ns_vals = {**vals, **over}
    return SysctlState(2, False, ns_vals, frozenset(ns_vals), vals, "6.18")


def test_old_kernel_seed_signature_from_recorded_deltas():
    netstat = (FIX / "linux-old-node-exporter" / "netstat").read_bytes()
    snmp = (FIX / "linux-old-node-exporter" / "snmp").read_bytes()
    # the seed: "127 passive connections rejected because of time stamp", "127 SYNs to LISTEN sockets dropped"
    bumps = {"TcpExt.PAWSPassive": 127, "TcpExt.ListenDrops": 127, "TcpExt.DelayedACKs": 40}
    h = history_of((netstat, snmp), (bumped(netstat, bumps), snmp))
    deltas, window = deltas_from_history(h)
    assert deltas == bumps and window == 10.0
    findings = diagnose(deltas, old_kernel_state(), [], window=window, kernel_keys=h.values())
    assert [f.id for f in findings] == ["tw-recycle"]
    f = findings[0]
    assert f.severity == "critical"
    assert {e.key: e.delta for e in f.evidence} == bumps
    assert "PAWSPassive +127" in f.evidence_text() and "ListenDrops +127" in f.evidence_text()
    (p,) = f.proposals
    assert (p.key, p.current, p.value) == ("net.ipv4.tcp_tw_recycle", "1", "0")
    assert "4.12" in f.explanation
    # the accept queue is not blamed: ListenOverflows did not move
    assert "accept-queue" not in {x.id for x in findings}


def test_old_signature_never_proposes_a_key_this_kernel_lacks():
    deltas = {"TcpExt.PAWSPassive": 127, "TcpExt.ListenDrops": 127}
    findings = diagnose(deltas, modern_state(), window=10)
    (f,) = findings
    assert f.id == "tw-recycle" and f.proposals == ()
    assert any("4.12" in a for a in f.advice)
    # and with recycle already off, nothing to change either
    (f,) = diagnose(deltas, old_kernel_state(recycle="0"), window=10)
    assert f.proposals == () and f.severity == "warning"


def test_listen_overflow_fixture_gives_accept_queue_finding_with_socket_and_somaxconn():
    d = FIX / "linux-6.18-listen-overflow"
    h = history_of(
        ((d / "netstat.before").read_bytes(), (d / "snmp.before").read_bytes()),
        ((d / "netstat.after").read_bytes(), (d / "snmp.after").read_bytes()),
    )
    deltas, window = deltas_from_history(h)
    assert deltas["TcpExt.ListenOverflows"] == 72 and deltas["TcpExt.ListenDrops"] == 72
    assert "Tcp.CurrEstab" not in deltas  # a gauge is not evidence of growth
    socks = [
        ListenSocket("ipv4", "198.51.100.1", 8080, 2, 1, 11),
        ListenSocket("ipv4", "0.0.0.0", 22, 0, 128, 12),
    ]
    findings = diagnose(deltas, modern_state(**{"net.core.somaxconn": "37"}), socks, window=window)
    f = next(f for f in findings if f.id == "accept-queue")
    assert [s.port for s in f.sockets] == [8080]  # the idle ssh listener is not named
    assert "198.51.100.1:8080 accept queue 2/1" in f.explanation
    (p,) = f.proposals
    assert (p.key, p.current, p.host, p.value) == ("net.core.somaxconn", "37", "4096", "4096")
    assert "port 8080" in p.why
    assert any("backlog 1 (< somaxconn 37)" in a for a in f.advice)
    # ListenDrops here is fully explained by overflows: no timestamp finding
    assert {x.id for x in findings} == {"accept-queue"}


def test_nat_timestamps_modern_kernel_options_and_no_removed_key():
    deltas = {"TcpExt.PAWSTimewait": 64, "TcpExt.TW": 121}
    (f,) = diagnose(deltas, modern_state(), window=8)
    assert f.id == "nat-timestamps"
    assert "PAWSTimewait +64" in f.evidence_text()
    keys = [p.key for p in f.proposals]
    assert keys == ["net.ipv4.tcp_timestamps"] and f.proposals[0].optional
    assert "trade-off" in f.proposals[0].risk
    assert "net.ipv4.tcp_tw_recycle" not in keys
    assert any("removed in Linux 4.12" in a for a in f.advice)
    assert any("clients close first" in a for a in f.advice)
    # timestamps already off: nothing to propose, the explanation stays
    (f,) = diagnose(deltas, modern_state(**{"net.ipv4.tcp_timestamps": "0"}), window=8)
    assert f.proposals == ()


def test_syn_queue_names_the_listen_backlog_not_tcp_max_syn_backlog():
    # the reviewer's case: listen(8), syncookies off; the queue limit is the backlog, 8
    deltas = {"TcpExt.TCPReqQFullDrop": 30, "TcpExt.ListenDrops": 30}
    socks = [ListenSocket("ipv4", "198.51.100.1", 7070, 0, 8, 11)]
    (f,) = diagnose(deltas, modern_state(**{"net.ipv4.tcp_syncookies": "0"}), socks, window=5)
    assert f.id == "syn-queue" and f.severity == "critical"
    got = {p.key: (p.current, p.value) for p in f.proposals}
    # syncookies back on; somaxconn (4096) is not this listener's limit; tcp_max_syn_backlog
    # (2048, its 3/4 rule at 1536) cannot bind a backlog of 8
    assert got == {"net.ipv4.tcp_syncookies": ("0", "1")}
    assert "198.51.100.1:7070 8" in f.explanation
    assert any(a.startswith("port 7070: backlog 8 comes from the application's listen()") for a in f.advice)
    assert any("tcp_max_syn_backlog (2048)" in a and "more than 1536" in a for a in f.advice)
    assert f.sockets == ()  # not "at their backlog": the accept queue is empty


def test_syn_cookies_with_somaxconn_as_the_limit_propose_somaxconn_only():
    # the reviewer's second case: cookies on, +500; the old rule proposed only tcp_max_syn_backlog
    deltas = {"TcpExt.TCPReqQFullDoCookies": 500, "TcpExt.SyncookiesSent": 500}
    socks = [ListenSocket("ipv4", "0.0.0.0", 443, 0, 128, 11), ListenSocket("ipv4", "127.0.0.1", 9000, 0, 16, 12)]
    (f,) = diagnose(deltas, modern_state(**{"net.core.somaxconn": "128"}), socks, window=5)
    assert f.severity == "warning"
    (p,) = f.proposals
    assert (p.key, p.current, p.value, p.optional) == ("net.core.somaxconn", "128", "4096", False)
    assert "port 443 (backlog 128)" in p.why and "restart" in p.risk
    assert any(a.startswith("port 443: backlog 128 is capped by somaxconn (128)") for a in f.advice)
    assert any(a.startswith("port 9000: backlog 16 comes from the application's listen()") for a in f.advice)
    # listeners not read: somaxconn is only an option, and the advice says how to look
    (f,) = diagnose(deltas, modern_state(), None, window=5)
    (p,) = f.proposals
    assert (p.key, p.value, p.optional) == ("net.core.somaxconn", "8192", True)
    assert any("`ss -ltn`" in a for a in f.advice)


def test_max_syn_backlog_only_while_syncookies_are_off():
    # a listener whose backlog (4096) is above 3/4 of tcp_max_syn_backlog (2048 -> 1536)
    socks = [ListenSocket("ipv4", "0.0.0.0", 80, 0, 4096, 11)]
    (f,) = diagnose({"TcpExt.TCPReqQFullDrop": 9, "TcpExt.ListenDrops": 9},
                    modern_state(**{"net.ipv4.tcp_syncookies": "0"}), socks, window=5)
    got = {p.key: (p.value, p.optional) for p in f.proposals}
    assert got["net.ipv4.tcp_max_syn_backlog"] == ("8192", True)  # 3/4 of 8192 covers 4096
    assert got["net.ipv4.tcp_syncookies"] == ("1", False) and got["net.core.somaxconn"] == ("8192", False)
    # syncookies on: tcp_max_syn_backlog is never proposed
    (f,) = diagnose({"TcpExt.TCPReqQFullDoCookies": 9}, modern_state(), socks, window=5)
    assert "net.ipv4.tcp_max_syn_backlog" not in {p.key for p in f.proposals}
    # ListenDrops nothing else explains, syncookies off: the 3/4 rule
    (f,) = diagnose({"TcpExt.ListenDrops": 54}, modern_state(**{"net.ipv4.tcp_syncookies": "0"}), socks, window=5)
    assert f.id == "syn-queue" and f.severity == "critical" and "3/4 of tcp_max_syn_backlog" in f.title
    assert {p.key for p in f.proposals} == {"net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog"}
    # ... with syncookies on, or explained by overflows, it is not this
    assert diagnose({"TcpExt.ListenDrops": 54}, modern_state(), socks) == []
    assert [x.id for x in diagnose({"TcpExt.ListenDrops": 5, "TcpExt.ListenOverflows": 5},
                                   modern_state(**{"net.ipv4.tcp_syncookies": "0"}), socks)] == ["accept-queue"]


def test_retransmit_storm_is_path_loss_not_a_sysctl():
    deltas = {"Tcp.OutSegs": 1000, "Tcp.RetransSegs": 80, "TcpExt.TCPTimeouts": 12, "TcpExt.DelayedACKs": 50}
    (f,) = diagnose(deltas, modern_state(), window=10)
    assert f.id == "path-loss" and f.not_a_sysctl and f.proposals == ()
    # OutSegs does not count retransmits: 80 of the 1080 segments sent
    assert "not a kernel setting" in f.explanation and "80 of 1080" in f.explanation and "7.4%" in f.explanation
    # a healthy link: 0.1 % retransmits and no timeouts is not a finding
    assert diagnose({"Tcp.OutSegs": 10000, "Tcp.RetransSegs": 10}, modern_state()) == []
    # some SYN retransmits among data loss: discounted, and said so
    (f,) = diagnose({**deltas, "Tcp.RetransSegs": 90, "TcpExt.TCPSynRetrans": 10}, modern_state(), window=10)
    assert f.id == "path-loss" and "80 of 1080" in f.explanation and "not counting 10 SYN" in f.explanation


def test_client_syn_retransmits_are_unanswered_syns_not_path_loss():
    # the reviewer's numbers: "54 of 26 segments were retransmitted (207.7%)"
    deltas = {"TcpExt.TCPSynRetrans": 54, "Tcp.RetransSegs": 54, "TcpExt.TCPTimeouts": 54, "Tcp.OutSegs": 26,
              "Tcp.ActiveOpens": 20}
    (f,) = diagnose(deltas, modern_state(), [], window=4)
    assert f.id == "syn-unanswered" and f.title == "SYNs unanswered: the server side drops them"
    assert f.evidence_text() == "TCPSynRetrans +54, ActiveOpens +20, TCPTimeouts +54, RetransSegs +54 in 4 s"
    assert f.not_a_sysctl and f.proposals == () and "%" not in f.explanation
    assert any("row lit 'S'" in a for a in f.advice)
    # a listener resending SYN-ACKs into its full SYN queue: the queue finding alone
    server = {"TcpExt.TCPReqQFullDrop": 62, "TcpExt.ListenDrops": 62, "TcpExt.TCPSynRetrans": 18,
              "Tcp.RetransSegs": 18, "TcpExt.TCPTimeouts": 9, "Tcp.OutSegs": 27}
    assert [x.id for x in diagnose(server, modern_state(**{"net.ipv4.tcp_syncookies": "0"}), [])] == ["syn-queue"]
    # SYN-ACKs unanswered and no connect() from here: an info, worded for both sides
    (f,) = diagnose({"TcpExt.TCPSynRetrans": 80, "Tcp.RetransSegs": 80, "TcpExt.TCPTimeouts": 40, "Tcp.OutSegs": 120},
                    modern_state(), [])
    assert f.id == "syn-unanswered" and f.severity == "info" and "SYN-ACK" in f.title


def test_no_ratio_above_100_percent():
    import itertools
    import re

    for out, retr, syn, to in itertools.product((0, 5, 26, 300), (0, 1, 54, 900), (0, 10, 54), (0, 3, 54)):
        deltas = {"Tcp.OutSegs": out, "Tcp.RetransSegs": retr, "TcpExt.TCPSynRetrans": min(syn, retr),
                  "TcpExt.TCPTimeouts": to, "Tcp.ActiveOpens": 1}
        for f in diagnose(deltas, modern_state(), []):
            for pct in re.findall(r"([\d.]+)%", f.explanation):
                assert float(pct) <= 100.0, (deltas, f.explanation)


def test_quiet_namespace_has_no_findings_and_proposals_dedupe():
    assert diagnose({}, modern_state()) == []
    assert diagnose({"TcpExt.DelayedACKs": 100, "Tcp.OutSegs": 50}, None) == []
    both = diagnose({"TcpExt.ListenOverflows": 3, "TcpExt.ListenDrops": 3, "TcpExt.TCPReqQFullDrop": 2},
                    modern_state(**{"net.core.somaxconn": "128", "net.ipv4.tcp_syncookies": "0"}))
    keys = [p.key for p in proposals_of(both)]
    assert len(keys) == len(set(keys)) and "net.core.somaxconn" in keys
    # without sysctls there is nothing to base a value on: findings, but no proposals
    assert all(f.proposals == () for f in diagnose({"TcpExt.ListenOverflows": 3, "TcpExt.ListenDrops": 3}, None))
