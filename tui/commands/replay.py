"""``synscope replay [STORE|FILE] [--at WHEN]``: the TUI on recorded data (tui/replay_source.py).

Its options and its source live here; the App itself is started by tui/cli.py, as for the
live TUI (the commands stay below the App: they never import Textual).
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.record import DEFAULT_DIR


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="the TUI on a recorded store or recording file, at any recorded moment")
    p.add_argument("store", nargs="?", default=DEFAULT_DIR, metavar="STORE|FILE",
                   help=f"a store directory or a recording file (default {DEFAULT_DIR})")
    p.add_argument("--at", default=None, metavar="WHEN",
                   help="open at WHEN: 10m, 1h30m (that long before the recording's end) or an ISO time "
                   "(2026-12-02T01:10, 01:10 today); default: the end")
    p.set_defaults(func=None, tui_source=tui_source, default_interval=1.0)


def open_source(path: str, at: str | None):  # type: ignore[no-untyped-def]
    """The ReplaySource, or the one-line reason it cannot be opened (str)."""
    from tui.core.store.reader import Store, StoreError
    from tui.core.store.when import parse_when
    from tui.replay_source import ReplaySource

    try:
        store = Store(path)
    except StoreError as exc:
        return str(exc)
    span = store.span()
    if span is None:
        store.close()
        return f"{path}: the store holds no tick yet (is the recorder running? it writes its first tick after one interval)"
    try:
        when = parse_when(at, span[1]) if at else None
    except ValueError as exc:
        store.close()
        return str(exc)
    return ReplaySource(store, when)


def tui_source(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The source the App runs on, or None after saying on stderr why there is none."""
    source = open_source(args.store, args.at)
    if isinstance(source, str):
        print(f"synscope replay: {source}", file=sys.stderr)
        return None
    return source
