"""tcpdump inside one network namespace: checked first, bounded, never orphaned.

How a capture is started, and why:

* **No shell, ever.** tcpdump gets an argv list; the BPF filter is one argv element after
  ``--`` (so a filter that starts with ``-`` cannot turn into an option).
* **Entering the namespace.** We open the namespace's file ourselves (``/run/netns/NAME`` or
  ``/proc/<pid>/ns/net``), check its inode is the one the user selected (a recycled pid
  must never make us capture somewhere else), and hand the open fd to a tiny exec shim
  (:data:`_SHIM`, run as ``python -I -S -c``) which ``setns()``-es into it and ``exec``-s
  tcpdump. The shim is not a process in between: tcpdump takes over its pid.
* **Never orphaned.** The shim sets ``PR_SET_PDEATHSIG=SIGKILL`` and then checks its parent
  is still synscope (the race between fork and prctl). The death signal fires when the
  *thread* that forked the child exits, not the process — so every capture is forked from
  one long-lived spawner thread owned by :class:`CaptureManager`, never from a short-lived
  worker. It is cleared when credentials change, and this tcpdump drops to user
  ``tcpdump`` by default: we always pass ``-Z root``. Each tcpdump also gets its own
  session (process group), so a Ctrl+C in the terminal reaches synscope, which stops it.
  So quit, Ctrl+C, SIGTERM, SIGHUP and SIGKILL of synscope all end every tcpdump.
* **Bounded.** ``-C MB -W N``: a ring of N files of about MB million bytes each (tcpdump
  checks the size before writing a packet, so a file can pass MB by one packet), plus a
  duration after which the manager stops tcpdump.
* **Private files.** Files go to a directory created 0700 (default
  ``~/.cache/synscope/captures``) and are created 0600 (child umask 077). ``-U`` writes
  every packet through, so a capture cut short by a kill is still readable.
* **Decoded lines live.** ``--print -l`` makes the same tcpdump print each packet while it
  writes the file: one process, one line per packet. ``-e`` adds the frame length, which
  gives an exact byte count; :func:`decode_line` folds the link-level part back into what
  plain ``tcpdump -nn`` shows (a ring that wraps between two looks at the files would make
  a count taken from file sizes wrong).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .catalog import Group, keys_in
from . import netns
from .namespaces import NetNS
from .netns import NamespaceGone

__all__ = [
    "CaptureError",
    "CaptureManager",
    "CaptureSpec",
    "CaptureStatus",
    "FilterError",
    "PRESETS",
    "Preset",
    "TcpdumpMissing",
    "check_filter",
    "decode_line",
    "default_capture_dir",
    "find_tcpdump",
    "human_bytes",
    "interactive_argv",
    "listen_ports",
    "open_ns_fd",
    "preflight",
    "preset_filter",
    "ring_files",
    "run_interactive",
    "shim_argv",
    "syn_trouble_deltas",
]

INSTALL_HINT = "install it with: apt-get install tcpdump (Debian/Ubuntu) or dnf install tcpdump (RHEL/Fedora)"
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


class CaptureError(Exception):
    """A capture could not be started; the message is for the engineer, as is."""


class TcpdumpMissing(CaptureError):
    pass


class FilterError(CaptureError):
    """tcpdump rejected the filter; ``tcpdump_message`` is tcpdump's own words."""

    def __init__(self, filter_text: str, tcpdump_message: str) -> None:
        super().__init__(f"tcpdump rejected the filter {filter_text!r}: {tcpdump_message}")
        self.filter_text = filter_text
        self.tcpdump_message = tcpdump_message


# -- filters ----------------------------------------------------------------------------
# tcp[tcpflags] only compiles for IPv4 in libpcap; for IPv6 we read the flags byte at its
# fixed offset (40-byte header + 13), which holds when there are no extension headers.
_V6_TCP = "ip6[6] == 6"
_FLAGS = {
    "syn": ("tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", f"{_V6_TCP} and ip6[53] & 0x12 == 0x02"),
    "synack": ("tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)", f"{_V6_TCP} and ip6[53] & 0x12 == 0x12"),
    "rst": ("tcp[tcpflags] & tcp-rst != 0", f"{_V6_TCP} and ip6[53] & 0x04 != 0"),
    "handshake": ("tcp[tcpflags] & (tcp-syn|tcp-rst) != 0", f"{_V6_TCP} and ip6[53] & 0x06 != 0"),
}


def _flags(name: str) -> str:
    v4, v6 = _FLAGS[name]
    return f"({v4}) or ({v6})"


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    title: str
    needs: str = ""  # "" | "port" | "listeners" | "filter"


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("handshake", "SYN, SYN-ACK and RST, all ports"),
        Preset("syn", "SYNs (connection attempts), all ports"),
        Preset("synack", "SYN-ACKs (answers), all ports"),
        Preset("rst", "RSTs (resets), all ports"),
        Preset("listen", "SYNs to this namespace's listening ports", needs="listeners"),
        Preset("port", "all TCP on one port", needs="port"),
        Preset("custom", "your own BPF filter", needs="filter"),
    )
}


def _port(port: int | str | None) -> int:
    try:
        p = int(str(port).strip())
    except (TypeError, ValueError):
        raise CaptureError(f"port must be a number from 1 to 65535, not {port!r}") from None
    if not 1 <= p <= 65535:
        raise CaptureError(f"port must be from 1 to 65535, not {p}")
    return p


def preset_filter(name: str, *, port: int | str | None = None, ports: list[int] | None = None, custom: str = "") -> str:
    """The BPF filter text of a preset. Raises CaptureError for a missing or bad argument."""
    if name not in PRESETS:
        raise CaptureError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    if name in _FLAGS:
        return _flags(name)
    if name == "port":
        return f"tcp port {_port(port)}"
    if name == "listen":
        if not ports:
            raise CaptureError("no listening TCP ports to filter on")
        alts = " or ".join(f"tcp dst port {_port(p)}" for p in sorted(set(ports)))
        return f"({_flags('syn')}) and ({alts})"
    text = custom.strip()
    if not text:
        raise CaptureError("the custom filter is empty (an empty filter would capture everything)")
    return custom  # literally what was typed: tcpdump gets exactly this one argv element


def listen_ports(ns: NetNS, reader: object | None = None) -> list[int]:
    """The TCP ports something listens on inside ``ns`` (sock_diag, read inside the namespace)."""
    from .sockets import listening_sockets

    try:
        socks = listening_sockets(ns, reader=reader)  # type: ignore[arg-type]
    except NamespaceGone as exc:
        raise CaptureError(str(exc)) from None
    ports = sorted({s.port for s in socks})
    if not ports:
        raise CaptureError(f"nothing listens on TCP in {ns.name}: use the 'syn' preset to see SYNs on all ports")
    return ports


# -- entering the namespace --------------------------------------------------------------
# Run as `python -I -S -c _SHIM PPID FD EXE ARGV0 ARGS...`. Python's own startup ignores
# SIGPIPE and SIGXFSZ and an ignored signal stays ignored across exec: restore them.
_SHIM = r"""
import ctypes, os, signal, sys
def die(msg, code):
    os.write(2, ("synscope: " + msg + "\n").encode())
    os._exit(code)
ppid, fd, exe = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
    die("prctl(PR_SET_PDEATHSIG) failed: " + os.strerror(ctypes.get_errno()), 126)
if os.getppid() != ppid:
    os._exit(125)  # synscope died before we got here: do not start an orphan
if fd >= 0:
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        die("cannot enter the network namespace: " + os.strerror(ctypes.get_errno()), 126)
    os.close(fd)
for s in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):
    signal.signal(s, signal.SIG_DFL)
try:
    os.execv(exe, sys.argv[4:])
except OSError as e:
    die("cannot run " + exe + ": " + e.strerror, 127)
"""


def shim_argv(ns_fd: int, exe: str, argv: list[str]) -> list[str]:
    """The argv that enters the namespace open at ``ns_fd`` and execs ``exe`` with ``argv``."""
    return [sys.executable, "-I", "-S", "-c", _SHIM, str(os.getpid()), str(ns_fd), exe, *argv]


def open_ns_fd(ns: NetNS) -> int:
    """Open ``ns``'s nsfs file, verified by inode (:func:`tui.core.netns.open_ns_fd`), for the
    shim to enter. Raises :class:`CaptureError`; the caller closes the fd."""
    try:
        return netns.open_ns_fd(ns)
    except NamespaceGone as exc:
        raise CaptureError(str(exc)) from None


_SBIN = ":/usr/sbin:/sbin:/usr/local/sbin"


def find_tcpdump() -> str:
    """tcpdump's path (also looked for in the sbin directories a sudo PATH may lack)."""
    path = os.environ.get("PATH", "") + _SBIN
    exe = shutil.which("tcpdump", path=path)
    if exe is None:
        raise TcpdumpMissing(f"tcpdump is not installed: {INSTALL_HINT}")
    return exe


def _require_root() -> None:
    if os.geteuid() != 0:
        raise CaptureError("capturing needs root (entering a namespace, raw sockets): run synscope with sudo")


def _check_interface(interface: str) -> str:
    iface = interface.strip() or "any"
    if iface.startswith("-") or any(c.isspace() for c in iface) or len(iface) > 15:
        raise CaptureError(f"not an interface name: {interface!r}")
    return iface


def preflight(ns: NetNS) -> str:
    """Everything but the filter checked up front (root, tcpdump, the namespace); tcpdump's path."""
    _require_root()
    exe = find_tcpdump()
    os.close(open_ns_fd(ns))
    return exe


def check_filter(ns: NetNS, filter_text: str, interface: str = "any", timeout: float = 20.0) -> None:
    """Compile the filter with ``tcpdump -d`` inside ``ns``; raise FilterError with tcpdump's words."""
    _require_root()
    exe = find_tcpdump()
    iface = _check_interface(interface)
    fd = open_ns_fd(ns)
    try:
        r = subprocess.run(
            shim_argv(fd, exe, ["tcpdump", "-d", "-i", iface, "--", filter_text]),
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        raise CaptureError(f"tcpdump -d did not answer within {timeout:g} s") from None
    finally:
        os.close(fd)
    if r.returncode != 0:
        # "tcpdump: data link type LINUX_SLL2" is chatter; keep the lines that say what is wrong
        lines = [ln.strip() for ln in r.stderr.splitlines() if ln.strip() and "data link type" not in ln]
        msg = "\n".join(ln.removeprefix("tcpdump: ") for ln in lines) or f"tcpdump -d exited with status {r.returncode}"
        raise FilterError(filter_text, msg)


# -- files ------------------------------------------------------------------------------
def default_capture_dir() -> Path:
    """$SYNSCOPE_CAPTURE_DIR, else $XDG_CACHE_HOME/synscope/captures (~/.cache/...)."""
    env = os.environ.get("SYNSCOPE_CAPTURE_DIR")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "synscope" / "captures"


def _private_dir(path: Path, enforce: bool) -> Path:
    """Create ``path`` 0700; if ``enforce``, refuse one we don't own and tighten its mode."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError as exc:
        raise CaptureError(f"cannot create the capture directory {path}: {exc.strerror}") from None
    if not os.path.isdir(path) or os.path.islink(path):
        raise CaptureError(f"{path} is not a directory")
    if enforce:
        if st.st_uid != os.geteuid():
            raise CaptureError(f"capture directory {path} belongs to uid {st.st_uid}, not us: refusing to write there")
        if st.st_mode & 0o077:
            os.chmod(path, 0o700)
    return path


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:60] or "ns"


def ring_files(base: str, count: int) -> list[str]:
    """The file names tcpdump ``-C -W count -w base`` writes: base itself when count is 1."""
    if count <= 1:
        return [base]
    width = len(str(count - 1))
    return [f"{base}{i:0{width}d}" for i in range(count)]


# -- decoded lines ----------------------------------------------------------------------
# tcpdump -e -nn prints the link-level header before the packet:
#   any (LINUX_SLL2): "TS lo    In  ifindex 1 00:00:00:00:00:00 ethertype IPv4 (0x0800), length 80: 127.0.0.1.1 > ..."
#   Ethernet:         "TS aa:..:01 > bb:..:02, ethertype IPv4 (0x0800), length 74: 198.51.100.2.1 > ..."
_LINK = re.compile(r"^(?P<ts>\S+) (?P<pre>.*?)ethertype (?P<et>\S+) \(0x[0-9a-fA-F]+\), length (?P<len>\d+): (?P<rest>.*)$")
_SLL2_PRE = re.compile(r"^(?P<dev>\S+\s+\S+\s+)ifindex \d+ ")
_ETHERTYPE = {"IPv4": "IP", "IPv6": "IP6"}


def decode_line(raw: str) -> tuple[str, int | None]:
    """A ``tcpdump -e -nn`` line -> (the line ``tcpdump -nn`` would print, frame bytes or None)."""
    m = _LINK.match(raw)
    if m is None:
        return raw, None
    dev = _SLL2_PRE.match(m["pre"])
    head = f"{m['ts']} {dev['dev'] if dev else ''}"
    return f"{head}{_ETHERTYPE.get(m['et'], m['et'])} {m['rest']}", int(m["len"])


# -- a capture --------------------------------------------------------------------------
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

    def validated(self) -> CaptureSpec:
        if not 0 < self.duration <= MAX_DURATION:
            raise CaptureError(f"duration must be more than 0 and at most {MAX_DURATION:g} s, not {self.duration:g}")
        if not 1 <= self.file_mb <= MAX_FILE_MB:
            raise CaptureError(f"file size must be 1..{MAX_FILE_MB} MB, not {self.file_mb}")
        if not 1 <= self.file_count <= MAX_FILE_COUNT:
            raise CaptureError(f"file count must be 1..{MAX_FILE_COUNT}, not {self.file_count}")
        if not self.filter.strip():
            raise CaptureError("empty filter: choose a preset or type a BPF filter")
        _check_interface(self.interface)
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

    @property
    def running(self) -> bool:
        return self.state in ("running", "stopping")

    @property
    def bound_bytes(self) -> int:
        return self.file_mb * 1_000_000 * self.file_count

    @property
    def files_text(self) -> str:
        names = ring_files(self.path, self.file_count)
        return names[0] if len(names) == 1 else f"{names[0]} … {names[-1][len(self.path):]}"

    @property
    def bounds_text(self) -> str:
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

    def files_on_disk(self) -> tuple[tuple[str, ...], int]:
        files, on_disk = [], 0
        for name in ring_files(self.path, self.spec.file_count):
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
        _require_root()
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
            directory = _private_dir(self.directory, enforce=not self._explicit_dir)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = str(directory / f"{_safe_name(spec.ns.name)}-{stamp}-{cid}.pcap")
        argv = [
            "tcpdump", "-i", _check_interface(spec.interface), "-e", "-nn", "-l", "-U", "--print", "-Z", "root",
            "-C", str(spec.file_mb), "-W", str(spec.file_count), "-w", path, "--", spec.filter,
        ]  # fmt: skip
        fd = open_ns_fd(spec.ns)
        try:
            proc = self._spawner.submit(self._spawn, shim_argv(fd, exe, argv), fd).result()
        finally:
            os.close(fd)
        cap = _Capture(cid, spec, path, proc, baseline)
        with self._lock:
            self._captures[cid] = cap
        threads = [
            threading.Thread(target=target, args=(cap,), name=f"synscope-capture-{cid}-{name}", daemon=True)
            for target, name in ((self._read_stdout, "out"), (self._read_stderr, "err"), (self._wait, "wait"))
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
                    if line.startswith("tcpdump: listening on"):
                        cap.listening = True
                        cap.listening_event.set()
        finally:
            err.close()

    def _wait(self, cap: _Capture) -> None:
        try:
            rc = cap.proc.wait(timeout=max(0.0, cap.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with cap.lock:
                if not cap.end_reason:
                    cap.end_reason = f"time limit reached ({cap.spec.duration:g} s)"
            self._terminate(cap)
            rc = cap.proc.wait()
        # tcpdump is gone, so its pipes hit EOF: let the readers take the last lines (and
        # close the pipes) before "done". Bounded, in case something else kept a pipe open.
        for t in cap.readers:
            t.join(timeout=READER_GRACE)
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
        with cap.lock:
            ended = cap.ended
            if cap.exit_code is None:
                state = "stopping" if cap.stop_requested else "running"
            else:
                # a stop asked after tcpdump had already failed does not make it a success
                state = "done" if cap.ended_well() else "failed"
            return CaptureStatus(
                id=cap.id,
                ns_name=cap.spec.ns.name,
                ns_inode=cap.spec.ns.inode,
                filter=cap.spec.filter,
                preset=cap.spec.preset,
                interface=_check_interface(cap.spec.interface),
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
            )

    def statuses(self) -> list[CaptureStatus]:
        return [self.status(c) for c in self.ids()]

    def lines_since(self, cid: int, seen: int) -> tuple[list[str], int]:
        """Decoded lines after the first ``seen`` ones (those still kept), and the new total."""
        cap = self._get(cid)
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


# -- interactive -----------------------------------------------------------------------
def interactive_argv(ns_fd: int, filter_text: str, interface: str = "any") -> list[str]:
    exe = find_tcpdump()
    args = ["tcpdump", "-i", _check_interface(interface), "-nn", "-l", "-Z", "root"]
    if filter_text.strip():
        args += ["--", filter_text]
    return shim_argv(ns_fd, exe, args)


def run_interactive(ns: NetNS, filter_text: str, interface: str = "any") -> int:
    """tcpdump in ``ns`` on this terminal until Ctrl+C; returns its exit status.

    tcpdump stays in our process group, the terminal's foreground, so Ctrl+C reaches it;
    we ignore SIGINT meanwhile (main thread only) so that same Ctrl+C does not end us.
    """
    _require_root()
    fd = open_ns_fd(ns)
    try:
        argv = interactive_argv(fd, filter_text, interface)
        main = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            return subprocess.run(argv, pass_fds=(fd,)).returncode
        finally:
            if main:
                signal.signal(signal.SIGINT, old)
    finally:
        os.close(fd)


def human_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"
