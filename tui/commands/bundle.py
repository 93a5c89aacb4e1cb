"""``synscope bundle NS``: one namespace's incident bundle (tar.gz, mode 0600) for the ticket.

The same core as the TUI's ``w`` (:mod:`tui.core.bundle`). Headless there is no history from
before the command started, so the counters over ``--window`` come from the recorder's store
when one holds this namespace (``--store DIR``, or the recorder's default directory when a
store is there; the namespace matched by inode and namespace id), and the bundle then holds
``recording.synscope``, that namespace alone over the window. Without a store, or when it
cannot give them (unreadable, locked, corrupt, not covering the namespace, or its recorder
stopped), the counters are the namespace sampled now, ``--sample`` seconds (default 5) at
1 s; README.txt inside says which, and why. The diagnosis is made on the same counters.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

from tui.commands.argtypes import duration
from tui.commands.capture import pick_namespace
from tui.commands.record import DEFAULT_DIR
from tui.core.bundle import (
    BundleError,
    BundleRecording,
    CounterWindow,
    GivenCapture,
    counter_window,
    default_bundle_name,
    recording_from,
    write_bundle,
)
from tui.core.capture import CaptureError
from tui.core.history import History, NsHistory
from tui.core.recorded_window import NoRecordedWindow, RecordedWindow, find_recorded_window
from tui.core.namespaces import Discovery, NetNS
from tui.core.rules import Diagnosis, diagnose_namespace
from tui.core.netns import NetnsReader
from tui.core.sampler import Sampler
from tui.core.sources import default_sources
from tui.core.sysctl import host_netns

DEFAULT_WINDOW = 300.0
DEFAULT_SAMPLE = 5.0
MAX_SAMPLE = 600.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bundle",
        help="write one namespace's incident bundle (tar.gz, mode 0600): counters, diagnosis, sysctls, sockets, ip, pcaps",
        description="Write a tar.gz (mode 0600, never overwriting unless --force) with one namespace's evidence: "
        "its counters over the window as CSV and JSON, the diagnosis as text and JSON, its sysctls and the host's, "
        "its listening sockets and their queues, ip addr / ip route / ip -s link and the conntrack statistics "
        "read inside it, its identity (pod, labels, containers, images; never environment variables or command "
        "lines), the kernel's and synscope's versions, the pcaps given with --pcap, and a README.txt saying what "
        "each file is. Headless there is no history from before the command: the counters over --window come "
        f"from the recorder's store (--store, default {DEFAULT_DIR} when it holds one) when it has this namespace, "
        "matched by inode and namespace id, and the bundle then holds recording.synscope, that namespace alone over "
        "the window (synscope replay FILE opens it). Without one, or when the store cannot give them (unreadable, "
        "locked, corrupt, not covering the namespace, its recorder stopped), the counters are the namespace sampled "
        f"now for --sample seconds (default {DEFAULT_SAMPLE:g}) at 1 s. README.txt says which, and why. "
        "A part that cannot be read is a note in README.txt and notes.json; the bundle is still written. "
        "Exit status: 0 written, 1 NS matches no namespace (or several) or the file cannot be written, 2 bad command line.",
    )
    p.add_argument("ns", metavar="NS", help="namespace: name, pod, container, k8s namespace, label key=value, net:[inode]")
    p.add_argument("--window", type=duration(24 * 3600.0), default=DEFAULT_WINDOW, metavar="DURATION",
                   help="the window the counters and the recording cover, up to now: 30s, 5m, 1h (default 5m); "
                        "from the recorder's store when it has this namespace, else --sample seconds sampled now")
    p.add_argument("--store", default=None, metavar="DIR",
                   help=f"the recorder's store (synscope record --dir; default {DEFAULT_DIR}, used when a store is "
                        "there): the counters over --window and recording.synscope come from it")
    p.add_argument("--sample", type=duration(MAX_SAMPLE), default=DEFAULT_SAMPLE, metavar="DURATION",
                   help=f"without a store: seconds to sample the namespace now, at 1 s (default {DEFAULT_SAMPLE:g}; "
                        "at most the window)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where to write; a directory gets the default name (default ./synscope-bundle-<ns>-<UTC time>.tar.gz)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists (it stays mode 0600)")
    p.add_argument("--pcap", action="append", default=[], metavar="FILE",
                   help="a pcap of this namespace to include (e.g. from synscope capture -w); repeatable")
    p.set_defaults(func=run)


def sample_counters(ns: NetNS, history: History, seconds: float, why: str,
                    interval: float = 1.0) -> CounterWindow | None:
    """The namespace alone, sampled every ``interval`` for ``seconds``: the headless window
    without a store (``why`` says why not from one, for README.txt)."""
    sampler = Sampler(history, conntrack_recheck=1)
    try:
        sampler.set_namespaces([ns])
        start = time.monotonic()
        sampler.sample()
        gone: list[str] = []
        k = 1
        while time.monotonic() - start < seconds - 1e-3:
            time.sleep(max(0.0, start + k * interval - time.monotonic()))  # on the grid: no drift
            k += 1
            res = sampler.sample()
            if res.dropped:
                gone = [why for _ns, why in res.dropped]
                break
    finally:
        sampler.close()
    h = history.get(ns.inode)
    if h is None:
        raise RuntimeError(f"{ns.name} ({ns.label}) could not be sampled" + (f": {gone[0]}" if gone else ""))
    w = counter_window(h, None, "sampled by `synscope bundle` as it ran")
    w = replace(w, source=f"{w.source}; {why}")
    if gone:
        raise RuntimeError(f"{ns.name} vanished while sampled: {gone[0]}")
    return w


def run(args: argparse.Namespace) -> int:
    try:
        found = Discovery(default_sources()).discover()
        ns = pick_namespace(args.ns, found.namespaces)
    except CaptureError as exc:
        print(f"synscope bundle: {exc}", file=sys.stderr)
        return 1
    for f in args.pcap:
        if not os.path.isfile(f):
            print(f"synscope bundle: --pcap {f}: no such file", file=sys.stderr)
            return 1
    path = args.output or default_bundle_name(ns)
    if os.path.isdir(path):  # -o DIR: the default name in it
        path = os.path.join(path, default_bundle_name(ns))
    history = History()
    reader = NetnsReader()
    sample = min(args.sample, args.window)
    host = next((x for x in found.namespaces if x.kind == "host"), None)
    window, trouble = open_store(args, ns)
    recorded: list[NsHistory] = []  # the store's window, once read (the diagnosis is made on it)

    def diagnosis() -> Diagnosis:
        h = recorded[0] if recorded else history.get(ns.inode)
        # only this namespace was read: the diagnosis cites nothing of another one
        return diagnose_namespace(ns, h, reader=reader, host=host or host_netns())

    def counters() -> CounterWindow | None:
        if window is not None and window.fresh:
            h = window.history()
            recorded.append(h)
            w = counter_window(h, None, "the recorder's store")
            return replace(w, source=f"taken from {window.describe()}", asked_seconds=args.window)
        if window is not None:  # its recorder stopped: what it has is in the recording, now is sampled
            why = f"{window.describe()}; so the counters are sampled now and the store's window is in the recording"
        elif trouble is not None and trouble.absent:
            why = f"{trouble}, so nothing from before the command is here"
        else:
            why = "the recorder's store could not give them (see Notes), so nothing from before the command is here"
        print(f"synscope bundle: sampling {ns.name} ({ns.label}) for {sample:g} s …", file=sys.stderr)
        return sample_counters(ns, history, sample, why)

    def recording() -> BundleRecording:
        if window is None:
            raise trouble  # type: ignore[misc]  # why the store gave none: a note
        return recording_from(window)

    try:
        result = write_bundle(
            ns, path,
            counters=counters,
            diagnosis=diagnosis,
            captures=[GivenCapture(ns.inode, tuple(os.path.abspath(f) for f in args.pcap))] if args.pcap else (),
            recording=None if trouble is not None and trouble.absent else recording,
            recording_missing=str(trouble) if trouble is not None else "",
            reader=reader, host=host, overwrite=args.force,
        )
    except BundleError as exc:
        print(f"synscope bundle: {exc}" + (" (--force overwrites it)" if exc.exists else ""), file=sys.stderr)
        return 1
    finally:
        reader.close()
        if window is not None:
            window.close()
    for note in result.notes:
        print(f"synscope bundle: note: {note}", file=sys.stderr)
    print(result.path)
    return 0


def open_store(args: argparse.Namespace, ns: NetNS) -> tuple[RecordedWindow | None, NoRecordedWindow | None]:
    """The namespace's window in the store (``--store``, else the default directory if a
    store is there), or why there is none."""
    path = args.store or DEFAULT_DIR
    try:
        window = find_recorded_window(path, ns, args.window, explicit=args.store is not None)
    except NoRecordedWindow as exc:
        if not exc.absent:
            print(f"synscope bundle: {exc}", file=sys.stderr)
        return None, exc
    if window.fresh:
        print(f"synscope bundle: the counters over {args.window:g} s come from the recorder's store {path}",
              file=sys.stderr)
    else:
        print(f"synscope bundle: {window.describe()}: the counters are sampled now", file=sys.stderr)
    return window, None
