"""The conntrack findings on recorded deltas.

A full table and insert failures of a node's own NAT cannot be made safely on this machine:
nf_conntrack_max is global (a test must never lower the host's), and the node's namespace
carries no NAT of ours. So the table-full finding and a pod whose SYNs die in the node's
conntrack are tested here on deltas shaped as the kernel reports them, through the real
History where the deltas come from files; each test says which real event it stands in for.
The SNAT race (insert_failed) and INVALID are also made for real, in namespaces of our own:
the scenario matrix (tests/scenarios.py, scenarios 4 and 8) and tests/test_conntrack.py.
"""

from __future__ import annotations

from tui.core.conntrack import conntrack_section
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS
from tui.core.rules import (
    CT_INVALID_MIN,
    CT_RACE_MIN,
    ConntrackContext,
    diagnose,
    diagnose_namespace,
    proposals_of,
)
from tui.core.sysctl import SysctlState, commands_for

MAX, BUCKETS = "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets"
LIBERAL = "net.netfilter.nf_conntrack_tcp_be_liberal"
NODE = {MAX: "65536", BUCKETS: "8192", LIBERAL: "0", "net.core.somaxconn": "4096"}


def state(is_host: bool, values: dict[str, str] = NODE) -> SysctlState:
    # as read_sysctls reports them on 6.18: inside a namespace the two table keys are read-only
    # (global), be_liberal is the namespace's own
    writable = frozenset(values) if is_host else frozenset({LIBERAL, "net.core.somaxconn"})
    return SysctlState(1, is_host, dict(values), writable, dict(values), "6.18")


def by_id(findings):  # type: ignore[no-untyped-def]
    return {f.id: f for f in findings}


# ------------------------------------------------------------------------------ table full


def test_table_full_on_the_host_proposes_max_and_buckets_with_their_memory():
    """Stands in for a node whose table filled: early_drop and drops, entries at the max."""
    deltas = {"Conntrack.early_drop": 40, "Conntrack.drop": 12, "Conntrack.insert_failed": 2}
    ct = ConntrackContext(entries=65400, entries_peak=65536, entry_bytes=256)
    f = by_id(diagnose(deltas, state(True), window=10.0, conntrack=ct))["conntrack-full"]
    assert f.confidence == "high" and "early_drop" in f.confidence_why and f.severity == "critical"
    props = {p.key: p for p in f.proposals}
    assert props[MAX].value == "131072" and props[MAX].scope == "host" and not props[MAX].optional
    # 65536 more entries of 256 B: 16 MiB at most, taken as they are used
    assert "16.0 MiB" in props[MAX].risk and "256 B" in props[MAX].risk
    # 8192 buckets < 131072 / 4: kube-proxy's rule; 32768 buckets of 8 B = 256 KiB at once
    assert props[BUCKETS].value == "32768" and props[BUCKETS].optional and "256 KiB" in props[BUCKETS].risk
    assert any("kube-proxy" in a and "--conntrack-max-per-core" in a for a in f.advice)
    assert "10 packets were dropped" in f.explanation  # 12 drops, less the 2 that failed inserts explain


def test_table_full_in_a_pod_proposes_the_global_key_for_the_node():
    """Stands in for a pod namespace whose own count reached the global max (6.18 counts per
    namespace): the key can only be set on the node, and the commands say so."""
    deltas = {"Conntrack.drop": 30}
    ct = ConntrackContext(entries=65536, entries_peak=65536, entry_bytes=256)
    f = by_id(diagnose(deltas, state(False), window=10.0, conntrack=ct))["conntrack-full"]
    p = {p.key: p for p in f.proposals}[MAX]
    assert f.confidence == "high" and p.scope == "global"
    ns = NetNS(7, "pod", "shop/web-1", pod="web-1", k8s_namespace="shop", pids=(4242,))
    c = commands_for(p, ns)
    assert c.temporary == f"sysctl -w {MAX}=131072" and "cannot be set inside" in c.temporary_note


def test_drops_without_a_full_table_propose_nothing():
    """Drops no clash explains while entries stayed far from the max: no change proposed."""
    ct = ConntrackContext(entries=900, entries_peak=1200, entry_bytes=256)
    f = by_id(diagnose({"Conntrack.drop": 5}, state(True), window=10.0, conntrack=ct))["conntrack-full"]
    assert f.confidence == "low" and f.proposals == () and "peak 1200 of 65536" in f.confidence_why
    # and without the entries read: not confirmed, nothing proposed either
    f = by_id(diagnose({"Conntrack.drop": 5}, state(True), window=10.0))["conntrack-full"]
    assert f.confidence == "medium" and f.proposals == ()


def test_drops_that_clashes_explain_are_not_a_full_table():
    deltas = {"Conntrack.drop": 9, "Conntrack.insert_failed": 9}
    got = by_id(diagnose(deltas, state(True), window=10.0, conntrack=ConntrackContext(10, 12)))
    assert "conntrack-full" not in got and "conntrack-race" in got
    # a window that starts between a clash's insert_failed and its drop: one drop more
    got = by_id(diagnose({"Conntrack.drop": 9, "Conntrack.insert_failed": 8}, state(True), window=10.0,
                         conntrack=ConntrackContext(10, 12)))
    assert "conntrack-full" not in got and "conntrack-race" in got
    # more than that window edge can split off: drops of their own
    got = by_id(diagnose({"Conntrack.drop": 10, "Conntrack.insert_failed": 8}, state(True), window=10.0,
                         conntrack=ConntrackContext(10, 12)))
    assert "conntrack-full" in got and "conntrack-race" in got


def test_no_proposal_for_a_key_this_kernel_does_not_have():
    values = {k: v for k, v in NODE.items() if k not in (MAX, BUCKETS)}
    f = by_id(diagnose({"Conntrack.early_drop": 3}, state(True, values), window=10.0,
                       conntrack=ConntrackContext(10, 10, 256)))["conntrack-full"]
    assert f.proposals == ()


# ------------------------------------------------------------------------------ the race


def test_insert_failed_is_the_snat_race_with_its_options_and_no_sysctl():
    deltas = {"Conntrack.insert_failed": 12, "Conntrack.drop": 12, "Conntrack.clashres": 4}
    f = by_id(diagnose(deltas, state(True), window=10.0))["conntrack-race"]
    assert f.confidence == "high" and f.proposals == () and f.not_a_sysctl
    text = " ".join(f.advice)
    for option in ("--random-fully", "keep-alive", "NodeLocal DNSCache", "single-request-reopen"):
        assert option in text, option
    assert "12 new connections" in f.explanation and "clashres +4" in f.explanation
    low = by_id(diagnose({"Conntrack.insert_failed": CT_RACE_MIN - 1}, None, window=10.0))["conntrack-race"]
    assert low.confidence == "low"


def test_resolved_clashes_alone_are_a_note_and_a_few_are_nothing():
    f = by_id(diagnose({"Conntrack.clashres": 40}, None, window=10.0))["conntrack-race"]
    assert f.severity == "info" and "without drops" in f.title
    assert "conntrack-race" not in by_id(diagnose({"Conntrack.clashres": 3}, None, window=10.0))


def test_chains_too_long_are_told_apart_from_the_race():
    f = by_id(diagnose({"Conntrack.insert_failed": 6, "Conntrack.chainlength": 6}, None, window=10.0))["conntrack-race"]
    assert "hash chains too long" in f.title and "nf_conntrack_buckets" in f.explanation


# ------------------------------------------------------------------------------ invalid


def test_invalid_gives_the_be_liberal_option_with_its_trade_off_and_proposes_nothing():
    ns_state = state(False)
    f = by_id(diagnose({"Conntrack.invalid": 200}, ns_state, window=10.0, nsenter="nsenter --net=/run/netns/x"))[
        "conntrack-invalid"]
    assert f.proposals == () and proposals_of([f]) == []
    liberal = [a for a in f.advice if LIBERAL in a]
    assert liberal and "nsenter --net=/run/netns/x sysctl -w net.netfilter.nf_conntrack_tcp_be_liberal=1" in liberal[0]
    assert "Trade-off" in liberal[0] and "Not when" in liberal[0]
    # a kernel without the key: the option is not offered
    values = {k: v for k, v in NODE.items() if k != LIBERAL}
    f2 = by_id(diagnose({"Conntrack.invalid": 200}, state(False, values), window=10.0))["conntrack-invalid"]
    assert not [a for a in f2.advice if LIBERAL in a]


def test_a_few_invalid_packets_are_no_finding():
    assert "conntrack-invalid" not in by_id(diagnose({"Conntrack.invalid": CT_INVALID_MIN - 1}, None, window=5.0))
    assert "conntrack-invalid" not in by_id(diagnose({"Conntrack.invalid": 100}, None, window=1000.0))  # 0.1/s


# ------------------------------------------------------------------------------ a pod's SYNs


CLIENT = {"TcpExt.TCPSynRetrans": 12, "Tcp.RetransSegs": 12, "TcpExt.TCPTimeouts": 12, "Tcp.ActiveOpens": 40}


def test_a_pods_unanswered_syns_name_the_nodes_conntrack_drops():
    """Stands in for a pod retransmitting SYNs while the node's conntrack (kube-proxy's NAT)
    fails inserts in the same window."""
    host = {"Conntrack.insert_failed": 9, "Conntrack.drop": 9}
    f = by_id(diagnose(CLIENT, None, window=10.0, conntrack=ConntrackContext(host_deltas=host)))["syn-unanswered"]
    assert "conntrack" in f.title and "server side" not in f.title
    assert "the node's conntrack dropped 9 packets (drop +9, insert_failed +9)" in f.explanation
    assert f.advice[0].startswith("look at the node's conntrack first") and f.confidence == "medium"
    # the node's conntrack quiet: the usual story, the server first
    quiet = by_id(diagnose(CLIENT, None, window=10.0, conntrack=ConntrackContext(host_deltas={"Conntrack.clashres": 2})))
    assert quiet["syn-unanswered"].title == "SYNs unanswered: the server side drops them"


def _files(netstat: dict[str, int], snmp: dict[str, int], ct: dict[str, int] | None) -> tuple[bytes, ...]:
    def sec(name: str, d: dict[str, int]) -> bytes:
        return f"{name}: {' '.join(k for k in d)}\n{name}: {' '.join(str(v) for v in d.values())}\n".encode()

    ct_file = None
    if ct is not None:
        names = ["entries", "clashres", "invalid", "insert_failed", "drop", "early_drop"]
        ct_file = ("  ".join(names) + "\n" + " ".join(f"{ct.get(n, 0):08x}" for n in names) + "\n").encode()
    return sec("TcpExt", netstat), sec("Tcp", snmp), conntrack_section(ct_file) if ct_file else b""


def test_diagnose_namespace_takes_the_nodes_history_for_a_pod():
    """The plumbing the TUI and `synscope diagnose` use: two histories that tick together,
    the node's carrying conntrack drops (recorded shape: 2 CPUs summed, one row here)."""
    pod_h, host_h = NsHistory(), NsHistory()
    zero_net = {"TCPSynRetrans": 100, "TCPTimeouts": 100}
    zero_snmp = {"ActiveOpens": 500, "RetransSegs": 100}
    pod_h.ingest(0.0, _files(zero_net, zero_snmp, None))
    host_h.ingest(0.0, _files({"TCPSynRetrans": 0}, {"ActiveOpens": 0}, {"entries": 5000, "insert_failed": 40, "drop": 40}))
    pod_h.ingest(10.0, _files({"TCPSynRetrans": 112, "TCPTimeouts": 112}, {"ActiveOpens": 540, "RetransSegs": 112}, None))
    host_h.ingest(10.0, _files({"TCPSynRetrans": 0}, {"ActiveOpens": 0}, {"entries": 5100, "insert_failed": 49, "drop": 49}))
    pod = NetNS(11, "pod", "shop/web-1")  # no pid, no path: nothing is read inside it
    d = diagnose_namespace(pod, pod_h, host_history=host_h)
    f = by_id(d.findings)["syn-unanswered"]
    assert "the node's conntrack dropped 9 packets" in f.explanation
    assert d.conntrack is None  # the pod itself has no conntrack in use
    node = diagnose_namespace(NetNS(12, "host", "host"), host_h)
    assert node.conntrack is not None and node.conntrack.entries == 5100 and dict(node.conntrack.deltas) == {
        "insert_failed": 9, "drop": 9}
    assert "conntrack-race" in by_id(node.findings)
