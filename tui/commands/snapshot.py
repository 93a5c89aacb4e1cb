"""``synscope snapshot``: two samples S seconds apart, the deltas of every namespace."""

from __future__ import annotations

import argparse
import json
import sys

from tui.core.catalog import GROUP_ORDER, group_of, info
from tui.core.conntrack import conntrack_view, read_conntrack_max
from tui.core.counters import is_gauge
from tui.commands.argtypes import MAX_INTERVAL, seconds
from tui.commands.common import matching, ns_identity, report_blind_spots, sockets_record, two_samples
from tui.core.monitor import Monitor
from tui.core.namespaces import NetNS, pod_row_name
from tui.core.netns import NetnsReader


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshot", help="sample twice and print every namespace's counter deltas")
    p.add_argument("--interval", type=seconds(MAX_INTERVAL), default=argparse.SUPPRESS, metavar="S", help="seconds between the two samples (default 1)")
    p.add_argument("--json", action="store_true", help="one JSON object per namespace, one per line")
    p.add_argument("--all", action="store_true", help="also print absolute values of every counter")
    p.add_argument("--ns", default=argparse.SUPPRESS, metavar="FILTER", help="only namespaces matching FILTER")
    p.set_defaults(func=run, default_interval=1.0)


def ns_record(ns: NetNS, monitor: Monitor, with_values: bool, conntrack_max: int | None = None) -> dict:
    h = monitor.history.get(ns.inode)
    deltas = dict(sorted(h.last_deltas.items())) if h else {}
    view = conntrack_view(h, 1) if h else None
    rec: dict = {
        **ns_identity(ns),
        "names": [ns.name, *ns.aliases],
        "labels": dict(ns.labels),
        "containers": [
            {"name": c.name, "id": c.id, "image": c.image, "state": c.state, "runtime": c.runtime,
             "k8s_container": c.k8s_container or None}
            for c in ns.containers
        ],
        "processes": list(ns.processes),
        "interval": round(h.dt(h.ticks - 1) or 0.0, 3) if h and h.ticks else None,
        "deltas": deltas,
        "resets": list(h.last_resets) if h else [],
        # null: no conntrack in use in this namespace; max is global (the same for all, 6.18)
        "conntrack": {**view.as_dict(), "max": conntrack_max} if view else None,
    }
    if with_values and h:
        rec["values"] = h.values()
    return rec


def _table(records: list[dict], out) -> None:  # type: ignore[no-untyped-def]
    for rec in records:
        extra = []
        pod = pod_row_name(rec["k8s_namespace"] or "", rec["pod"] or "")
        if pod and pod != rec["name"]:  # a pod's row is named after it: say it only if not
            extra.append(f"pod {pod}")
        if rec["pid"]:
            extra.append(f"pid {rec['pid']}")
        extra.append(f"net:[{rec['inode']}]")
        aliases = [n for n in rec["names"][1:]]
        print(f"{rec['name']}  [{rec['kind']}]  " + "  ".join(extra), file=out)
        if aliases:
            print(f"  also: {', '.join(aliases)}", file=out)
        deltas = rec["deltas"]
        if not deltas:
            print("  (no counter moved)", file=out)
        for group in GROUP_ORDER:
            keys = [k for k in deltas if group_of(k) is group]
            for key in keys:
                wording = info(key).wording
                print(f"  {group.value:<14} {key:<34} {deltas[key]:>+12}  {wording}", file=out)
        for key in rec["resets"]:
            print(f"  {'reset':<14} {key:<34} {'(went down)':>12}", file=out)
        if "values" in rec:
            for key, v in sorted(rec["values"].items()):
                tag = "gauge" if is_gauge(key) else "value"
                print(f"  {tag:<14} {key:<34} {v:>12}", file=out)
        print(file=out)


def run(args: argparse.Namespace) -> int:
    with two_samples(args.interval) as (monitor, first, second):
        report_blind_spots(first, second)
        shown = matching(second.namespaces, args.ns)
        ct_max = read_conntrack_max()
        records = [ns_record(ns, monitor, args.all, ct_max) for ns in shown]
    if args.json:
        reader = NetnsReader()  # the sockets summary, read inside each namespace (JSON only)
        try:
            for ns, rec in zip(shown, records):
                rec.update(sockets_record(ns, reader))
        finally:
            reader.close()
        for rec in records:
            print(json.dumps(rec, sort_keys=True))
    else:
        _table(records, sys.stdout)
        print(f"{len(shown)} of {len(second.namespaces)} namespaces, {args.interval:g} s apart", file=sys.stdout)
    return 1 if args.ns and not shown else 0
