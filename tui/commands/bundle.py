"""``synscope bundle NS``: one namespace's incident bundle (tar.gz, mode 0600) for the ticket.

The same core as the TUI's ``w`` (:mod:`tui.core.bundle`). Headless there is no history
from before the command started, and no recorder store yet: the counters are the namespace
sampled now, ``--sample`` seconds (default 5) at 1 s, and README.txt inside says exactly
that. The diagnosis is made on those samples.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

from tui.commands.argtypes import duration
from tui.commands.capture import pick_namespace
from tui.core.bundle import (
    NO_RECORDER,
    BundleError,
    CounterWindow,
    GivenCapture,
    counter_window,
    default_bundle_name,
    write_bundle,
)
from tui.core.capture import CaptureError
from tui.core.history import History
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
        "each file is. Headless there is no history from before the command and no recorder store: the counters "
        f"are the namespace sampled now for --sample seconds (default {DEFAULT_SAMPLE:g}) at 1 s, and README.txt "
        "says so. A part that cannot be read is a note in README.txt and notes.json; the bundle is still written. "
        "Exit status: 0 written, 1 NS matches no namespace (or several) or the file cannot be written, 2 bad command line.",
    )
    p.add_argument("ns", metavar="NS", help="namespace: name, pod, container, k8s namespace, label key=value, net:[inode]")
    p.add_argument("--window", type=duration(24 * 3600.0), default=DEFAULT_WINDOW, metavar="DURATION",
                   help="the window the counters cover: 30s, 5m, 1h (default 5m); only a recorder store could look back "
                        "that far, and there is none yet (no recorder store was found), so headless the counters "
                        "are --sample seconds from now")
    p.add_argument("--sample", type=duration(MAX_SAMPLE), default=DEFAULT_SAMPLE, metavar="DURATION",
                   help=f"seconds to sample the namespace now, at 1 s (default {DEFAULT_SAMPLE:g}; at most the window)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where to write; a directory gets the default name (default ./synscope-bundle-<ns>-<UTC time>.tar.gz)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists (it stays mode 0600)")
    p.add_argument("--pcap", action="append", default=[], metavar="FILE",
                   help="a pcap of this namespace to include (e.g. from synscope capture -w); repeatable")
    p.set_defaults(func=run)


def sample_counters(ns: NetNS, history: History, seconds: float, interval: float = 1.0) -> CounterWindow | None:
    """The namespace alone, sampled every ``interval`` for ``seconds``: the headless window."""
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
    w = replace(w, source=f"{w.source}; {NO_RECORDER}, so nothing from before the command is here")
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

    def diagnosis() -> Diagnosis:
        h = history.get(ns.inode)
        # only this namespace was sampled: the diagnosis cites nothing of another one
        return diagnose_namespace(ns, h, reader=reader, host=host or host_netns())

    def counters() -> CounterWindow | None:
        print(f"synscope bundle: sampling {ns.name} ({ns.label}) for {sample:g} s …", file=sys.stderr)
        return sample_counters(ns, history, sample)

    try:
        result = write_bundle(
            ns, path,
            counters=counters,
            diagnosis=diagnosis,
            captures=[GivenCapture(ns.inode, tuple(os.path.abspath(f) for f in args.pcap))] if args.pcap else (),
            reader=reader, host=host, overwrite=args.force,
        )
    except BundleError as exc:
        print(f"synscope bundle: {exc}" + (" (--force overwrites it)" if exc.exists else ""), file=sys.stderr)
        return 1
    finally:
        reader.close()
    for note in result.notes:
        print(f"synscope bundle: note: {note}", file=sys.stderr)
    print(result.path)
    return 0


