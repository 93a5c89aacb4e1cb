"""The incident bundle: one namespace's evidence in one tar.gz, for the ticket.

One implementation for the TUI (``w`` in the capture pane and the sysctl preview) and for
``synscope bundle NS``. The caller hands in what only it has — the counters over the window
(a :class:`CounterWindow`, from the TUI's History, the recorder's store, or the headless
command's own short sampling), the diagnosis it shows, the session's captures, and a
recording of the window when a recorder's store has one (:func:`recording_from`, made by
:mod:`tui.core.recorded_window`) — and this module reads the rest inside the namespace: sysctls (and the host's), listening sockets,
``ip addr`` / ``ip route`` / ``ip -s link`` (``ip`` run by argv inside the namespace, no
shell), conntrack statistics.

What goes in, and what never does:

* Nothing of another namespace: captures are filtered by the namespace's inode here, not
  trusted to the caller. The host's sysctls and the kernel version are the only things of
  the node.
* The identity is built field by field from :class:`~tui.core.namespaces.NetNS` (names, pod,
  labels, containers' names, ids and images, process names): no environment variables and
  no command lines, which hold secrets. Discovery never reads either; this whitelist keeps
  it so if a source ever does.
* The file is created mode 0600 with ``O_EXCL`` before anything is gathered (an unwritable
  path fails at once, and the file is never readable by others, not even briefly); an
  existing file is refused unless ``overwrite``.
* Each part that fails (the namespace vanished, ``ip`` is missing, not root) becomes a note in
  README.txt and notes.json; the bundle is still written. Only a failure to write the file
  itself is an error.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import struct
import tarfile
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .counters import is_gauge
from .history import NsHistory
from .namespaces import NetNS
from .nsprogram import run_program_in
from .netns import NetnsReader, run_in_namespace

if TYPE_CHECKING:
    from .recorded_window import RecordedWindow

__all__ = [
    "BUNDLE_MODE",
    "BundleError",
    "BundleRecording",
    "BundleResult",
    "CounterWindow",
    "GivenCapture",
    "NO_RECORDER",
    "RECORDING_MEMBER",
    "counter_window",
    "default_bundle_name",
    "identity_record",
    "recording_from",
    "write_bundle",
]

BUNDLE_MODE = 0o600
# said in README.txt when no recorder store was there to give a recording of the window
NO_RECORDER = "no recorder store was found"
RECORDING_MEMBER = "recording.synscope"
PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}


class BundleError(Exception):
    """The bundle file itself cannot be written; the message is for the engineer, as is."""

    def __init__(self, message: str, *, exists: bool = False) -> None:
        super().__init__(message)
        self.exists = exists  # the file is there and overwriting was not asked


# -- the counters over the window ------------------------------------------------------------


@dataclass(frozen=True)
class CounterWindow:
    """A namespace's counters over a window, as plain data: what a bundle needs from a
    history, whoever keeps it. The TUI's History gives one (:func:`counter_window`), so does
    the headless command's short sampling, and so will a recorder's store: it only has to
    fill these fields.

    ``times[i]`` ends sample interval ``i``; ``deltas[key][i]`` is the counter's growth in it
    (``None``: the counter went down, a reset), ``values[key][i]`` its absolute value then
    (``None`` where a later reset makes it unknowable). ``start`` is the time of the sample
    before the first interval."""

    source: str  # in words, for README.txt: "the TUI's history: 300 samples 1 s apart"
    start: float | None
    times: tuple[float, ...]
    values: dict[str, list[int | None]]
    deltas: dict[str, list[int | None]]  # counters only; gauges have values alone
    values_at_end: dict[str, int]  # every counter and gauge, moved or not
    asked_seconds: float | None = None
    values_at_start: dict[str, int | None] = field(default_factory=dict)  # at ``start``, for the series

    @property
    def seconds(self) -> float:
        if not self.times:
            return 0.0
        return self.times[-1] - (self.start if self.start is not None else self.times[0])


def counter_window(h: NsHistory, seconds: float | None, source: str) -> CounterWindow:
    """The last ``seconds`` of one namespace's history (all of it for None): every counter
    that moved in it, and every gauge, tick by tick; every counter's value at the end."""
    end_values = h.values()
    if h.ticks == 0:
        return CounterWindow(f"{source}: one sample, no deltas yet", h.last_time, (), {}, {}, end_values, seconds)
    full = h.window()
    last = h.last_time or 0.0
    ticks = [i for i in full if seconds is None or h.times[i % h.capacity] >= last - seconds - 1e-6]
    n = len(ticks)
    times = tuple(h.times[i % h.capacity] for i in ticks)
    first = ticks[0]
    start = h.first_time if first == 0 else h.times[(first - 1) % h.capacity]
    if first > 0 and first < h.ticks - h.capacity + 1:
        start = None  # the sample before the window has left the ring
    values: dict[str, list[int | None]] = {}
    deltas: dict[str, list[int | None]] = {}
    at_start: dict[str, int | None] = {}
    for key in h.moved(n):
        ds = h.deltas(key, n)
        deltas[key] = ds
        vals: list[int | None] = [None] * n
        v: int | None = end_values.get(key)
        for i in range(n - 1, -1, -1):  # walk back from the value now
            vals[i] = v
            d = ds[i]
            v = None if v is None or d is None else v - d
        values[key] = vals
        at_start[key] = None if vals[0] is None or ds[0] is None else vals[0] - ds[0]
    for key in end_values:
        if is_gauge(key):
            values[key] = list(h.gauge_values(key, n))  # a gauge's value before the window is not kept
    span = times[-1] - (start if start is not None else times[0])
    spacing = f"{span / n:.3g} s apart" if n else ""
    told = f"{source}: {n + (start is not None)} samples {spacing} over {span:.0f} s"
    if seconds is not None and span < seconds - 1.5 * (span / n if n else 1):
        told += f" (less than the {seconds:g} s asked: that is all there is)"
    return CounterWindow(told, start, times, values, deltas, end_values, seconds, at_start if start is not None else {})


def _utc(t: float | None) -> str:
    if t is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def counters_csv(w: CounterWindow) -> bytes:
    out = io.StringIO()
    wr = csv.writer(out, lineterminator="\n")
    wr.writerow(["time_utc", "unix_time", "counter", "value", "delta"])
    for key in sorted(w.values):
        vals, ds = w.values[key], w.deltas.get(key)
        if w.start is not None and key in w.values_at_start:  # the sample the first delta is counted from
            v0 = w.values_at_start[key]
            wr.writerow([_utc(w.start), f"{w.start:.3f}", key, "" if v0 is None else v0, ""])
        for i, t in enumerate(w.times):
            d = "" if ds is None else ("reset" if ds[i] is None else ds[i])
            wr.writerow([_utc(t), f"{t:.3f}", key, "" if vals[i] is None else vals[i], d])
    return out.getvalue().encode()


def counters_json(w: CounterWindow) -> dict:
    return {
        "source": w.source,
        "window_asked_seconds": w.asked_seconds,
        "window_seconds": round(w.seconds, 3),
        "start": w.start,
        "start_utc": _utc(w.start) or None,
        "times": list(w.times),
        # counters that moved in the window, and every gauge: value and delta per sample
        # (delta null: the counter went down, a reset; value null: unknowable before a reset)
        "series": {k: {"values": w.values[k], **({"deltas": w.deltas[k]} if k in w.deltas else {}),
                       "value_at_start": w.values_at_start.get(k), "gauge": k not in w.deltas}
                   for k in sorted(w.values)},
        "values_at_end": dict(sorted(w.values_at_end.items())),
    }


@dataclass(frozen=True, slots=True)
class GivenCapture:
    """A pcap named on the command line (``synscope bundle --pcap FILE``): the user says it is
    this namespace's, so it carries the namespace's inode."""

    ns_inode: int
    files: tuple[str, ...]
    id: str = "given"
    preset: str = "--pcap"
    filter: str = "named on the command line"
    state: str = "done"


# -- the identity ----------------------------------------------------------------------------


def identity_record(ns: NetNS) -> dict:
    """Which namespace this is, built field by field: never an environment or a command line."""
    return {
        "name": ns.name,
        "kind": ns.kind,
        "inode": ns.inode,
        "netns": ns.label,
        "ns_id": ns.ns_id or None,
        "path": ns.path,
        "pids": list(ns.pids),
        "aliases": list(ns.aliases),
        "pod": ns.pod or None,
        "k8s_namespace": ns.k8s_namespace or None,
        "labels": dict(ns.labels),
        "containers": [{"name": c.name, "id": c.id, "image": c.image, "state": c.state, "runtime": c.runtime,
                        "k8s_container": c.k8s_container} for c in ns.containers],
        "process_names": list(ns.processes),  # /proc/PID/comm: a name, not the command line
    }


# -- what is read inside the namespace -------------------------------------------------------


def _read_all_net_sysctls() -> dict[str, str]:
    # on the setns thread: /proc/sys/net shows the namespace of the thread that opens it
    out: dict[str, str] = {}
    for root, _dirs, files in os.walk("/proc/sys/net"):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, encoding="ascii", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue  # write-only (route/flush) or refused
            out[path[len("/proc/sys/"):].replace("/", ".")] = " ".join(text.split())
    return dict(sorted(out.items()))


def _read_conntrack_here() -> bytes | None:
    try:
        with open("/proc/thread-self/net/stat/nf_conntrack", "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _sysctl_text(values: dict[str, str]) -> bytes:
    return "".join(f"{k} = {v}\n" for k, v in values.items()).encode()


def _sockets_text(ns: NetNS, s: dict) -> bytes:
    lines = [f"{ns.name}  [{ns.kind}, {ns.label}]",
             f"sockets: {s['total']} (" + (", ".join(f"{k} {v}" for k, v in s["states"].items()) or "none") + ")"]
    if s["listeners"]:
        lines.append(f"{'listening on':<28} {'accept queue/backlog':>22} {'SYN-RECV':>9}")
        for x in s["listeners"]:
            queue = f"{x['accept_queue']}/{x['backlog']}" + (" FULL" if x.get("full") else "")
            lines.append(f"{x['endpoint']:<28} {queue:>22} {x['syn_recv']:>9}")
    else:
        lines.append("no listening socket")
    return ("\n".join(lines) + "\n").encode()


def whole_pcap(path: str) -> bytes:
    """The file's bytes up to its last whole pcap record, read at once. A capture still
    running may be in the middle of writing a record (a cut one makes ``tcpdump -r``
    complain), and a ring may truncate its oldest file to reuse it: what is read is copied
    before the tar member is written, so the member is always what was read."""
    with open(path, "rb") as f:
        data = f.read()
    order = PCAP_MAGICS.get(data[:4])
    if order is None or len(data) < 24:
        return data  # not classic pcap (or empty): taken as it is
    record = struct.Struct(order + "IIII")
    pos, size = 24, len(data)
    while pos + 16 <= size:
        end = pos + 16 + record.unpack_from(data, pos)[2]
        if end > size:
            break
        pos = end
    return data[:pos] if pos < size else data


# -- the recording of the window ----------------------------------------------------------------


@dataclass(frozen=True)
class BundleRecording:
    """What a recorder's store gives a bundle: a recording file's bytes and, for README.txt,
    where it comes from and what the store said was damaged while it was read."""

    data: bytes
    about: str
    notes: tuple[str, ...] = ()


def recording_from(window: RecordedWindow) -> BundleRecording:
    """The window's recording (this namespace alone), written in a private temporary
    directory and read back: the tar member is what was written, and nothing stays on disk."""
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="synscope-bundle-rec-")  # 0700
    try:
        f = os.path.join(tmp, RECORDING_MEMBER)
        window.write_recording(f)
        with open(f, "rb") as fh:
            data = fh.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BundleRecording(data, f"recording: {RECORDING_MEMBER} ({len(data) // 1024 or 1} KB): this namespace "
                                 f"alone, {window.ticks_words()}, from the recorder's store {window.path}",
                           tuple(window.notes))


# -- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleResult:
    path: str
    members: tuple[str, ...]
    notes: tuple[str, ...]
    size: int


@dataclass
class _Parts:
    members: list[tuple[str, bytes | str]] = field(default_factory=list)  # name -> bytes, or a file path
    notes: list[dict] = field(default_factory=list)
    readme: list[tuple[str, str]] = field(default_factory=list)  # member -> what it is
    about: list[str] = field(default_factory=list)  # how the bundle was made (not failures)

    def add(self, name: str, data: bytes | str, what: str = "") -> None:
        self.members.append((name, data))
        if what:
            self.readme.append((name, what))

    def add_json(self, name: str, obj: object, what: str = "") -> None:
        self.add(name, (json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n").encode(), what)

    def note(self, part: str, text: str) -> None:
        self.notes.append({"part": part, "note": text})


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:60] or "ns"


def default_bundle_name(ns: NetNS, now: float | None = None) -> str:
    """``synscope-bundle-<ns>-<UTC time>.tar.gz``."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"synscope-bundle-{_safe(ns.name)}-{stamp}.tar.gz"


def _open_private(path: str, overwrite: bool) -> int:
    if os.path.isdir(path):
        raise BundleError(f"{path} is a directory: give a file name")
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, BUNDLE_MODE)
    except FileExistsError:
        raise BundleError(f"{path} exists: not overwritten", exists=True) from None
    except IsADirectoryError:
        raise BundleError(f"{path} is a directory: give a file name") from None
    except OSError as exc:
        raise BundleError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, BUNDLE_MODE)  # an existing file overwritten keeps its old mode otherwise
    except OSError:
        os.close(fd)
        raise
    return fd


def _still_there(ns: NetNS) -> bool:
    from .namespaces import ns_inode_of_path, ns_inode_of_pid

    if ns.path and ns_inode_of_path(ns.path) == ns.inode:
        return True
    return any(ns_inode_of_pid(p) == ns.inode for p in ns.pids)


Supplier = Callable[[], object]


def write_bundle(
    ns: NetNS,
    path: str,
    *,
    counters: CounterWindow | Callable[[], CounterWindow | None] | None = None,
    counters_missing: str = "",
    diagnosis: object | Callable[[], object] | None = None,
    captures: Iterable[object] = (),
    recording: Callable[[], BundleRecording] | None = None,
    recording_missing: str = NO_RECORDER,
    reader: NetnsReader | None = None,
    host: NetNS | None = None,
    overwrite: bool = False,
    before_part: Callable[[str], None] | None = None,
    now: float | None = None,
) -> BundleResult:
    """Write ``ns``'s bundle to ``path``. Raises :class:`BundleError` only when the file itself
    cannot be written; every part that fails is a note inside.

    ``counters``: the window's counters (or a function giving them, called as a part);
    ``counters_missing`` says why there are none. ``diagnosis``: a
    :class:`~tui.core.rules.Diagnosis` or a function making one. ``captures``: capture
    statuses (:class:`~tui.core.capture.CaptureStatus`); only this namespace's are taken.
    ``recording``: a function giving the window's recording (:func:`recording_from` a
    recorder's store), called as a part: what it raises is a note. None: README.txt says
    ``recording_missing`` (why there is none) instead.
    ``before_part(name)`` is called before each part (tests remove the namespace there).
    """
    path = os.path.abspath(os.path.expanduser(path))
    fd = _open_private(path, overwrite)
    written = False
    own = reader is None
    rd = reader if reader is not None else NetnsReader()
    try:
        parts = _gather(ns, counters, counters_missing, diagnosis, captures, recording, recording_missing, rd, host,
                        before_part, time.time() if now is None else now)
        members = _write_tar(fd, parts, ns)
        written = True
    finally:
        os.close(fd)
        if own:
            rd.close()
        if not written:
            try:
                os.unlink(path)
            except OSError:
                pass
    return BundleResult(path, tuple(members), tuple(f"{n['part']}: {n['note']}" for n in parts.notes),
                        os.path.getsize(path))


def _gather(ns, counters, counters_missing, diagnosis, captures, recording, recording_missing, rd, host, before_part,
            now) -> _Parts:  # type: ignore[no-untyped-def]
    parts = _Parts()
    gone_noted = False

    def part(name: str, fn: Callable[[], None]) -> None:
        nonlocal gone_noted
        if before_part is not None:
            before_part(name)
        try:
            fn()
        except Exception as exc:  # a part that fails is a note, never a traceback
            if not gone_noted and not _still_there(ns):
                gone_noted = True
                parts.note("namespace", f"{ns.name} ({ns.label}) vanished while the bundle was written: "
                                        f"the parts read inside it after that are missing")
            parts.note(name, f"not included: {type(exc).__name__}: {exc}" if not str(exc) else f"not included: {exc}")

    def identity() -> None:
        import platform

        from tui.version import version_info  # no Textual there: --version's own words

        v = version_info()
        parts.add_json("identity.json", identity_record(ns),
                       "which namespace this is: name, kind, inode (net:[…]), pod, Kubernetes namespace, labels, "
                       "containers (name, id, image), process names. No environment variables, no command lines.")
        parts.add_json("versions.json", {"kernel": os.uname().release, "machine": platform.machine(),
                                         "synscope": v.version, "synscope_commit": v.commit, "synscope_form": v.form,
                                         "written_utc": _utc(now)},
                       "the kernel version and synscope's version (the node's only other facts here, with the "
                       "host's sysctls)")

    def counters_part() -> None:
        w = counters() if callable(counters) else counters
        if w is None:
            raise RuntimeError(counters_missing or "no counter history for this namespace")
        parts.about.append(f"counters: {w.source}")
        parts.add("counters.csv", counters_csv(w),
                  "counters over the window (see How below): one row per sample and counter, for every counter "
                  "that moved and every gauge; columns time_utc, unix_time, counter, value (absolute), delta "
                  "(growth since the sample before; 'reset' where it went down). Opens in any spreadsheet.")
        parts.add_json("counters.json", counters_json(w),
                       "the same as JSON, with every counter's absolute value at the end (values_at_end), moved or not")

    def diagnosis_part() -> None:
        from .conntrack import read_conntrack_max
        from .diagnosis_report import diagnosis_record, diagnosis_text

        d = diagnosis() if callable(diagnosis) else diagnosis
        if d is None:
            raise RuntimeError("no diagnosis was made")
        parts.add("diagnosis.txt", diagnosis_text(d).encode(),  # type: ignore[arg-type]
                  "the diagnosis as `synscope diagnose` prints it: findings, evidence, confidence, proposals")
        parts.add_json("diagnosis.json", diagnosis_record(d, read_conntrack_max()),  # type: ignore[arg-type]
                       "the same as `synscope diagnose --json` gives it")

    def sysctls() -> None:
        from .sysctl import host_netns

        mine = run_in_namespace(ns, _read_all_net_sysctls, reader=rd)
        h = host or host_netns()
        host_values = mine if h.inode == ns.inode else run_in_namespace(h, _read_all_net_sysctls, reader=rd)
        parts.add("sysctl-namespace.txt", _sysctl_text(mine),
                  "every net.* sysctl as read inside the namespace (`sysctl -a` format)")
        parts.add("sysctl-host.txt", _sysctl_text(host_values), "every net.* sysctl of the host's namespace")
        differs = {k: {"namespace": mine.get(k), "host": host_values.get(k)}
                   for k in sorted(set(mine) | set(host_values)) if mine.get(k) != host_values.get(k)}
        parts.add_json("sysctl.json", {"namespace": mine, "host": host_values, "differs": differs},
                       "both as JSON, and the keys whose values differ (per-interface keys differ by name)")

    def sockets() -> None:
        from .sockets import sockets_summary

        s = sockets_summary(ns, rd).as_dict()
        parts.add_json("sockets.json", s, "the TCP sockets (sock_diag, as ss reads them): listeners with their "
                                          "accept queue, backlog and SYN-RECV count; states; connections by peer")
        parts.add("listeners.txt", _sockets_text(ns, s), "the listening sockets and their queues, as text")

    def ip_part(member: str, argv: list[str], what: str) -> Callable[[], None]:
        def run() -> None:
            parts.add(member, run_program_in(ns, argv, reader=rd).stdout, what)
        return run

    def conntrack() -> None:
        from .conntrack import parse_conntrack_stat, read_conntrack_max

        raw = run_in_namespace(ns, _read_conntrack_here, reader=rd)
        if raw is None:
            raise RuntimeError("this kernel has no conntrack statistics (nf_conntrack not loaded)")
        parts.add("conntrack-stat.txt", raw, "/proc/net/stat/nf_conntrack inside the namespace, as the kernel "
                                            "prints it: one row per CPU, hex (what `conntrack -S` reads)")
        parts.add_json("conntrack.json", {"sums": parse_conntrack_stat(raw), "nf_conntrack_max": read_conntrack_max()},
                       "the same summed over the CPUs (entries once), and the global nf_conntrack_max")

    def pcaps() -> None:
        mine = [c for c in captures if getattr(c, "ns_inode", None) == ns.inode]  # never another namespace's
        files = [(c, f) for c in mine for f in c.files]  # type: ignore[attr-defined]
        if not files:
            parts.about.append("pcaps: none — no capture of this namespace was given (the TUI adds the session's "
                               "captures of it, `t` starts one; headless: synscope bundle --pcap FILE)")
            return
        for c, f in files:
            name = f"captures/{os.path.basename(f)}"
            parts.add(name, f, f"packets of capture {c.id} ({c.preset}: {c.filter}; {c.state}): "  # type: ignore[attr-defined]
                               f"tcpdump -nn -r {name}, or open it in Wireshark")

    def recording_part() -> None:
        if recording is None:
            parts.about.append(f"recording: none — {recording_missing}, so no recording of the window is in this bundle")
            return
        got = recording()
        parts.about.append(got.about)
        parts.add(RECORDING_MEMBER, got.data,
                  f"a recording of this namespace alone over the window, from the recorder's store: "
                  f"synscope replay {RECORDING_MEMBER} (the TUI at that time: step, jump, go to a time), or "
                  f"synscope dump {RECORDING_MEMBER} (its counters as csv). Another namespace's data is never in it.")
        for n in got.notes:
            parts.note("recorder store", n)

    part("identity", identity)
    part("counters", counters_part)
    part("diagnosis", diagnosis_part)
    part("sysctls", sysctls)
    part("sockets", sockets)
    part("ip addr", ip_part("ip-addr.txt", ["ip", "addr", "show"], "`ip addr` inside the namespace"))
    part("ip route", ip_part("ip-route.txt", ["ip", "route", "show", "table", "all"],
                             "`ip route show table all` inside the namespace (IPv4 and IPv6, every table)"))
    part("ip -s link", ip_part("ip-s-link.txt", ["ip", "-s", "-s", "link", "show"],
                               "`ip -s -s link` inside the namespace: every link with its packet, error and drop counts"))
    part("ip -j", ip_part("ip-addr.json", ["ip", "-j", "addr", "show"], "`ip -j addr` (the addresses as JSON)"))
    part("conntrack", conntrack)
    part("captures", pcaps)
    part("recording", recording_part)
    return parts


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, 96, initial_indent=indent, subsequent_indent=" " * len(indent), break_on_hyphens=False)


def _readme(parts: _Parts, ns: NetNS, when: str) -> bytes:
    lines = ["synscope incident bundle", f"namespace {ns.name} ({ns.kind}, {ns.label}), written {when}", "",
             "Open it with: tar -xzf FILE (the files inside are mode 0600: they name sockets, addresses and",
             "captured packets). JSON files open with jq or any JSON reader; CSV with any spreadsheet; pcaps",
             "with tcpdump -nn -r FILE or Wireshark. A recording, when one is here, with synscope replay FILE.",
             "", "How it was made:"]
    for a in parts.about:
        lines += _wrap(a, "  - ")
    lines += ["", "Files:"]
    for name, what in [("README.txt", "this file"), *parts.readme,
                       ("notes.json", "what could not be included, and why (the same as Notes below)")]:
        lines.append(f"  {name}")
        lines += _wrap(what, "      ")
    lines += ["", "Notes (parts that could not be read):"]
    for n in parts.notes:
        lines += _wrap(f"{n['part']}: {n['note']}", "  - ")
    if not parts.notes:
        lines.append("  (none: every part was read)")
    lines += ["", "Nothing here comes from outside this namespace but the host's sysctls and the kernel version.",
              "No container environment variables and no command lines are included: they hold secrets.", ""]
    return "\n".join(lines).encode()


def _write_tar(fd: int, parts: _Parts, ns: NetNS) -> list[str]:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    mtime = time.time()
    names: list[str] = []
    with os.fdopen(os.dup(fd), "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        def put(name: str, data: bytes | str) -> None:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = BUNDLE_MODE, mtime, 0, 0, "root", "root"
            if isinstance(data, bytes):
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:  # a pcap on disk: read when its turn comes (one in memory at a time)
                try:
                    body = whole_pcap(data)
                except OSError as exc:
                    parts.note("captures", f"{name} not included: {exc.strerror or exc}")
                    return
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
            names.append(name)

        for name, data in parts.members:
            put(name, data)
        # last, so that they list what was written and note what could not be (a pcap gone)
        parts.readme = [r for r in parts.readme if r[0] in names]
        put("README.txt", _readme(parts, ns, when))
        put("notes.json", (json.dumps(parts.notes, indent=1) + "\n").encode())
    return names
