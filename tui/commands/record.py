"""``synscope record``: the recorder, a long-running service writing a store (tui/core/store)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from tui.commands.argtypes import MAX_INTERVAL, seconds, whole_number

DEFAULT_DIR = "/var/lib/synscope"


def age(text: str) -> float:
    """A type: ``90m``, ``24h``, ``7d``, ``1h30m`` (tui.core.store.when)."""
    from tui.core.store.when import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def size(text: str) -> int:
    """A type: ``256MB``, ``1GB`` (bytes)."""
    from tui.core.store.when import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record every namespace's counters into a store, for replay and dump")
    p.add_argument("--dir", default=DEFAULT_DIR, metavar="DIR", help=f"the store's directory (default {DEFAULT_DIR})")
    p.add_argument("--interval", type=seconds(MAX_INTERVAL), default=argparse.SUPPRESS, metavar="S",
                   help="seconds between ticks (default 1)")
    p.add_argument("--retain", type=age, default=86400.0, metavar="AGE",
                   help="drop data older than AGE: 90m, 24h, 7d (default 24h)")
    p.add_argument("--max-size", type=size, default=256 << 20, metavar="SIZE",
                   help="the store never grows past SIZE, database and WAL together: the oldest data goes first "
                   "(default 256MB)")
    # for tests and the benchmark: smaller chunks make chunk boundaries and retention quick to reach
    p.add_argument("--chunk-ticks", type=whole_number(3600), default=None, help=argparse.SUPPRESS)
    p.add_argument("--keyframe-chunks", type=whole_number(1000), default=None, help=argparse.SUPPRESS)
    p.add_argument("--ticks", type=whole_number(10**9), default=None, help=argparse.SUPPRESS)
    p.add_argument("--discover-every", type=seconds(3600), default=5.0, help=argparse.SUPPRESS)
    p.set_defaults(func=run, default_interval=1.0)


def run(args: argparse.Namespace) -> int:
    from tui.core.idle_skip import IdleSkip
    from tui.core.monitor import Monitor
    from tui.core.namespaces import Discovery
    from tui.core.recorder import Recorder
    from tui.core.sources import default_sources
    from tui.core.store.lock import RecorderLock, StoreLocked
    from tui.core.store.writer import CHUNK_TICKS, KEYFRAME_CHUNKS, StoreFull

    if args.max_size < 1 << 20:
        print("synscope record: --max-size must be at least 1MB", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("synscope record: not root: only the namespaces this user can reach are recorded", file=sys.stderr)
    try:
        os.makedirs(args.dir, mode=0o700, exist_ok=True)
    except OSError as exc:
        print(f"synscope record: cannot make {args.dir}: {exc.strerror}", file=sys.stderr)
        return 1
    lock = RecorderLock(args.dir)
    try:
        lock.acquire()
    except StoreLocked as exc:
        print(f"synscope record: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum, frame):  # type: ignore[no-untyped-def]
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    recorder = None
    try:
        monitor = Monitor(Discovery(default_sources()), idle_skip=IdleSkip(), discover_every=args.discover_every)
        try:
            recorder = Recorder(args.dir, monitor, interval=args.interval, retain=args.retain,
                                max_bytes=args.max_size, chunk_ticks=args.chunk_ticks or CHUNK_TICKS,
                                keyframe_chunks=args.keyframe_chunks or KEYFRAME_CHUNKS)
        except BaseException:
            monitor.close()
            raise
        for note in recorder.writer.sealed_notes:
            print(f"synscope record: {note}", file=sys.stderr)
        print(f"synscope record: recording every {args.interval:g} s into {recorder.writer.path}", file=sys.stderr,
              flush=True)
        recorder.run(stop, args.ticks)
    except StoreFull as exc:
        print(f"synscope record: {exc}", file=sys.stderr)
        if recorder is not None:
            recorder.abandon()  # nothing more can be written: no sealing on the way out
            recorder = None
        return 1
    finally:
        try:
            if recorder is not None:
                try:
                    recorder.close()
                except StoreFull as exc:
                    print(f"synscope record: {exc}", file=sys.stderr)
        finally:
            lock.release()
    return 0
