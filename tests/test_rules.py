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
from tui.core.rules import (
    CONFIDENCE_LEVELS,
    DELACK_MIN,
    DELACK_MIN_RATE,
    NAT_MIN_RATE,
    NAT_MIN_REJECTS,
    deltas_from_history,
    diagnose,
    proposals_of,
)
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
    # the delayed ACKs that grew with every stall get their own word: a side effect, not the cause
    assert [f.id for f in findings] == ["tw-recycle", "delayed-acks"]
    dack = findings[1]
    assert dack.severity == "info" and "side effect of the stall, not its cause" in dack.explanation
    assert "PAWSPassive +127" in dack.explanation and dack.proposals == ()
    f = findings[0]
    assert f.severity == "critical"
    assert f.confidence == "high" and "PAWSPassive counts nothing else" in f.confidence_why
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
    # the full listener asked for backlog 1 itself: somaxconn (37) is not its limit, so it is
    # not proposed (the old rule proposed 37 -> 4096 here, which changes nothing for port 8080)
    assert f.proposals == ()
    assert "port 8080 (backlog 1)" in f.explanation and "raising somaxconn does not help" in f.explanation
    assert any("backlog 1 (< somaxconn 37)" in a and "raising somaxconn does not help" in a for a in f.advice)
    assert f.confidence == "high" and "full accept queue now" in f.confidence_why
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
    # which of the two SYN queues was full is not read, and only 443 is capped by somaxconn:
    # an option, with low confidence, not "the fix"
    assert (p.key, p.current, p.value, p.optional) == ("net.core.somaxconn", "128", "4096", True)
    assert f.confidence == "low" and "port 443 (backlog 128)" in f.confidence_why
    # the capped listener alone: somaxconn is the fix, high confidence
    (f,) = diagnose(deltas, modern_state(**{"net.core.somaxconn": "128"}), socks[:1], window=5)
    (p,) = f.proposals
    assert (p.key, p.optional, f.confidence) == ("net.core.somaxconn", False, "high")
    (f,) = diagnose(deltas, modern_state(**{"net.core.somaxconn": "128"}), socks, window=5)
    (p,) = f.proposals
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
    f, dack = diagnose(deltas, modern_state(), window=10)
    assert f.id == "path-loss" and f.not_a_sysctl and f.proposals == ()
    assert f.confidence == "high"
    # the delayed ACKs beside the loss are named as its side effect
    assert dack.id == "delayed-acks" and "80 data retransmits" in dack.explanation and "side effect" in dack.explanation
    # OutSegs does not count retransmits: 80 of the 1080 segments sent
    assert "not a kernel setting" in f.explanation and "80 of 1080" in f.explanation and "7.4%" in f.explanation
    # a healthy link: 0.1 % retransmits and no timeouts is not a finding
    assert diagnose({"Tcp.OutSegs": 10000, "Tcp.RetransSegs": 10}, modern_state()) == []
    # some SYN retransmits among data loss: discounted, and said so
    f, _ = diagnose({**deltas, "Tcp.RetransSegs": 90, "TcpExt.TCPSynRetrans": 10}, modern_state(), window=10)
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
    # a handful of delayed ACKs is not a finding (see test_delayed_acks_threshold for the line)
    assert diagnose({"TcpExt.DelayedACKs": 5, "Tcp.OutSegs": 50}, None, window=10) == []
    both = diagnose({"TcpExt.ListenOverflows": 3, "TcpExt.ListenDrops": 3, "TcpExt.TCPReqQFullDrop": 2},
                    modern_state(**{"net.core.somaxconn": "128", "net.ipv4.tcp_syncookies": "0"}))
    keys = [p.key for p in proposals_of(both)]
    assert len(keys) == len(set(keys)) and "net.core.somaxconn" in keys
    # without sysctls there is nothing to base a value on: findings, but no proposals
    assert all(f.proposals == () for f in diagnose({"TcpExt.ListenOverflows": 3, "TcpExt.ListenDrops": 3}, None))


# --------------------------------------------------------------------------- accept queue: which limit


def _aq(socks, somax="4096", window=10.0):  # type: ignore[no-untyped-def]
    deltas = {"TcpExt.ListenOverflows": 140, "TcpExt.ListenDrops": 140}
    findings = diagnose(deltas, modern_state(**{"net.core.somaxconn": somax}), socks, window=window)
    return next(f for f in findings if f.id == "accept-queue")


def test_accept_queue_app_backlog_is_the_limit_proposes_no_sysctl():
    # the case: port 888 with listen(4), somaxconn 4096; sock_diag shows queue 5 / backlog 4
    f = _aq([ListenSocket("ipv4", "0.0.0.0", 888, 5, 4, 11), ListenSocket("ipv4", "0.0.0.0", 22, 0, 4096, 12)])
    assert f.proposals == ()
    assert "port 888 (backlog 4)" in f.explanation and "raising somaxconn does not help" in f.explanation
    assert any(a.startswith("port 888: the application asked for backlog 4 (< somaxconn 4096); raising somaxconn "
                            "does not help") for a in f.advice)
    assert not any("port 22" in a for a in f.advice)  # the idle listener is not the story
    assert f.confidence == "high"


def test_accept_queue_capped_by_somaxconn_proposes_it():
    f = _aq([ListenSocket("ipv4", "0.0.0.0", 888, 9, 8, 11)], somax="8")
    (p,) = f.proposals
    assert (p.key, p.current, p.value, p.optional) == ("net.core.somaxconn", "8", "4096", False)
    assert "capped by somaxconn 8: port 888 (backlog 8)" in p.why
    assert f.confidence == "high" and "somaxconn caps it" in f.confidence_why
    # one full listener of each kind: somaxconn helps the capped one, the other is named apart
    f = _aq([ListenSocket("ipv4", "0.0.0.0", 888, 9, 8, 11), ListenSocket("ipv4", "0.0.0.0", 80, 3, 2, 12)], somax="8")
    (p,) = f.proposals
    assert not p.optional and "port 888" in p.why and "port 80" not in p.why
    assert any(a.startswith("port 80: the application asked for backlog 2") for a in f.advice)


def test_accept_queue_after_the_burst_says_what_it_cannot_see():
    capped = [ListenSocket("ipv4", "0.0.0.0", 443, 0, 128, 11), ListenSocket("ipv4", "0.0.0.0", 80, 1, 128, 12)]
    own = ListenSocket("ipv4", "127.0.0.1", 9000, 0, 16, 13)
    # every listener capped: somaxconn is the limit whichever overflowed
    f = _aq(capped, somax="128")
    (p,) = f.proposals
    assert not p.optional and "no listener is full now" in p.why
    assert "the burst has passed" in f.explanation and f.confidence == "medium"
    # capped and not capped: which one overflowed is unknown; somaxconn only as an option
    f = _aq([*capped, own], somax="128")
    (p,) = f.proposals
    assert p.optional and f.confidence == "low" and "helps only if" in f.confidence_why
    assert "Capped by somaxconn (128): port 80 (backlog 128), port 443 (backlog 128)" in f.explanation
    assert "Not capped by somaxconn: port 9000 (backlog 16)" in f.explanation
    # none capped: no sysctl
    f = _aq([own], somax="128")
    assert f.proposals == () and f.confidence == "medium" and "helps none" in f.confidence_why
    # one near its backlog now (14 of 16): it is the suspect, and it is not capped
    f = _aq([*capped, ListenSocket("ipv4", "127.0.0.1", 9000, 14, 16, 13)], somax="128")
    assert f.proposals == () and [s.port for s in f.sockets] == [9000]
    # nothing listens now, or the sockets were not read: no proposal, low confidence, how to look
    for socks in ([], None):
        f = _aq(socks)
        assert f.proposals == () and f.confidence == "low"
        assert any("`ss -ltn`" in a for a in f.advice)


def test_listen_zero_is_not_full_when_empty():
    assert not ListenSocket("ipv4", "0.0.0.0", 1, 0, 0).full
    assert ListenSocket("ipv4", "0.0.0.0", 1, 1, 0).full


# --------------------------------------------------------------------------- timestamps: evidence before risk


def _ids(findings) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.id for f in findings}


def _keys(findings) -> set[str]:  # type: ignore[no-untyped-def]
    return {p.key for p in proposals_of(findings)}


def test_challenge_acks_alone_are_no_timestamp_finding():
    # the false finding: 20 % random loss, no NAT, a 12 s window
    loss = {"TcpExt.TCPSYNChallenge": 1, "TcpExt.TCPChallengeACK": 1, "Tcp.OutSegs": 2900, "Tcp.RetransSegs": 700,
            "TcpExt.TCPTimeouts": 80, "Tcp.ActiveOpens": 60, "TcpExt.TCPSynRetrans": 17}
    findings = diagnose(loss, modern_state(), [], window=12)
    assert _ids(findings) == {"path-loss"} and _keys(findings) == set()
    # however many: RFC 5961 challenge ACKs have many causes
    assert diagnose({"TcpExt.TCPSYNChallenge": 500, "TcpExt.TCPChallengeACK": 500, "TcpExt.PAWSOldAck": 40},
                    modern_state(), [], window=12) == []


def test_tcp_timestamps_is_proposed_only_on_enough_pawstimewait():
    st = modern_state()
    # +7 in 13 s (the live NAT lab): 0.54/s, above 5 and 0.1/s
    (f,) = diagnose({"TcpExt.PAWSTimewait": 7}, st, [], window=13)
    assert f.id == "nat-timestamps" and _keys([f]) == {"net.ipv4.tcp_timestamps"} and f.confidence == "high"
    # too few, too slow, or no window to judge a rate by: an info note, no proposal
    for deltas, window in (({"TcpExt.PAWSTimewait": 3}, 12.0), ({"TcpExt.PAWSTimewait": 6}, 120.0),
                           ({"TcpExt.PAWSTimewait": 64}, None)):
        (f,) = diagnose(deltas, st, [], window=window)
        assert (f.id, f.severity, f.proposals) == ("timestamp-rejects", "info", ()), (deltas, window)
        assert f.confidence == "medium" and f.not_a_sysctl
    # rejects of another kind only: other causes are as likely (middleboxes, clock jumps)
    (f,) = diagnose({"TcpExt.PAWSEstab": 50, "TcpExt.TSEcrRejected": 9, "TcpExt.TCPChallengeACK": 3}, st, [], window=10)
    assert (f.id, f.proposals, f.confidence) == ("timestamp-rejects", (), "low")
    assert "PAWSEstab +50" in f.explanation and "no PAWSTimewait" in f.confidence_why
    # the boundary itself
    assert _ids(diagnose({"TcpExt.PAWSTimewait": NAT_MIN_REJECTS - 1}, st, [], window=1)) == {"timestamp-rejects"}
    assert _ids(diagnose({"TcpExt.PAWSTimewait": NAT_MIN_REJECTS}, st, [], window=NAT_MIN_REJECTS / NAT_MIN_RATE)) \
        == {"nat-timestamps"}


# --------------------------------------------------------------------------- delayed ACKs


def test_delayed_acks_threshold():
    st = modern_state()
    assert diagnose({"TcpExt.DelayedACKs": DELACK_MIN - 1}, st, [], window=5) == []
    assert _ids(diagnose({"TcpExt.DelayedACKs": DELACK_MIN}, st, [], window=5)) == {"delayed-acks"}
    # the same count spread over a quarter of an hour is a handful a minute: nothing
    assert diagnose({"TcpExt.DelayedACKs": 150}, st, [], window=900) == []
    assert _ids(diagnose({"TcpExt.DelayedACKs": 150}, st, [], window=150 / DELACK_MIN_RATE)) == {"delayed-acks"}


def test_delayed_acks_alone_explain_nagle_with_exact_route_commands():
    from tui.core.routes import Route

    routes = [
        Route("ipv4", "198.51.100.0/24", "eth0", proto="kernel", scope="link", src="198.51.100.7"),
        Route("ipv4", "default", "eth0", gateway="198.51.100.1", proto="static", metric=100),
        Route("ipv4", "203.0.113.0/24", "eth0", gateway="198.51.100.1", unsupported=("RTAX_RTO_MIN",)),
    ]
    (f,) = diagnose({"TcpExt.DelayedACKs": 77, "Tcp.InSegs": 102}, modern_state(), [], window=5, routes=routes,
                    nsenter="nsenter --net=/run/netns/web")
    assert (f.id, f.severity, f.proposals, f.not_a_sysctl) == ("delayed-acks", "info", (), True)
    assert f.evidence_text() == "DelayedACKs +77, InSegs +102 in 5 s"
    assert "normal" in f.explanation and "Nagle" in f.explanation and "40 ms" in f.explanation
    assert "side effect" not in f.explanation
    nodelay, quick, *commands = f.advice
    assert "TCP_NODELAY" in nodelay and len(commands) == 3
    quick += "\n".join(commands)
    # the default route first, then the others, each rebuilt whole so `change` keeps it
    assert ("nsenter --net=/run/netns/web ip route change default via 198.51.100.1 dev eth0 proto static scope global "
            "metric 100 quickack 1") in quick
    assert ("nsenter --net=/run/netns/web ip route change 198.51.100.0/24 dev eth0 proto kernel scope link src "
            "198.51.100.7 quickack 1") in quick
    assert "203.0.113.0/24" in quick and "does not rewrite (RTAX_RTO_MIN)" in quick
    assert "trade-off" in quick and "quickack 0" in quick
    # routes not read: a template, and it says so
    (f,) = diagnose({"TcpExt.DelayedACKs": 77}, modern_state(), [], window=5)
    assert "a template: the routes were not read" in f.advice[2]
    # a kernel without RTAX_QUICKACK (before 3.11) is not offered it
    (f,) = diagnose({"TcpExt.DelayedACKs": 77}, old_kernel_state(), [], window=5, routes=routes, nsenter="")
    assert not any("ip route change" in a for a in f.advice) and any("Linux 3.11" in a for a in f.advice)


# --------------------------------------------------------------------------- every finding, every rule

CASES = [
    {"TcpExt.PAWSPassive": 127, "TcpExt.ListenDrops": 127},
    {"TcpExt.PAWSTimewait": 64},
    {"TcpExt.PAWSTimewait": 2},
    {"TcpExt.ListenOverflows": 9, "TcpExt.ListenDrops": 9},
    {"TcpExt.TCPReqQFullDrop": 30, "TcpExt.ListenDrops": 30},
    {"TcpExt.TCPReqQFullDoCookies": 30},
    {"TcpExt.ListenDrops": 54},
    {"TcpExt.TCPSynRetrans": 54, "Tcp.RetransSegs": 54, "TcpExt.TCPTimeouts": 54, "Tcp.ActiveOpens": 20},
    {"TcpExt.TCPSynRetrans": 1, "Tcp.RetransSegs": 1, "Tcp.ActiveOpens": 1},
    {"TcpExt.TCPSynRetrans": 9, "Tcp.RetransSegs": 9},
    {"Tcp.OutSegs": 1000, "Tcp.RetransSegs": 80, "TcpExt.TCPTimeouts": 12},
    {"Tcp.OutSegs": 10, "Tcp.RetransSegs": 1, "TcpExt.TCPTimeouts": 1},
    {"TcpExt.DelayedACKs": 40},
]
STATES = [None, modern_state(), modern_state(**{"net.ipv4.tcp_syncookies": "0"}), old_kernel_state()]
SOCKETS = [None, [], [ListenSocket("ipv4", "0.0.0.0", 80, 5, 4)], [ListenSocket("ipv4", "0.0.0.0", 80, 0, 128)]]


def test_every_finding_states_its_confidence_and_why():
    import itertools

    seen = set()
    for deltas, state, socks in itertools.product(CASES, STATES, SOCKETS):
        for f in diagnose(deltas, state, socks, window=10):
            seen.add(f.id)
            assert f.confidence in CONFIDENCE_LEVELS and len(f.confidence_why) > 20, (f.id, deltas, state, socks)
            d = f.as_dict()
            assert (d["confidence"], d["confidence_why"]) == (f.confidence, f.confidence_why)
            # no value that was not read shows up as "None" in what the user reads
            for text in (f.title, f.explanation, f.confidence_why, *f.advice, *(p.why for p in f.proposals)):
                assert "None" not in text, (f.id, text)
            # a high-risk proposal only with high confidence
            assert all(f.confidence == "high" for p in f.proposals if p.risk.startswith("high")), f
    assert seen == {"tw-recycle", "nat-timestamps", "timestamp-rejects", "accept-queue", "syn-queue",
                    "syn-unanswered", "path-loss", "delayed-acks"}


def test_modern_findings_name_only_sysctls_this_kernel_has():
    """Nothing that does not exist on the running kernel: every net.* key a finding names is in
    /proc/sys here, unless the sentence says it is gone (tcp_tw_recycle)."""
    import os
    import re

    for deltas in CASES[1:]:
        for f in diagnose(deltas, modern_state(), [ListenSocket("ipv4", "0.0.0.0", 80, 5, 4)], window=10):
            for text in (f.explanation, *f.advice, *(p.why for p in f.proposals)):
                for sentence in re.split(r"(?<=[.;:])\s", text):
                    for key in re.findall(r"\bnet\.(?:core|ipv4)\.\w+", sentence):
                        gone = "does not exist" in sentence or "removed" in sentence
                        assert gone or os.path.exists("/proc/sys/" + key.replace(".", "/")), (f.id, key, sentence)
