"""The counters a TCP triager reads, grouped, with the `netstat -s` wording beside them.

The wording is what net-tools' ``netstat -s`` prints (so an engineer who knows
"SYNs to LISTEN sockets dropped" finds it); the key is the nstat name. A counter that is
not in the catalog still shows up (group "other") with its nstat name only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Group", "CounterInfo", "CATALOG", "GROUP_ORDER", "info", "group_of", "keys_in"]


class Group(StrEnum):
    SYN = "SYN trouble"
    DELAYED_ACK = "delayed ACKs"
    RETRANS = "retransmits"
    RESETS = "resets/aborts"
    TIME_WAIT = "time-wait"
    OTHER = "other"


GROUP_ORDER: tuple[Group, ...] = (
    Group.SYN,
    Group.DELAYED_ACK,
    Group.RETRANS,
    Group.RESETS,
    Group.TIME_WAIT,
    Group.OTHER,
)


@dataclass(frozen=True, slots=True)
class CounterInfo:
    key: str  # nstat name, "TcpExt.ListenDrops"
    group: Group
    wording: str  # netstat -s wording; "" where netstat -s prints the bare nstat name
    note: str = ""  # one line of what it means for a triager


def _c(key: str, group: Group, wording: str, note: str = "") -> CounterInfo:
    return CounterInfo(key, group, wording, note)


_S, _D, _R, _X, _T = Group.SYN, Group.DELAYED_ACK, Group.RETRANS, Group.RESETS, Group.TIME_WAIT

CATALOG: dict[str, CounterInfo] = {
    c.key: c
    for c in (
        # SYN trouble
        _c("TcpExt.ListenDrops", _S, "SYNs to LISTEN sockets dropped", "any drop of an incoming SYN or ACK at a listener"),
        _c("TcpExt.ListenOverflows", _S, "times the listen queue of a socket overflowed", "accept queue full: the application is not accepting fast enough"),
        _c("TcpExt.PAWSPassive", _S, "passive connections rejected because of time stamp", "SYN rejected by tcp_tw_recycle's per-host timestamp check (kernels < 4.12)"),
        _c("TcpExt.PAWSActive", _S, "active connections rejected because of time stamp"),
        _c("TcpExt.PAWSTimewait", _S, "", "SYN met a TIME_WAIT socket with an older timestamp (NAT + timestamps)"),
        _c("TcpExt.PAWSEstab", _S, "packets rejects in established connections because of timestamp"),
        _c("TcpExt.PAWSOldAck", _S, "", "ACK rejected: its timestamp is older than the last one seen"),
        _c("TcpExt.TSEcrRejected", _S, "", "packet rejected: its timestamp echo reply is invalid"),
        _c("TcpExt.TCPReqQFullDrop", _S, "", "SYN queue full (its limit is the listen backlog, min(listen(), somaxconn)) and no syncookies"),
        _c("TcpExt.TCPReqQFullDoCookies", _S, "", "SYN queue full: answered with a SYN cookie"),
        _c("TcpExt.SyncookiesSent", _S, "SYN cookies sent"),
        _c("TcpExt.SyncookiesRecv", _S, "SYN cookies received"),
        _c("TcpExt.SyncookiesFailed", _S, "invalid SYN cookies received"),
        _c("TcpExt.TCPSYNChallenge", _S, "", "challenge ACK sent for a SYN on an existing connection"),
        _c("TcpExt.TCPSynRetrans", _S, "", "a SYN (or, on a listener, a SYN-ACK) was retransmitted: the other side did not answer"),
        # delayed ACKs
        _c("TcpExt.DelayedACKs", _D, "delayed acks sent"),
        _c("TcpExt.DelayedACKLocked", _D, "delayed acks further delayed because of locked socket"),
        _c("TcpExt.DelayedACKLost", _D, "Quick ack mode was activated N times"),
        # retransmits
        _c("Tcp.RetransSegs", _R, "segments retransmitted"),
        _c("TcpExt.TCPTimeouts", _R, "other TCP timeouts"),
        _c("TcpExt.TCPFastRetrans", _R, "fast retransmits"),
        _c("TcpExt.TCPLostRetransmit", _R, "", "a retransmitted segment was lost again"),
        _c("TcpExt.TCPSlowStartRetrans", _R, "retransmits in slow start"),
        # resets and aborts
        _c("Tcp.AttemptFails", _X, "failed connection attempts"),
        _c("Tcp.EstabResets", _X, "connection resets received"),
        _c("Tcp.OutRsts", _X, "resets sent"),
        _c("TcpExt.TCPAbortOnTimeout", _X, "connections aborted due to timeout"),
        _c("TcpExt.TCPAbortOnData", _X, "connections reset due to unexpected data"),
        _c("TcpExt.TCPAbortOnClose", _X, "connections reset due to early user close"),
        _c("TcpExt.TCPAbortOnMemory", _X, "connections aborted due to memory pressure"),
        _c("TcpExt.TCPChallengeACK", _X, "", "challenge ACK sent (RFC 5961)"),
        # time-wait
        _c("TcpExt.TW", _T, "TCP sockets finished time wait in fast timer"),
        _c("TcpExt.TWRecycled", _T, "time wait sockets recycled by time stamp"),
        _c("TcpExt.TWKilled", _T, "TCP sockets finished time wait in slow timer"),
        _c("TcpExt.TCPTimeWaitOverflow", _T, "", "TIME_WAIT socket not created: tcp_max_tw_buckets reached"),
        # context, shown in "other" with familiar wording
        _c("Tcp.ActiveOpens", Group.OTHER, "active connection openings"),
        _c("Tcp.PassiveOpens", Group.OTHER, "passive connection openings"),
        _c("Tcp.CurrEstab", Group.OTHER, "connections established"),
        _c("Tcp.InSegs", Group.OTHER, "segments received"),
        _c("Tcp.OutSegs", Group.OTHER, "segments sent out"),
        _c("Tcp.InErrs", Group.OTHER, "bad segments received"),
    )
}


def info(key: str) -> CounterInfo:
    """Catalog entry for a key; unknown keys are "other" with no wording."""
    return CATALOG.get(key) or CounterInfo(key, Group.OTHER, "")


def group_of(key: str) -> Group:
    c = CATALOG.get(key)
    return c.group if c else Group.OTHER


def keys_in(group: Group) -> tuple[str, ...]:
    return tuple(k for k, c in CATALOG.items() if c.group is group)
