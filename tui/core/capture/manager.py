"""The capture manager: starts tcpdumps, watches them, stops them; what a capture is and reports.

Every tcpdump is forked by one long-lived spawner thread (``PR_SET_PDEATHSIG`` follows the
forking *thread*); three threads per capture read its stdout (decoded lines, exact bytes;
for an armed capture, its pcap stream into the ring of :mod:`.armed`), its stderr
(listening, counts, errors) and wait for its end (the duration bound; for an armed capture
also writing and closing its windows). The tick of the caller — the TUI's sampling, the
headless :class:`~.ticker.NamespaceTicker` — hands armed captures their namespace's values
through :meth:`CaptureManager.observe`. The UI and the headless command read
:class:`CaptureStatus` snapshots, never the live object.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import stat
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..catalog import Group, keys_in
from .trigger import Trigger
from ..namespaces import NetNS
from .errors import CaptureError
from .files import default_capture_dir, private_dir, ring_files, safe_name
from .armed import SERVICE_EVERY, Armed, TriggerWindow, window_path
from .lines import decode_line
from .tcpdump import check_filter, check_interface, find_tcpdump, open_ns_fd, require_root, shim_argv

__all__ = [
    "DEFAULT_AFTER",
    "DEFAULT_BEFORE",
    "DEFAULT_MAX_TRIGGERS",
    "DEFAULT_UNTIL",
    "MAX_AFTER",
    "MAX_BEFORE",
    "MAX_TRIGGERS",
    "DEFAULT_DURATION",
    "DEFAULT_FILE_COUNT",
    "DEFAULT_FILE_MB",
    "KEEP_LINES",
    "MAX_DURATION",
    "MAX_FILE_COUNT",
    "MAX_FILE_MB",
    "SYN_TROUBLE_KEYS",
    "CaptureManager",
    "CaptureSpec",
    "CaptureStatus",
    "syn_trouble_deltas",
]

DEFAULT_DURATION = 300.0  # seconds
MAX_DURATION = 24 * 3600.0
DEFAULT_FILE_MB = 25  # tcpdump -C unit: millions of bytes
MAX_FILE_MB = 10_000
DEFAULT_FILE_COUNT = 4
MAX_FILE_COUNT = 100
KEEP_LINES = 2000  # decoded lines kept per capture for the pane
STOP_GRACE = 3.0  # seconds tcpdump gets to flush after SIGTERM before SIGKILL
READER_GRACE = 5.0  # seconds the pipe readers get to reach EOF once tcpdump has exited
SYN_TROUBLE_KEYS: tuple[str, ...] = keys_in(Group.SYN)
# an armed capture (CaptureSpec.when): its window and its bounds
DEFAULT_BEFORE = 30.0  # seconds kept before the trigger tick
DEFAULT_AFTER = 30.0  # seconds kept after it
MAX_BEFORE = 600.0  # the ring is in memory: ten minutes before is the most it is asked to hold
MAX_AFTER = 3600.0
DEFAULT_MAX_TRIGGERS = 3
MAX_TRIGGERS = 100
DEFAULT_UNTIL = 3600.0  # an armed capture's time bound (its `duration`)


@dataclass(frozen=True)
class CaptureSpec:
    """What to capture. ``filter`` is passed to tcpdump as one argv element, untouched."""

    ns: NetNS
    filter: str
    preset: str = "custom"  # a label for the pane
    interface: str = "any"
    duration: float = DEFAULT_DURATION
    file_mb: int = DEFAULT_FILE_MB
    file_count: int = DEFAULT_FILE_COUNT
    path: str | None = None  # explicit -w path; default: <directory>/<ns>-<time>-<id>.pcap
    # armed: tcpdump keeps a ring in memory and a tick that fires `when` saves a window of
    # `before` + `after` seconds around it, up to `max_triggers`; `duration` is --until
    when: Trigger | None = None
    before: float = DEFAULT_BEFORE
    after: float = DEFAULT_AFTER
    max_triggers: int = DEFAULT_MAX_TRIGGERS

    def validated(self) -> CaptureSpec:
        if self.when is not None:
            if not 0 < self.before <= MAX_BEFORE:
                raise CaptureError(f"before must be more than 0 and at most {MAX_BEFORE:g} s, not {self.before:g}")
            if not 0 < self.after <= MAX_AFTER:
                raise CaptureError(f"after must be more than 0 and at most {MAX_AFTER:g} s, not {self.after:g}")
            if not 1 <= self.max_triggers <= MAX_TRIGGERS:
                raise CaptureError(f"max triggers must be 1..{MAX_TRIGGERS}, not {self.max_triggers}")
        if not 0 < self.duration <= MAX_DURATION:
            raise CaptureError(f"duration must be more than 0 and at most {MAX_DURATION:g} s, not {self.duration:g}")
        if not 1 <= self.file_mb <= MAX_FILE_MB:
            raise CaptureError(f"file size must be 1..{MAX_FILE_MB} MB, not {self.file_mb}")
        if not 1 <= self.file_count <= MAX_FILE_COUNT:
            raise CaptureError(f"file count must be 1..{MAX_FILE_COUNT}, not {self.file_count}")
        if not self.filter.strip():
            raise CaptureError("empty filter: choose a preset or type a BPF filter")
        check_interface(self.interface)
        return self

    @property
    def bound_bytes(self) -> int:
        return self.file_mb * 1_000_000 * self.file_count


@dataclass(frozen=True)
class CaptureStatus:
    """A snapshot of one capture, safe to hand to the UI thread."""

    id: int
    ns_name: str
    ns_inode: int
    filter: str
    preset: str
    interface: str
    path: str  # the -w argument
    files: tuple[str, ...]  # ring files that exist now
    file_mb: int
    file_count: int
    duration: float
    pid: int | None
    state: str  # "running" | "stopping" | "done" | "failed"
    listening: bool  # tcpdump said "listening on": packets from now on are caught
    elapsed: float
    packets: int  # packets tcpdump printed (one line each)
    bytes: int  # their frame lengths added up (as on the wire, whatever the ring kept)
    bytes_on_disk: int  # ring files' size now (never above the bound, plus one packet per file)
    end_reason: str = ""
    exit_code: int | None = None
    messages: tuple[str, ...] = ()  # tcpdump's stderr (listening on..., packets captured..., errors)
    # armed captures only ("" / () otherwise): the trigger, the window asked, its triggers
    when: str = ""  # Trigger.title: "when TcpExt.ListenDrops grows by ≥1 in one tick"
    when_text: str = ""  # Trigger.text, the --when that makes it
    before: float = 0.0
    after: float = 0.0
    max_triggers: int = 0
    triggers: tuple[TriggerWindow, ...] = ()
    ring_packets: int = 0  # held in memory now, waiting for a trigger
    ring_bytes: int = 0
    ring_bound: int = 0

    @property
    def armed(self) -> bool:
        return bool(self.when)

    @property
    def kernel_dropped(self) -> int | None:
        """Packets the kernel dropped before tcpdump read them (its buffer was full), as
        tcpdump says when it ends; None while it runs."""
        for m in reversed(self.messages):
            said = _KERNEL_DROPPED.match(m)
            if said:
                return int(said.group(1))
        return None

    @property
    def running(self) -> bool:
        return self.state in ("running", "stopping", "armed", "triggered")

    @property
    def bound_bytes(self) -> int:
        return self.file_mb * 1_000_000 * self.file_count

    @property
    def files_text(self) -> str:
        if self.armed:
            saved = [t.path for t in self.triggers]
            if not saved:
                return f"none yet: a trigger saves {window_path(self.path, 1)}"
            return saved[0] if len(saved) == 1 else f"{saved[0]} … {saved[-1]}"
        names = ring_files(self.path, self.file_count)
        return names[0] if len(names) == 1 else f"{names[0]} … {names[-1][len(self.path):]}"

    @property
    def bounds_text(self) -> str:
        if self.armed:
            k = self.max_triggers
            return (f"{self.before:g} s before and {self.after:g} s after each trigger, up to {k} trigger{'s' if k != 1 else ''}; "
                    f"ring in memory ≤ {self.ring_bound / 1e6:g} MB; ring and windows ≤ {self.bound_bytes / 1e6:g} MB; "
                    f"disarms after {self.duration:g} s")
        ring = f"{self.file_count} file × {self.file_mb} MB" if self.file_count == 1 else (
            f"ring of {self.file_count} × {self.file_mb} MB files, oldest overwritten"
        )
        return f"{ring}; stops after {self.duration:g} s"


def syn_trouble_deltas(baseline: dict[str, int], now: dict[str, int], keys: tuple[str, ...] = SYN_TROUBLE_KEYS) -> dict[str, int]:
    """Non-zero growth of the SYN-trouble counters since ``baseline`` (a reset counts from 0)."""
    out: dict[str, int] = {}
    for k in keys:
        if k not in now:
            continue
        b = baseline.get(k, now[k])
        d = now[k] - b if now[k] >= b else now[k]
        if d:
            out[k] = d
    return out


# what tcpdump says on stderr that is not an error
_KERNEL_DROPPED = re.compile(r"^(\d+) packets? dropped by kernel")
_CHATTER = re.compile(r"^tcpdump: listening on |^\d+ packets? (captured|received by filter|dropped by kernel)")


class _Capture:
    """One running tcpdump and the threads that read it. Fields behind ``lock``."""

    def __init__(self, cid: int, spec: CaptureSpec, path: str, proc: subprocess.Popen, baseline: dict[str, int] | None) -> None:
        self.id = cid
        self.spec = spec
        self.path = path
        self.proc = proc
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.deadline = self.started + spec.duration
        self.ended: float | None = None
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self.line_count = 0
        self.messages: deque[str] = deque(maxlen=40)
        self.listening = False
        self.stop_requested = False
        self.end_reason = ""
        self.exit_code: int | None = None
        self.baseline = baseline
        self.frozen_deltas: dict[str, int] | None = None
        self.byte_count = 0
        self.listening_event = threading.Event()
        self.done_event = threading.Event()
        self.readers: tuple[threading.Thread, ...] = ()
        self.armed: Armed | None = None  # set for a capture armed on a trigger (spec.when)

    def files_on_disk(self) -> tuple[tuple[str, ...], int]:
        files, on_disk = [], 0
        names = self.armed.files() if self.armed is not None else ring_files(self.path, self.spec.file_count)
        for name in names:
            try:
                st = os.stat(name)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):  # `-w DIR`: a directory is not a file we wrote
                continue
            on_disk += st.st_size
            files.append(name)
        return tuple(files), on_disk

    def ended_well(self) -> bool:
        """tcpdump exited 0, or died of the signal we sent it to stop (after its grace)."""
        rc = self.exit_code
        asked = self.stop_requested or self.end_reason.startswith("time limit")
        return rc == 0 or (asked and rc in (-signal.SIGTERM, -signal.SIGKILL))

    def failure(self) -> str:
        """Why tcpdump failed, in its own words (its last line that is not chatter)."""
        said = [m.removeprefix("tcpdump: ") for m in self.messages if not _CHATTER.search(m)]
        return f"tcpdump failed (exit status {self.exit_code}): {said[-1]}" if said else (
            f"tcpdump exited with status {self.exit_code}")


class CaptureManager:
    """Starts, lists and stops tcpdumps; close() (or process death) ends every one of them."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self._explicit_dir = directory is not None
        self.directory = Path(directory) if directory is not None else default_capture_dir()
        # every tcpdump is forked by this one thread: PR_SET_PDEATHSIG follows the forking
        # *thread*, and this one lives until close()
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synscope-capture-spawn")
        self._captures: dict[int, _Capture] = {}
        self._lock = threading.Lock()
        self._next_id = 1
        self._closed = False
        # a normal interpreter exit stops tcpdumps cleanly (files flushed) even if the app
        # forgot close(); a hard death is covered by PR_SET_PDEATHSIG
        atexit.register(_close_at_exit, weakref.ref(self))

    # -- starting -----------------------------------------------------------------------
    def start(self, spec: CaptureSpec, baseline: dict[str, int] | None = None, check: bool = True) -> int:
        """Check the filter, start tcpdump in the namespace, return the capture id."""
        if self._closed:
            raise CaptureError("the capture manager is closed")
        spec = spec.validated()
        require_root()
        exe = find_tcpdump()
        if check:
            check_filter(spec.ns, spec.filter, spec.interface)
        with self._lock:
            cid = self._next_id
            self._next_id += 1
        if spec.path:
            path = os.path.abspath(spec.path)
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):
                raise CaptureError(f"cannot write {path}: {parent} is not a directory")
        else:
            directory = private_dir(self.directory, enforce=not self._explicit_dir)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = str(directory / f"{safe_name(spec.ns.name)}-{stamp}-{cid}.pcap")
        if spec.when is None:
            argv = [
                "tcpdump", "-i", check_interface(spec.interface), "-e", "-nn", "-l", "-U", "--print", "-Z", "root",
                "-C", str(spec.file_mb), "-W", str(spec.file_count), "-w", path, "--", spec.filter,
            ]  # fmt: skip
        else:
            # armed: the pcap comes to us on stdout, packet by packet (see .armed); no file yet
            argv = [
                "tcpdump", "-i", check_interface(spec.interface), "-nn", "-U", "-Z", "root",
                "-w", "-", "--", spec.filter,
            ]  # fmt: skip
        fd = open_ns_fd(spec.ns)
        try:
            proc = self._spawner.submit(self._spawn, shim_argv(fd, exe, argv), fd).result()
        finally:
            os.close(fd)
        cap = _Capture(cid, spec, path, proc, baseline)
        if spec.when is not None:
            cap.armed = Armed(spec.when, before=spec.before, after=spec.after, max_triggers=spec.max_triggers,
                              base=path, limit_bytes=spec.bound_bytes)
        with self._lock:
            self._captures[cid] = cap
        read_out = self._read_stdout if cap.armed is None else self._read_pcap
        threads = [
            threading.Thread(target=target, args=(cap,), name=f"synscope-capture-{cid}-{name}", daemon=True)
            for target, name in ((read_out, "out"), (self._read_stderr, "err"), (self._wait, "wait"))
        ]
        cap.readers = tuple(threads[:2])  # _wait joins them: "done" means every line is read
        for t in threads:
            t.start()
        return cid

    @staticmethod
    def _spawn(argv: list[str], fd: int) -> subprocess.Popen:
        return subprocess.Popen(
            argv,
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: terminal signals come to us first
            umask=0o077,  # pcap files 0600
        )

    # -- the threads that watch a tcpdump --------------------------------------------------
    # Each reader closes its pipe once read to the end (or on error): a finished capture
    # holds no fd, however long it stays in the list. Only its reader touches a pipe.
    @staticmethod
    def _read_stdout(cap: _Capture) -> None:
        out = cap.proc.stdout
        assert out is not None
        try:
            for raw in out:
                line, nbytes = decode_line(raw.decode("utf-8", "replace").rstrip("\n"))
                with cap.lock:
                    cap.lines.append(line)
                    cap.line_count += 1
                    cap.byte_count += nbytes or 0
        finally:
            out.close()

    @staticmethod
    def _read_pcap(cap: _Capture) -> None:
        """An armed capture's stdout: tcpdump's pcap stream, record by record, into the ring."""
        out, armed = cap.proc.stdout, cap.armed
        assert out is not None and armed is not None
        try:
            header = out.read(24)
            if len(header) < 24:
                return
            armed.set_header(header)
            while True:
                head = out.read(16)
                if len(head) < 16:
                    return
                ts, incl, orig = armed.record_time(head)
                data = out.read(incl)
                if len(data) < incl:
                    return
                armed.push(ts, head + data)
                with cap.lock:
                    cap.line_count += 1
                    cap.byte_count += orig
        finally:
            out.close()

    @staticmethod
    def _read_stderr(cap: _Capture) -> None:
        err = cap.proc.stderr
        assert err is not None
        try:
            for raw in err:
                line = raw.decode("utf-8", "replace").strip()
                if not line or line.startswith("tcpdump: data link type"):
                    continue  # libpcap chatter with -i any, not news for the engineer
                with cap.lock:
                    cap.messages.append(line)
                    heard = line.startswith("tcpdump: listening on")
                    if heard:
                        cap.listening = True
                if heard and cap.armed is not None:
                    cap.armed.listening(time.time())  # the ring holds packets from here on
                if heard:
                    cap.listening_event.set()
        finally:
            err.close()

    def _wait(self, cap: _Capture) -> None:
        armed = cap.armed
        while True:
            left = cap.deadline - time.monotonic()
            try:
                # an armed capture's watcher also writes its open window and closes it on time
                rc = cap.proc.wait(timeout=max(0.0, left if armed is None else min(left, SERVICE_EVERY)))
                break
            except subprocess.TimeoutExpired:
                pass
            if armed is not None:
                armed.service(time.time())
                if armed.finished and not cap.stop_requested:
                    self._mark(cap, armed.finished)  # K triggers saved, or no room for another
                    self._terminate(cap)
                    rc = cap.proc.wait()
                    break
            if time.monotonic() >= cap.deadline:
                with cap.lock:
                    if not cap.end_reason:
                        cap.end_reason = f"time limit reached ({cap.spec.duration:g} s)"
                self._terminate(cap)
                rc = cap.proc.wait()
                break
        # tcpdump is gone, so its pipes hit EOF: let the readers take the last lines (and
        # close the pipes) before "done". Bounded, in case something else kept a pipe open.
        for t in cap.readers:
            t.join(timeout=READER_GRACE)
        if armed is not None:  # a window still open keeps what came, and says why it ends early
            with cap.lock:
                why = cap.end_reason or "tcpdump exited"
            armed.service(time.time(), ending=why)
        with cap.lock:
            cap.exit_code = rc
            cap.ended = time.monotonic()
            if not cap.ended_well():
                # its own reason beats ours: a "stopped" that raced a tcpdump which could not
                # write its file (read-only, -w a directory) must still say why it failed
                cap.end_reason = cap.failure()
            elif not cap.end_reason:
                cap.end_reason = f"tcpdump exited with status {rc}"
        cap.listening_event.set()  # a waiter for "listening" must not hang on a dead tcpdump
        cap.done_event.set()

    @staticmethod
    def _signal(cap: _Capture, sig: int) -> None:
        if cap.proc.returncode is None:
            try:
                cap.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    @staticmethod
    def _reap(cap: _Capture) -> None:
        """Give a signalled tcpdump STOP_GRACE seconds to flush and exit, then SIGKILL."""
        try:
            cap.proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            cap.proc.kill()
            cap.proc.wait(timeout=5)

    def _terminate(self, cap: _Capture) -> None:
        # SIGTERM: tcpdump flushes the file and prints its counts
        self._signal(cap, signal.SIGTERM)
        self._reap(cap)

    @staticmethod
    def _mark(cap: _Capture, reason: str) -> None:
        with cap.lock:
            if cap.exit_code is None and not cap.end_reason:
                cap.end_reason = reason
            cap.stop_requested = True

    # -- control --------------------------------------------------------------------------
    def stop(self, cid: int, wait: bool = True, reason: str = "stopped") -> None:
        cap = self._get(cid)
        self._mark(cap, reason)
        self._signal(cap, signal.SIGTERM)
        if wait:
            self._reap(cap)
            cap.done_event.wait(2)
        elif cap.proc.returncode is None:  # the UI must not block: escalate in the background
            threading.Thread(target=self._reap, args=(cap,), name=f"synscope-capture-{cid}-stop", daemon=True).start()

    def stop_all(self, reason: str = "stopped") -> None:
        """Signal every tcpdump at once, then reap them (no new threads: safe at exit)."""
        caps = self._all()
        for cap in caps:
            self._mark(cap, reason)
            self._signal(cap, signal.SIGTERM)
        for cap in caps:
            self._reap(cap)
        for cap in caps:
            cap.done_event.wait(2)

    def close(self) -> None:
        """Stop every capture and the spawner. Idempotent; the app calls it on exit."""
        if self._closed:
            return
        self._closed = True
        self.stop_all(reason="synscope exited")
        self._spawner.shutdown(wait=False)

    def remove(self, cid: int) -> None:
        """Forget a finished capture (its files stay on disk)."""
        cap = self._get(cid)
        if cap.exit_code is None:
            raise CaptureError("stop the capture before removing it from the list")
        with self._lock:
            self._captures.pop(cid, None)

    # -- reading --------------------------------------------------------------------------
    def ids(self) -> list[int]:
        with self._lock:
            return sorted(self._captures)

    def _all(self) -> list[_Capture]:
        with self._lock:
            return [self._captures[c] for c in sorted(self._captures)]

    def _get(self, cid: int) -> _Capture:
        with self._lock:
            cap = self._captures.get(cid)
        if cap is None:
            raise CaptureError(f"no capture {cid}")
        return cap

    def spec(self, cid: int) -> CaptureSpec:
        return self._get(cid).spec

    def pids(self) -> list[int]:
        """Pids of tcpdumps still running (for tests and for a status file)."""
        return [c.proc.pid for c in self._all() if c.proc.returncode is None]

    def wait_listening(self, cid: int, timeout: float = 10.0) -> bool:
        cap = self._get(cid)
        cap.listening_event.wait(timeout)
        return cap.listening

    def wait_done(self, cid: int, timeout: float | None = None) -> bool:
        return self._get(cid).done_event.wait(timeout)

    def status(self, cid: int) -> CaptureStatus:
        cap = self._get(cid)
        files, on_disk = cap.files_on_disk()
        armed = cap.armed
        windows, collecting, ring_packets, ring_bytes = armed.snapshot() if armed is not None else ((), False, 0, 0)
        with cap.lock:
            ended = cap.ended
            if cap.exit_code is None:
                state = "stopping" if cap.stop_requested else "running"
                if armed is not None and not cap.stop_requested:
                    state = "triggered" if collecting else "armed"
            else:
                # a stop asked after tcpdump had already failed does not make it a success
                state = "done" if cap.ended_well() else "failed"
                if state == "done" and any(w.state != "collecting" for w in windows):
                    state = "saved"
            extra = {} if armed is None else {
                "when": armed.trigger.title, "when_text": armed.trigger.text, "before": armed.before,
                "after": armed.after, "max_triggers": armed.max_triggers, "triggers": windows,
                "ring_packets": ring_packets, "ring_bytes": ring_bytes, "ring_bound": armed.ring_bound,
            }
            return CaptureStatus(
                id=cap.id,
                ns_name=cap.spec.ns.name,
                ns_inode=cap.spec.ns.inode,
                filter=cap.spec.filter,
                preset=cap.spec.preset,
                interface=check_interface(cap.spec.interface),
                path=cap.path,
                files=files,
                file_mb=cap.spec.file_mb,
                file_count=cap.spec.file_count,
                duration=cap.spec.duration,
                pid=cap.proc.pid,
                state=state,
                listening=cap.listening,
                elapsed=(ended or time.monotonic()) - cap.started,
                packets=cap.line_count,
                bytes=cap.byte_count,
                bytes_on_disk=on_disk,
                end_reason=cap.end_reason if cap.exit_code is not None or cap.stop_requested else "",
                exit_code=cap.exit_code,
                messages=tuple(cap.messages),
                **extra,
            )

    def statuses(self) -> list[CaptureStatus]:
        return [self.status(c) for c in self.ids()]

    def observe(self, t: float, values_of: Callable[[int], dict[str, int] | None]) -> list[tuple[int, dict[str, int]]]:
        """One tick: every armed capture compares its namespace's values (sample time ``t``)
        with the tick before. Returns (capture id, deltas) for each trigger that fired."""
        fired = []
        for cap in self._all():
            if cap.armed is None or cap.exit_code is not None or cap.stop_requested:
                continue
            try:
                values = values_of(cap.spec.ns.inode)
            except Exception:  # a lookup that fails is a tick without values, never a dead tick
                values = None
            if values:
                deltas = cap.armed.observe(t, values)
                if deltas:
                    fired.append((cap.id, deltas))
        return fired

    def armed_count(self) -> int:
        """Armed captures still running (the app asks before it looks up any values)."""
        return sum(1 for c in self._all() if c.armed is not None and c.exit_code is None)

    def lines_since(self, cid: int, seen: int) -> tuple[list[str], int]:
        """Decoded lines after the first ``seen`` ones (those still kept), and the new total.
        An armed capture's lines are its events: armed, triggered, saved."""
        cap = self._get(cid)
        if cap.armed is not None:
            return cap.armed.events_since(seen)
        with cap.lock:
            total = cap.line_count
            new = min(total - seen, len(cap.lines))
            return (list(cap.lines)[len(cap.lines) - new :] if new > 0 else []), total

    def syn_deltas(self, cid: int, now: dict[str, int] | None) -> dict[str, int]:
        """SYN-trouble growth since the capture began; frozen once it has ended."""
        cap = self._get(cid)
        with cap.lock:
            if cap.frozen_deltas is not None:
                return dict(cap.frozen_deltas)
            if now is None:
                return {}
            if cap.baseline is None:  # no history at start: count from the first look
                cap.baseline = {k: now[k] for k in SYN_TROUBLE_KEYS if k in now}
            deltas = syn_trouble_deltas(cap.baseline, now)
            if cap.exit_code is not None:
                cap.frozen_deltas = deltas
            return deltas


def _close_at_exit(ref: weakref.ref) -> None:
    manager = ref()
    if manager is not None:
        manager.close()


