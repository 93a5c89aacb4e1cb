"""``synscope exporter``: every namespace's counters on ``/metrics`` for Prometheus.

A scrape reads the kernel then and there (one sample, ~150 µs per namespace) and serves the
absolute totals; a scrape less than ``--interval`` seconds after the last one gets that one
again, so two HA Prometheus servers or a curl loop cost one read per interval. Nothing runs
between scrapes but the discovery thread (every 5 s: a /proc scan, one Docker call).
``--once`` prints one scrape's text and exits (node_exporter's textfile collector, tests).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading

from tui.commands.argtypes import MAX_INTERVAL, seconds
from tui.core.export import CONTENT_TYPE, DEFAULT_FIELDS, Exporter, FieldSelector
from tui.core.metrics_http import BasicAuth, ListenAddress, MetricsServer, TLSFiles, is_loopback, parse_listen
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery
from tui.core.sources import default_sources

DEFAULT_LISTEN = "127.0.0.1:9808"
HISTORY_TICKS = 2  # the exporter serves absolute values: no 15-minute ring per counter


def listen_address(text: str) -> ListenAddress:
    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fields_regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression ({exc}): {text!r}") from None
    return text


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "exporter",
        help="serve every namespace's TCP counters to Prometheus on /metrics (node_exporter's names, pod labels)",
        description="A Prometheus exporter: the counters of every network namespace on this node, named as "
        "node_exporter's netstat collector names them (synscope_netstat_TcpExt_ListenDrops, ...), labelled with "
        "netns, kind, name, pod, k8s_namespace and container. Listens on loopback unless told otherwise.",
    )
    p.add_argument("--listen", type=listen_address, default=listen_address(DEFAULT_LISTEN), metavar="HOST:PORT",
                   help=f"address to serve /metrics on (default {DEFAULT_LISTEN}); ':9808' means every address")
    p.add_argument("--allow-remote", action="store_true",
                   help="required to --listen on any address that is not loopback: every pod's counters and names "
                   "become readable to whoever reaches the port (use TLS, basic auth or a proxy; README 'Many nodes')")
    p.add_argument("--interval", type=seconds(MAX_INTERVAL), default=argparse.SUPPRESS, metavar="S",
                   help="read the kernel at most once per S seconds: a scrape sooner than that after the last one "
                   "gets the same sample (default 1)")
    p.add_argument("--fields", type=fields_regex, default=DEFAULT_FIELDS, metavar="REGEX",
                   help="counters to export: a regex searched in Section_Name (TcpExt_ListenDrops), as node_exporter's "
                   "--collector.netstat.fields; default: the triage groups (synscope exporter --print-fields shows it)")
    p.add_argument("--print-fields", action="store_true", help="print the --fields regex in effect and exit")
    p.add_argument("--once", action="store_true", help="print one scrape's exposition text to stdout and exit")
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM; with --tls-key)")
    p.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    p.add_argument("--tls-client-ca", metavar="FILE",
                   help="require a client certificate signed by this CA (mutual TLS; with --tls-cert)")
    p.add_argument("--basic-auth-file", metavar="FILE",
                   help="require HTTP basic auth: FILE holds one line user:password (e.g. a mounted Secret)")
    p.set_defaults(func=run, default_interval=1.0)


def _tls(args: argparse.Namespace) -> TLSFiles | None:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
    return TLSFiles(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None


def refusal(listen: ListenAddress, allow_remote: bool) -> str | None:
    """Why the exporter will not listen there, or None."""
    if allow_remote or is_loopback(listen.host):
        return None
    where = "every address" if listen.host in ("", "0.0.0.0", "::") else f"{listen.host}, not a loopback address"
    return (f"refusing to listen on {listen} ({where}): every pod's counters and names would be readable by "
            f"whoever reaches this port; add --allow-remote to mean it, with TLS, basic auth or a proxy in front "
            f"(README 'Many nodes'), or listen on 127.0.0.1")


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    if args.print_fields:
        print(args.fields)
        return 0
    try:
        tls = _tls(args)
        auth = BasicAuth(args.basic_auth_file) if args.basic_auth_file else None
    except ValueError as exc:
        print(f"synscope exporter: {exc}", file=err)
        return 2
    if not args.once:
        why = refusal(args.listen, args.allow_remote)
        if why:
            print(f"synscope exporter: {why}", file=err)
            return 2
        if auth is not None and tls is None and not is_loopback(args.listen.host):
            print("synscope exporter: warning: basic auth without TLS sends the password in clear text", file=err)

    monitor = Monitor(Discovery(default_sources()), capacity=HISTORY_TICKS, background=not args.once)
    try:
        exporter = Exporter(monitor, FieldSelector(args.fields), min_age=args.interval)
        if args.once:
            scrape = exporter.scrape()
            sys.stdout.buffer.write(scrape.text)
            sys.stdout.flush()
            if not scrape.up:
                print(f"synscope exporter: sampling failed: {scrape.error}", file=err)
                return 1
            for note in scrape.notes:
                print(f"synscope exporter: {note}", file=err)
            if not scrape.series:
                print(f"synscope exporter: --fields {args.fields!r} matches none of this kernel's counters", file=err)
            return 0
        return _serve(args, monitor, exporter, tls, auth)
    finally:
        monitor.close()


def _serve(args: argparse.Namespace, monitor: Monitor, exporter: Exporter, tls: TLSFiles | None,
           auth: BasicAuth | None) -> int:
    err = sys.stderr
    first = exporter.scrape()  # a bad --fields or a blind spot is said now, not at the first scrape
    try:
        server = MetricsServer(args.listen, lambda: exporter.scrape().text, CONTENT_TYPE, tls=tls, auth=auth)
    except (OSError, ValueError) as exc:
        print(f"synscope exporter: cannot listen on {args.listen}: {getattr(exc, 'strerror', None) or exc}", file=err)
        return 1
    monitor.start()
    stop = threading.Event()
    caught: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signum)
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        shown = ListenAddress(args.listen.host, server.port)
        print(f"synscope exporter: serving {server.scheme}://{shown}/metrics: {first.namespaces} namespaces, "
              f"{first.series} series; reading the kernel at most every {args.interval:g} s", file=err, flush=True)
        if not first.series:
            print(f"synscope exporter: --fields {args.fields!r} matches none of this kernel's counters", file=err)
        for note in first.notes:
            print(f"synscope exporter: {note}", file=err)
        for st in (monitor.latest().statuses if monitor.latest() else []):
            if not st.available:
                print(f"synscope exporter: source {st.name} {'not on this node' if st.absent else 'unavailable'}: "
                      f"{st.reason}", file=err)
        while not stop.wait(3600):
            pass
    finally:
        server.close()
        for s, h in old.items():
            signal.signal(s, h)
    # a stop that was asked for (SIGTERM when the pod goes, Ctrl+C): 0, the job is done
    return 0
