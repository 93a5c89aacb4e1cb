"""Listening TCP sockets of one namespace, with their accept queues.

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
from dataclasses import dataclass

from .namespaces import NetNS
from .nsexec import NamespaceGone, run_in_namespace
from .sampler import NetnsReader

__all__ = ["ListenSocket", "NamespaceGone", "listening_sockets", "parse_proc_net_tcp", "read_listening_here"]

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
