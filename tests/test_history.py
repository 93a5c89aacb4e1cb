"""History on real file text: deltas, rates, gaps, gauges, compactness, ring wrap."""

from __future__ import annotations

import pytest

from tui.core.counters import CounterParseError
from tui.core.history import History, NsHistory

SNMP = b"Tcp: RtoAlgorithm MaxConn ActiveOpens CurrEstab RetransSegs\nTcp: 1 -1 %d %d %d\n"
NETSTAT = b"TcpExt: ListenDrops DelayedACKs TCPHPHits\nTcpExt: %d %d %d\n"


def files(drops=0, dacks=0, hits=0, active=0, estab=0, retrans=0):
    return (NETSTAT % (drops, dacks, hits), SNMP % (active, estab, retrans))


def test_first_sample_has_no_rate_then_deltas_and_rates(fixtures_dir):
    h = NsHistory(capacity=10)
    h.ingest(100.0, files())
    assert h.ticks == 0 and h.rate("TcpExt.ListenDrops") is None and h.last_deltas == {}
    h.ingest(102.0, files(drops=10, dacks=4))
    assert h.last_deltas == {"TcpExt.ListenDrops": 10, "TcpExt.DelayedACKs": 4}
    assert h.rate("TcpExt.ListenDrops") == pytest.approx(5.0)
    assert h.last_moved["TcpExt.ListenDrops"] == 102.0
    assert h.values()["TcpExt.ListenDrops"] == 10


def test_real_fixture_pair_gives_kernel_deltas(fixtures_dir):
    d = fixtures_dir / "linux-6.18-listen-overflow"
    h = NsHistory()
    h.ingest(0.0, ((d / "netstat.before").read_bytes(), (d / "snmp.before").read_bytes()))
    h.ingest(1.0, ((d / "netstat.after").read_bytes(), (d / "snmp.after").read_bytes()))
    assert h.last_deltas["TcpExt.ListenOverflows"] == 72
    assert h.last_deltas["TcpExt.ListenDrops"] == 72
    assert h.last_deltas["Tcp.PassiveOpens"] == 2
    assert "Tcp.CurrEstab" not in h.last_deltas  # a gauge: a value, never a delta
    assert h.rate("Tcp.CurrEstab") is None
    assert h.gauge_values("Tcp.CurrEstab", 1) == [2]


def test_counter_going_down_is_a_gap_not_a_negative_rate():
    h = NsHistory(capacity=10)
    h.ingest(0, files(drops=50))
    h.ingest(1, files(drops=60))
    h.ingest(2, files(drops=5))  # reset (e.g. 32-bit wrap, or values replaced)
    h.ingest(3, files(drops=7))
    assert h.rates("TcpExt.ListenDrops") == [10.0, None, 2.0]
    assert h.last_resets == ()
    assert h.total_delta("TcpExt.ListenDrops") == 12
    assert all(r is None or r >= 0 for r in h.rates("TcpExt.ListenDrops"))


def test_idle_ticks_cost_a_timestamp_and_counters_that_never_move_cost_nothing():
    h = NsHistory(capacity=900)
    for t in range(50):
        h.ingest(float(t), files(hits=1000))
    assert h.ticks == 49
    assert h.series == {}  # nothing moved: no ring buffers at all
    assert h.rates("TcpExt.ListenDrops", 3) == [0.0, 0.0, 0.0]
    h.ingest(50.0, files(hits=1001))
    assert set(h.series) == {"TcpExt.TCPHPHits"}
    assert h.moved() == ["TcpExt.TCPHPHits"]


def test_ring_wraps_and_lazy_zero_fill_is_right():
    h = NsHistory(capacity=5)
    h.ingest(0, files())
    h.ingest(1, files(drops=3))  # tick 0
    for t in range(2, 9):  # ticks 1..7 idle
        h.ingest(t, files(drops=3))
    h.ingest(9, files(drops=4))  # tick 8
    assert h.deltas("TcpExt.ListenDrops") == [0, 0, 0, 0, 1]  # the 3 at tick 0 fell out
    assert h.total_delta("TcpExt.ListenDrops") == 1
    assert len(h.rates("TcpExt.ListenDrops")) == 5


def test_header_change_matches_by_key():
    a = (b"IcmpMsg: InType3\nIcmpMsg: 4\nTcpExt: A\nTcpExt: 5\n",)
    # a new ICMP type appears (the kernel prints its column once it is non-zero), and a new
    # TcpExt column (a newly loaded module, say) that has no history
    b = (b"IcmpMsg: InType0 InType3\nIcmpMsg: 1 6\nTcpExt: A B\nTcpExt: 7 9\n",)
    h = NsHistory()
    h.ingest(0, a)
    h.ingest(1, b)
    assert h.last_deltas == {"IcmpMsg.InType3": 2, "IcmpMsg.InType0": 1, "TcpExt.A": 2}


def test_first_icmp_section_counts_from_zero():
    h = NsHistory()
    h.ingest(0, (b"Ip: InReceives\nIp: 0\n",))  # a fresh namespace: no IcmpMsg line at all
    h.ingest(1, (b"Ip: InReceives\nIp: 1\nIcmpMsg: InType3 OutType3\nIcmpMsg: 1 1\n",))
    assert h.last_deltas == {"Ip.InReceives": 1, "IcmpMsg.InType3": 1, "IcmpMsg.OutType3": 1}


def test_malformed_read_leaves_history_unchanged():
    h = NsHistory()
    h.ingest(0, files(drops=1))
    with pytest.raises(CounterParseError):
        h.ingest(1, (b"TcpExt: ListenDrops DelayedACKs TCPHPHits\nTcpExt: 1 2\n", SNMP % (0, 0, 0)))
    h.ingest(2, files(drops=4))
    assert h.last_deltas == {"TcpExt.ListenDrops": 3}


def test_replaced_namespace_does_not_inherit_history():
    hist = History()
    hist.ingest(111, 0, files(drops=100))
    hist.ingest(111, 1, files(drops=150))
    # the container restarts: same name, new namespace inode, counters start from zero
    hist.retain({222})
    hist.ingest(222, 2, files(drops=3))
    hist.ingest(222, 3, files(drops=4))
    assert hist.get(111) is None
    assert hist.get(222).deltas("TcpExt.ListenDrops") == [1]


def test_big_deltas_promote_to_64_bit():
    h = NsHistory(capacity=4)
    h.ingest(0, files(hits=0))
    h.ingest(1, files(hits=5_000_000_000))
    assert h.deltas("TcpExt.TCPHPHits") == [5_000_000_000]
