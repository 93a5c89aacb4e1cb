"""The counters a TCP triager reads, grouped, with the `netstat -s` wording beside them.

``wording`` is what net-tools' ``netstat -s`` prints for the counter (checked against the
installed netstat by tests/test_catalog_netstat.py), so an engineer who knows "SYNs to
LISTEN sockets dropped" finds it; ``N`` stands where netstat puts the count inside the
sentence ("Quick ack mode was activated N times"), otherwise the count comes first. ""
where netstat -s prints the bare name (``PAWSTimewait: 19``): net-tools has no wording for
it, or (TCPTimeouts, TWKilled) its table lists one that its lookup never finds.

``note`` says what the kernel counts, ``cause`` what usually makes it move (it reads after
"Usually: "): shown together under the detail panel for the focused counter. They describe Linux 6.x (checked
against the kernel source); older behaviour is named where it differs. A counter that is
not in the catalog still shows up (group "other") with its nstat name only.

The Conntrack group (``/proc/net/stat/nf_conntrack``, see tui/core/conntrack.py) is not in
``netstat -s`` at all: its wording is synscope's own, in netstat's style, and each note names
the field as ``conntrack -S`` prints it where that differs. Every ``Conntrack.*`` key is in
that group, catalogued or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Group", "CounterInfo", "CATALOG", "GROUP_ORDER", "info", "group_of", "keys_in", "netstat_line"]


class Group(StrEnum):
    SYN = "SYN trouble"
    DELAYED_ACK = "delayed ACKs"
    RETRANS = "retransmits"
    RESETS = "resets/aborts"
    TIME_WAIT = "time-wait"
    CONNTRACK = "conntrack"
    OTHER = "other"


GROUP_ORDER: tuple[Group, ...] = (
    Group.SYN,
    Group.DELAYED_ACK,
    Group.RETRANS,
    Group.RESETS,
    Group.TIME_WAIT,
    Group.CONNTRACK,
    Group.OTHER,
)


@dataclass(frozen=True, slots=True)
class CounterInfo:
    key: str  # nstat name, "TcpExt.ListenDrops"
    group: Group
    wording: str  # netstat -s wording; "" where netstat -s prints the bare name
    note: str = ""  # one line: what the kernel counts
    cause: str = ""  # what usually makes it move; reads after "Usually: "


def netstat_line(c: CounterInfo, value: int | str = "N") -> str:
    """The line ``netstat -s`` prints for the counter: "24 SYNs to LISTEN sockets dropped",
    "Quick ack mode was activated 22 times", or "PAWSTimewait: 19" when it has no wording."""
    if not c.wording:
        return f"{c.key.partition('.')[2]}: {value}"
    if " N " in f" {c.wording} ":
        return f" {c.wording} ".replace(" N ", f" {value} ", 1).strip()
    return f"{value} {c.wording}"


def _c(key: str, group: Group, wording: str, note: str = "", cause: str = "") -> CounterInfo:
    return CounterInfo(key, group, wording, note, cause)


_S, _D, _R, _X, _T, _O = Group.SYN, Group.DELAYED_ACK, Group.RETRANS, Group.RESETS, Group.TIME_WAIT, Group.OTHER
_C = Group.CONNTRACK

CATALOG: dict[str, CounterInfo] = {
    c.key: c
    for c in (
        # SYN trouble
        _c("TcpExt.ListenDrops", _S, "SYNs to LISTEN sockets dropped",
           "A listener dropped an incoming SYN or handshake ACK, for any reason.",
           "a full accept queue (ListenOverflows too), else a full SYN queue without syncookies; "
           "before Linux 4.12 also tcp_tw_recycle (PAWSPassive)."),
        _c("TcpExt.ListenOverflows", _S, "times the listen queue of a socket overflowed",
           "A SYN or handshake ACK found the listener's accept queue full and was dropped.",
           "the application calls accept() too slowly (busy, blocked, paused), or its backlog is "
           "small: min(its listen() backlog, net.core.somaxconn)."),
        _c("TcpExt.PAWSPassive", _S, "passive connections rejected because of time stamp",
           "A SYN was refused: its timestamp was older than the last one from that host "
           "(kernels before 4.12).",
           "tcp_tw_recycle=1 with clients behind NAT, whose timestamps differ from host to host: "
           "set net.ipv4.tcp_tw_recycle=0."),
        _c("TcpExt.PAWSActive", _S, "active connections rejected because of time stamp",
           "This side's connect() got a SYN-ACK whose timestamp echo does not match its SYN.",
           "a stale or duplicated SYN-ACK (rare), e.g. a NAT or middlebox mixing up two "
           "connections."),
        _c("TcpExt.PAWSTimewait", _S, "",
           "A segment, mostly a new SYN, met a TIME_WAIT socket on its ports with a newer "
           "timestamp: dropped.",
           "clients behind one NAT address, each with its own timestamp clock, reusing ports held "
           "in TIME_WAIT here; they retry."),
        _c("TcpExt.PAWSEstab", _S, "packets rejected in established connections because of timestamp",
           "A segment of a connection carried an older timestamp than the last one (PAWS) and "
           "was dropped.",
           "old duplicates delayed in the network, or a NAT putting two hosts on one address and "
           "port; a few are normal."),
        _c("TcpExt.PAWSOldAck", _S, "",
           "An ACK without data carried an older timestamp than the last one (PAWS) and was "
           "dropped.",
           "old duplicate ACKs, reordered on the way; harmless in small numbers."),
        _c("TcpExt.TSEcrRejected", _S, "",
           "A listener dropped a handshake ACK: its timestamp echo matched none of the SYN-ACKs "
           "it sent.",
           "a stale or forged ACK, or a NAT mixing up two clients' handshakes; the kernel answers "
           "with an ACK."),
        _c("TcpExt.TCPReqQFullDrop", _S, "",
           "A SYN was dropped: the listener's SYN queue was full and syncookies are off.",
           "more half-open connections than the listen backlog, min(listen(), somaxconn): a burst "
           "of connects or a SYN flood."),
        _c("TcpExt.TCPReqQFullDoCookies", _S, "",
           "The listener's SYN queue was full: the SYN was answered with a SYN cookie.",
           "more half-open connections than the listen backlog, min(listen(), somaxconn): a burst "
           "of connects or a SYN flood; connections still open."),
        _c("TcpExt.SyncookiesSent", _S, "SYN cookies sent",
           "SYN-ACKs sent with a SYN cookie instead of a queued half-open connection.",
           "a full SYN queue (TCPReqQFullDoCookies moves too), or net.ipv4.tcp_syncookies=2, "
           "which always sends them."),
        _c("TcpExt.SyncookiesRecv", _S, "SYN cookies received",
           "Handshakes completed from a valid SYN cookie.",
           "clients answering cookie SYN-ACKs (SyncookiesSent); normal during a burst."),
        _c("TcpExt.SyncookiesFailed", _S, "invalid SYN cookies received",
           "An ACK reached a listener with no half-open connection for it, and its cookie did "
           "not check out.",
           "ACKs of handshakes the listener no longer has (expired, restarted), or forged ACKs; "
           "checked only after cookies were sent."),
        _c("TcpExt.TCPSYNChallenge", _S, "",
           "A SYN arrived on an existing connection: a challenge ACK was sent instead (RFC 5961).",
           "a client restarted and reused the same ports, or a NAT gave a busy address and port "
           "to another client."),
        _c("TcpExt.TCPSynRetrans", _S, "",
           "A SYN (or, on a listener, a SYN-ACK) was retransmitted: no answer came in time.",
           "on a client, the server dropped the SYN (full queue, firewall, PAWS) or is "
           "unreachable; on a server, the handshake ACK was lost."),
        # delayed ACKs
        _c("TcpExt.DelayedACKs", _D, "delayed acks sent",
           "The delayed-ACK timer fired: an ACK went out alone, with no reply data to carry it.",
           "normal: the reply comes later or never; with small writes, Nagle plus delayed ACKs "
           "stalls ~40 ms (TCP_NODELAY, or ip route ... quickack 1)."),
        _c("TcpExt.DelayedACKLocked", _D, "delayed acks further delayed because of locked socket",
           "The delayed-ACK timer fired while the application held the socket: the ACK waited.",
           "an application busy on that socket at that moment; many mean long holds under load."),
        _c("TcpExt.DelayedACKLost", _D, "Quick ack mode was activated N times",
           "Data arrived that had already been received: this side switched to quick ACKs.",
           "the peer retransmitted: an ACK was lost or came too late, or the peer timed out too "
           "early."),
        # retransmits
        _c("Tcp.RetransSegs", _R, "segments retransmitted",
           "Segments sent again, of every kind: data, SYN, SYN-ACK and FIN.",
           "loss on the path or in a queue, unanswered SYNs, or spurious timeouts; compare with "
           "OutSegs."),
        _c("TcpExt.TCPTimeouts", _R, "",
           "A retransmission timer expired: nothing was acknowledged for a whole RTO (SYN retries "
           "included).",
           "loss of a window's tail or of a whole window, a peer gone silent, or SYNs nobody "
           "answers."),
        _c("TcpExt.TCPFastRetrans", _R, "fast retransmits",
           "A segment was resent as soon as duplicate ACKs or SACKs showed it lost, before any "
           "timeout.",
           "packet loss on the path or in a full queue while data flows; heavy reordering looks "
           "the same."),
        _c("TcpExt.TCPLostRetransmit", _R, "",
           "A retransmitted segment was found lost again.",
           "heavy or persistent loss (a congested link, a policer): one retransmit is not enough."),
        _c("TcpExt.TCPSlowStartRetrans", _R, "retransmits in slow start",
           "Segments resent after a retransmission timeout, with the window back in slow start.",
           "what follows TCPTimeouts: a whole window lost, or the peer silent for an RTO."),
        # resets and aborts
        _c("Tcp.AttemptFails", _X, "failed connection attempts",
           "Connections that failed in the handshake: refused, timed out, or reset half-open.",
           "connect() to a port nobody listens on (RST), SYN retries used up, or clients "
           "resetting handshakes."),
        _c("Tcp.EstabResets", _X, "connection resets received",
           "Established connections that ended abruptly (a reset or an abort), not with FINs.",
           "a peer sent RST (it crashed or closed with unread data), an idle timeout in a NAT, "
           "firewall or balancer, or an abort."),
        _c("Tcp.OutRsts", _X, "resets sent",
           "Segments sent with the RST flag.",
           "segments to ports nobody listens on, applications closing with unread data or "
           "SO_LINGER 0, aborted connections."),
        _c("TcpExt.EmbryonicRsts", _X, "resets received for embryonic SYN_RECV sockets",
           "A reset (or a SYN) arrived for a half-open connection, after this side's SYN-ACK.",
           "clients giving up mid-handshake, or hosts whose address a SYN flood forged, answering "
           "the SYN-ACK."),
        _c("TcpExt.TCPAbortOnTimeout", _X, "connections aborted due to timeout",
           "Connections given up after too many unanswered retransmissions, keepalives or window "
           "probes.",
           "a peer that vanished or became unreachable (retries last ~15 min with "
           "tcp_retries2=15), or unanswered keepalives."),
        _c("TcpExt.TCPAbortOnData", _X, "connections reset due to unexpected data",
           "This side sent a reset: data came after the application closed (or it closed with "
           "SO_LINGER 0).",
           "a peer still sending after this side closed, e.g. a server closing keep-alive "
           "connections a client still uses."),
        _c("TcpExt.TCPAbortOnClose", _X, "connections reset due to early user close",
           "The application closed a socket with unread data: the kernel reset the connection.",
           "an application closing before it read the whole request or reply (timeouts, errors, "
           "early exit)."),
        _c("TcpExt.TCPAbortOnMemory", _X, "connections aborted due to memory pressure",
           "Connections aborted because TCP ran out of memory or of orphan sockets.",
           "too many orphaned sockets (net.ipv4.tcp_max_orphans) or TCP memory above "
           "net.ipv4.tcp_mem."),
        _c("TcpExt.TCPAbortOnLinger", _X, "connections aborted after user close in linger timeout",
           "Orphaned connections reset when their FIN_WAIT2 linger time ran out.",
           "a peer that never closes its side after this side closed (TCP_LINGER2, "
           "tcp_fin_timeout)."),
        _c("TcpExt.TCPAbortFailed", _X, "times unable to send RST due to no memory",
           "A reset could not be sent: no memory for it.",
           "severe memory pressure on the node."),
        _c("TcpExt.TCPChallengeACK", _X, "",
           "A challenge ACK was sent (RFC 5961) for a doubtful RST, SYN or ACK.",
           "peer restarts or NAT port reuse (with TCPSYNChallenge), or RSTs with an unexpected "
           "sequence; a few are normal."),
        # time-wait
        _c("TcpExt.TW", _T, "TCP sockets finished time wait in fast timer",
           "Connections that went into TIME_WAIT with its usual timeout (counted on entry since "
           "Linux 5.18).",
           "this side closing connections first; the rate is its rate of short connections."),
        _c("TcpExt.TWRecycled", _T, "time wait sockets recycled by time stamp",
           "A new outgoing connection took over the ports of a TIME_WAIT socket.",
           "net.ipv4.tcp_tw_reuse (default 2: loopback only) with timestamps, on a client "
           "opening many connections."),
        _c("TcpExt.TWKilled", _T, "",
           "Connections that went into TIME_WAIT or FIN_WAIT2 with a short timeout (4 s or less).",
           "tcp_tw_recycle before Linux 4.12; today a very low net.ipv4.tcp_fin_timeout or "
           "TCP_LINGER2."),
        _c("TcpExt.TCPTimeWaitOverflow", _T, "",
           "A connection closed without TIME_WAIT: net.ipv4.tcp_max_tw_buckets was reached.",
           "more connections closing per minute than that limit; they lose TIME_WAIT's guard "
           "against old duplicates."),
        # conntrack (per namespace; on 6.18 found, new, insert, delete and ignore stay 0)
        _c("Conntrack.entries", _C, "connections tracked now",
           "This namespace's conntrack entries now (a gauge), held against the global "
           "nf_conntrack_max.",
           "flows through NAT or stateful rules; an entry outlives its connection by its state's "
           "timeout (TIME_WAIT 120 s)."),
        _c("Conntrack.drop", _C, "packets dropped by conntrack",
           "Packets conntrack dropped: no room for a new entry (dmesg: 'table full'), or an "
           "insert clash it could not resolve.",
           "entries at nf_conntrack_max (early_drop too), or the SNAT source-port race "
           "(insert_failed too)."),
        _c("Conntrack.early_drop", _C, "conntrack entries evicted to make room",
           "The table was full: the entry of a connection not yet established (not assured) was "
           "evicted so a new one could be tracked.",
           "entries at net.netfilter.nf_conntrack_max: a burst of new connections, or long "
           "timeouts holding entries; established ones are never evicted."),
        _c("Conntrack.insert_failed", _C, "conntrack inserts failed",
           "A new connection's entry could not go in (its tuple taken, or its hash chain too "
           "long): its packet, often a SYN, was dropped.",
           "the SNAT source-port race (kubernetes#56903): two connections NATed to one port at "
           "once; no --random-fully; UDP DNS."),
        _c("Conntrack.clashres", _C, "conntrack insert clashes resolved",
           "Two packets raced to insert the same new flow; the kernel merged them and let the packet "
           "through (conntrack -S: clash_resolve).",
           "parallel UDP queries from one socket (DNS A and AAAA at once); nothing was dropped, but "
           "the same race drops when it cannot be resolved (insert_failed)."),
        _c("Conntrack.chainlength", _C, "conntrack inserts refused: hash chain too long",
           "A new entry was refused, its hash chain too long (conntrack -S: chaintoolong); its "
           "packet was dropped.",
           "a hash table small for the entries (nf_conntrack_buckets), or flows crafted to "
           "collide."),
        _c("Conntrack.invalid", _C, "packets conntrack could not track (invalid)",
           "A packet fitting no tracked state: out of the TCP window, bad flags (SYN|FIN). "
           "Passed on marked INVALID; a rule may drop it.",
           "out-of-window segments (asymmetric routing, an entry gone while its connection "
           "lived), crafted packets; kube-proxy drops them."),
        _c("Conntrack.icmp_error", _C, "packets conntrack found in error",
           "Packets conntrack's protocol checks rejected: a truncated or malformed header, a bad "
           "checksum, or an ICMP error about no tracked connection (conntrack -S: error).",
           "corrupted packets, or ICMP errors (unreachable, TTL exceeded) for connections already "
           "gone."),
        _c("Conntrack.search_restart", _C, "conntrack lookups restarted",
           "A lookup met an entry that moved to another hash chain and had to start again.",
           "entries freed or the table resized while it is busy; harmless, a high rate means heavy "
           "churn."),
        _c("Conntrack.found", _C, "", "Lookups that found an entry; not counted on recent kernels (0 on 6.18)."),
        _c("Conntrack.new", _C, "", "Entries created; not counted on recent kernels (0 on 6.18)."),
        _c("Conntrack.insert", _C, "", "Entries inserted; not counted on recent kernels (0 on 6.18)."),
        _c("Conntrack.delete", _C, "", "Entries deleted; not counted on recent kernels (0 on 6.18)."),
        _c("Conntrack.ignore", _C, "", "Packets already tracked or untracked (NOTRACK); 0 on 6.18."),
        _c("Conntrack.expect_new", _C, "", "Expected connections (FTP, SIP helpers) that arrived."),
        _c("Conntrack.expect_create", _C, "", "Expectations a helper (FTP, SIP) created."),
        _c("Conntrack.expect_delete", _C, "", "Expectations deleted."),
        # context, shown in "other" with familiar wording
        _c("Tcp.ActiveOpens", _O, "active connection openings", "Connections this side started: connect() sent a SYN."),
        _c("Tcp.PassiveOpens", _O, "passive connection openings",
           "Connections a listener took: handshakes completed, ready for accept()."),
        _c("Tcp.CurrEstab", _O, "connections established",
           "Connections now ESTABLISHED or CLOSE_WAIT (a gauge, not a counter)."),
        _c("Tcp.InSegs", _O, "segments received", "Segments received, those in error included."),
        _c("Tcp.OutSegs", _O, "segments sent out", "Segments sent, retransmissions not included."),
        _c("Tcp.InErrs", _O, "bad segments received", "Segments received in error: bad checksum or malformed."),
        _c("TcpExt.TCPHPHits", _O, "packet headers predicted", "Data segments taken by the fast path (header prediction)."),
        _c("TcpExt.TCPPureAcks", _O, "acknowledgments not containing data payload received",
           "ACKs received that carried no data."),
        _c("TcpExt.TCPHPAcks", _O, "predicted acknowledgments", "ACKs taken by the fast path (header prediction)."),
        _c("TcpExt.PruneCalled", _O, "packets pruned from receive queue because of socket buffer overrun",
           "A receive buffer went over its limit: the kernel squeezed its queue.",
           "an application reading too slowly for the traffic, or a small net.ipv4.tcp_rmem."),
        _c("TcpExt.RcvPruned", _O, "packets pruned from receive queue",
           "Received data dropped: squeezing the full receive queue did not make room.",
           "an application not reading; the peer has to send it again."),
        _c("TcpExt.OfoPruned", _O, "packets dropped from out-of-order queue because of socket buffer overrun",
           "Out-of-order data dropped to make room in a full receive buffer.",
           "loss while the receive buffer is full; the peer has to send it again."),
        _c("TcpExt.TCPRcvCollapsed", _O, "packets collapsed in receive queue due to low socket buffer",
           "Queued segments merged to save memory in a full receive buffer.",
           "an application reading slowly, or a small net.ipv4.tcp_rmem."),
        _c("TcpExt.TCPMemoryPressures", _O, "TCP ran low on memory N times",
           "TCP memory use crossed net.ipv4.tcp_mem's pressure threshold.",
           "many connections with full buffers (slow readers), or a tcp_mem too low for the load."),
    )
}


def info(key: str) -> CounterInfo:
    """Catalog entry for a key; unknown keys are "other" (or "conntrack") with no wording."""
    return CATALOG.get(key) or CounterInfo(key, _uncatalogued_group(key), "")


def group_of(key: str) -> Group:
    c = CATALOG.get(key)
    return c.group if c else _uncatalogued_group(key)


def _uncatalogued_group(key: str) -> Group:
    # a conntrack column of a newer kernel still belongs with the other conntrack counters
    return Group.CONNTRACK if key.startswith("Conntrack.") else Group.OTHER


def keys_in(group: Group) -> tuple[str, ...]:
    return tuple(k for k, c in CATALOG.items() if c.group is group)
