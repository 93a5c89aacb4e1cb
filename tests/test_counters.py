"""Parsing real netstat/snmp text from old and new kernels (tests/fixtures, byte-for-byte)."""

from __future__ import annotations

import pytest

from tui.core.catalog import CATALOG, GROUP_ORDER, Group, group_of, info, keys_in
from tui.core.conntrack import conntrack_section
from tui.core.counters import CounterParseError, is_gauge, parse_proc_net


def read(fixtures_dir, name: str) -> bytes:
    return (fixtures_dir / name).read_bytes()


def test_new_kernel_listen_overflow_deltas(fixtures_dir):
    before = parse_proc_net(read(fixtures_dir, "linux-6.18-listen-overflow/netstat.before"))
    after = parse_proc_net(read(fixtures_dir, "linux-6.18-listen-overflow/netstat.after"))
    deltas = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert deltas["TcpExt.ListenOverflows"] == 72
    assert deltas["TcpExt.ListenDrops"] == 72
    assert deltas["TcpExt.DelayedACKs"] == 2
    # tcp_tw_recycle and PAWSPassive were removed in 4.12
    assert "TcpExt.PAWSPassive" not in after
    assert "TcpExt.PAWSTimewait" in after
    # other sections of netstat are parsed too
    assert any(k.startswith("IpExt.") for k in after)
    assert sum(k.startswith("TcpExt.") for k in after) > 100


def test_new_kernel_snmp_signed_values_and_gauges(fixtures_dir):
    before = parse_proc_net(read(fixtures_dir, "linux-6.18-listen-overflow/snmp.before"))
    after = parse_proc_net(read(fixtures_dir, "linux-6.18-listen-overflow/snmp.after"))
    assert before["Tcp.MaxConn"] == -1  # signed
    assert after["Tcp.PassiveOpens"] - before["Tcp.PassiveOpens"] == 2
    assert after["Tcp.CurrEstab"] - before["Tcp.CurrEstab"] == 2
    assert is_gauge("Tcp.CurrEstab") and is_gauge("Tcp.MaxConn") and is_gauge("Ip.Forwarding")
    assert not is_gauge("Tcp.PassiveOpens")


def test_old_kernel_has_paws_passive_and_its_own_columns(fixtures_dir):
    netstat = parse_proc_net(read(fixtures_dir, "linux-old-node-exporter/netstat"))
    snmp = parse_proc_net(read(fixtures_dir, "linux-old-node-exporter/snmp"))
    assert "TcpExt.PAWSPassive" in netstat and "TcpExt.TCPPrequeued" in netstat
    assert netstat["TcpExt.DelayedACKs"] == 102471
    assert netstat["TcpExt.TW"] == 388812
    assert snmp["Tcp.MaxConn"] == -1
    assert snmp["IcmpMsg.InType3"] == 104 and snmp["IcmpMsg.OutType3"] == 120
    assert snmp["Udp.InDatagrams"] == 88542


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "empty file"),
        ("TcpExt: A B\nTcpExt: 1 2\nIpExt: C\n", "truncated"),
        ("TcpExt: A B C\nTcpExt: 1 2\n", "3 names but 2 values"),
        ("TcpExt: A B\nTcpExt: 1 x2\n", "non-numeric value b'x2'"),
        ("TcpExt: A B\nIpExt: 1 2\n", "starts with b'IpExt:'"),
        ("no colon here\n1 2\n", "not a 'Section: Name Name ...' header"),
        ("TcpExt: A\xff\nTcpExt: 1\n", "not ASCII"),
    ],
)
def test_malformed_text_gives_a_clear_error(text, problem):
    with pytest.raises(CounterParseError) as err:
        parse_proc_net(text, source="/proc/42/net/netstat")
    assert problem in str(err.value)
    assert "/proc/42/net/netstat" in str(err.value)


def test_truncated_real_file_names_the_problem(fixtures_dir):
    data = read(fixtures_dir, "linux-6.18-listen-overflow/netstat.after")
    cut = data[: len(data) // 2]  # a read cut mid-line
    with pytest.raises(CounterParseError):
        parse_proc_net(cut)


def test_catalog_groups_and_wording():
    assert info("TcpExt.ListenDrops").wording == "SYNs to LISTEN sockets dropped"
    assert info("TcpExt.PAWSPassive").wording == "passive connections rejected because of time stamp"
    assert info("TcpExt.DelayedACKs").wording == "delayed acks sent"
    assert group_of("TcpExt.ListenOverflows") is Group.SYN
    assert group_of("Tcp.RetransSegs") is Group.RETRANS
    assert group_of("TcpExt.TCPHPHits") is Group.OTHER  # context: "other", with netstat's wording
    assert info("TcpExt.TCPHPHits").wording == "packet headers predicted"
    assert group_of("TcpExt.TCPBacklogCoalesce") is Group.OTHER  # not in the catalog: other, no wording
    assert info("TcpExt.TCPBacklogCoalesce").wording == ""
    for needed in ["ListenDrops", "ListenOverflows", "PAWSPassive", "PAWSActive", "PAWSTimewait", "PAWSEstab", "PAWSOldAck", "TSEcrRejected", "TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "TCPSYNChallenge", "TCPSynRetrans"]:
        assert group_of(f"TcpExt.{needed}") is Group.SYN, needed
    assert set(keys_in(Group.DELAYED_ACK)) == {"TcpExt.DelayedACKs", "TcpExt.DelayedACKLocked", "TcpExt.DelayedACKLost"}
    assert {"Tcp.AttemptFails", "Tcp.EstabResets", "Tcp.OutRsts", "TcpExt.TCPAbortOnTimeout", "TcpExt.TCPAbortOnData",
            "TcpExt.TCPChallengeACK"} <= set(keys_in(Group.RESETS))
    assert {"TcpExt.TW", "TcpExt.TWRecycled", "TcpExt.TCPTimeWaitOverflow"} <= set(keys_in(Group.TIME_WAIT))
    assert set(GROUP_ORDER) == set(Group)
    assert all(c.key.count(".") == 1 for c in CATALOG.values())


def test_catalog_keys_exist_on_some_kernel(fixtures_dir):
    """Every catalogued counter is a real column of the new or the old kernel."""
    known = set()
    for name in ("linux-6.18-listen-overflow/netstat.after", "linux-6.18-listen-overflow/snmp.after",
                 "linux-old-node-exporter/netstat", "linux-old-node-exporter/snmp"):
        known |= set(parse_proc_net(read(fixtures_dir, name)))
    # /proc/net/stat/nf_conntrack of a NAT namespace on 6.18, as History gets it
    ct = (fixtures_dir / "linux-6.18-conntrack" / "nf_conntrack").read_bytes()
    known |= set(parse_proc_net(conntrack_section(ct)))
    missing = [k for k in CATALOG if k not in known]
    assert missing == []
