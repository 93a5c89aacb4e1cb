"""``synscope capture NS --when EXPR``: the headless armed capture.

The tick is this namespace's alone (:class:`~tui.core.capture.ticker.NamespaceTicker`, every
``--interval``): each tick's values go to :meth:`CaptureManager.observe` — the method the
TUI's sampling tick calls, so both decide triggers and write windows with the same code.
stderr says what happens (armed, each trigger and its deltas, each saved window); stdout
gets the path of each saved pcap, one a line, as it is saved.
"""

from __future__ import annotations

import argparse
import sys
import time

from tui.commands.signal_stop import SignalStop
from tui.core.capture import CaptureError, CaptureManager, CaptureSpec
from tui.core.capture.ticker import NamespaceTicker
from widgets.formatting import human_bytes

__all__ = ["run_armed"]


def run_armed(args: argparse.Namespace, manager: CaptureManager, spec: CaptureSpec) -> int:
    with SignalStop() as stop:
        return _run(args, manager, spec, stop)


def _run(args: argparse.Namespace, manager: CaptureManager, spec: CaptureSpec, stop: SignalStop) -> int:
    err, ns = sys.stderr, spec.ns
    ticker = NamespaceTicker(ns, manager)
    try:
        try:
            cid = manager.start(spec)
        except CaptureError as exc:
            print(f"synscope capture: {exc}", file=err)
            return 2
        st = manager.status(cid)
        print(f"synscope: armed in {ns.name} ({ns.label}), tcpdump pid {st.pid}", file=err)
        print(f"synscope: filter ({spec.preset}): {spec.filter}", file=err)
        print(f"synscope: {st.when}; {st.bounds_text}; every {args.interval:g} s; Ctrl+C stops", file=err, flush=True)
        seen, saved = 0, 0
        announced = False
        next_tick = time.monotonic()
        try:
            while not manager.wait_done(cid, timeout=0) and not stop.event.is_set():
                if not announced and manager.status(cid).listening:
                    announced = True  # from here on the ring holds packets (tests wait for it)
                    print(f"synscope: tcpdump is listening on {st.interface}", file=err, flush=True)
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = max(next_tick + args.interval, now)  # a slow tick is skipped, not queued
                    result = ticker.tick()
                    if result.dropped:
                        for note in result.notes:
                            print(f"synscope: {note}", file=err)
                        manager.stop(cid, reason="the namespace vanished")
                        break
                seen = _print_events(manager, cid, seen)
                saved = _print_saved(manager, cid, saved)
                stop.event.wait(min(0.1, max(0.0, next_tick - time.monotonic())))
        except KeyboardInterrupt:
            stop.interrupted()
        if not manager.wait_done(cid, timeout=0):
            manager.stop(cid, reason="stopped by signal" if stop.caught else "stopped")
        manager.wait_done(cid, timeout=10)
        seen = _print_events(manager, cid, seen)
        _print_saved(manager, cid, saved)
        st = manager.status(cid)
        for msg in st.messages:
            if not msg.startswith("tcpdump: listening on"):
                print(f"synscope: {msg}", file=err)
        kept = [t for t in st.triggers if t.packets]
        print(f"synscope: {st.packets} packets seen, {human_bytes(st.bytes)} in {st.elapsed:.1f} s ({st.end_reason}); "
              f"{len(st.triggers)} trigger{'s' if len(st.triggers) != 1 else ''}, "
              f"{len(kept)} window{'s' if len(kept) != 1 else ''} saved" + ("" if st.triggers else ": nothing triggered"),
              file=err)
        if st.state == "failed":
            print(f"synscope capture: {st.end_reason}", file=err)
            return 1
        return stop.exit_code() or 0
    finally:
        ticker.close()
        manager.close()


def _print_events(manager: CaptureManager, cid: int, seen: int) -> int:
    lines, total = manager.lines_since(cid, seen)
    for line in lines:
        print(f"synscope: {line}", file=sys.stderr, flush=True)
    return total


def _print_saved(manager: CaptureManager, cid: int, saved: int) -> int:
    """Print each newly closed window's path on stdout; the count printed so far."""
    done = [t for t in manager.status(cid).triggers if t.state != "collecting"]
    for t in done[saved:]:
        try:
            print(t.path, flush=True)
        except BrokenPipeError:
            pass
    return len(done)
