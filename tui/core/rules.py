"""Findings: what the counters of one namespace say is wrong, with evidence and proposals.

Input is plain data — counter deltas over a window (from :class:`NsHistory` or recorded),
the counters this kernel has, the namespace's sysctls (:class:`SysctlState`) and its
listening sockets — so every rule runs the same on a live node, on a replay and in a test.

Rules (each says which counters moved and by how much):

* ``tw-recycle``   old kernels: PAWSPassive and ListenDrops growing together with
  tcp_tw_recycle=1 and tcp_timestamps=1 -> set tcp_tw_recycle=0 (the seed incident).
* ``nat-timestamps`` modern kernels: PAWSTimewait growing at least NAT_MIN_REJECTS times and
  NAT_MIN_RATE per second: SYNs from NATed clients meet TIME_WAIT sockets with older
  timestamps. Options with trade-offs, tcp_timestamps=0 (high risk) only as the last;
  tcp_tw_recycle is named as removed in 4.12.
* ``timestamp-rejects`` weaker timestamp evidence (a few PAWSTimewait, or PAWSEstab /
  PAWSActive / TSEcrRejected alone): an info note, no proposal. Challenge ACKs alone
  (TCPSYNChallenge, TCPChallengeACK) are no finding: RFC 5961 sends them for many reasons
  (a duplicate SYN-ACK after a lost ACK, a peer that restarted).
* ``accept-queue`` ListenOverflows ~ ListenDrops -> the limit of the listener that overflows:
  somaxconn only when it caps that listener's backlog (sock_diag shows min(listen() backlog,
  somaxconn)), otherwise the application's own backlog, and no sysctl.
* ``syn-queue``    TCPReqQFullDrop / TCPReqQFullDoCookies / SyncookiesSent -> the listener's
  backlog (its SYN queue limit): the application's listen() backlog, somaxconn when it caps
  it, tcp_syncookies=1 if off. tcp_max_syn_backlog only as an option while syncookies are off
  (its 3/4 rule, seen as ListenDrops no other counter explains).
* ``syn-unanswered`` client side: TCPSynRetrans dominating the retransmits while connect()s
  are made -> the server (or something on the way) drops the SYNs: look there, not a sysctl.
* ``path-loss``    retransmit storms (RetransSegs, TCPTimeouts against OutSegs, SYN
  retransmits discounted), delayed ACKs with stalls -> loss on the path: not a sysctl.
* ``delayed-acks`` DelayedACKs at least DELACK_MIN and DELACK_MIN_RATE per second: an info
  note — normal on their own, a side effect next to SYN drops or loss, and the Nagle +
  delayed-ACK stall of small writes (TCP_NODELAY, or ``ip route … quickack 1``).
* ``conntrack-full`` early_drop, or drops no failed insert explains, with entries near
  nf_conntrack_max -> nf_conntrack_max (and the hash size), global and host only, with the
  memory they cost; proposed only when the table was seen full.
* ``conntrack-race`` insert_failed (less chainlength): the SNAT source-port race —
  --random-fully, fewer short-lived connections, NodeLocal DNSCache; no sysctl. Resolved
  clashes alone (clashres) are an info note; chains too long a note on the hash size.
* ``conntrack-invalid`` invalid at least CT_INVALID_MIN and CT_INVALID_MIN_RATE per second:
  out-of-window or malformed packets; nf_conntrack_tcp_be_liberal as an option with its
  trade-offs, not proposed (the counter cannot tell the kinds apart).
* ``syn-unanswered`` names the node's conntrack drops (or the namespace's own) when they grew
  in the same window, instead of sending the reader to the server first.

Every finding states its confidence (high / medium / low) and why. Rules never propose a key
the namespace's kernel does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .catalog import info
from .conntrack import SECTION as CONNTRACK_SECTION
from .conntrack import ConntrackView, conntrack_view, entry_size
from .history import NsHistory
from .namespaces import NetNS
from .netns import NamespaceGone, NetnsReader
from .routes import Route, quickack_supported, routes_of
from .sockets import ListenSocket, listening_sockets
from .sysctl import Proposal, SysctlState, nsenter_prefix, read_sysctls

__all__ = [
    "CONFIDENCE_LEVELS",
    "ConntrackContext",
    "DELACK_MIN",
    "DELACK_MIN_RATE",
    "Diagnosis",
    "Evidence",
    "Finding",
    "NAT_MIN_RATE",
    "NAT_MIN_REJECTS",
    "SEVERITY_ORDER",
    "deltas_from_history",
    "diagnose",
    "diagnose_namespace",
    "proposals_of",
]

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

# thresholds: small enough to catch a 3 a.m. stall in a 10 s window, big enough to ignore
# a single stray packet
RETRANS_RATIO = 0.02  # RetransSegs / OutSegs
MIN_OUTSEGS = 200  # below this a ratio means little
NEAR_FULL = 0.8  # accept queue at 80 % of its backlog counts as "near"
# tcp_timestamps=0 is a high-risk change: it is proposed only on this much PAWSTimewait in
# the window, at this rate at least (a handful of rejects has other causes than NAT)
NAT_MIN_REJECTS = 5
NAT_MIN_RATE = 0.1  # per second: 6 a minute
# delayed ACKs: an idle namespace's few (an ssh keystroke, a health check) are not a finding
DELACK_MIN = 20
DELACK_MIN_RATE = 0.2  # per second, over the window: 12 a minute
MIN_SYN_RETRANS = 3  # fewer retransmitted SYNs look the same as one lost packet
MAX_ROUTES = 4  # routes given a quickack command in the delayed-ack finding
CONFIDENCE_LEVELS = ("high", "medium", "low")


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
    confidence: str = ""  # high | medium | low: how sure the finding is of its story
    confidence_why: str = ""  # what that rests on, or what it cannot see

    def confidence_text(self) -> str:
        if not self.confidence:
            return "confidence not stated"
        return f"confidence {self.confidence}" + (f": {self.confidence_why}" if self.confidence_why else "")

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
            "confidence": self.confidence,
            "confidence_why": self.confidence_why,
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


def _rate(n: int, window: float | None) -> float | None:
    return n / window if window else None


def _per_s(n: int, window: float | None) -> str:
    r = _rate(n, window)
    return f" ({r:.1f}/s)" if r is not None else ""


# --------------------------------------------------------------------------- rules


def _tw_recycle(deltas, state, window) -> Finding | None:  # type: ignore[no-untyped-def]
    paws, drops = _d(deltas, "TcpExt.PAWSPassive"), _d(deltas, "TcpExt.ListenDrops")
    if not (paws and drops):
        return None
    recycle = state.value("net.ipv4.tcp_tw_recycle") if state else None
    ts = state.value("net.ipv4.tcp_timestamps") if state else None
    ev = _ev(deltas, "TcpExt.PAWSPassive", "TcpExt.ListenDrops", "TcpExt.DelayedACKs", "TcpExt.TCPSynRetrans")
    known = (f"tcp_tw_recycle={recycle if recycle is not None else '(absent)'}, "
             f"tcp_timestamps={ts if ts is not None else '(absent)'}") if state else "sysctls not read"
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
        confidence, why = "low", "this kernel has no tcp_tw_recycle, so it cannot have counted these rejects itself"
    elif state is None:
        confidence, why = "medium", "PAWSPassive moved with ListenDrops, but the sysctls were not read to confirm tcp_tw_recycle=1"
    elif recycle == "1" and ts == "1" and paws >= NAT_MIN_REJECTS:
        confidence, why = "high", (f"the kernel counted {paws} SYNs rejected by tcp_tw_recycle's per-host timestamp check "
                                   "(PAWSPassive counts nothing else), with tcp_tw_recycle=1 and tcp_timestamps=1 here")
    elif recycle == "1":
        confidence, why = "medium", (f"tcp_tw_recycle=1 here, but only {paws} rejects (fewer than {NAT_MIN_REJECTS})"
                                     + ("" if ts == "1" else f" and tcp_timestamps={ts}"))
    else:
        confidence, why = "medium", (f"tcp_tw_recycle={recycle} now: the rejects were counted while it was on "
                                     "(it was changed in the window?)")
    return Finding("tw-recycle", severity, "SYNs rejected on timestamps: tcp_tw_recycle behind NAT (the seed incident)",
                   explanation, ev, window, tuple(props), advice, confidence=confidence, confidence_why=why)


# counters that say the kernel rejected a packet on its TCP timestamp (PAWSPassive: tw-recycle)
TIMESTAMP_REJECTS = ("TcpExt.PAWSTimewait", "TcpExt.PAWSEstab", "TcpExt.PAWSActive", "TcpExt.TSEcrRejected")
# shown beside them, never enough on their own: challenge ACKs have many causes (RFC 5961)
TIMESTAMP_CONTEXT = ("TcpExt.PAWSOldAck", "TcpExt.TCPSYNChallenge", "TcpExt.TCPChallengeACK", "TcpExt.TCPSynRetrans",
                     "TcpExt.TCPACKSkippedPAWS", "TcpExt.TCPACKSkippedTimeWait", "TcpExt.TCPACKSkippedChallenge")


def _nat_timestamps(deltas, state, window, kernel_keys) -> Finding | None:  # type: ignore[no-untyped-def]
    if _d(deltas, "TcpExt.PAWSPassive"):
        return None  # the old-kernel rule explains it
    rejects = sum(_d(deltas, k) for k in TIMESTAMP_REJECTS)
    if not rejects:
        return None  # challenge ACKs or PAWSOldAck alone: too many other causes to name one
    tw = _d(deltas, "TcpExt.PAWSTimewait")
    ev = _ev(deltas, *TIMESTAMP_REJECTS, *TIMESTAMP_CONTEXT)
    has_recycle = state.has("net.ipv4.tcp_tw_recycle") if state else ("TcpExt.PAWSPassive" in kernel_keys)
    tw_rate = _rate(tw, window)
    strong = tw >= NAT_MIN_REJECTS and tw_rate is not None and tw_rate >= NAT_MIN_RATE
    removed = ("net.ipv4.tcp_tw_recycle does not exist on this kernel (removed in Linux 4.12): old advice "
               "to change it does not apply here")
    if not strong:
        return _timestamp_rejects(deltas, ev, window, rejects, tw, has_recycle, removed)
    explanation = (
        f"Packets were rejected on TCP timestamps{_w(window)}: {tw} SYNs{_per_s(tw, window)} met a TIME_WAIT socket of "
        "an earlier connection on the same address and port, carrying an older timestamp (PAWSTimewait). "
        "This is what NAT with timestamps looks like: clients behind one address reuse source ports while "
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
        advice.append(removed)
    props: list[Proposal] = []
    p = _proposal(state, "net.ipv4.tcp_timestamps", "0",
                  f"{', '.join(e.text() for e in ev)}{_w(window)}: connections rejected on timestamps",
                  "high, a trade-off: no PAWS protection against old duplicates on fast links, coarser RTT "
                  "estimates, and SYN cookies can no longer carry window scaling/SACK; prefer the non-sysctl "
                  "options first", "nat-timestamps", optional=True)
    if p:
        props.append(p)
    why = (f"{tw} SYNs rejected against TIME_WAIT{_w(window)}{_per_s(tw, window)}, at least {NAT_MIN_REJECTS} and "
           f"{NAT_MIN_RATE:g}/s, which is what the high-risk tcp_timestamps proposal needs: PAWSTimewait counts "
           "nothing but this reject")
    return Finding("nat-timestamps", "warning", "NAT and TCP timestamps: SYNs meet TIME_WAIT with older timestamps",
                   explanation, ev, window, tuple(props), tuple(advice), confidence="high", confidence_why=why)


def _timestamp_rejects(deltas, ev, window, rejects, tw, has_recycle, removed) -> Finding:  # type: ignore[no-untyped-def]
    """Timestamp rejects too few, too slow or of the wrong kind to blame NAT: a note, no proposal."""
    others = {k.split(".", 1)[1]: _d(deltas, k) for k in TIMESTAMP_REJECTS[1:] if _d(deltas, k)}
    parts = [f"{name} +{n}" for name, n in others.items()]
    if tw:
        parts.insert(0, f"PAWSTimewait +{tw}")
    explanation = (
        f"The kernel rejected {rejects} packets on their TCP timestamps{_w(window)} ({', '.join(parts)}). "
        "SYNs meeting TIME_WAIT with an older timestamp (PAWSTimewait) are the NAT + timestamps signature; "
        "rejects inside established connections (PAWSEstab), of SYN-ACKs (PAWSActive) or of echoed timestamps "
        "(TSEcrRejected) also come from middleboxes that rewrite or strip timestamps, or a peer whose clock "
        "jumped. Not enough here to change tcp_timestamps (a high-risk change): watch whether PAWSTimewait keeps "
        "growing."
    )
    advice = [
        f"if PAWSTimewait grows past {NAT_MIN_REJECTS} in a window (and {NAT_MIN_RATE:g}/s), synscope reports NAT + "
        "timestamps with its options; until then no sysctl is proposed",
        "capture SYNs here (t, the SYN preset): a SYN answered by a bare ACK instead of a SYN-ACK, and the same "
        "SYN again a second later, is the TIME_WAIT reject",
    ]
    if not has_recycle:
        advice.append(removed)
    if tw and window:
        why = (f"{tw} PAWSTimewait{_w(window)}{_per_s(tw, window)}: below the {NAT_MIN_REJECTS} and "
               f"{NAT_MIN_RATE:g}/s that blaming NAT needs; a few rejects also come from a client that rebooted "
               "or reused a port legitimately")
    elif tw:
        why = f"{tw} PAWSTimewait, but no window to judge their rate by"
    else:
        why = ("no PAWSTimewait, the NAT + TIME_WAIT signature: " + ", ".join(parts)
               + " have other causes as well (middleboxes, clock jumps)")
    return Finding("timestamp-rejects", "info", "Packets rejected on TCP timestamps: too few to blame NAT",
                   explanation, ev, window, (), tuple(advice), not_a_sysctl=True,
                   confidence="medium" if tw else "low", confidence_why=why)


def _listener_names(socks: Sequence[ListenSocket], limit: int = 6) -> str:
    named = ", ".join(f"port {s.port} (backlog {s.backlog})" for s in socks[:limit])
    return named + (f" and {len(socks) - limit} more" if len(socks) > limit else "")


def _accept_queue(deltas, state, window, sockets) -> Finding | None:  # type: ignore[no-untyped-def]
    """Accept queue overflow, and which limit the overflowing listener hit.

    sock_diag reports a listener's backlog as min(listen() backlog, somaxconn at listen()
    time). A listener at its backlog whose backlog equals somaxconn is capped by somaxconn:
    raising it (and restarting the application) raises the limit. A listener whose backlog
    is below somaxconn asked for that much itself: somaxconn changes nothing for it.
    """
    over, drops = _d(deltas, "TcpExt.ListenOverflows"), _d(deltas, "TcpExt.ListenDrops")
    if not over:
        return None
    ev = _ev(deltas, "TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPSynRetrans", "TcpExt.TCPReqQFullDrop",
             "TcpExt.TCPReqQFullDoCookies")
    somax = state.int_value("net.core.somaxconn") if state else None
    known = [s for s in sockets or () if s.backlog is not None]
    full = [s for s in known if s.full]
    near = [s for s in known if s.near_full(NEAR_FULL) and not s.full]
    # the listeners the overflow is about: those full now; else those close to it; else all of them
    suspects = full or near or known
    capped, own = _listener_limits(suspects, somax)
    why_counts = f"ListenOverflows +{over}, ListenDrops +{drops}{_w(window)}"
    explanation = (
        f"ListenOverflows +{over} with ListenDrops +{drops}{_w(window)}: completed connections found the "
        "accept queue full and were dropped; clients see their SYN or final ACK ignored and retransmit "
        "(TCPSynRetrans on their side). The application is not calling accept() fast enough for its backlog, "
        "which is min(listen() backlog, net.core.somaxconn when listen() was called)."
    )
    if full or near:
        explanation += (" Listeners at or near their backlog now: "
                        + "; ".join(f"{s.endpoint} accept queue {s.accept_queue}/{s.backlog}" for s in (*full, *near)) + ".")
    elif sockets is not None and state is not None:
        explanation += (" No listener is at its backlog at this moment (the burst has passed), so which one "
                        "overflowed cannot be seen.")
    if somax is not None and capped:
        explanation += (f" Capped by somaxconn ({somax}): {_listener_names(capped)}: a higher somaxconn raises "
                        "their limit once the application calls listen() again.")
    if somax is not None and own:
        explanation += (f" Not capped by somaxconn: {_listener_names(own)}: the application's own listen() backlog "
                        f"is the limit (somaxconn {somax} allows more), so raising somaxconn does not help them.")

    advice: list[str] = []
    for s in own[:MAX_NAMED]:
        advice.append(f"port {s.port}: the application asked for backlog {s.backlog} (< somaxconn {somax}); "
                      "raising somaxconn does not help: raise it in the application (listen(backlog), e.g. nginx "
                      "`listen ... backlog=`, gunicorn --backlog) and restart it. (If somaxconn was lower when it "
                      "started, that older value is the cap: the restart picks up the current one.)")
    for s in capped[:MAX_NAMED]:
        advice.append(f"port {s.port}: backlog {s.backlog} is capped by somaxconn; raise somaxconn, make sure the "
                      "application asks for at least as much, then restart it so it calls listen() again")
    if sockets is None or not known or somax is None:
        advice.append("`ss -ltn` in the namespace shows each listener's backlog (Send-Q): if it equals "
                      "net.core.somaxconn, raise somaxconn; if it is lower, raise the application's backlog")
    advice.append("a full accept queue usually means a slow or stuck application: check its worker count and latency")

    props: list[Proposal] = []
    if somax is not None and capped:
        target = _somaxconn_target(somax)
        optional = not full and bool(own)  # cannot see which overflowed, and not all of them are capped
        p = _proposal(state, "net.core.somaxconn", str(target),
                      f"{why_counts}; capped by somaxconn {somax}: {_listener_names(capped)}"
                      + ("" if full else "; no listener is full now"),
                      "low: more memory for queued connections; clients wait in the queue instead of retrying. "
                      "Only sockets that call listen() after the change get the new limit: restart the application",
                      "accept-queue", optional=optional)
        if p:
            props.append(p)

    if somax is None or sockets is None:
        confidence, why = "low", ("the overflow is counted by the kernel, but "
                                  + ("the sysctls" if somax is None else "the listening sockets")
                                  + " were not read: which limit it hit is unknown, so no sysctl is proposed")
    elif not known:
        confidence, why = "low", ("no listening socket is there now (the application exited or restarted?): "
                                  "which limit it hit is unknown, so no sysctl is proposed")
    elif full:
        which = "somaxconn caps it" if capped and not own else \
            "its own listen() backlog is the limit" if own and not capped else "some are capped by somaxconn, some not"
        confidence, why = "high", (f"sock_diag shows {_listener_names(full)} with a full accept queue now, and its "
                                   f"backlog against somaxconn {somax} says which limit it hit: {which}")
    elif capped and own:
        confidence, why = "low", ("no listener is full now and they do not share one limit: somaxconn helps only if "
                                  f"the one that overflowed was {_listener_names(capped)}")
    elif capped:
        confidence, why = "medium", ("no listener is full now, but every listener "
                                     + ("near its backlog " if near else "")
                                     + f"is capped by somaxconn {somax}: whichever overflowed, somaxconn is its limit")
    else:
        confidence, why = "medium", ("no listener is full now, but every listener "
                                     + ("near its backlog " if near else "")
                                     + f"has its own backlog below somaxconn {somax}: raising somaxconn helps none")
    return Finding("accept-queue", "critical", "Accept queue overflow: the application does not accept fast enough",
                   explanation, ev, window, tuple(props), tuple(advice), tuple(full or near),
                   confidence=confidence, confidence_why=why)


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
        return [], []  # without somaxconn neither kind can be told
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
                          # a SYN queue's length per listener is not read: with listeners of both kinds,
                          # which one was full (and so whether somaxconn is its limit) cannot be told
                          "syn-queue", optional=not capped or bool(own))
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
    counted = " and ".join(x for x in ("TCPReqQFullDrop" if drop else "", "SYN cookies" if cookies else "") if x)
    if not (drop or cookies):
        confidence, why = "medium", (f"inferred: {quarter} ListenDrops no accept-queue or SYN-queue counter explains, "
                                     "with tcp_syncookies=0; the kernel has no counter of its own for this drop")
    elif sockets is None or somax is None or not known:
        confidence, why = "low", (f"the kernel counted {counted}, but "
                                  + ("the listening sockets were not read" if sockets is None else
                                     "net.core.somaxconn was not read" if somax is None else
                                     "no listener is there now")
                                  + ": which limit the full SYN queue had is unknown")
    elif len(known) == 1:
        confidence, why = "high", (f"the kernel counted {counted}, and the only listener, port {known[0].port}, has "
                                   f"backlog {known[0].backlog} against somaxconn {somax}")
    elif capped and own:
        confidence, why = "low", (f"the kernel counted {counted}, but a SYN queue's length per listener is not read and "
                                  "the listeners do not share one limit: somaxconn helps only if the full one was "
                                  + _listener_names(capped))
    else:
        confidence, why = "medium", (f"the kernel counted {counted}; which listener's SYN queue was full is not read, "
                                     "but every listener here is " + ("capped by somaxconn" if capped else
                                                                      "below somaxconn, on its own backlog")
                                     + ", so the fix is the same whichever it was")
    return Finding("syn-queue", "critical" if (drop or quarter) else "warning", title, explanation, ev, window,
                   tuple(props), tuple(advice), confidence=confidence, confidence_why=why)


def _syn_unanswered(deltas, window, ct=None) -> Finding | None:  # type: ignore[no-untyped-def]
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
        "queue full), PAWSTimewait (timestamps behind NAT) — in synscope, the other row lit 'S'",
        "if the server is not on this node or shows nothing: a firewall or NAT on the way (an iptables/NetworkPolicy "
        "DROP, a full conntrack table: `conntrack -S`, `dmesg`), or loss on the path",
        "capture here (t, the default SYN, SYN-ACK and RST filter): the same SYN leaving again and again with no "
        "SYN-ACK back confirms it",
        "no sysctl in this namespace fixes it; tcp_syn_retries only changes how long connect() keeps trying",
    )
    dropped = _conntrack_dropped(deltas, ct.host_deltas if ct is not None else None)
    if active and dropped:
        return _syn_unanswered_conntrack(deltas, window, syn, active, fails, listen_side, dropped, ev, advice)
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
        if syn < MIN_SYN_RETRANS:
            confidence, why = "low", (f"only {syn} retransmitted SYN(s): one lost packet looks the same")
        elif listen_side:
            confidence, why = "medium", ("connect()s were made and SYNs retransmitted, but this namespace's listeners "
                                         "also resent SYN-ACKs: the counter mixes both")
        else:
            confidence, why = "high", (f"{syn} retransmitted SYNs with {active} connect()s and no listener trouble here; "
                                       "data retransmits do not exceed them, so it is not loss of data")
        return Finding("syn-unanswered", "warning", "SYNs unanswered: the server side drops them", explanation, ev,
                       window, (), advice, not_a_sysctl=True, confidence=confidence, confidence_why=why)
    explanation = (
        f"{syn} SYN or SYN-ACK retransmits{_w(window)}, and no connection was opened from here in that time: these "
        "are retries of connect()s started earlier (the server side does not answer), or SYN-ACKs this namespace's "
        "listeners resend because their clients do not complete the handshake (the final ACK is lost or filtered). "
        "Not data loss, and not a sysctl here."
    )
    advice = (*advice[:2], "capture here (t, the default SYN, SYN-ACK and RST filter): which side's packets go "
              "unanswered tells which it is", advice[3])
    return Finding("syn-unanswered", "info", "Handshakes retried: SYNs or SYN-ACKs unanswered", explanation, ev, window,
                   (), advice, not_a_sysctl=True, confidence="low" if syn < MIN_SYN_RETRANS else "medium",
                   confidence_why="TCPSynRetrans counts SYNs and SYN-ACKs alike, and with no connect() in the window "
                   "which side went unanswered cannot be told from the counters")


def _conntrack_dropped(own: Mapping[str, int], host: Mapping[str, int] | None) -> list[tuple[str, int, str]]:
    """Where conntrack dropped packets in the window: [(whose, packets, what)], the node's first.

    Packets dropped are ``drop`` (a full table, or a clash it could not resolve: those count
    in insert_failed too) plus ``chainlength`` (a hash chain too long: insert_failed, not
    drop). ``host`` is the node's own namespace's growth over the same window, for a pod.
    """
    out = []
    for whose, d in (("the node's", host), ("this namespace's own", own)):
        if not d:
            continue
        drop, chain = _d(d, "Conntrack.drop"), _d(d, "Conntrack.chainlength")
        if drop + chain:
            what = ", ".join(f"{k.split('.', 1)[1]} +{_d(d, k)}" for k in
                             ("Conntrack.drop", "Conntrack.insert_failed", "Conntrack.chainlength", "Conntrack.early_drop")
                             if _d(d, k))
            out.append((whose, drop + chain, what))
    return out


def _syn_unanswered_conntrack(deltas, window, syn, active, fails, listen_side, dropped, ev, advice) -> Finding:  # type: ignore[no-untyped-def]
    """SYNs retried while conntrack (the node's NAT, usually) dropped packets in the same window."""
    where = "; ".join(f"{whose} conntrack dropped {n} packets ({what})" for whose, n, what in dropped)
    node = any(whose == "the node's" for whose, _n, _w in dropped)
    explanation = (
        f"{syn} SYN retransmits{_w(window)} while this namespace opened {active} connections"
        + (f" ({fails} attempts failed)" if fails else "")
        + f", and in the same window {where}. "
        + ("Kubernetes Services and egress NAT (kube-proxy, the CNI's masquerade) run in the node's own namespace: "
           "a SYN its conntrack drops never reaches the server, and the client retries it a second later, exactly as "
           "if the server had dropped it. " if node else
           "A SYN this namespace's own conntrack drops (its NAT or stateful rules) never leaves it. ")
        + "That is the likely cause of these retransmits, before the server: a full conntrack table (early_drop, "
        "entries at nf_conntrack_max) or the SNAT source-port race (insert_failed)."
    )
    if listen_side:
        explanation += " This namespace's own listeners also dropped SYNs: part of TCPSynRetrans may be their SYN-ACKs."
    # evidence is this namespace's own growth; the node's counters are named in the explanation
    conn_ev = _ev(deltas, "Conntrack.drop", "Conntrack.insert_failed", "Conntrack.chainlength", "Conntrack.early_drop")
    first = ("look at the node's conntrack first: the host row's conntrack finding (table full or the SNAT race), "
             "`conntrack -S` and `dmesg | grep nf_conntrack` on the node" if node else
             "look at this namespace's conntrack finding (table full, SNAT race): its NAT or stateful rules drop the SYNs")
    advice = (first, *advice)
    if syn < MIN_SYN_RETRANS:
        confidence, why = "low", f"only {syn} retransmitted SYN(s): one lost packet looks the same"
    else:
        confidence, why = "medium", (f"{syn} SYNs retransmitted while conntrack dropped packets in the same window; "
                                     "conntrack does not count its drops per client, so the two are tied by time only "
                                     "(a server dropping SYNs too would look the same here)")
    return Finding("syn-unanswered", "warning", "SYNs unanswered: conntrack drops packets on the way", explanation,
                   ev + conn_ev, window, (), advice, not_a_sysctl=True, confidence=confidence, confidence_why=why)


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
    if storm:
        confidence, why = "high", (f"{ratio:.1%} of {sent} segments retransmitted (at least {RETRANS_RATIO:.0%} of "
                                   f"{MIN_OUTSEGS}), SYN retransmits left out")
    elif retr >= 10:
        confidence, why = "medium", (f"{retr} data retransmits and {timeouts} timeouts (stalls), but the share "
                                     f"({ratio:.0%}) rests on {sent} segments, fewer than the {MIN_OUTSEGS} a storm needs")
    else:
        confidence, why = "low", f"only {retr} data retransmit(s): one lost packet (a FIN, a last segment) looks the same"
    return Finding("path-loss", severity, "Retransmits and timeouts: loss on the path, not a sysctl",
                   explanation, ev, window, (), advice, not_a_sysctl=True, confidence=confidence, confidence_why=why)


# counters that say connections stalled on the handshake or on lost data: delayed ACKs beside
# them are what a stalled connection does, not why it stalled
_STALL_KEYS = ("TcpExt.ListenDrops", "TcpExt.ListenOverflows", "TcpExt.TCPReqQFullDrop", "TcpExt.TCPReqQFullDoCookies",
               "TcpExt.PAWSPassive", "TcpExt.PAWSTimewait", "TcpExt.TCPSynRetrans")


def _delayed_acks(deltas, state, window, routes, nsenter) -> Finding | None:  # type: ignore[no-untyped-def]
    """Delayed ACKs: what they are, when they are a side effect, and the Nagle stall they can cause.

    DelayedACKs counts the delayed-ACK timer firing with an ACK still owed (tcp_delack_timer):
    the ACK for received data waited, hoping to ride on data of this side's own, and then
    went alone. Normal on its own. With a peer that writes small pieces and waits (Nagle's
    algorithm holds a small write while earlier data is unACKed), each such wait is a stall
    of the timer's length, 40 ms at least.
    """
    n = _d(deltas, "TcpExt.DelayedACKs")
    rate = _rate(n, window)
    if n < DELACK_MIN or (rate is not None and rate < DELACK_MIN_RATE):
        return None
    ev = _ev(deltas, "TcpExt.DelayedACKs", "TcpExt.DelayedACKLocked", "TcpExt.DelayedACKLost", "Tcp.InSegs")
    stalls = [f"{k.split('.', 1)[1]} +{_d(deltas, k)}" for k in _STALL_KEYS if _d(deltas, k)]
    data_retr = max(0, _d(deltas, "Tcp.RetransSegs") - _d(deltas, "TcpExt.TCPSynRetrans"))
    if data_retr and _d(deltas, "TcpExt.TCPTimeouts") > _d(deltas, "TcpExt.TCPSynRetrans"):
        stalls.append(f"{data_retr} data retransmits")
    explanation = (
        f"DelayedACKs +{n}{_w(window)}{_per_s(n, window)}: ACKs for data this namespace received that the kernel held "
        "back, hoping to send them along with data of its own, and sent alone when the delayed-ACK timer ran out "
        "(40 ms at first, up to 200 ms). On their own they are normal: they save a packet per exchange on bulk and "
        "interactive traffic alike."
    )
    advice: list[str] = []
    if stalls:
        explanation += (
            f" Here they grew together with {', '.join(stalls)}: a side effect of the stall, not its cause. "
            "Connections that wait for retransmitted SYNs or lost data trickle, and more of their ACKs wait for the "
            "timer. Fix what the other finding names; the delayed ACKs follow."
        )
        advice.append("fix the SYN drops or the loss first (the other finding); if DelayedACKs keep growing once those "
                      "stop, look at small writes (below)")
        confidence, why = "medium", ("delayed ACKs and stall counters moved in the same window; the counters do not tie "
                                     "one to the other, but a stall makes delayed ACKs and not the other way round")
    else:
        confidence, why = "medium", ("the counter says ACKs waited for the timer; whether small writes stalled on them "
                                     "(Nagle) needs the application's write pattern or a capture: small segments that "
                                     "leave ~40 ms after the previous one was ACKed")
    explanation += (
        " What they can cost: with small request/response writes (write, write, then read), Nagle's algorithm holds "
        "the second small write until the first is ACKed, and the receiver holds that ACK for its delayed-ACK timer: "
        "about 40 ms per request, every request."
    )
    advice.append("fix it in the application that writes: set TCP_NODELAY on its sockets (setsockopt IPPROTO_TCP, "
                  "TCP_NODELAY, 1; most clients and servers have an option, e.g. nginx `tcp_nodelay on`, Go's default) "
                  "or write each request in one piece; no cost to anyone else")
    kernel = state.kernel if state else ""
    if kernel and not quickack_supported(kernel):
        advice.append(f"per-route quickack needs Linux 3.11 or later; this kernel is {kernel}")
    else:
        trade = ("trade-off: this namespace then ACKs every segment at once on that route: up to twice the ACK "
                 "packets (and their CPU) on bulk transfers, for every connection using the route; it lasts until "
                 "the route is replaced (a container or pod restart, the CNI re-creating it), so add it where the "
                 "network is set up; `quickack 0` in the same command undoes it")
        cmds = []
        prefix = nsenter if nsenter is not None else "nsenter --net=<the namespace's path>"
        shown = sorted(routes or (), key=lambda r: (r.dev == "lo", r.family, r.dst != "default"))
        for r in shown[:MAX_ROUTES]:
            cmd = r.quickack_command(prefix)
            cmds.append(cmd.strip() if cmd else f"(route `{r.shown}` has attributes synscope does not rewrite "
                        f"({', '.join(r.unsupported)}): take its line from `ip route show` and append `quickack 1`)")
            if r.quickack:
                cmds[-1] += "   # already has quickack 1"
        if routes is None:
            cmds.append(f"{prefix} ip route change <the route to the peers, exactly as `ip route show` prints it> "
                        "quickack 1   (a template: the routes were not read)")
        elif not routes:
            cmds.append("(no unicast route in the main table to change)")
        more = f" ({len(routes) - MAX_ROUTES} more routes not shown)" if routes and len(routes) > MAX_ROUTES else ""
        advice.append("or stop delaying ACKs here, per route, with the quickack option of `ip route` (on the route "
                      "toward the peers that write small pieces); " + trade + ". The commands for this namespace's "
                      f"routes{more}, one per route, follow:")
        advice += cmds
    return Finding("delayed-acks", "info", "Delayed ACKs: normal on their own; ~40 ms stalls with small writes",
                   explanation, ev, window, (), tuple(advice), not_a_sysctl=True,
                   confidence=confidence, confidence_why=why)


# ------------------------------------------------------------------------- conntrack

CT_NEAR_FULL = 0.9  # entries at 90 % of nf_conntrack_max: the table counts as full
CT_RACE_MIN = 3  # fewer failed inserts look the same as one unlucky race
CT_EDGE_SPLIT = 1  # drops beyond the failed inserts a window's start can split off a clash
CT_CLASHRES_MIN = 10  # resolved clashes drop nothing: only a steady stream is worth a note
CT_INVALID_MIN = 20  # a few invalid packets are normal (late segments of closed connections)
CT_INVALID_MIN_RATE = 0.2  # per second, over the window
BUCKET_BYTES = 8  # one hash bucket: an hlist_nulls_head, one pointer (64-bit)
CT_MAX_LIMIT = 2**31 - 1  # the sysctl's own upper bound


@dataclass(frozen=True, slots=True)
class ConntrackContext:
    """What the conntrack rules need besides the deltas; every field may be unknown."""

    entries: int | None = None  # the namespace's entries now
    entries_peak: int | None = None  # the highest sampled in the window
    entry_bytes: int | None = None  # one entry on this kernel (/proc/slabinfo), for the memory cost
    # the node's own namespace's growth over the same window, when diagnosing another namespace:
    # a pod's SYNs go through the node's NAT, and its conntrack drops show there, not in the pod
    host_deltas: Mapping[str, int] | None = None


def _mib(n: float) -> str:
    if n < 2**20:
        return f"{n / 2**10:.0f} KiB"
    return f"{n / 2**20:.1f} MiB" if n < 2**30 else f"{n / 2**30:.1f} GiB"


def _conntrack_full(deltas, state, window, ct) -> Finding | None:  # type: ignore[no-untyped-def]
    """The conntrack table full: entries evicted (early_drop) or packets dropped for want of room.

    Kernel facts (6.18, __nf_conntrack_alloc): a new entry is refused once the namespace's own
    count is above net.netfilter.nf_conntrack_max (global, set on the host only); the kernel
    first tries to evict an entry not yet assured (early_drop), and if it cannot, the packet
    is dropped (drop; dmesg 'nf_conntrack: table full'). A clash conntrack cannot resolve also
    counts in drop, with insert_failed: those are not the table's fault.
    """
    early, drop = _d(deltas, "Conntrack.early_drop"), _d(deltas, "Conntrack.drop")
    failed, chain = _d(deltas, "Conntrack.insert_failed"), _d(deltas, "Conntrack.chainlength")
    room = max(0, drop - max(0, failed - chain))  # drops that no failed insert explains
    if failed and room <= CT_EDGE_SPLIT:
        # a failed insert counts in insert_failed, then in drop: a sample taken between the two
        # puts the drop in this window and its insert_failed in the one before (seen on a
        # loaded CI machine: the NAT race with one drop "unexplained")
        room = 0
    if not (early or room):
        return None
    ev = _ev(deltas, "Conntrack.early_drop", "Conntrack.drop", "Conntrack.insert_failed", "Conntrack.chainlength")
    key, bkey = "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets"
    limit = _int(state, key)
    buckets = _int(state, bkey)
    peak = ct.entries_peak if ct is not None else None
    now = ct.entries if ct is not None else None
    near = peak is not None and limit is not None and limit > 0 and peak >= CT_NEAR_FULL * limit
    seen = (f"entries peaked at {peak} of nf_conntrack_max {limit} in the samples"
            if peak is not None and limit is not None else "entries against nf_conntrack_max not read")
    parts = []
    if early:
        parts.append(f"{early} entries of connections not yet established were evicted to make room (early_drop)")
    if room:
        parts.append(f"{room} packets were dropped that no insert clash explains (drop)")
    explanation = (
        f"The conntrack table was full{_w(window)}: " + " and ".join(parts) + f"; {seen}"
        + (f" (now {now})" if now is not None and now != peak else "") + ". "
        "On this kernel each namespace's own entry count is checked against net.netfilter.nf_conntrack_max, "
        "which is global: it can only be set on the host, and applies to every namespace. A packet that finds no "
        "room is dropped (dmesg: 'nf_conntrack: table full, dropping packet'): a new connection's SYN, so the "
        "client retries a second later, or a packet of a flow that lost its entry."
    )
    advice: list[str] = []
    props: list[Proposal] = []
    if early:
        confidence, why = "high", (f"early_drop +{early}: the kernel evicts entries only when the count is above "
                                   "nf_conntrack_max, so the table was full at those moments")
    elif near:
        confidence, why = "high", (f"drop +{room} beyond the failed inserts, with entries at {peak} of {limit} "
                                   f"(at least {CT_NEAR_FULL:.0%}) in the samples")
    elif peak is not None and limit is not None:
        confidence, why = "low", (f"drop +{room} beyond the failed inserts, but entries never came near "
                                  f"nf_conntrack_max in the samples (peak {peak} of {limit}): a burst between two "
                                  "samples, or drops of another kind (memory pressure); no change is proposed on that")
    else:
        confidence, why = "medium", (f"drop +{room} beyond the failed inserts; the entries or nf_conntrack_max were not "
                                     "read, so whether the table was full is not confirmed and nothing is proposed")
    if confidence == "high" and limit is not None and state is not None:
        target = min(CT_MAX_LIMIT, limit * 2)
        size = ct.entry_bytes if ct is not None else None
        cost = (f"up to {_mib((target - limit) * size)} more when the table fills ({size} B a conntrack entry on this "
                "kernel, from /proc/slabinfo; each entry's extensions, NAT and timestamps among them, come on top)"
                if size else "one conntrack entry is a few hundred bytes (its size is in /proc/slabinfo, which could "
                "not be read); extensions (NAT, timestamps) come on top")
        p = _proposal(state, key, str(target),
                      f"{', '.join(e.text() for e in ev)}{_w(window)}: the conntrack table was full ({seen})",
                      f"medium, global: every namespace may then hold that many entries. Memory: {cost}; it is taken "
                      "only as entries are used. A full table is often a symptom: a flood of new connections, or long "
                      "timeouts holding dead flows (see below)", "conntrack-full")
        if p:
            props.append(p)
        if buckets is not None and buckets < target // 4:
            # kube-proxy's rule (hashsize >= max/4): an average chain of at most 8 at a full table
            want = target // 4
            p = _proposal(state, bkey, str(want),
                          f"nf_conntrack_max {target} with {buckets} hash buckets: long chains at a full table",
                          f"low: the hash table is reallocated at once, {_mib(want * BUCKET_BYTES)} "
                          f"({BUCKET_BYTES} B a bucket), and every entry rehashed (a short pause); global, host only",
                          "conntrack-full", optional=True)
            if p:
                props.append(p)
        advice.append(f"{key} and {bkey} are global: set them on the node (sysctl -w, and /etc/sysctl.d/ to keep "
                      "them); where nf_conntrack is a module loaded after sysctl.d is applied, keep the hash size as "
                      "`options nf_conntrack hashsize=N` in /etc/modprobe.d/ (or nf_conntrack.hashsize=N on the kernel "
                      "command line when it is built in)")
        advice.append("on a Kubernetes node kube-proxy sets nf_conntrack_max when it starts, from its "
                      "--conntrack-max-per-core (default 32768 per CPU) and --conntrack-min: raise those too, or its "
                      "next start may set its own value again")
    advice.append("what holds the entries: `conntrack -L | awk '{print $4}' | sort | uniq -c` on the node "
                  "(entries by TCP state); many in TIME_WAIT or CLOSE mean short-lived connections (pool them); many "
                  "ESTABLISHED idle ones mean long timeouts (nf_conntrack_tcp_timeout_established, 5 days by default)")
    if not early and not near:
        advice.append("watch entries against nf_conntrack_max (the Conntrack rows of this namespace) before "
                      "changing anything: synscope proposes the change only once the table is seen full")
    return Finding("conntrack-full", "critical", "Conntrack table full: packets dropped, entries evicted",
                   explanation, ev, window, tuple(props), tuple(advice), confidence=confidence, confidence_why=why)


def _int(state, key: str) -> int | None:  # type: ignore[no-untyped-def]
    """The namespace's value, else the host's (a global key reads the same everywhere on 6.18)."""
    if state is None:
        return None
    v = state.int_value(key)
    if v is None:
        h = state.host(key)
        try:
            v = int(h.split()[0]) if h else None
        except ValueError:
            v = None
    return v


def _conntrack_race(deltas, window) -> Finding | None:  # type: ignore[no-untyped-def]
    """Inserts that failed: the SNAT source-port race (kubernetes#56903), and resolved clashes.

    On 6.18 insert_failed counts an entry that could not go into the table at confirm time:
    another entry took its tuple first (a clash conntrack could not resolve, its packet dropped
    and counted in drop too), or its hash chain was too long (chainlength). clashres counts
    clashes the kernel resolved: nothing dropped.
    """
    failed, chain = _d(deltas, "Conntrack.insert_failed"), _d(deltas, "Conntrack.chainlength")
    clash = _d(deltas, "Conntrack.clashres")
    race = max(0, failed - chain)
    if not race and not chain and clash < CT_CLASHRES_MIN:
        return None
    ev = _ev(deltas, "Conntrack.insert_failed", "Conntrack.clashres", "Conntrack.chainlength", "Conntrack.drop")
    advice = [
        "masquerade with --random-fully: `iptables-save -t nat | grep -E 'MASQUERADE|SNAT'` on the node (and in this "
        "namespace) shows the rules; those without --random-fully pick source ports in a way two connections can race "
        "for. kube-proxy adds it to its own masquerade rule where iptables supports it; CNIs that masquerade pod "
        "traffic have their own setting for it",
        "fewer short-lived connections: keep-alive and connection pools, so fewer new flows race through the NAT",
        "for UDP DNS (queries to a Service IP, A and AAAA at once from one socket): NodeLocal DNSCache, which keeps "
        "pods' DNS off conntrack's NAT, or `options single-request-reopen` in the pods' resolv.conf (glibc)",
        "no sysctl fixes the race; more source ports (a wider SNAT range, more egress addresses) make it rarer",
    ]
    if race:
        explanation = (
            f"{race} new connections' conntrack entries could not be inserted{_w(window)} (insert_failed"
            + (f" +{failed}, of which chainlength +{chain}" if chain else f" +{failed}") + "): another entry had "
            "taken their tuple between their first packet and its confirmation, and the kernel could not resolve the "
            "clash, so it dropped the packet. Behind NAT this is the source-port race: two connections leave "
            "through the same SNAT address to the same destination and get the same source port at once. A dropped "
            "SYN costs the client a second (TCPSynRetrans on the client's row), a dropped DNS query 5 s (the "
            "resolver's timeout)."
        )
        if clash:
            explanation += f" clashres +{clash}: as many more races were resolved without a drop."
        if race >= CT_RACE_MIN:
            confidence, why = "high", (f"insert_failed +{failed}" + (f" less chainlength +{chain}" if chain else "")
                                       + ": on this kernel a failed insert is a clash the kernel could not resolve "
                                       "(its packet dropped) or a chain too long, counted apart; which NAT rule raced "
                                       "is not visible in the counters")
        else:
            confidence, why = "low", f"insert_failed +{failed}: one or two look the same as a single unlucky race"
        title, severity = "Conntrack inserts failed: the SNAT source-port race drops packets", "warning"
    elif chain:
        explanation = (
            f"{chain} new entries were refused{_w(window)} because their hash chain was too long (chainlength): the "
            "kernel caps a chain's length so a lookup stays short, and drops the packet of an entry that would make "
            "it longer. Either the hash table is small for the entries (net.netfilter.nf_conntrack_buckets), or "
            "flows were made to collide on purpose."
        )
        advice = ["compare the entries (the Conntrack rows) with net.netfilter.nf_conntrack_buckets: two hash entries "
                  "per conntrack entry, and chains are refused past ~64 entries; a table far from that points at "
                  "crafted collisions (a flood), not at its size",
                  "nf_conntrack_buckets is global and set on the host only (it reallocates the table at once)"]
        confidence, why = "medium", ("chainlength counts only this; whether the table is small or the flows collide on "
                                     "purpose needs the entries and the bucket count side by side")
        title, severity = "Conntrack inserts refused: hash chains too long", "warning"
    else:
        r = _rate(clash, window)
        explanation = (
            f"clashres +{clash}{_w(window)}{_per_s(clash, window)}: new flows raced to insert the same conntrack entry "
            "and the kernel resolved it, so nothing was dropped. It is the same race that drops packets when it "
            "cannot be resolved (insert_failed): parallel UDP queries from one socket (DNS A and AAAA at once) make "
            "it most often."
        )
        confidence, why = "medium", (f"{clash} resolved clashes" + (f" ({r:.1f}/s)" if r is not None else "")
                                     + ", none failed: nothing dropped yet")
        title, severity = "Conntrack clashes resolved: the insert race, without drops so far", "info"
    return Finding("conntrack-race", severity, title, explanation, ev, window, (), tuple(advice), not_a_sysctl=True,
                   confidence=confidence, confidence_why=why)


def _conntrack_invalid(deltas, state, window, nsenter) -> Finding | None:  # type: ignore[no-untyped-def]
    """Packets conntrack could not fit to a connection's state (invalid)."""
    inv = _d(deltas, "Conntrack.invalid")
    rate = _rate(inv, window)
    if inv < CT_INVALID_MIN or (rate is not None and rate < CT_INVALID_MIN_RATE):
        return None
    ev = _ev(deltas, "Conntrack.invalid", "Conntrack.icmp_error", "Tcp.InErrs", "Tcp.OutRsts")
    explanation = (
        f"conntrack marked {inv} packets INVALID{_w(window)}{_per_s(inv, window)}: they fit no state of a connection "
        "it tracks. For TCP that is mostly a segment out of the window conntrack expects (asymmetric routing that "
        "shows it only one direction, an entry dropped or expired while its connection lived on, window scaling "
        "mangled on the way), or a flag combination no state accepts (SYN|FIN: crafted or broken packets). "
        "conntrack does not drop them itself: rules do (`-m conntrack --ctstate INVALID -j DROP`, which kube-proxy "
        "puts on the traffic it forwards), and behind NAT an INVALID packet leaves untranslated and the peer "
        "answers it with a reset."
    )
    advice = [
        "see what they are first: capture here (t): segments far outside the sequence window of their connection "
        "are out-of-window; SYN|FIN or other odd flags are crafted or broken packets",
        "whether they are dropped: `iptables-save | grep -i invalid` in this namespace (and on the node)",
    ]
    if state is not None and state.has("net.netfilter.nf_conntrack_tcp_be_liberal"):
        prefix = nsenter if nsenter is not None else "nsenter --net=<the namespace's path>"
        cmd = f"{prefix} sysctl -w net.netfilter.nf_conntrack_tcp_be_liberal=1".strip()
        advice.append(
            "if they are out-of-window TCP segments: `" + cmd + "` (per namespace on this kernel; kube-proxy can set "
            "it for the node, its conntrack tcpBeLiberal setting) makes conntrack accept them instead of marking "
            "them INVALID. Trade-off: conntrack then stops checking TCP windows, so stale or spoofed segments inside "
            "a tracked connection pass its rules and its NAT. Not when this namespace faces untrusted networks and "
            "relies on conntrack to drop such segments, and not for the other kinds of invalid packet (bad flags, "
            "checksums), which it does not change")
    advice.append("synscope proposes no sysctl for this: the counter does not tell out-of-window segments from the "
                  "other kinds, and the one setting that helps helps only the first")
    confidence, why = "medium", ("the kernel counted the invalid packets; which kind they are (out of window, bad "
                                 "flags, checksums) is not counted apart: a capture tells")
    return Finding("conntrack-invalid", "warning", "Conntrack marks packets INVALID: out-of-window or malformed",
                   explanation, ev, window, (), tuple(advice), confidence=confidence, confidence_why=why)


def diagnose(
    deltas: Mapping[str, int],
    sysctls: SysctlState | None = None,
    sockets: Sequence[ListenSocket] | None = None,
    *,
    window: float | None = None,
    kernel_keys: Iterable[str] = (),
    routes: Sequence[Route] | None = None,
    nsenter: str | None = None,
    conntrack: ConntrackContext | None = None,
) -> list[Finding]:
    """All findings for one namespace, most severe first.

    ``deltas``: growth per counter over the window ("TcpExt.ListenDrops": 72); ``kernel_keys``:
    the counters this kernel has (values().keys()), used to tell an old kernel from a new one
    when the sysctls were not read. ``routes`` (None: not read) and ``nsenter`` (the command
    prefix that enters the namespace; "" for the host) make the delayed-ACK finding's
    ``ip route`` commands exact; without them it gives a template and says so. ``conntrack``:
    the entries and their size for the table-full finding, and the node's conntrack growth for
    a pod whose SYNs go unanswered.
    """
    kernel = set(kernel_keys)
    socks = list(sockets) if sockets is not None else None  # None: not read, say nothing about them
    found = [
        _tw_recycle(deltas, sysctls, window),
        _nat_timestamps(deltas, sysctls, window, kernel),
        _accept_queue(deltas, sysctls, window, socks),
        _syn_queue(deltas, sysctls, window, socks),
        _syn_unanswered(deltas, window, conntrack),
        _path_loss(deltas, window),
        _delayed_acks(deltas, sysctls, window, routes, nsenter),
        _conntrack_full(deltas, sysctls, window, conntrack),
        _conntrack_race(deltas, window),
        _conntrack_invalid(deltas, sysctls, window, nsenter),
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
    conntrack: ConntrackView | None = None  # None: no conntrack in use in this namespace

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
    host_history: NsHistory | None = None,
) -> Diagnosis:
    """Findings for one namespace from its history, reading its sysctls and sockets inside it.

    Sysctls, sockets (and routes, for the delayed-ACK finding) are read only when a rule fires
    (or ``always_read``): a quiet namespace costs nothing but the arithmetic. ``host_history``:
    the node's own namespace's history, ticking with this one, so a pod whose SYNs go
    unanswered is told when the node's conntrack dropped packets in the same window.
    """
    if history is None or history.ticks == 0:
        return Diagnosis(ns, (), None, None, None, {}, ("no deltas yet: wait for a second sample",))
    deltas, window = deltas_from_history(history, n)
    kernel_keys = history.values().keys()
    view = conntrack_view(history, n)
    host_ct = None
    if host_history is not None and host_history is not history and host_history.ticks:
        host_deltas, _ = deltas_from_history(host_history, n)
        host_ct = {k: v for k, v in host_deltas.items() if k.startswith(CONNTRACK_SECTION + ".")} or None
    ct = ConntrackContext(view.entries if view else None, view.entries_peak if view else None, None, host_ct)
    # unexplained ListenDrops need the sysctls to be judged (tcp_syncookies=0?): read them
    quiet = (not diagnose(deltas, None, window=window, kernel_keys=kernel_keys, conntrack=ct)
             and not _unexplained_listen_drops(deltas))
    if not always_read and quiet:
        return Diagnosis(ns, (), None, None, window, deltas, conntrack=view)
    if _d(deltas, "Conntrack.early_drop") or _d(deltas, "Conntrack.drop"):  # the table-full finding's memory cost
        ct = ConntrackContext(ct.entries, ct.entries_peak, entry_size(), ct.host_deltas)
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
    routes: list[Route] | None = None
    if _d(deltas, "TcpExt.DelayedACKs") >= DELACK_MIN:  # only the delayed-ACK finding uses them
        try:
            routes = routes_of(ns, reader)
        except (NamespaceGone, OSError) as exc:
            notes.append(f"routes not read: {exc}")
    nsenter = "" if ns.kind == "host" else nsenter_prefix(ns)
    findings = diagnose(deltas, state, socks, window=window, kernel_keys=kernel_keys, routes=routes, nsenter=nsenter,
                        conntrack=ct)
    return Diagnosis(ns, tuple(findings), state, tuple(socks) if socks is not None else None, window, deltas,
                     tuple(notes), view)
