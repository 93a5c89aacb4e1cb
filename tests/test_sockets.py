"""Listening sockets read inside a namespace: a real backlog-1 listener whose queue fills."""

from __future__ import annotations

import subprocess

import pytest
from nethelpers import ip, listen_overflow, wait_for

from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NamespaceGone, NetnsReader
from tui.core.sockets import ListenSocket, listening_sockets, parse_proc_net_tcp


def _pair(lab):
    srv = lab.add("srv")
    cli = lab.add("cli")
    lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    return srv, cli


def _ns(name: str, pids: tuple[int, ...] = (), with_path: bool = True) -> NetNS:
    path = f"/run/netns/{name}"
    return NetNS(ns_inode_of_path(path) or 0, "netns", name, pids=pids, path=path if with_path else None)


def test_backlog1_listener_fills_and_is_seen_by_path_and_by_pid(lab):
    srv, cli = _pair(lab)
    _server, client = listen_overflow(lab, srv, cli, "198.51.100.1", port=8080, n=10, hold=3.0)
    reader = NetnsReader()
    try:
        by_path = _ns(srv)

        def full():
            socks = [s for s in listening_sockets(by_path, reader) if s.port == 8080]
            return socks if socks and socks[0].full else None

        socks = wait_for(full, timeout=10)
        assert socks, listening_sockets(by_path, reader)
        s = socks[0]
        assert (s.family, s.address, s.port, s.backlog) == ("ipv4", "198.51.100.1", 8080, 1)
        # a never-accepting backlog-1 listener holds backlog+1 completed connections
        assert s.accept_queue >= 1 and s.full and s.near_full()
        assert s.inode > 0
        # pid-backed: enter through /proc/<pid>/ns/net of the server's python (a child of ip netns exec)
        pids = subprocess.run(["ip", "netns", "pids", srv], capture_output=True, text=True, check=True).stdout.split()
        by_pid = _ns(srv, tuple(int(p) for p in pids), with_path=False)
        again = [x for x in listening_sockets(by_pid, reader) if x.port == 8080]
        assert again and again[0].backlog == 1 and again[0].inode == s.inode
        # the client namespace listens on nothing: we really read each namespace, not ours
        assert listening_sockets(_ns(cli), reader) == []
        client.wait(timeout=10)
    finally:
        reader.close()


def test_proc_net_tcp_fallback_agrees_with_sock_diag(lab):
    srv, cli = _pair(lab)
    listen_overflow(lab, srv, cli, "198.51.100.1", port=9090, n=5, hold=1.0)
    text = subprocess.run(["ip", "netns", "exec", srv, "cat", "/proc/net/tcp"], capture_output=True, text=True, check=True).stdout
    parsed = [s for s in parse_proc_net_tcp(text) if s.port == 9090]
    diag = [s for s in listening_sockets(_ns(srv)) if s.port == 9090]
    assert parsed and diag
    assert (parsed[0].address, parsed[0].inode) == (diag[0].address, diag[0].inode)
    # /proc/net/tcp cannot tell the backlog (tx_queue is 0 for a listener); sock_diag can
    assert parsed[0].backlog is None and diag[0].backlog == 1


def test_parse_proc_net_tcp_v4_and_v6_listeners():
    v4 = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F90 00000000:0000 0A 00000080:00000003 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n"
        "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0 20 4 30 10 -1\n"
    )
    assert parse_proc_net_tcp(v4) == [ListenSocket("ipv4", "127.0.0.1", 8080, 3, None, 4242, 1000)]
    v6 = (
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000005:00000000 00:00000000 00000000     0        0 77 1 0 100 0 0 10 0\n"
    )
    assert parse_proc_net_tcp(v6, "ipv6") == [ListenSocket("ipv6", "::1", 22, 0, None, 77, 0)]


def test_vanished_namespace_is_a_clear_error(lab):
    gone = lab.add("gone")
    ns = _ns(gone)
    ip("netns", "del", gone)
    lab.names.remove(gone)
    with pytest.raises(NamespaceGone, match=gone):
        listening_sockets(ns)


def test_recreated_name_is_not_mistaken_for_the_old_namespace(lab):
    name = lab.add("again")
    old = _ns(name)
    ip("netns", "del", name)
    ip("netns", "add", name)  # same path, new inode
    with pytest.raises(NamespaceGone, match="now names"):
        listening_sockets(old)
