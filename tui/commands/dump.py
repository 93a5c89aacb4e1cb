"""``synscope dump``: a store's slice as csv, JSON lines, or a single-file recording."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time

from tui.commands.record import DEFAULT_DIR


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dump", help="print a recorded slice (csv, JSON lines) or write it as one recording file")
    p.add_argument("store", nargs="?", default=DEFAULT_DIR, metavar="STORE",
                   help=f"a store directory or a recording file (default {DEFAULT_DIR})")
    p.add_argument("--ns", default=argparse.SUPPRESS, metavar="FILTER", help="only namespaces matching FILTER")
    p.add_argument("--since", default=None, metavar="WHEN", help="from WHEN: 10m, 1h30m (ago) or an ISO time")
    p.add_argument("--until", default=None, metavar="WHEN", help="up to WHEN (default: the end)")
    p.add_argument("--format", choices=("csv", "json", "recording"), default="csv",
                   help="csv (default), json (one object a line), or recording: one file `synscope replay FILE` opens")
    p.add_argument("-o", "--output", default=None, metavar="FILE", help="write to FILE (a recording needs one)")
    p.set_defaults(func=run, default_interval=1.0)


def run(args: argparse.Namespace) -> int:
    from tui.core.store.dump import FIELDS, rows, select, write_recording
    from tui.core.store.reader import Store, StoreError
    from tui.core.store.when import parse_when

    now = time.time()
    try:
        since = parse_when(args.since, now) if args.since else None
        until = parse_when(args.until, now) if args.until else None
    except ValueError as exc:
        print(f"synscope dump: {exc}", file=sys.stderr)
        return 2
    if args.format == "recording" and not args.output:
        print("synscope dump: --format recording needs -o FILE", file=sys.stderr)
        return 2
    try:
        store = Store(args.store)
    except StoreError as exc:
        print(f"synscope dump: {exc}", file=sys.stderr)
        return 1
    try:
        chosen = select(store, args.ns, since, until)
        if args.ns and not chosen:
            print(f"synscope dump: no recorded namespace matches {args.ns!r}", file=sys.stderr)
            return 1
        if args.format == "recording":
            try:
                size = write_recording(store, chosen, args.output, since, until)
            except ValueError as exc:
                print(f"synscope dump: {exc}", file=sys.stderr)
                return 1
            print(f"synscope dump: wrote {args.output} ({size // 1024} KB, {len(chosen)} namespaces)", file=sys.stderr)
        else:
            out = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: SIM115
            try:
                if args.format == "csv":
                    writer = csv.writer(out)
                    writer.writerow(FIELDS)
                    for row in rows(store, chosen, since, until):
                        writer.writerow(["" if v is None else v for v in (getattr(row, f) for f in FIELDS)])
                else:
                    for row in rows(store, chosen, since, until):
                        out.write(json.dumps(row.as_dict()) + "\n")
            finally:
                if out is not sys.stdout:
                    out.close()
        for note in store.notes:
            print(f"synscope dump: {note}", file=sys.stderr)
    finally:
        store.close()
    return 0
