"""``synscope capture NS``: tcpdump inside one namespace, headless, bounded, never orphaned.

With ``--when`` the capture is armed (tui.core.capture.armed): this command runs the tick
for that one namespace (a :class:`~tui.core.sampler.Sampler` of it alone, every
``--interval``) and hands each tick's values to the same :meth:`CaptureManager.observe` the
TUI's sampling tick calls.
"""

from __future__ import annotations

import argparse
import sys

from tui.commands.argtypes import duration, seconds, whole_number
from tui.commands.signal_stop import SignalStop
from tui.core.capture import (
    DEFAULT_AFTER,
    DEFAULT_BEFORE,
    DEFAULT_DURATION,
    DEFAULT_FILE_COUNT,
    DEFAULT_FILE_MB,
    DEFAULT_MAX_TRIGGERS,
    DEFAULT_UNTIL,
    MAX_AFTER,
    MAX_BEFORE,
    MAX_DURATION,
    MAX_FILE_COUNT,
    MAX_FILE_MB,
    MAX_TRIGGERS,
    PRESETS,
    CaptureError,
    CaptureManager,
    CaptureSpec,
    listen_ports,
    parse_when,
    preset_filter,
)
from tui.core.namespaces import Discovery, NetNS
from tui.core.sources import default_sources
from widgets.formatting import human_bytes


def add_parser(sub: argparse._SubParsersAction) -> None:
    presets = "; ".join(f"{p.name}: {p.title}" for p in PRESETS.values() if p.name != "custom")
    p = sub.add_parser(
        "capture",
        help="run tcpdump inside one namespace, write a bounded pcap, print packets as they come",
        description=f"Capture packets inside the namespace NS matches (like --ns). Presets: {presets}. "
        "Or your own filter with --filter. The pcap is bounded by a ring of files and a duration.",
    )
    p.add_argument("ns", metavar="NS", help="namespace: name, pod, container, k8s namespace, label key=value, net:[inode]")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--filter", metavar="BPF", help="a tcpdump (BPF) filter, passed to tcpdump as is")
    what.add_argument("--preset", choices=[n for n in PRESETS if n != "custom"], help="a ready filter (default handshake)")
    p.add_argument("--port", metavar="N", help="the port for --preset port")
    p.add_argument("-i", "--interface", default="any", metavar="IF", help="interface inside the namespace (default any)")
    p.add_argument("--duration", type=seconds(MAX_DURATION), default=None, metavar="S", help=f"stop after S seconds (default {DEFAULT_DURATION:g}; not with --when: see --until)")
    p.add_argument("-w", dest="write", metavar="FILE", help="pcap file to write; with -w the ring is 1 file unless --files says more (then tcpdump appends 0, 1, ...)")
    p.add_argument("--dir", metavar="DIR", help="directory for the pcap (default $SYNSCOPE_CAPTURE_DIR or ~/.cache/synscope/captures)")
    p.add_argument("--file-mb", type=whole_number(MAX_FILE_MB), default=DEFAULT_FILE_MB, metavar="MB", help=f"size of each ring file, millions of bytes (default {DEFAULT_FILE_MB})")
    p.add_argument("--files", type=whole_number(MAX_FILE_COUNT), default=None, metavar="N", help=f"files in the ring (default {DEFAULT_FILE_COUNT}; 1 with -w)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the decoded packets")
    arm = p.add_argument_group(
        "armed capture", "--when arms the capture: tcpdump keeps the last seconds in memory, and a tick (every "
        "--interval) whose counter grew saves the packets from --before seconds before that tick to --after "
        "seconds after it as one pcap; then it re-arms, up to --max-triggers. The paths of the saved pcaps go to stdout.")
    arm.add_argument("--when", metavar="EXPR", help="'syn' (any SYN-trouble counter moves) or COUNTER>=N, e.g. "
                     "'TcpExt.ListenDrops>=1': that counter grows by at least N in one tick")
    arm.add_argument("--before", type=duration(MAX_BEFORE), default=None, metavar="S",
                     help=f"seconds kept before the trigger tick (default {DEFAULT_BEFORE:g})")
    arm.add_argument("--after", type=duration(MAX_AFTER), default=None, metavar="S",
                     help=f"seconds kept after it (default {DEFAULT_AFTER:g})")
    arm.add_argument("--max-triggers", type=whole_number(MAX_TRIGGERS), default=None, metavar="K",
                     help=f"windows saved before the capture stops (default {DEFAULT_MAX_TRIGGERS})")
    arm.add_argument("--until", type=duration(MAX_DURATION), default=None, metavar="DURATION",
                     help=f"disarm after this long, e.g. 90s, 30m, 2h (default {DEFAULT_UNTIL / 3600:g}h)")
    p.set_defaults(func=run)


def pick_namespace(pattern: str, namespaces: list[NetNS]) -> NetNS:
    """The one namespace ``pattern`` names; an exact name wins over substring matches."""
    hits = [ns for ns in namespaces if ns.matches(pattern)]
    if not hits:
        raise CaptureError(f"no namespace matches {pattern!r} (synscope snapshot lists them)")
    if len(hits) == 1:
        return hits[0]
    want = pattern.strip().lower()
    exact = [ns for ns in hits if want in (n.lower() for n in (ns.name, *ns.aliases, ns.label, str(ns.inode)))]
    if len(exact) == 1:
        return exact[0]
    names = ", ".join(f"{ns.name} ({ns.label})" for ns in hits[:10])
    raise CaptureError(f"{pattern!r} matches {len(hits)} namespaces: {names}; be more specific")


def build_filter(args: argparse.Namespace, ns: NetNS) -> tuple[str, str]:
    """(preset label, filter text) from the command line."""
    if args.filter is not None:
        return "custom", preset_filter("custom", custom=args.filter)
    preset = args.preset or ("port" if args.port else "handshake")
    if preset == "port":
        return preset, preset_filter("port", port=args.port)
    if preset == "listen":
        return preset, preset_filter("listen", ports=listen_ports(ns))
    return preset, preset_filter(preset)


def armed_options(args: argparse.Namespace) -> dict:
    """The CaptureSpec fields of --when and its bounds; {} without --when. Raises CaptureError
    for an armed option without --when, or --duration with it."""
    given = [f"--{n.replace('_', '-')}" for n in ("before", "after", "max_triggers", "until") if getattr(args, n) is not None]
    if args.when is None:
        if given:
            raise CaptureError(f"{', '.join(given)} only mean something with --when (an armed capture)")
        return {}
    if args.duration is not None:
        raise CaptureError("--duration bounds a capture that starts now; an armed capture is bounded by --until")
    return {
        "when": parse_when(args.when),
        "before": args.before if args.before is not None else DEFAULT_BEFORE,
        "after": args.after if args.after is not None else DEFAULT_AFTER,
        "max_triggers": args.max_triggers if args.max_triggers is not None else DEFAULT_MAX_TRIGGERS,
        "duration": args.until if args.until is not None else DEFAULT_UNTIL,
    }


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        armed = armed_options(args)  # a typo in --when is refused before anything is looked up
        found = Discovery(default_sources()).discover()
        ns = pick_namespace(args.ns, found.namespaces)
        preset, bpf = build_filter(args, ns)
        # validated here: the upper bounds are checked too, before any tcpdump runs
        spec = CaptureSpec(**{
            "ns": ns, "filter": bpf, "preset": preset, "interface": args.interface,
            "duration": args.duration if args.duration is not None else DEFAULT_DURATION,
            "file_mb": args.file_mb, "path": args.write,
            "file_count": args.files if args.files is not None else (1 if args.write else DEFAULT_FILE_COUNT),
            **armed,
        }).validated()  # fmt: skip
        manager = CaptureManager(directory=args.dir)
    except CaptureError as exc:
        print(f"synscope capture: {exc}", file=err)
        return 2
    if spec.when is not None:
        from tui.commands.capture_armed import run_armed

        return run_armed(args, manager, spec)

    with SignalStop() as stop:
        return _run_plain(args, manager, spec, stop)


def _run_plain(args: argparse.Namespace, manager: CaptureManager, spec: CaptureSpec, stop: SignalStop) -> int:
    err, ns = sys.stderr, spec.ns
    try:
        try:
            cid = manager.start(spec)
        except CaptureError as exc:
            print(f"synscope capture: {exc}", file=err)
            return 2
        st = manager.status(cid)
        print(f"synscope: capturing in {ns.name} ({ns.label}), tcpdump pid {st.pid}", file=err)
        print(f"synscope: filter ({spec.preset}): {spec.filter}", file=err)
        print(f"synscope: writing {st.files_text} ({st.bounds_text}); Ctrl+C stops", file=err, flush=True)
        seen = 0
        announced = False
        try:
            while not manager.wait_done(cid, timeout=0.2) and not stop.event.is_set():
                if not announced and manager.status(cid).listening:
                    announced = True  # from here on packets are caught: say so (tests wait for it)
                    print(f"synscope: tcpdump is listening on {st.interface}", file=err, flush=True)
                seen = _print_new(manager, cid, seen, args.quiet)
        except KeyboardInterrupt:
            stop.interrupted()
        manager.stop(cid, reason="stopped by signal" if stop.caught else "stopped")
        manager.wait_done(cid, timeout=10)
        _print_new(manager, cid, seen, args.quiet)
        st = manager.status(cid)
        for msg in st.messages:
            if not msg.startswith("tcpdump: listening on"):
                print(f"synscope: {msg}", file=err)
        files = ", ".join(st.files) or "(none written)"
        print(
            f"synscope: {st.packets} packets, {human_bytes(st.bytes)} in {st.elapsed:.1f} s "
            f"({st.end_reason}); files: {files}",
            file=err,
        )
        if st.state == "failed" or not st.files:
            # e.g. -w on a read-only filesystem, -w a directory, --dir not writable: tcpdump
            # said why above; a capture that wrote nothing must not look like a success
            why = st.end_reason if st.state == "failed" else "tcpdump wrote no file"
            print(f"synscope capture: nothing captured: {why}", file=err)
            return 1
        return stop.exit_code() or 0
    finally:
        manager.close()


def _print_new(manager: CaptureManager, cid: int, seen: int, quiet: bool) -> int:
    lines, total = manager.lines_since(cid, seen)
    if not quiet and lines:
        try:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            pass
    return total
