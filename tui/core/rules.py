"""Findings: what the counters of one namespace say is wrong, with evidence and proposals.

Input is plain data — counter deltas over a window (from :class:`NsHistory` or recorded),
the counters this kernel has, the namespace's sysctls (:class:`SysctlState`) and its
listening sockets — so every rule runs the same on a live node, on a replay and in a test.

Rules (each says which counters moved and by how much):

* ``tw-recycle``   old kernels: PAWSPassive and ListenDrops growing together with
  tcp_tw_recycle=1 and tcp_timestamps=1 -> set tcp_tw_recycle=0 (the seed incident).
* ``nat-timestamps`` modern kernels: PAWSTimewait / TCPSYNChallenge / PAWSEstab /
  TSEcrRejected growing: SYNs from NATed clients meet TIME_WAIT sockets with older
  timestamps. Options with trade-offs; tcp_tw_recycle is named as removed in 4.12.
* ``accept-queue`` ListenOverflows ~ ListenDrops -> somaxconn and the app's backlog; names
  the listeners at/near their backlog.
* ``syn-queue``    TCPReqQFullDrop / TCPReqQFullDoCookies / SyncookiesSent -> the listener's
  backlog (its SYN queue limit): the application's listen() backlog, somaxconn when it caps
  it, tcp_syncookies=1 if off. tcp_max_syn_backlog only as an option while syncookies are off
  (its 3/4 rule, seen as ListenDrops no other counter explains).
* ``syn-unanswered`` client side: TCPSynRetrans dominating the retransmits while connect()s
  are made -> the server (or something on the way) drops the SYNs: look there, not a sysctl.
* ``path-loss``    retransmit storms (RetransSegs, TCPTimeouts against OutSegs, SYN
  retransmits discounted), delayed ACKs with stalls -> loss on the path: not a sysctl.

Rules never propose a key the namespace's kernel does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .catalog import info
from .history import NsHistory
from .namespaces import NetNS
from .nsexec import NamespaceGone
from .sampler import NetnsReader
from .sockets import ListenSocket, listening_sockets
from .sysctl import Proposal, SysctlState, read_sysctls

__all__ = ["Diagnosis", "Evidence", "Finding", "diagnose_namespace", "SEVERITY_ORDER", "deltas_from_history", "diagnose", "proposals_of"]

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

# thresholds: small enough to catch a 3 a.m. stall in a 10 s window, big enough to ignore
# a single stray packet
RETRANS_RATIO = 0.02  # RetransSegs / OutSegs
MIN_OUTSEGS = 200  # below this a ratio means little
NEAR_FULL = 0.8  # accept queue at 80 % of its backlog counts as "near"


@dataclass(frozen=True, slots=True)
class Evidence:
    key: str  # "TcpExt.ListenOverflows"
    delta: int  # growth over the window
    wording: str  # netstat -s wording or our note

    def text(self) -> str:
        name = self.key.split(".", 1)[1]
        return f"{name} +{self.delta}"


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # critical | warning | info
    title: str
    explanation: str
    evidence: tuple[Evidence, ...]
    window: float | None = None  # seconds the deltas cover
    proposals: tuple[Proposal, ...] = ()
    advice: tuple[str, ...] = ()  # what to do that is not a sysctl
    sockets: tuple[ListenSocket, ...] = ()
    not_a_sysctl: bool = False

    def evidence_text(self) -> str:
        w = f" in {self.window:.0f} s" if self.window else ""
        return ", ".join(e.text() for e in self.evidence) + w

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "explanation": self.explanation,
            "window_seconds": self.window,
            "evidence": {e.key: e.delta for e in self.evidence},
            "proposals": [
                {
                    "key": p.key,
                    "current": p.current,
                    "host": p.host,
                    "proposed": p.value,
                    "scope": p.scope,
                    "why": p.why,
                    "risk": p.risk,
                    "optional": p.optional,
                }
                for p in self.proposals
            ],
            "advice": list(self.advice),
            "sockets": [
                {"endpoint": s.endpoint, "port": s.port, "accept_queue": s.accept_queue, "backlog": s.backlog}
                for s in self.sockets
            ],
            "not_a_sysctl": self.not_a_sysctl,
        }


def deltas_from_history(h: NsHistory, n: int | None = None) -> tuple[dict[str, int], float | None]:
    """Total growth of every counter that moved in the last n ticks, and the seconds covered."""
    keys = h.moved(n)
    deltas = {k: h.total_delta(k, n) for k in keys}
    window = None
    if h.ticks >= 1:
        rng = h.window(n)
        secs = [h.dt(t) for t in rng]
        window = sum(s for s in secs if s) or None
    return {k: v for k, v in deltas.items() if v > 0}, window


def _ev(deltas: Mapping[str, int], *keys: str) -> tuple[Evidence, ...]:
    out = []
    for k in keys:
        d = deltas.get(k, 0)
        if d > 0:
            out.append(Evidence(k, d, info(k).wording or info(k).note))
    return tuple(out)


def _d(deltas: Mapping[str, int], key: str) -> int:
    return max(0, deltas.get(key, 0))


def _proposal(state: SysctlState | None, key: str, value: str, why: str, risk: str, finding: str,
              optional: bool = False) -> Proposal | None:
    """A proposal only for a key this kernel has, and only if it changes something."""
    if state is None or not state.has(key):
        return None
    current = state.value(key)
    if current is not None and current == value:
        return None
    return Proposal(key, value, current, state.host(key), state.scope(key), why, risk, finding, optional)


def _w(window: float | None) -> str:
    return f" in {window:.0f} s" if window else ""


# --------------------------------------------------------------------------- rules


def _tw_recycle(deltas, state, window) -> Finding | None:  # type: ignore[no-untyped-def]
    paws, drops = _d(deltas, "TcpExt.PAWSPassive"), _d(deltas, "TcpExt.ListenDrops")
    if not (paws and drops):
        return None
    recycle = state.value("net.ipv4.tcp_tw_recycle") if state else None
    ts = state.value("net.ipv4.tcp_timestamps") if state else None
    ev = _ev(deltas, "TcpExt.PAWSPassive", "TcpExt.ListenDrops", "TcpExt.DelayedACKs", "TcpExt.TCPSynRetrans")
    known = f"tcp_tw_recycle={recycle}, tcp_timestamps={ts}" if state else "sysctls not read"
    explanation = (
        f"PAWSPassive (+{paws}) and ListenDrops (+{drops}) grow together{_w(window)} ({known}). With "
        "tcp_tw_recycle=1 the kernel remembers the last timestamp per source IP for 60 s and drops any SYN "
        "whose timestamp is older. Behind NAT (kube-proxy, a load balancer, a home router) many clients share "
        "one IP but not one clock, so their SYNs are dropped: clients stall, retransmit, and recover after "
        "up to 60 s. tcp_tw_recycle was removed in Linux 4.12 for exactly this."
    )
    props: list[Proposal] = []
    p = _proposal(state, "net.ipv4.tcp_tw_recycle", "0",
                  f"PAWSPassive +{paws} with ListenDrops +{drops}{_w(window)}: SYNs from NATed clients dropped",
                  "low: TIME_WAIT sockets are kept their full 60 s again (more of them; raise tcp_max_tw_buckets "
                  "if TCPTimeWaitOverflow grows)", "tw-recycle")
    if p:
        props.append(p)
    severity = "critical" if (recycle in (None, "1")) else "warning"
    advice = ()
    if state is not None and recycle is None:
        advice = ("this kernel has no tcp_tw_recycle (removed in 4.12): these counters come from another kernel or a recording",)
    return Finding("tw-recycle", severity, "SYNs rejected on timestamps: tcp_tw_recycle behind NAT (the seed incident)",
                   explanation, ev, window, tuple(props), advice)


def _nat_timestamps(deltas, state, window, kernel_keys) -> Finding | None:  # type: ignore[no-untyped-def]
    keys = ("TcpExt.PAWSTimewait", "TcpExt.TCPSYNChallenge", "TcpExt.PAWSEstab", "TcpExt.TSEcrRejected", "TcpExt.PAWSOldAck")
    if not any(_d(deltas, k) for k in keys):
        return None
    if _d(deltas, "TcpExt.PAWSPassive"):
        return None  # the old-kernel rule explains it
    tw = _d(deltas, "TcpExt.PAWSTimewait")
    ev = _ev(deltas, *keys, "TcpExt.TCPChallengeACK", "TcpExt.TCPSynRetrans", "TcpExt.TCPACKSkippedPAWS",
             "TcpExt.TCPACKSkippedTimeWait", "TcpExt.TCPACKSkippedChallenge")
    has_recycle = state.has("net.ipv4.tcp_tw_recycle") if state else ("TcpExt.PAWSPassive" in kernel_keys)
    explanation = (
        f"Packets were rejected on TCP timestamps{_w(window)}"
        + (f": {tw} SYNs met a TIME_WAIT socket of an earlier connection on the same address and port, "
           "carrying an older timestamp (PAWSTimewait). " if tw else ". ")
        + "This is what NAT with timestamps looks like: clients behind one address reuse source ports while "
        "this side still holds TIME_WAIT for the old connection (it closed first), and their clocks differ. "
        "The SYN is answered with an ACK for the old connection instead of a SYN-ACK; the client resets it "
        "and retransmits its SYN about a second later (TCPSynRetrans on the client) — a stall, not a failure."
    )
    advice = [
        "best: let the clients close first (HTTP keep-alive, client-side close), so TIME_WAIT stays on the "
        "clients and is never met by a reused port here",
        "widen the NAT's source ports (more SNAT addresses or a wider --to-ports range on the NAT/kube-proxy "
        "node) so a 4-tuple is not reused within the 60 s of TIME_WAIT",
        "net.ipv4.tcp_tw_reuse only helps *outgoing* connections of the namespace that holds TIME_WAIT, never "
        "a server's incoming SYNs",
    ]
    if not has_recycle:
        advice.append("net.ipv4.tcp_tw_recycle does not exist on this kernel (removed in Linux 4.12): old advice "
                      "to change it does not apply here")
    props: list[Proposal] = []
    p = _proposal(state, "net.ipv4.tcp_timestamps", "0",
                  f"{', '.join(e.text() for e in ev)}{_w(window)}: connections rejected on timestamps",
                  "high, a trade-off: no PAWS protection against old duplicates on fast links, coarser RTT "
                  "estimates, and SYN cookies can no longer carry window scaling/SACK; prefer the non-sysctl "
                  "options first", "nat-timestamps", optional=True)
    if p:
        props.append(p)
    return Finding("nat-timestamps", "warning", "NAT and TCP timestamps: SYNs meet TIME_WAIT with older timestamps",
                   explanation, ev, window, tuple(props), tuple(advice))


def _accept_queue(deltas, state, window, sockets) -> Finding | None:  # type: ignore[no-untyped-def]
    over, drops = _d(deltas, "TcpExt.ListenOverflows"), _d(deltas, "TcpExt.ListenDrops")
    if not over:
        return None
    ev = _ev(deltas, "TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPSynRetrans", "TcpExt.TCPReqQFullDrop")
    hot = tuple(s for s in sockets or () if s.near_full(NEAR_FULL))
    somax = state.int_value("net.core.somaxconn") if state else None
    sock_lines = []
    for s in hot:
        sock_lines.append(f"{s.endpoint} accept queue {s.accept_queue}/{s.backlog}")
    explanation = (
        f"ListenOverflows +{over} with ListenDrops +{drops}{_w(window)}: completed connections found the "
        "accept queue full and were dropped; clients see their SYN or final ACK ignored and retransmit "
        "(TCPSynRetrans on their side). The application is not calling accept() fast enough for its backlog, "
        "which is min(listen() backlog, net.core.somaxconn when listen() was called)."
    )
    if sock_lines:
        explanation += " Listeners at or near their backlog now: " + "; ".join(sock_lines) + "."
    elif sockets is not None and state is not None:
        explanation += " No listener is at its backlog at this moment (the burst has passed)."
    advice: list[str] = []
    for s in hot:
        if s.backlog is not None and somax is not None and s.backlog < somax:
            advice.append(f"port {s.port}: the application asked for backlog {s.backlog} (< somaxconn {somax}); "
                          "raise it in the application (listen(backlog), e.g. nginx `listen ... backlog=`, "
                          "gunicorn --backlog) and restart it")
        elif s.backlog is not None:
            advice.append(f"port {s.port}: backlog {s.backlog} is capped by somaxconn; raise somaxconn, then "
                          "restart the application so it calls listen() again")
    advice.append("a full accept queue usually means a slow or stuck application: check its worker count and latency")
    props: list[Proposal] = []
    if somax is not None:
        target = _somaxconn_target(somax)
        ports = ", ".join(str(s.port) for s in hot)
        p = _proposal(state, "net.core.somaxconn", str(target),
                      f"ListenOverflows +{over}, ListenDrops +{drops}{_w(window)}" + (f"; full: port {ports}" if ports else ""),
                      "low: more memory for queued connections; clients wait in the queue instead of retrying. "
                      "Only sockets that call listen() after the change get the new limit: restart the application",
                      "accept-queue")
        if p:
            props.append(p)
    return Finding("accept-queue", "critical", "Accept queue overflow: the application does not accept fast enough",
                   explanation, ev, window, tuple(props), tuple(advice), hot)


def _somaxconn_target(somax: int) -> int:
    # double it, at least the modern default 4096; 65535 is as far as we go without a reason
    return max(4096, somax * 2) if somax < 4096 else min(somax * 2, 65535)


def _listener_limits(sockets: Sequence[ListenSocket] | None, somax: int | None) -> tuple[list[ListenSocket], list[ListenSocket]]:
    """Listeners whose backlog somaxconn caps, and those whose own listen() backlog is lower.

    sock_diag reports min(listen() backlog, somaxconn at listen() time): a backlog equal to (or,
    if somaxconn was lowered later, above) somaxconn may be capped by it; a lower one is what
    the application asked for, and raising somaxconn alone changes nothing for it.
    """
    known = sorted((s for s in sockets or () if s.backlog is not None), key=lambda s: (s.backlog, s.port))
    if somax is None:
        return [], known
    return [s for s in known if s.backlog >= somax], [s for s in known if s.backlog < somax]  # type: ignore[operator]


def _unexplained_listen_drops(deltas: Mapping[str, int]) -> int:
    """ListenDrops that no more specific counter accounts for.

    Every accept-queue overflow, SYN-queue-full drop and (old kernels) PAWSPassive reject is
    also a ListenDrop. What is left, with tcp_syncookies=0, is mostly tcp_conn_request's own
    rule: drop SYNs from unproven peers once a listener's SYN queue passes 3/4 of
    tcp_max_syn_backlog — a drop that has no counter of its own.
    """
    explained = sum(_d(deltas, k) for k in ("TcpExt.ListenOverflows", "TcpExt.TCPReqQFullDrop", "TcpExt.PAWSPassive"))
    return max(0, _d(deltas, "TcpExt.ListenDrops") - explained)


MAX_NAMED = 6  # listeners named in a finding; the smallest backlogs first (they fill first)


def _syn_queue(deltas, state, window, sockets) -> Finding | None:  # type: ignore[no-untyped-def]
    """SYN queue full.

    Kernel facts (tcp_conn_request, Linux 4.4 … 6.18, checked for real in
    tests/test_diagnose_synq.py): a listener's SYN queue is full when its half-open connections
    exceed sk_max_ack_backlog — min(listen() backlog, net.core.somaxconn at listen() time), the
    same number that bounds its accept queue. Then TCPReqQFullDoCookies (syncookies on: answered
    with a cookie) or TCPReqQFullDrop (off: dropped) counts. tcp_max_syn_backlog does not size
    that queue: it is read only with tcp_syncookies=0, to drop SYNs from unproven peers once a
    queue passes 3/4 of it, counted as ListenDrops alone.
    """
    drop = _d(deltas, "TcpExt.TCPReqQFullDrop")
    cookies = _d(deltas, "TcpExt.TCPReqQFullDoCookies") or _d(deltas, "TcpExt.SyncookiesSent")
    syncookies = state.value("net.ipv4.tcp_syncookies") if state else None
    # with syncookies off, ListenDrops no other counter explains point at tcp_max_syn_backlog's rule
    quarter = _unexplained_listen_drops(deltas) if syncookies == "0" else 0
    if not (drop or cookies or quarter):
        return None
    ev = _ev(deltas, "TcpExt.TCPReqQFullDrop", "TcpExt.TCPReqQFullDoCookies", "TcpExt.SyncookiesSent",
             "TcpExt.SyncookiesRecv", "TcpExt.SyncookiesFailed", "TcpExt.ListenDrops", "TcpExt.TCPSynRetrans")
    somax = state.int_value("net.core.somaxconn") if state else None
    max_syn = state.int_value("net.ipv4.tcp_max_syn_backlog") if state else None
    capped, own = _listener_limits(sockets, somax)
    known = sorted([*capped, *own], key=lambda s: (s.backlog, s.port))[:MAX_NAMED]
    why = ", ".join(e.text() for e in ev) + _w(window)

    parts = []
    if drop:
        parts.append(f"{drop} SYNs were dropped (TCPReqQFullDrop)")
    if cookies:
        parts.append(f"{cookies} SYNs were answered with SYN cookies")
    if drop or cookies:
        explanation = (
            f"A listener's SYN queue (half-open connections) was full{_w(window)}: " + " and ".join(parts) + ". "
            "The SYN queue of a listener is bounded by its backlog, min(the application's listen() backlog, "
            "net.core.somaxconn when it called listen()) — the same limit as its accept queue. "
            "tcp_max_syn_backlog does not size it. Both the application's backlog and somaxconn take effect only "
            "when the application calls listen() again (restart it). Half-open connections pile up when clients "
            "(or the network back to them) do not complete the handshake, or under a SYN flood: a sudden flood "
            "from few sources may be an attack, not load."
        )
    else:
        explanation = (
            f"ListenDrops +{_d(deltas, 'TcpExt.ListenDrops')}{_w(window)}, of which {quarter} no accept-queue or "
            f"SYN-queue counter explains, with tcp_syncookies=0. With syncookies off the kernel drops SYNs from "
            f"peers it has not talked to before once a listener's SYN queue passes 3/4 of tcp_max_syn_backlog "
            f"({max_syn if max_syn is not None else '?'}); such drops count only as ListenDrops. "
            "Turning syncookies on removes this rule; a larger backlog alone does not."
        )
    if known:
        explanation += " Listening now (backlog): " + "; ".join(f"{s.endpoint} {s.backlog}" for s in known)
        more = len(capped) + len(own) - len(known)
        explanation += f" and {more} more." if more > 0 else "."

    props: list[Proposal] = []
    advice: list[str] = []
    if syncookies == "0":
        p = _proposal(state, "net.ipv4.tcp_syncookies", "1", why,
                      "low: cookies are sent only when a SYN queue is full; such connections lose TCP options "
                      "(window scaling, SACK) unless timestamps are on", "syn-queue")
        if p:
            props.append(p)
    if (drop or cookies) and somax is not None:
        target = _somaxconn_target(somax)
        ports = ", ".join(f"{s.port} (backlog {s.backlog})" for s in capped[:MAX_NAMED])
        if capped or not known:
            # somaxconn is the limit of a listener we saw, or we saw none and cannot tell
            p = _proposal(state, "net.core.somaxconn", str(target),
                          why + (f"; capped by somaxconn {somax}: port {ports}" if ports
                                 else "; no listener's backlog was read, so whether somaxconn is its limit is unknown"),
                          "low: more memory for queued connections. Only sockets that call listen() after the change "
                          "get the new limit, and only if the application asks for that much: restart it",
                          "syn-queue", optional=not capped)
            if p:
                props.append(p)
    # per-listener backlog advice only when a queue was full: under the 3/4 rule the backlog is not the limit
    for s in capped[:MAX_NAMED] if (drop or cookies) else ():
        advice.append(f"port {s.port}: backlog {s.backlog} is capped by somaxconn ({somax}): raise somaxconn, make sure "
                      "the application's listen() backlog is at least as large, then restart the application")
    for s in own[:MAX_NAMED] if (drop or cookies) else ():
        advice.append(f"port {s.port}: backlog {s.backlog} comes from the application's listen() (somaxconn {somax} "
                      "allows more): raise it in the application (nginx `listen ... backlog=`, gunicorn --backlog, "
                      "the server's backlog option) and restart it; raising somaxconn alone changes nothing for it")
    if (drop or cookies) and not known:
        advice.append("raise the application's listen() backlog (and net.core.somaxconn if it asks for more than that): "
                      "together they bound the SYN queue; `ss -ltn` in the namespace shows each listener's backlog "
                      "(Send-Q)")
    advice.append("count half-open connections per port: `ss -Htn state syn-recv` in the namespace; many from few "
                  "addresses looks like a SYN flood, not load")
    if syncookies == "0" and max_syn is not None:
        # secondary: it only matters while syncookies stay off, and only above 3/4 of it
        limit = max_syn - (max_syn >> 2)
        big = sorted((s for s in (*capped, *own) if s.backlog is not None and s.backlog > limit), key=lambda s: s.backlog)
        advice.append(f"with syncookies off, tcp_max_syn_backlog ({max_syn}) also drops SYNs from unproven peers once "
                      f"a SYN queue holds more than {limit}" + (f" (below the backlog of port {big[0].port})" if big else "")
                      + "; with tcp_syncookies=1 it is not used")
        need = max((s.backlog or 0) for s in big) if big else 0
        if quarter or big or not known:
            target_syn = max(max_syn * 2, 1 << max(need * 4 // 3, 1).bit_length())
            p = _proposal(state, "net.ipv4.tcp_max_syn_backlog", str(target_syn), why,
                          "low: more memory for half-open connections; matters only while tcp_syncookies=0, and does "
                          "not raise a listener's own SYN queue limit (its backlog)", "syn-queue", optional=True)
            if p:
                props.append(p)
    title = "SYN queue full: the listener's backlog is too small" if (drop or cookies) else \
        "SYNs dropped: syncookies off and the SYN queue past 3/4 of tcp_max_syn_backlog"
    return Finding("syn-queue", "critical" if (drop or quarter) else "warning", title, explanation, ev, window,
                   tuple(props), tuple(advice))


def _syn_unanswered(deltas, window) -> Finding | None:  # type: ignore[no-untyped-def]
    """The client side of a SYN drop: this namespace's SYNs (or SYN-ACKs) were retransmitted.

    TCPSynRetrans counts retransmitted SYNs *and* SYN-ACKs; each also counts in RetransSegs, and
    each SYN (and SYN-ACK) timer expiry in TCPTimeouts — so a client whose server drops its SYNs
    shows TCPSynRetrans = RetransSegs = TCPTimeouts, which is not data loss. ActiveOpens (connect()
    calls) tells a client from a listener resending SYN-ACKs.
    """
    syn = _d(deltas, "TcpExt.TCPSynRetrans")
    if not syn:
        return None
    data_retr = max(0, _d(deltas, "Tcp.RetransSegs") - syn)
    if data_retr > syn:
        return None  # data retransmits dominate: path-loss tells that story
    active = _d(deltas, "Tcp.ActiveOpens")
    listen_side = any(_d(deltas, k) for k in ("TcpExt.ListenDrops", "TcpExt.ListenOverflows", "TcpExt.TCPReqQFullDrop",
                                              "TcpExt.TCPReqQFullDoCookies"))
    if not active and listen_side:
        return None  # SYN-ACKs of this namespace's own troubled listeners: the queue findings explain them
    ev = _ev(deltas, "TcpExt.TCPSynRetrans", "Tcp.ActiveOpens", "Tcp.AttemptFails", "TcpExt.TCPTimeouts", "Tcp.RetransSegs")
    fails = _d(deltas, "Tcp.AttemptFails")
    advice = (
        "look at the server's namespace: ListenOverflows/ListenDrops (accept queue full), TCPReqQFullDrop (SYN "
        "queue full), PAWS*/TCPSYNChallenge (timestamps behind NAT) — in synscope, the other row lit 'S'",
        "if the server is not on this node or shows nothing: a firewall or NAT on the way (an iptables/NetworkPolicy "
        "DROP, a full conntrack table: `conntrack -S`, `dmesg`), or loss on the path",
        "capture here (t, the default SYN, SYN-ACK and RST filter): the same SYN leaving again and again with no "
        "SYN-ACK back confirms it",
        "no sysctl in this namespace fixes it; tcp_syn_retries only changes how long connect() keeps trying",
    )
    if active:
        explanation = (
            f"{syn} SYN retransmits{_w(window)} while this namespace opened {active} connections"
            + (f" ({fails} attempts failed)" if fails else "")
            + ": its connect()s were not answered, and each retry made the caller wait a second or more. "
            "Each retransmitted SYN also counts in RetransSegs and TCPTimeouts: this is not data loss. "
            "The SYNs were dropped on the way or by the server: its accept or SYN queue was full, it rejected "
            "them on timestamps, or a firewall/NAT dropped them."
        )
        if listen_side:
            explanation += (" This namespace's own listeners also dropped SYNs: part of TCPSynRetrans may be their "
                            "SYN-ACK retransmits.")
        return Finding("syn-unanswered", "warning", "SYNs unanswered: the server side drops them", explanation, ev,
                       window, (), advice, not_a_sysctl=True)
    explanation = (
        f"{syn} SYN or SYN-ACK retransmits{_w(window)}, and no connection was opened from here in that time: these "
        "are retries of connect()s started earlier (the server side does not answer), or SYN-ACKs this namespace's "
        "listeners resend because their clients do not complete the handshake (the final ACK is lost or filtered). "
        "Not data loss, and not a sysctl here."
    )
    advice = (*advice[:2], "capture here (t, the default SYN, SYN-ACK and RST filter): which side's packets go "
              "unanswered tells which it is", advice[3])
    return Finding("syn-unanswered", "info", "Handshakes retried: SYNs or SYN-ACKs unanswered", explanation, ev, window,
                   (), advice, not_a_sysctl=True)


def _path_loss(deltas, window) -> Finding | None:  # type: ignore[no-untyped-def]
    # SYN and SYN-ACK retransmits are handshakes nobody answered (syn-unanswered, the queue
    # findings), not loss of data: they count in RetransSegs and, once per timer, TCPTimeouts.
    syn = _d(deltas, "TcpExt.TCPSynRetrans")
    out = _d(deltas, "Tcp.OutSegs")
    retr = max(0, _d(deltas, "Tcp.RetransSegs") - syn)
    timeouts = max(0, _d(deltas, "TcpExt.TCPTimeouts") - syn)
    # OutSegs does not count retransmitted data segments on this kernel (only new data and
    # pure ACKs): the share of all segments sent is retr / (out + retr), never above 100 %
    sent = out + retr
    ratio = retr / sent if sent else 0.0
    storm = out >= MIN_OUTSEGS and ratio >= RETRANS_RATIO
    stalls = timeouts > 0 and retr > 0
    if not (storm or stalls):
        return None
    ev = _ev(deltas, "Tcp.RetransSegs", "Tcp.OutSegs", "TcpExt.TCPTimeouts", "TcpExt.TCPLostRetransmit",
             "TcpExt.DelayedACKs", "TcpExt.DelayedACKLost", "TcpExt.TCPSpuriousRTOs", "TcpExt.TCPAbortOnTimeout")
    dack = _d(deltas, "TcpExt.DelayedACKs")
    explanation = (
        f"{retr} of {sent} segments sent were retransmissions{_w(window)} ({ratio:.1%})"
        + (f", not counting {syn} SYN/SYN-ACK retransmits" if syn else "")
        + (f"; {timeouts} retransmission timeouts (each a stall of 200 ms or more)" if timeouts else "")
        + (f"; delayed ACKs +{dack} alongside: the peers wait for data that was lost" if dack else "")
        + ". This is packet loss on the path (NIC, overlay, conntrack, a policer, a congested link), not a "
        "kernel setting: no sysctl fixes it."
    )
    advice = (
        "capture in this namespace (tcpdump) and look for retransmissions and duplicate ACKs",
        "check drops on the way: `ip -s link` in the namespace and on the node, `conntrack -S` "
        "(insert_failed, drop), `dmesg` for 'nf_conntrack: table full', the overlay's and the NIC's counters",
        "MTU mismatches on overlays show as timeouts on large segments only",
    )
    severity = "warning" if storm else "info"
    return Finding("path-loss", severity, "Retransmits and timeouts: loss on the path, not a sysctl",
                   explanation, ev, window, (), advice, not_a_sysctl=True)


def diagnose(
    deltas: Mapping[str, int],
    sysctls: SysctlState | None = None,
    sockets: Sequence[ListenSocket] | None = None,
    *,
    window: float | None = None,
    kernel_keys: Iterable[str] = (),
) -> list[Finding]:
    """All findings for one namespace, most severe first.

    ``deltas``: growth per counter over the window ("TcpExt.ListenDrops": 72); ``kernel_keys``:
    the counters this kernel has (values().keys()), used to tell an old kernel from a new one
    when the sysctls were not read.
    """
    kernel = set(kernel_keys)
    socks = list(sockets) if sockets is not None else None  # None: not read, say nothing about them
    found = [
        _tw_recycle(deltas, sysctls, window),
        _nat_timestamps(deltas, sysctls, window, kernel),
        _accept_queue(deltas, sysctls, window, socks),
        _syn_queue(deltas, sysctls, window, socks),
        _syn_unanswered(deltas, window),
        _path_loss(deltas, window),
    ]
    out = [f for f in found if f is not None]
    out.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, 9))
    return out


def proposals_of(findings: Iterable[Finding]) -> list[Proposal]:
    """Every proposal of the findings, one per key (the first, most severe, wins)."""
    seen: dict[str, Proposal] = {}
    for f in findings:
        for p in f.proposals:
            seen.setdefault(p.key, p)
    return list(seen.values())



@dataclass(frozen=True)
class Diagnosis:
    """Everything the preview screen and ``synscope diagnose`` need for one namespace."""

    ns: NetNS
    findings: tuple[Finding, ...]
    sysctls: SysctlState | None
    sockets: tuple[ListenSocket, ...] | None
    window: float | None
    deltas: Mapping[str, int]
    notes: tuple[str, ...] = ()  # what could not be read, and why

    @property
    def proposals(self) -> list[Proposal]:
        return proposals_of(self.findings)


def diagnose_namespace(
    ns: NetNS,
    history: NsHistory | None,
    *,
    n: int | None = None,
    reader: NetnsReader | None = None,
    host: NetNS | None = None,
    always_read: bool = False,
) -> Diagnosis:
    """Findings for one namespace from its history, reading its sysctls and sockets inside it.

    Sysctls and sockets are read only when a rule fires (or ``always_read``): a quiet
    namespace costs nothing but the arithmetic.
    """
    if history is None or history.ticks == 0:
        return Diagnosis(ns, (), None, None, None, {}, ("no deltas yet: wait for a second sample",))
    deltas, window = deltas_from_history(history, n)
    kernel_keys = history.values().keys()
    # unexplained ListenDrops need the sysctls to be judged (tcp_syncookies=0?): read them
    quiet = not diagnose(deltas, None, window=window, kernel_keys=kernel_keys) and not _unexplained_listen_drops(deltas)
    if not always_read and quiet:
        return Diagnosis(ns, (), None, None, window, deltas)
    notes: list[str] = []
    state: SysctlState | None = None
    socks: list[ListenSocket] | None = None
    try:
        state = read_sysctls(ns, reader=reader, host=host)
    except (NamespaceGone, OSError) as exc:
        notes.append(f"sysctls not read: {exc}")
    try:
        socks = listening_sockets(ns, reader)
    except (NamespaceGone, OSError) as exc:
        notes.append(f"listening sockets not read: {exc}")
    findings = diagnose(deltas, state, socks, window=window, kernel_keys=kernel_keys)
    return Diagnosis(ns, tuple(findings), state, tuple(socks) if socks is not None else None, window, deltas,
                     tuple(notes))
