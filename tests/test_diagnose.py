"""Diagnosis against the real kernel: a listen overflow in a namespace whose somaxconn is 37.

The server listens with backlog 1000 and never accepts; somaxconn=37 in its namespace caps
the backlog at 37, which sock_diag shows. 60 clients overflow it. The finding must name the
port, show the namespace's somaxconn (37) next to the host's (different), and propose more.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout

import pytest
from nethelpers import NetnsLab, require_root, wait_for

from tui.commands import diagnose as diagnose_cmd
from tui.core.history import NsHistory
from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.rules import diagnose_namespace
from tui.core.sysctl import host_netns, read_sysctls

SERVER = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.1", 8080))
s.listen(1000)          # asks for 1000; the namespace's somaxconn (37) caps it
print("listening", flush=True)
time.sleep(30)          # never accepts; the lab kills us long before
"""

CLIENT = """
import socket, time
socks = []
for _ in range(60):     # bounded: 60 connections, no retries of our own
    c = socket.socket(); c.setblocking(False)
    c.connect_ex(("198.51.100.1", 8080)); socks.append(c)
time.sleep(10)       # hold: the server keeps retransmitting SYN-ACKs into its full queue
print("done", flush=True)
"""


def _sample(reader: NetnsReader, ns: NetNS) -> tuple[bytes, ...]:
    got = reader.read_many([(ns.inode, ns.path or "")], ("netstat", "snmp"))[ns.inode]
    assert not isinstance(got, str), got
    return got


@pytest.fixture(scope="module")
def overflow_lab():
    """One overflowing server namespace shared by the tests below (cleaned up at the end)."""
    require_root()
    with NetnsLab("dg") as lab:
        srv, cli = lab.add("srv"), lab.add("cli")
        lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
        subprocess.run(["ip", "netns", "exec", srv, "sysctl", "-qw", "net.core.somaxconn=37"], check=True)
        path = f"/run/netns/{srv}"
        ns = NetNS(ns_inode_of_path(path) or 0, "netns", srv, path=path)
        reader = NetnsReader()
        try:
            h = NsHistory()
            h.ingest(1.0, _sample(reader, ns))
            server = lab.python(srv, SERVER, stdout=subprocess.PIPE, text=True)
            assert server.stdout is not None and server.stdout.readline().strip() == "listening"
            lab.python(cli, CLIENT, stdout=subprocess.PIPE, text=True)
            from tui.core.counters import parse_proc_net

            def overflowed() -> bool:
                return parse_proc_net(_sample(reader, ns)[0]).get("TcpExt.ListenOverflows", 0) >= 5

            assert wait_for(overflowed, timeout=15)
            h.ingest(11.0, _sample(reader, ns))
            yield lab, srv, ns, h, reader
        finally:
            reader.close()


def test_accept_queue_finding_names_port_and_shows_somaxconn_37(overflow_lab):
    _lab, _srv, ns, h, reader = overflow_lab
    host = host_netns()
    d = diagnose_namespace(ns, h, reader=reader, host=host)
    assert d.notes == ()
    f = next(f for f in d.findings if f.id == "accept-queue")
    assert f.evidence_text().startswith("ListenOverflows +")
    over = next(e.delta for e in f.evidence if e.key == "TcpExt.ListenOverflows")
    drops = next(e.delta for e in f.evidence if e.key == "TcpExt.ListenDrops")
    assert drops >= over > 0
    (sock,) = f.sockets
    # sock_diag shows the cap: the application asked for 1000, somaxconn 37 won
    assert (sock.address, sock.port, sock.backlog) == ("198.51.100.1", 8080, 37) and sock.full
    assert "198.51.100.1:8080 accept queue" in f.explanation
    (p,) = f.proposals
    host_somax = read_sysctls(host, ["net.core.somaxconn"], reader).value("net.core.somaxconn")
    assert (p.key, p.current, p.scope) == ("net.core.somaxconn", "37", "namespace")
    assert p.host == host_somax and p.host != "37"
    assert int(p.value) > 37 and "port 8080" in p.why
    assert any("capped by somaxconn" in a for a in f.advice)
    # and the host was only read: its somaxconn is what it was
    assert read_sysctls(host, ["net.core.somaxconn"], reader).value("net.core.somaxconn") == host_somax


def test_diagnose_cli_json_and_text(overflow_lab, monkeypatch):
    _lab, srv, _ns, _h, _reader = overflow_lab
    # Docker/kubelet sources are other tests' business; /proc and /run/netns discovery is real
    monkeypatch.setattr("tui.commands.common.default_sources", list)
    # the clients are still retransmitting SYNs into the full queue: a 2 s window sees it
    args = argparse.Namespace(interval=2.0, ns=srv, json=True, all=True)
    out = io.StringIO()
    with redirect_stdout(out):
        assert diagnose_cmd.run(args) == 0
    recs = [json.loads(line) for line in out.getvalue().splitlines()]
    (rec,) = [r for r in recs if r["name"] == srv]
    ids = [f["id"] for f in rec["findings"]]
    assert "accept-queue" in ids, rec
    f = rec["findings"][ids.index("accept-queue")]
    (p,) = f["proposals"]
    assert p["key"] == "net.core.somaxconn" and p["current"] == "37"
    assert p["commands"]["temporary"] == f"nsenter --net=/run/netns/{srv} sysctl -w net.core.somaxconn={p['proposed']}"
    assert f["sockets"][0]["port"] == 8080
    assert f["confidence"] == "high" and "full accept queue now" in f["confidence_why"]
    text = io.StringIO()
    with redirect_stdout(text):
        assert diagnose_cmd.run(argparse.Namespace(interval=1.0, ns=srv, json=False, all=True)) == 0
    assert srv in text.getvalue()


def test_diagnose_text_states_each_findings_confidence(overflow_lab):
    # the fixture's own window (a later 1 s window may fall between two rounds of SYN retries)
    _lab, _srv, ns, h, reader = overflow_lab
    out = io.StringIO()
    diagnose_cmd.print_text(diagnose_namespace(ns, h, reader=reader, host=host_netns()), out)
    assert "    confidence high: sock_diag shows port 8080 (backlog 37) with a full accept queue now" in out.getvalue()


def test_diagnose_cli_unknown_filter_is_a_clear_message(monkeypatch, capsys):
    require_root()
    monkeypatch.setattr("tui.commands.common.default_sources", list)
    rc = diagnose_cmd.run(argparse.Namespace(interval=0.2, ns="no-such-namespace-xyz", json=False, all=False))
    assert rc == 1
    assert "no namespace matches 'no-such-namespace-xyz'" in capsys.readouterr().err


def test_diagnose_is_registered_with_the_cli():
    out = subprocess.run([sys.executable, "-c", "from tui.cli import build_parser; build_parser().parse_args(['diagnose', '--help'])"],
                         capture_output=True, text=True)
    assert "--interval" in out.stdout and "--json" in out.stdout, out.stderr
