"""``synscope sockets NS``: the TCP sockets behind one namespace's counters.

What an engineer would get from ``ss -ltn``, ``ss -tn state syn-recv``, ``ss -tan`` and
``ss -ti`` after ``nsenter`` into the namespace: each listener's accept queue against its
backlog and its half-open (SYN-RECV) count, sockets counted by state, and connections grouped
by peer address, worst first (retransmits, RTT, cwnd). Read inside the namespace on a setns
thread; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys

from tui.commands.capture import pick_namespace
from tui.commands.common import ns_identity
from tui.core.capture import CaptureError
from tui.core.namespaces import Discovery
from tui.core.netns import NamespaceGone, NetnsReader
from tui.core.sockets import MAX_PEERS, SocketsSummary, sockets_summary
from tui.core.sources import default_sources


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sockets",
        help="the TCP sockets of one namespace: listeners and their queues, states, connections by peer",
        description="Read one namespace's TCP sockets inside it (sock_diag, as ss does): each listener's accept "
        "queue against its backlog and its SYN-RECV count; sockets by state, TIME-WAIT included; connections "
        f"grouped by peer address with retransmits, RTT and cwnd, worst first (the {MAX_PEERS} worst peers).",
    )
    p.add_argument("ns", metavar="NS", help="namespace: name, pod, container, k8s namespace, label key=value, net:[inode]")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def record(ns, summary: SocketsSummary) -> dict:  # type: ignore[no-untyped-def]
    return {**ns_identity(ns), "sockets": summary.as_dict()}


def print_text(ns, s: SocketsSummary, out) -> None:  # type: ignore[no-untyped-def]
    print(f"{ns.name}  [{ns.kind}, {ns.label}]", file=out)
    states = ", ".join(f"{name} {n}" for name, n in s.states) or "none"
    print(f"  sockets: {s.total} ({states})", file=out)
    if s.listeners:
        print(f"  {'listening on':<28} {'accept queue/backlog':>22} {'SYN-RECV':>9}", file=out)
        for x in s.listeners:
            queue = f"{x.accept_queue}/{x.backlog}" + (" FULL" if x.full else "")
            print(f"  {x.endpoint:<28} {queue:>22} {x.syn_recv:>9}", file=out)
    else:
        print("  no listening socket", file=out)
    if not s.peers:
        print("  no connection", file=out)
    else:
        more = f", the {len(s.peers)} worst of {s.peers_total} peers" if s.peers_total > len(s.peers) else ""
        print(f"  connections by peer, worst first ({s.connections} connections{more}):", file=out)
        for g in s.peers:
            states = ", ".join(f"{name} {n}" for name, n in g.states)
            line = (f"    {g.address:<28} {g.connections:>4} conn ({states})  retrans {g.retrans}/{g.total_retrans}  "
                    f"rtt max {g.rtt_ms_max:g} ms  cwnd min {g.cwnd_min}")
            if g.backoff_max:
                line += f"  backoff {g.backoff_max}"
            print(line, file=out)
            for c in g.worst:
                print(f"      {c.local} -> :{c.peer_port} {c.state}  {c.ss_text()}", file=out)
            if g.connections > len(g.worst):
                print(f"      ... and {g.connections - len(g.worst)} more", file=out)
    print(file=out)


def run(args: argparse.Namespace) -> int:
    try:
        found = Discovery(default_sources()).discover()
        ns = pick_namespace(args.ns, found.namespaces)
    except CaptureError as exc:
        print(f"synscope sockets: {exc}", file=sys.stderr)
        return 1
    reader = NetnsReader()
    try:
        summary = sockets_summary(ns, reader)
    except (NamespaceGone, OSError) as exc:
        print(f"synscope sockets: {ns.name}: {exc}", file=sys.stderr)
        return 1
    finally:
        reader.close()
    if args.json:
        print(json.dumps(record(ns, summary), sort_keys=True))
    else:
        print_text(ns, summary, sys.stdout)
    return 0
