"""``synscope diagnose``: sample every namespace over S seconds and say what is wrong.

Headless twin of the sysctl preview screen: findings with their evidence (counters and
deltas), proposals with current/host/proposed values and the exact commands, and the advice
that is not a sysctl. Reads only; it never writes a sysctl.
"""

from __future__ import annotations

import argparse
import json
import sys

from tui.commands.argtypes import MAX_INTERVAL, seconds
from tui.commands.common import matching, report_blind_spots, sockets_record, two_samples
from tui.core.conntrack import read_conntrack_max
from tui.core.diagnosis_report import diagnosis_record, print_diagnosis
from tui.core.netns import NetnsReader
from tui.core.rules import diagnose_namespace
from tui.core.sysctl import host_netns


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


# the renderers live in the core: an incident bundle holds the same text and JSON
record = diagnosis_record
print_text = print_diagnosis


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
