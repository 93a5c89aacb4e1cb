"""The ``synscope`` command: the TUI by default, headless subcommands beside it."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from tui.commands.argtypes import MAX_INTERVAL, seconds
from tui.version import VersionAction

DEFAULT_STORE = "/var/lib/synscope"  # the recorder's default directory (tui/commands/record.py)

# subcommand -> module exposing add_parser(subparsers) (which sets func=run on its parser)
COMMANDS = {
    "snapshot": "tui.commands.snapshot",
    "capture": "tui.commands.capture",
    "diagnose": "tui.commands.diagnose",
    "exporter": "tui.commands.exporter",
    "sockets": "tui.commands.sockets",
    "bundle": "tui.commands.bundle",
    "record": "tui.commands.record",
    "dump": "tui.commands.dump",
    "replay": "tui.commands.replay",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synscope",
        description="Live TCP counters of every network namespace on this node (containers, pods, ip netns).",
    )
    # default None: a subcommand's own --interval/--ns use SUPPRESS, so either place works
    # (`synscope --ns web snapshot` and `synscope snapshot --ns web`); main() fills defaults
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--interval", type=seconds(MAX_INTERVAL), default=None, metavar="S",
                        help="sampling interval in seconds (default 1)")
    parser.add_argument("--ns", default=None, metavar="FILTER", help="show only namespaces matching FILTER (name, pod, k8s namespace, label)")
    parser.add_argument(
        "--allow-apply",
        action="store_true",
        help="let the sysctl preview (key s) write a proposed value into the selected namespace, after confirmation; "
        "off by default: without it synscope never writes a sysctl",
    )
    parser.add_argument("--store", dest="tui_store", default=None, metavar="DIR",
                        help="the recorder's store (default /var/lib/synscope, when there): the TUI opens with its "
                        "recorded history; only read, never written")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interval is None:
        args.interval = getattr(args, "default_interval", 1.0)
    if args.ns is None:
        args.ns = ""
    try:
        if args.command is None:
            # the node's first scan starts now, on a thread, and runs while Textual is
            # imported (tui.source imports no Textual): the first frame comes sooner
            from tui.source import LiveSource

            store = args.tui_store or DEFAULT_STORE
            source = LiveSource(interval=args.interval, in_background=True, store=store,
                                store_explicit=args.tui_store is not None)
            from tui.app import run

            return run(args, source)
        if getattr(args, "tui_source", None) is not None:  # replay: the same App on another source
            source = args.tui_source(args)
            if source is None:
                return 1
            from tui.app import run

            return run(args, source)
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an on-call engineer needs the reason, not a traceback
        if os.environ.get("SYNSCOPE_DEBUG"):
            raise
        print(f"synscope: error: {type(exc).__name__}: {exc} (SYNSCOPE_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
