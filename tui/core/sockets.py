"""TCP sockets of one namespace: the listeners and their accept queues, and a summary.

* :func:`listening_sockets` — the listeners, for the rules and the capture form.
* :func:`sockets_summary` — what ``ss -ltn``, ``ss -tn state syn-recv``, ``ss -tan`` and
  ``ss -ti`` would tell inside the namespace, in one frozen :class:`SocketsSummary`: each
  listener's accept queue against its backlog and its SYN-RECV count, sockets counted by
  state (TIME-WAIT included), and connections with their retransmits, RTT and cwnd grouped by
  peer address, worst first. One call per tick for the sockets view; decoded by
  :mod:`tui.core.sockdiag` (a few µs a socket).

For a LISTEN socket sock_diag reports the accept queue's current length as ``idiag_rqueue``
and the backlog it was given — ``min(listen(backlog), net.core.somaxconn)`` — as
``idiag_wqueue``. ``/proc/net/tcp`` has the queue length (``rx_queue``) but not the backlog:
on this kernel its ``tx_queue`` is 0 for a listener (checked in tests/test_sockets.py). A
queue above its backlog is what ListenOverflows counts.

Read with netlink sock_diag (pyroute2's DiagSocket) from a thread inside the namespace; if
netlink fails we fall back to parsing ``/proc/thread-self/net/tcp{,6}`` on that same thread.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from dataclasses import dataclass

from .namespaces import NetNS
from .netns import NetnsReader, run_in_namespace, thread_ns_inode
from .sockdiag import STATE_NAMES, DiagSocket, dump_all

__all__ = [
    "Connection",
    "ListenSocket",
    "Listener",
    "PeerGroup",
    "SocketsSummary",
    "listening_sockets",
    "parse_proc_net_tcp",
    "read_listening_here",
    "read_summary_here",
    "sockets_summary",
    "summarize_sockets",
]

TCP_LISTEN = 10  # kernel TCP_LISTEN; "0A" in /proc/net/tcp


@dataclass(frozen=True, slots=True)
class ListenSocket:
    family: str  # "ipv4" | "ipv6"
    address: str
    port: int
    accept_queue: int  # connections completed, waiting for accept()
    # the queue's limit, min(listen() backlog, somaxconn at listen() time); None when only
    # /proc/net/tcp could be read: it prints 0 there for a listener, only sock_diag has it
    backlog: int | None
    inode: int = 0
    uid: int = 0

    @property
    def endpoint(self) -> str:
        return f"[{self.address}]:{self.port}" if self.family == "ipv6" else f"{self.address}:{self.port}"

    @property
    def fill(self) -> float | None:
        if self.backlog is None:
            return None
        if self.backlog <= 0:  # listen(0): one connection may wait; an empty queue is not full
            return 1.0 if self.accept_queue else 0.0
        return self.accept_queue / self.backlog

    @property
    def full(self) -> bool:
        # at its backlog: the kernel drops once the queue is *above* it, so backlog+1 is
        # possible; an empty queue is never full (listen(0) has backlog 0)
        return self.backlog is not None and self.accept_queue > 0 and self.accept_queue >= self.backlog

    def near_full(self, threshold: float = 0.8) -> bool:
        fill = self.fill
        return fill is not None and (self.full or fill >= threshold)


def _diag_listeners() -> list[ListenSocket]:
    from pyroute2 import DiagSocket

    out: list[ListenSocket] = []
    with DiagSocket() as ds:
        ds.bind()
        for fam, name in ((socket.AF_INET, "ipv4"), (socket.AF_INET6, "ipv6")):
            for m in ds.get_sock_stats(family=fam, states=1 << TCP_LISTEN):
                out.append(
                    ListenSocket(
                        family=name,
                        address=str(m["idiag_src"]),
                        port=int(m["idiag_sport"]),
                        accept_queue=int(m["idiag_rqueue"]),
                        backlog=int(m["idiag_wqueue"]),
                        inode=int(m["idiag_inode"]),
                        uid=int(m["idiag_uid"]),
                    )
                )
    return out


def _hex_v4(h: str) -> str:
    # /proc/net/tcp prints the address as a host-order u32 in hex (little-endian here)
    return socket.inet_ntop(socket.AF_INET, int(h, 16).to_bytes(4, "little"))


def _hex_v6(h: str) -> str:
    raw = b"".join(int(h[i : i + 8], 16).to_bytes(4, "little") for i in range(0, 32, 8))
    return socket.inet_ntop(socket.AF_INET6, raw)


def parse_proc_net_tcp(text: str, family: str = "ipv4") -> list[ListenSocket]:
    """LISTEN sockets of a ``/proc/net/tcp`` (or ``tcp6``) text; other states are skipped."""
    out: list[ListenSocket] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 10 or f[3] != "0A":
            continue
        addr, _, port = f[1].partition(":")
        _tx, _, rx = f[4].partition(":")
        try:
            out.append(
                ListenSocket(
                    family=family,
                    address=_hex_v6(addr) if family == "ipv6" else _hex_v4(addr),
                    port=int(port, 16),
                    accept_queue=int(rx, 16),
                    backlog=None,  # tx_queue is write_seq - snd_una, 0 for a listener
                    inode=int(f[9]),
                    uid=int(f[7]),
                )
            )
        except ValueError:
            continue  # a line we cannot read is not worth failing the whole list for
    return out


def _proc_listeners(prefix: str = "/proc/thread-self/net") -> list[ListenSocket]:
    out: list[ListenSocket] = []
    for name, fam in (("tcp", "ipv4"), ("tcp6", "ipv6")):
        try:
            with open(f"{prefix}/{name}", encoding="ascii", errors="replace") as f:
                out += parse_proc_net_tcp(f.read(), fam)
        except FileNotFoundError:
            continue  # no IPv6 in this kernel
    return out


def read_listening_here() -> list[ListenSocket]:
    """Listening sockets of the calling thread's namespace: sock_diag, else /proc/net/tcp."""
    # pyroute2 is imported here, not at the top: importing it costs ~0.3 s, and only the
    # diagnosis and the capture form need it, never the first frame
    try:
        from pyroute2.netlink.exceptions import NetlinkError
    except ImportError:
        return sorted(_proc_listeners(), key=lambda s: (s.port, s.family, s.address))
    try:
        socks = _diag_listeners()
    except (ImportError, OSError, NetlinkError):  # netlink refused: /proc has all but the backlog
        socks = _proc_listeners()
    return sorted(socks, key=lambda s: (s.port, s.family, s.address))


def listening_sockets(ns: NetNS, reader: NetnsReader | None = None) -> list[ListenSocket]:
    """Every listening TCP socket in ``ns``. Raises :class:`NamespaceGone` if ``ns`` vanished."""
    return run_in_namespace(ns, read_listening_here, reader=reader)


# --------------------------------------------------------------------------- the summary

MAX_PEERS = 20  # peer groups kept, worst first
MAX_SHOWN_PER_PEER = 5  # connections kept per peer, worst first
STATE_ORDER = ("ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK",
               "CLOSING", "LISTEN", "UNCONN")
_TCP_LISTEN, _TCP_SYN_RECV, _TCP_TIME_WAIT = 10, 3, 6
_WILDCARD = ("0.0.0.0", "::")


@dataclass(frozen=True, slots=True)
class Listener:
    """A listening socket as ``ss -ltn`` shows it, and its half-open connections."""

    family: str  # "ipv4" | "ipv6"
    address: str
    port: int
    accept_queue: int  # ss Recv-Q: completed connections not yet accept()ed
    backlog: int  # ss Send-Q: min(listen() backlog, somaxconn at listen() time)
    syn_recv: int  # request sockets for it (`ss -tn state syn-recv`): SYN-ACK sent, no ACK yet

    @property
    def endpoint(self) -> str:
        return f"[{self.address}]:{self.port}" if self.family == "ipv6" else f"{self.address}:{self.port}"

    @property
    def full(self) -> bool:
        # the kernel drops once the queue is above the backlog: at it, the next one overflows
        return self.accept_queue > 0 and self.accept_queue >= self.backlog


@dataclass(frozen=True, slots=True)
class Connection:
    """One connection's ``ss -ti`` numbers (times in ms, as ss prints them)."""

    state: str  # "ESTAB", "SYN-SENT", ...
    local: str  # "198.51.100.1:8080"
    peer_port: int
    retrans: int  # unacknowledged retransmitted segments now (ss retrans:N/…)
    total_retrans: int  # over the connection's life (ss retrans:…/N)
    rtt_ms: float
    rttvar_ms: float
    cwnd: int
    rto_ms: float
    backoff: int  # RTO backoffs in a row: it is waiting out a timeout now
    unacked: int
    lost: int
    inode: int = 0

    def ss_text(self) -> str:
        """The fields as ``ss -ti`` prints them (rto, rtt, cwnd, retrans when non-zero)."""
        parts = [f"rto:{self.rto_ms:g}"] + ([f"backoff:{self.backoff}"] if self.backoff else [])
        parts += [f"rtt:{self.rtt_ms:g}/{self.rttvar_ms:g}", f"cwnd:{self.cwnd}"]
        if self.unacked:
            parts.append(f"unacked:{self.unacked}")
        if self.retrans or self.total_retrans:
            parts.append(f"retrans:{self.retrans}/{self.total_retrans}")
        if self.lost:
            parts.append(f"lost:{self.lost}")
        return " ".join(parts)

    def as_dict(self) -> dict:
        return {"state": self.state, "local": self.local, "peer_port": self.peer_port, "retrans": self.retrans,
                "total_retrans": self.total_retrans, "rtt_ms": self.rtt_ms, "rttvar_ms": self.rttvar_ms,
                "cwnd": self.cwnd, "rto_ms": self.rto_ms, "backoff": self.backoff, "unacked": self.unacked,
                "lost": self.lost}


@dataclass(frozen=True, slots=True)
class PeerGroup:
    """Every connection of the namespace to one peer address, summed; the worst few kept."""

    address: str
    connections: int
    retrans: int  # sum over its connections of retransmits not yet acknowledged
    total_retrans: int  # sum of the connections' lifetime retransmits
    backoff_max: int
    rtt_ms_max: float
    cwnd_min: int
    states: tuple[tuple[str, int], ...]  # its connections by state
    worst: tuple[Connection, ...]  # up to MAX_SHOWN_PER_PEER, worst first

    def as_dict(self) -> dict:
        return {"address": self.address, "connections": self.connections, "retrans": self.retrans,
                "total_retrans": self.total_retrans, "backoff_max": self.backoff_max,
                "rtt_ms_max": self.rtt_ms_max, "cwnd_min": self.cwnd_min, "states": dict(self.states),
                "worst": [c.as_dict() for c in self.worst]}


@dataclass(frozen=True, slots=True)
class SocketsSummary:
    """A namespace's TCP sockets at one moment: what the sockets view shows each tick."""

    ns_inode: int
    time: float  # wall clock of the read
    listeners: tuple[Listener, ...]  # by port
    states: tuple[tuple[str, int], ...]  # sockets by state, in ss's order, non-zero only
    total: int  # every TCP socket (all states)
    peers: tuple[PeerGroup, ...]  # worst first, at most MAX_PEERS
    peers_total: int  # peer addresses before the cut
    connections: int  # connections grouped (every state with a tcp_info, LISTEN aside)

    def state_count(self, name: str) -> int:
        return dict(self.states).get(name, 0)

    def as_dict(self) -> dict:
        return {
            "listeners": [{"endpoint": x.endpoint, "family": x.family, "address": x.address, "port": x.port,
                           "accept_queue": x.accept_queue, "backlog": x.backlog, "full": x.full,
                           "syn_recv": x.syn_recv} for x in self.listeners],
            "states": dict(self.states),
            "total": self.total,
            "connections": self.connections,
            "peers": [p.as_dict() for p in self.peers],
            "peers_total": self.peers_total,
        }


def _plain(address: str) -> str:
    """``::ffff:198.51.100.2`` -> ``198.51.100.2``: one peer, whichever socket family reached it."""
    return address[7:] if address.startswith("::ffff:") and "." in address else address


def _worst_key(s: DiagSocket) -> tuple:
    i = s.info
    return (i.total_retrans, i.backoff, i.retrans, i.rtt_us)  # type: ignore[union-attr]


def _connection(s: DiagSocket) -> Connection:
    i = s.info
    assert i is not None
    local = f"[{s.src}]:{s.sport}" if ":" in s.src else f"{s.src}:{s.sport}"
    return Connection(STATE_NAMES.get(s.state, str(s.state)), local, s.dport, i.retrans, i.total_retrans,
                      i.rtt_us / 1000, i.rttvar_us / 1000, i.cwnd, i.rto_us / 1000, i.backoff, i.unacked, i.lost,
                      s.inode)


def summarize_sockets(socks: list[DiagSocket], ns_inode: int = 0, now: float | None = None) -> SocketsSummary:
    """The summary of a sock_diag dump (pure: tests hand it recorded dumps too)."""
    states = Counter(STATE_NAMES.get(s.state, str(s.state)) for s in socks)
    listen = [s for s in socks if s.state == _TCP_LISTEN]
    syn_recv: Counter = Counter()
    for s in socks:
        if s.state == _TCP_SYN_RECV and s.info is None:  # request sockets: half-open
            syn_recv[_listener_of(s, listen)] += 1
    listeners = tuple(sorted(
        (Listener("ipv6" if s.family == socket.AF_INET6 else "ipv4", s.src, s.sport, s.rqueue, s.wqueue,
                  syn_recv.get(id(s), 0)) for s in listen),
        key=lambda x: (x.port, x.family, x.address)))
    # sums per peer over plain tuples; a Connection is made only for the few shown (a busy
    # pod has thousands of sockets, and the view asks every tick)
    by_peer: dict[str, list[DiagSocket]] = {}
    for s in socks:
        if s.info is not None and s.state != _TCP_LISTEN:
            by_peer.setdefault(_plain(s.dst), []).append(s)
    groups = []
    for addr, members in by_peer.items():
        infos = [s.info for s in members]
        members.sort(key=_worst_key, reverse=True)
        groups.append(PeerGroup(
            addr, len(members), sum(i.retrans for i in infos), sum(i.total_retrans for i in infos),  # type: ignore[union-attr]
            max(i.backoff for i in infos), max(i.rtt_us for i in infos) / 1000,  # type: ignore[union-attr]
            min(i.cwnd for i in infos),  # type: ignore[union-attr]
            tuple(sorted(Counter(STATE_NAMES.get(s.state, str(s.state)) for s in members).items(),
                         key=lambda kv: _state_rank(kv[0]))),
            tuple(_connection(s) for s in members[:MAX_SHOWN_PER_PEER])))
    groups.sort(key=lambda g: (g.total_retrans, g.backoff_max, g.retrans, g.rtt_ms_max, g.connections), reverse=True)
    return SocketsSummary(
        ns_inode, time.time() if now is None else now, listeners,
        tuple(sorted(states.items(), key=lambda kv: _state_rank(kv[0]))), len(socks),
        tuple(groups[:MAX_PEERS]), len(groups), sum(g.connections for g in groups))


def _state_rank(name: str) -> int:
    return STATE_ORDER.index(name) if name in STATE_ORDER else len(STATE_ORDER)


def _listener_of(req: DiagSocket, listeners: list[DiagSocket]) -> int:
    """The listener a request socket belongs to (its id, 0 if none is left): same port, and
    the same address, or a wildcard of the same family, or the dual-stack ``::``."""
    same_port = [x for x in listeners if x.sport == req.sport]
    addr = _plain(req.src)
    for x in same_port:
        if _plain(x.src) == addr:
            return id(x)
    for x in same_port:
        if x.src in _WILDCARD and x.family == req.family:
            return id(x)
    for x in same_port:
        if x.src == "::":
            return id(x)
    return 0


def read_summary_here() -> SocketsSummary:
    """The summary of the calling thread's namespace (call it on the setns thread)."""
    return summarize_sockets(dump_all(), thread_ns_inode())


def sockets_summary(ns: NetNS, reader: NetnsReader | None = None) -> SocketsSummary:
    """The sockets of ``ns``, read inside it: one call, one frozen record, a few ms for a few
    thousand sockets. Raises :class:`NamespaceGone` if ``ns`` vanished, OSError if sock_diag
    refuses."""
    if ns.inode == thread_ns_inode():  # our own (the host, usually): no setns, so no root needed
        return read_summary_here()
    return run_in_namespace(ns, read_summary_here, reader=reader)
