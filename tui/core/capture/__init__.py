"""tcpdump inside one network namespace: checked first, bounded, never orphaned.

The package, one job a module: :mod:`.presets` (the BPF filters offered), :mod:`.tcpdump`
(the exec shim that enters the namespace, finding tcpdump, the filter check, the
interactive run), :mod:`.files` (the private directory, the ring's file names),
:mod:`.lines` (tcpdump's printed lines), :mod:`.manager` (the manager and its records),
:mod:`.trigger` (what arms a capture: ``--when``), :mod:`.armed` (an armed capture's
in-memory ring and the windows a trigger saves; its docstring says why it is built so),
:mod:`.errors`. Callers import from here.

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

from .armed import FLUSH_GRACE, RING_MAX_BYTES, TriggerWindow, window_path
from .errors import CaptureError, FilterError, TcpdumpMissing
from .files import default_capture_dir, ring_files
from .lines import decode_line
from .manager import (
    DEFAULT_AFTER,
    DEFAULT_BEFORE,
    DEFAULT_DURATION,
    DEFAULT_FILE_COUNT,
    DEFAULT_FILE_MB,
    DEFAULT_MAX_TRIGGERS,
    DEFAULT_UNTIL,
    KEEP_LINES,
    MAX_AFTER,
    MAX_BEFORE,
    MAX_DURATION,
    MAX_FILE_COUNT,
    MAX_FILE_MB,
    MAX_TRIGGERS,
    SYN_TROUBLE_KEYS,
    CaptureManager,
    CaptureSpec,
    CaptureStatus,
    syn_trouble_deltas,
)
from .trigger import SYN_TRIGGER, Trigger, parse_when
from .presets import PRESETS, Preset, listen_ports, preset_filter
from .tcpdump import (
    INSTALL_HINT,
    check_filter,
    find_tcpdump,
    interactive_argv,
    open_ns_fd,
    preflight,
    run_interactive,
    shim_argv,
)

__all__ = [
    "DEFAULT_AFTER",
    "DEFAULT_BEFORE",
    "DEFAULT_MAX_TRIGGERS",
    "DEFAULT_UNTIL",
    "FLUSH_GRACE",
    "MAX_AFTER",
    "MAX_BEFORE",
    "MAX_TRIGGERS",
    "RING_MAX_BYTES",
    "SYN_TRIGGER",
    "Trigger",
    "TriggerWindow",
    "parse_when",
    "window_path",
    "DEFAULT_DURATION",
    "DEFAULT_FILE_COUNT",
    "DEFAULT_FILE_MB",
    "INSTALL_HINT",
    "KEEP_LINES",
    "MAX_DURATION",
    "MAX_FILE_COUNT",
    "MAX_FILE_MB",
    "PRESETS",
    "SYN_TROUBLE_KEYS",
    "CaptureError",
    "CaptureManager",
    "CaptureSpec",
    "CaptureStatus",
    "FilterError",
    "Preset",
    "TcpdumpMissing",
    "check_filter",
    "decode_line",
    "default_capture_dir",
    "find_tcpdump",
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
