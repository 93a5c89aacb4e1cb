"""The scripted node's TCP sockets, as sock_diag dumps them, for the sockets view.

The scripted source (tests, snapshots, screenshots) must hand the sockets view a summary of
exactly the live shape, so nothing here builds a :class:`~tui.core.sockets.SocketsSummary`
by hand: each namespace gets a dump of :class:`~tui.core.sockdiag.DiagSocket` records, the
tuples the real decoder makes from the kernel's ``inet_diag_msg`` and ``tcp_info``, and the
real :func:`~tui.core.sockets.summarize_sockets` turns it into the summary (grouping by peer,
request sockets under their listener, worst first).

The story follows the scripted counters (tui/source.py ``_Actor``): during the incident pod's
stalls (8 s in every 30) its listener on port 888 sits at its backlog of 128 with half-open
connections waiting, and the gateway's connections to it retransmit; the gateway's SYNs to
the Service's ClusterIP back off. Deterministic: every number comes from the namespace's
behaviour and the step.
"""

from __future__ import annotations

import random
import socket

from tui.core.namespaces import NetNS
from tui.core.sockdiag import DiagSocket, TcpInfo
from tui.core.sockets import SocketsSummary, summarize_sockets

__all__ = ["scripted_dump", "scripted_sockets"]

ESTAB, SYN_SENT, SYN_RECV, TIME_WAIT, LISTEN = 1, 2, 3, 6, 10
V4, V6 = socket.AF_INET, socket.AF_INET6
# pod addresses on the scripted node (10.244.0.0/24), the web Service's ClusterIP
POD_IP = {"incident": "10.244.0.12", "client": "10.244.0.17", "calm": "10.244.0.23", "busy": "172.31.8.14",
          "old-burst": "172.17.0.4", "udp": "10.244.0.5"}
WEB_SERVICE = "10.96.112.40"
_IDLE_INFO = TcpInfo(0, 0, 0, 0, 10, 1_000_000, 0, 0, 0)  # a listener's tcp_info: nothing in flight


def _stall(step: int) -> bool:
    return (step % 30) >= 22  # the scripted counters' stall: 8 s in every 30


def _listen(family: int, address: str, port: int, queue: int, backlog: int) -> DiagSocket:
    return DiagSocket(LISTEN, family, address, port, "::" if family == V6 else "0.0.0.0", 0, queue, backlog, 0,
                      _IDLE_INFO)


def _conn(state: int, src: str, sport: int, dst: str, dport: int, r: random.Random, *, retrans: int = 0,
          total: int = 0, rtt_ms: float = 0.4, cwnd: int = 10, backoff: int = 0) -> DiagSocket:
    rtt_us = int(rtt_ms * 1000)
    rto_us = min(120_000_000, (max(201_000, 200_000 + 4 * rtt_us) // 1000 * 1000) << backoff)  # whole ms, as the kernel
    info = TcpInfo(retrans, total, rtt_us, max(1, rtt_us // 2), cwnd, rto_us, backoff, retrans, 0)
    return DiagSocket(state, V4, src, sport, dst, dport, 0, 0, r.randrange(100_000, 999_999), info)


def _bare(state: int, src: str, sport: int, dst: str, dport: int) -> DiagSocket:
    """TIME-WAIT and request (SYN-RECV) sockets: the kernel gives no tcp_info for them."""
    return DiagSocket(state, V4, src, sport, dst, dport, 0, 0, 0, None)


def scripted_dump(behaviour: str, step: int, seed: int = 0) -> list[DiagSocket]:
    """What sock_diag would list in a namespace of this behaviour at this step."""
    r = random.Random(seed * 1_000_003 + step)
    ip = POD_IP.get(behaviour, "10.244.0.99")
    out: list[DiagSocket] = []
    stall = _stall(step)
    if behaviour == "incident":  # the web pod: nginx on 888, its metrics on 9090
        half = r.randint(9, 16) if stall else 0
        queue = 129 if stall else r.randint(0, 6)
        out += [_listen(V4, "0.0.0.0", 888, queue, 128), _listen(V6, "::", 9090, 0, 4096)]
        gateway = POD_IP["client"]
        for k in range(24):
            lossy = stall and k % 3 == 0
            out.append(_conn(ESTAB, ip, 888, gateway, 41000 + k, r, retrans=r.randint(1, 2) if lossy else 0,
                             total=(r.randint(3, 9) if lossy else 0) + k % 2, rtt_ms=r.uniform(180, 420) if lossy
                             else r.uniform(0.2, 0.9), cwnd=2 if lossy else 10, backoff=1 if lossy and k % 2 else 0))
        for k in range(6):
            out.append(_conn(ESTAB, ip, 888, "10.244.0.23", 52000 + k, r, rtt_ms=r.uniform(0.2, 0.6)))
        out.append(_conn(ESTAB, ip, 9090, "10.244.0.2", 60110, r, rtt_ms=0.3))
        out += [_bare(SYN_RECV, ip, 888, gateway, 43000 + k) for k in range(half)]
        out += [_bare(TIME_WAIT, ip, 888, "10.244.0.23", 53000 + k) for k in range(31 + step % 7)]
    elif behaviour == "client":  # the gateway: connections to web through the Service
        out.append(_listen(V4, "0.0.0.0", 8443, 0, 4096))
        for k in range(24):
            lossy = stall and k % 3 == 0
            out.append(_conn(ESTAB, ip, 41000 + k, WEB_SERVICE, 888, r, retrans=r.randint(1, 2) if lossy else 0,
                             total=(r.randint(2, 7) if lossy else 0), rtt_ms=r.uniform(150, 380) if lossy
                             else r.uniform(0.2, 0.9), cwnd=3 if lossy else 10))
        for k in range(r.randint(3, 6) if stall else 0):  # SYNs nobody answers: they back off
            out.append(_conn(SYN_SENT, ip, 44000 + k, WEB_SERVICE, 888, r, retrans=1, total=k % 3 + 1, rtt_ms=0,
                             cwnd=10, backoff=k % 3 + 1))
        out += [_bare(TIME_WAIT, ip, 45000 + k, WEB_SERVICE, 888) for k in range(12)]
    elif behaviour == "busy":  # the node itself: sshd, the kubelet, a few sessions
        out += [_listen(V4, "0.0.0.0", 22, 0, 128), _listen(V6, "::", 22, 0, 128),
                _listen(V4, "127.0.0.1", 10248, 0, 4096), _listen(V6, "::", 10250, 0, 4096)]
        out.append(_conn(ESTAB, ip, 22, "198.51.100.77", 50522, r, rtt_ms=r.uniform(20, 30), cwnd=10))
        for k in range(8):
            out.append(_conn(ESTAB, ip, 10250, "10.0.4.2", 39000 + k, r, rtt_ms=r.uniform(0.8, 1.6)))
        out += [_bare(TIME_WAIT, ip, 10250, "10.0.4.2", 38000 + k) for k in range(5)]
    elif behaviour in ("calm", "old-burst"):
        port = 6379 if behaviour == "old-burst" else 8000
        out.append(_listen(V4, "0.0.0.0", port, 0, 511 if behaviour == "old-burst" else 128))
        for k in range(3):
            out.append(_conn(ESTAB, ip, port, "10.244.0.12", 52000 + k, r, rtt_ms=r.uniform(0.2, 0.6)))
    elif behaviour == "udp":  # coredns: TCP only for its health and metrics
        out += [_listen(V6, "::", 8080, 0, 4096), _listen(V6, "::", 9153, 0, 4096)]
    return out  # idle: no TCP socket at all


def scripted_sockets(ns: NetNS, behaviour: str, step: int, now: float) -> SocketsSummary:
    """The namespace's summary at this step, through the real summarize_sockets."""
    return summarize_sockets(scripted_dump(behaviour, step, seed=ns.inode % 997), ns.inode, now)
