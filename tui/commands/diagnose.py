"""``synscope diagnose``: sample every namespace over S seconds and say what is wrong.

Headless twin of the sysctl preview screen: findings with their evidence (counters and
deltas), proposals with current/host/proposed values and the exact commands, and the advice
that is not a sysctl. Reads only; it never writes a sysctl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tui.commands.argtypes import MAX_INTERVAL, seconds
from tui.commands.common import matching, ns_identity, report_blind_spots, sockets_record, two_samples
from tui.core.conntrack import read_conntrack_max
from tui.core.namespaces import pod_row_name
from tui.core.netns import NetnsReader
from tui.core.rules import Diagnosis, diagnose_namespace
from tui.core.sysctl import commands_for, host_netns


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnose",
        help="watch every namespace for S seconds, then print findings and sysctl fix previews",
        description="Sample the TCP counters of every namespace twice, S seconds apart, and explain what grew: "
        "accept/SYN queue overflows, NAT + timestamp rejects, the old tcp_tw_recycle signature, loss on the path, "
        "delayed ACKs. Every finding states its confidence and why. "
        "Proposals show the namespace's and the host's current values and the exact commands; nothing is written.",
    )
    p.add_argument("--interval", type=seconds(MAX_INTERVAL), default=argparse.SUPPRESS, metavar="S", help="seconds to watch (default 5)")
    p.add_argument("--ns", default=argparse.SUPPRESS, metavar="FILTER", help="only namespaces matching FILTER")
    p.add_argument("--json", action="store_true", help="one JSON object per namespace with findings, one per line")
    p.add_argument("--all", action="store_true", help="also list namespaces with no finding")
    p.set_defaults(func=run, default_interval=5.0)


def record(d: Diagnosis, conntrack_max: int | None = None) -> dict:
    ns = d.ns
    rec: dict = {
        **ns_identity(ns),
        "window_seconds": d.window,
        "kernel": d.sysctls.kernel if d.sysctls else os.uname().release,
        "findings": [f.as_dict() for f in d.findings],
        "notes": list(d.notes),
        # over the window; null: no conntrack in use here. max is global on 6.18
        "conntrack": {**d.conntrack.as_dict(), "max": conntrack_max} if d.conntrack else None,
    }
    for f, fr in zip(d.findings, rec["findings"]):
        for p, pr in zip(f.proposals, fr["proposals"]):
            c = commands_for(p, ns)
            pr["commands"] = {
                "temporary": c.temporary,
                "persistent_file": c.persistent_file,
                "persistent_content": c.persistent_content,
                "persistent_note": c.persistent_note,
                "runtime": c.runtime or None,
                "k8s_yaml": c.k8s_yaml or None,
                "k8s_note": c.k8s_note or None,
            }
    return rec


def print_text(d: Diagnosis, out) -> None:  # type: ignore[no-untyped-def]
    ns = d.ns
    where = [ns.kind, ns.label]
    if ns.pod and pod_row_name(ns.k8s_namespace, ns.pod) != ns.name:  # a pod's row is named after it
        where.append(f"pod {pod_row_name(ns.k8s_namespace, ns.pod)}")
    if ns.pid:
        where.append(f"pid {ns.pid}")
    print(f"{ns.name}  [{', '.join(where)}]", file=out)
    for note in d.notes:
        print(f"  note: {note}", file=out)
    if not d.findings:
        print("  no finding", file=out)
    for f in d.findings:
        print(f"  {f.severity.upper()}: {f.title}", file=out)
        print(f"    evidence: {f.evidence_text()}", file=out)
        print(f"    {f.confidence_text()}", file=out)
        print(f"    {f.explanation}", file=out)
        if f.sockets:
            socks = ", ".join(f"{s.endpoint} queue {s.accept_queue}/{s.backlog}" for s in f.sockets)
            print(f"    listeners at their backlog: {socks}", file=out)
        for p in f.proposals:
            c = commands_for(p, ns)
            cur = "(absent)" if p.current is None else p.current
            host = "(absent)" if p.host is None else p.host
            tag = "  [an option, with trade-offs]" if p.optional else ""
            print(f"    sysctl {p.key}: {cur} -> {p.value}  (host {host}, scope {p.scope}){tag}", file=out)
            print(f"      risk: {p.risk}", file=out)
            print(f"      now:  {c.temporary}", file=out)
            print(f"      keep: {c.persistent_note}", file=out)
            if c.k8s_note:
                print(f"      k8s:  {c.k8s_note}", file=out)
        for a in f.advice:
            print(f"    - {a}", file=out)
        if f.not_a_sysctl:
            print("    (no sysctl proposed: this is not fixed by a kernel setting)", file=out)
    print(file=out)


def run(args: argparse.Namespace) -> int:
    reader = NetnsReader()
    try:
        with two_samples(args.interval) as (monitor, first, tick):
            report_blind_spots(first, tick, "diagnosed")
            shown = matching(tick.namespaces, args.ns)
            if args.ns and not shown:
                return 1
            host = next((ns for ns in tick.namespaces if ns.kind == "host"), None) or host_netns()
            host_history = monitor.history.get(host.inode)
            results = [diagnose_namespace(ns, monitor.history.get(ns.inode), n=1, reader=reader, host=host,
                                          host_history=host_history) for ns in shown]
        listed = [d for d in results if d.findings or args.all]
        if args.json:
            ct_max = read_conntrack_max()
            for d in listed:
                print(json.dumps({**record(d, ct_max), **sockets_record(d.ns, reader)}, sort_keys=True))
            return 0
    finally:
        reader.close()
    for d in listed:
        print_text(d, sys.stdout)
    with_findings = sum(1 for d in results if d.findings)
    print(f"{with_findings} of {len(shown)} namespaces with findings over {args.interval:g} s", file=sys.stdout)
    return 0
