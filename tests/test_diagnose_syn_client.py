"""The client side of a listen overflow, for real: SYNs unanswered, not loss on the path.

A backlog-1 server that never accepts (nethelpers.listen_overflow) drops the SYNs of a client
in another namespace. The client's counters then show TCPSynRetrans = RetransSegs =
TCPTimeouts with few OutSegs (retransmits are not in OutSegs): the old path-loss rule called
that "54 of 26 segments retransmitted (207.7%)". The client's diagnosis must send the reader to
the server instead; the server's must be the accept-queue finding.
"""

from __future__ import annotations

import re

from nethelpers import listen_overflow

from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.rules import diagnose_namespace
from tui.core.sysctl import host_netns


def _ns(name: str) -> NetNS:
    path = f"/run/netns/{name}"
    return NetNS(ns_inode_of_path(path) or 0, "netns", name, path=path)


def test_client_of_an_overflowing_server_gets_syn_finding_not_path_loss(lab):
    srv, cli = lab.add("ovs"), lab.add("ovc")
    lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    server_ns, client_ns = _ns(srv), _ns(cli)
    reader = NetnsReader()
    try:
        def sample(ns: NetNS) -> tuple[bytes, ...]:
            got = reader.read_many([(ns.inode, ns.path or "")], ("netstat", "snmp"))[ns.inode]
            assert not isinstance(got, str), got
            return got

        hs, hc = NsHistory(), NsHistory()
        hs.ingest(0.0, sample(server_ns))
        hc.ingest(0.0, sample(client_ns))
        _server, client = listen_overflow(lab, srv, cli, "198.51.100.1", n=20, hold=3.0)
        out, _ = client.communicate(timeout=30)  # the client holds 3 s (SYN retries happen), then exits
        assert out.strip() == "done"
        hs.ingest(4.0, sample(server_ns))
        hc.ingest(4.0, sample(client_ns))

        syn = hc.total_delta("TcpExt.TCPSynRetrans")
        assert syn > 0 and hc.total_delta("Tcp.RetransSegs") == syn  # the signature the old rule misread
        dc = diagnose_namespace(client_ns, hc, reader=reader, host=host_netns())
        ids = [f.id for f in dc.findings]
        assert "syn-unanswered" in ids and "path-loss" not in ids, ids
        f = dc.findings[ids.index("syn-unanswered")]
        assert f.title == "SYNs unanswered: the server side drops them" and f.severity == "warning"
        assert f.evidence_text().startswith(f"TCPSynRetrans +{syn}") and f.not_a_sysctl and f.proposals == ()
        assert any("server's namespace" in a and "ListenOverflows" in a for a in f.advice)
        assert dc.proposals == []
        # no percentage anywhere above 100
        for x in dc.findings:
            assert all(float(p) <= 100.0 for p in re.findall(r"([\d.]+)%", x.explanation)), x.explanation

        ds = diagnose_namespace(server_ns, hs, reader=reader, host=host_netns())
        sids = [f.id for f in ds.findings]
        assert "accept-queue" in sids and "syn-unanswered" not in sids and "path-loss" not in sids, sids
    finally:
        reader.close()
