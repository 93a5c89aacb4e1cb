"""TCP sockets of the calling thread's namespace, from netlink sock_diag, decoded with struct.

What ``ss -tan`` and ``ss -ti`` read: one ``SOCK_DIAG_BY_FAMILY`` dump per address family,
each socket an ``inet_diag_msg`` (state, addresses, queues) and, for full sockets, its
``tcp_info`` (retransmits, RTT, cwnd). Request sockets (half-open, ``TCP_NEW_SYN_RECV``) are
reported as SYN-RECV and TIME-WAIT sockets as TIME-WAIT, as ``ss`` shows them.

Why not pyroute2's DiagSocket (which tui/core/sockets.py uses for the listeners): it decodes
every message into Python objects, 200-560 µs a socket here, so a pod with 4000 connections
took over a second per read. The sockets view refreshes every tick, so this module decodes
only the fields it needs with ``struct``: the whole summary of 2000 sockets took 30 ms, 14x
less than pyroute2's dump alone (bench/bench_sockets.py measures both in one run).

Runs in whatever namespace the calling thread is in: call it on the setns thread
(:func:`tui.core.netns.run_in_namespace`).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import NamedTuple

__all__ = ["ALL_STATES", "STATE_NAMES", "DiagSocket", "TcpInfo", "dump_all", "dump_tcp"]

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
NLMSG_ERROR = 2
NLMSG_DONE = 3
INET_DIAG_INFO = 2  # attribute type of tcp_info; requested with bit (INET_DIAG_INFO - 1)
ALL_STATES = 0xFFF  # TCP_ESTABLISHED (1) .. TCP_NEW_SYN_RECV (12), as `ss -a`

# the kernel's TCP states, named as ss prints them (TCP_CLOSE is "UNCONN" there)
STATE_NAMES = {1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2", 6: "TIME-WAIT",
               7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING", 12: "SYN-RECV"}

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
# inet_diag_req_v2: family, protocol, ext, pad, states; then inet_diag_sockid (48 bytes, zero)
_REQ = struct.Struct("=BBBxI48x")
# inet_diag_msg: family, state, timer, retrans; sockid: sport, dport (big-endian), src, dst,
# if, cookie[2]; then expires, rqueue, wqueue, uid, inode
_MSG = struct.Struct("=BBBBHH16s16sIIIIIIII")
_RTA = struct.Struct("=HH")
# struct tcp_info up to tcpi_total_retrans (Linux 2.6.x on): 8 u8 then 24 u32
_TCPI = struct.Struct("=8B24I")
_RECV = 1 << 17


class TcpInfo(NamedTuple):
    """The tcp_info fields ``ss -ti`` prints (times in µs, as the kernel gives them).

    NamedTuples, not dataclasses, for these two: a dump makes one per socket, and a tuple is
    made several times faster than a frozen dataclass."""

    retrans: int  # segments retransmitted and not yet acknowledged (ss: retrans:N/…)
    total_retrans: int  # retransmissions over the connection's life (ss: retrans:…/N)
    rtt_us: int
    rttvar_us: int
    cwnd: int
    rto_us: int
    backoff: int  # RTO backoffs in a row: >0 means it is waiting out a timeout now
    unacked: int
    lost: int


class DiagSocket(NamedTuple):
    state: int  # STATE_NAMES
    family: int  # socket.AF_INET / AF_INET6
    src: str
    sport: int
    dst: str
    dport: int
    rqueue: int  # LISTEN: the accept queue now; else bytes not yet read
    wqueue: int  # LISTEN: the backlog; else bytes not yet acknowledged
    inode: int
    info: TcpInfo | None  # None where the kernel gives none: TIME-WAIT and request (SYN-RECV) sockets


def dump_tcp(family: int, states: int = ALL_STATES, with_info: bool = True) -> list[DiagSocket]:
    """Every TCP socket of ``family`` in the states bitmask, in this thread's namespace.

    Raises OSError when netlink refuses (not root: sockets of other users are still listed,
    their tcp_info too; a kernel without inet_diag: ENOENT).
    """
    fd = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
    try:
        ext = 1 << (INET_DIAG_INFO - 1) if with_info else 0
        body = _REQ.pack(family, socket.IPPROTO_TCP, ext, states)
        fd.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        out: list[DiagSocket] = []
        while True:
            buf = fd.recv(_RECV)
            if not buf:
                return out
            if _decode(buf, out):
                return out
    finally:
        fd.close()


def _decode(buf: bytes, out: list[DiagSocket]) -> bool:
    """Append the sockets of one netlink datagram; True at the end of the dump."""
    off, end = 0, len(buf)
    ntop, af6 = socket.inet_ntop, socket.AF_INET6
    ntohs = socket.ntohs
    while off + _NLMSGHDR.size <= end:
        length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(buf, off)
        if length < _NLMSGHDR.size:
            return True  # malformed: stop rather than loop
        if kind == NLMSG_DONE:
            return True
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", buf, off + _NLMSGHDR.size)
            if code:
                raise OSError(-code, f"sock_diag: {os.strerror(-code)}")
            return True
        if kind == SOCK_DIAG_BY_FAMILY:
            m = off + _NLMSGHDR.size
            fam, state, _timer, _retrans, sport, dport, src, dst, _if, _c0, _c1, _exp, rq, wq, _uid, inode = \
                _MSG.unpack_from(buf, m)
            if fam == af6:
                s, d = ntop(af6, src), ntop(af6, dst)
            else:
                s, d = ntop(socket.AF_INET, src[:4]), ntop(socket.AF_INET, dst[:4])
            info = None
            a, a_end = m + _MSG.size, off + length
            while a + _RTA.size <= a_end:
                alen, atype = _RTA.unpack_from(buf, a)
                if alen < _RTA.size:
                    break
                if atype == INET_DIAG_INFO and alen - _RTA.size >= _TCPI.size:
                    info = _tcp_info(buf, a + _RTA.size)
                a += (alen + 3) & ~3
            out.append(DiagSocket(state, fam, s, ntohs(sport), d, ntohs(dport), rq, wq, inode, info))
        off += (length + 3) & ~3
    return False


def _tcp_info(buf: bytes, at: int) -> TcpInfo:
    v = _TCPI.unpack_from(buf, at)
    # v: 0 state, 1 ca_state, 2 retransmits, 3 probes, 4 backoff, 5 options, 6 wscale, 7 flags,
    # 8 rto, 9 ato, 10 snd_mss, 11 rcv_mss, 12 unacked, 13 sacked, 14 lost, 15 retrans,
    # 16 fackets, 17-20 last_*, 21 pmtu, 22 rcv_ssthresh, 23 rtt, 24 rttvar, 25 snd_ssthresh,
    # 26 snd_cwnd, 27 advmss, 28 reordering, 29 rcv_rtt, 30 rcv_space, 31 total_retrans
    return TcpInfo(v[15], v[31], v[23], v[24], v[26], v[8], v[4], v[12], v[14])


def dump_all(with_info: bool = True) -> list[DiagSocket]:
    """IPv4 and IPv6 TCP sockets of every state; IPv6 is skipped on a kernel without it."""
    out = dump_tcp(socket.AF_INET, with_info=with_info)
    try:
        out += dump_tcp(socket.AF_INET6, with_info=with_info)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.EAFNOSUPPORT, errno.EINVAL):
            raise
    return out
