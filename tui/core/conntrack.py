"""Conntrack statistics of one namespace: ``/proc/<pid>/net/stat/nf_conntrack``.

The file is per network namespace (checked on 6.18 by tests/test_conntrack.py): a header line
of column names, then one row per possible CPU of 8-digit hex numbers::

    entries  clashres found new invalid ignore delete chainlength insert insert_failed drop ...
    00000004  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 ...
    00000004  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000003 ...

``entries`` is the namespace's entry count, printed again on every row (a gauge: taken once,
never summed); every other column is a per-CPU counter, summed over the rows. The header
drives the parse, so a kernel with other columns works.

The sampler hands History the sums as one more netstat-style section, ``Conntrack: …`` (so
the keys are ``Conntrack.insert_failed`` and so on, like ``TcpExt.ListenDrops``), through
:class:`ConntrackReader`, which also decides when a namespace has conntrack *in use*:

* every namespace has the file as soon as conntrack is in the kernel, all zeros until a rule
  needs it (a MASQUERADE rule, kube-proxy's NAT) and traffic goes through: a namespace that
  has never shown a non-zero value has no Conntrack section at all (no rows of zeros);
* once a value was non-zero the namespace is in use for good, so ``entries`` can go back to 0
  as flows expire and the chart shows it;
* a namespace not in use is read only every ``RECHECK_TICKS`` ticks: most pods never use
  conntrack, and the read (one small /proc file, ~20 µs) would otherwise add ~14 % to every
  sample. Nothing is lost by that: until the first non-zero value every counter was 0, so
  the first values seen are the deltas (History counts them from 0), only up to
  ``RECHECK_TICKS`` ticks late.

Also here: the global limit ``net.netfilter.nf_conntrack_max`` (on 6.18 each namespace's own
count is checked against it; it can be set only on the host) and the kernel's size of one
entry, from ``/proc/slabinfo``, for the memory cost of raising it.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from .counters import CounterParseError

__all__ = [
    "CONNTRACK_FILE",
    "DROP_KEYS",
    "ENTRIES",
    "RECHECK_TICKS",
    "SECTION",
    "ConntrackReader",
    "ConntrackView",
    "conntrack_section",
    "conntrack_view",
    "entry_size",
    "parse_conntrack_stat",
    "read_conntrack_max",
]

CONNTRACK_FILE = "stat/nf_conntrack"  # under /proc/<pid>/net/ or /proc/thread-self/net/
SECTION = "Conntrack"
ENTRIES = "Conntrack.entries"
RECHECK_TICKS = 5
# packets conntrack itself dropped: a full table or a clash it could not resolve (drop), a
# hash chain too long to insert into (chainlength); and entries it evicted to make room
# (early_drop: the table was full). What the host row's marker lights up on.
DROP_KEYS = ("Conntrack.drop", "Conntrack.chainlength", "Conntrack.early_drop")
_SYSCTL_DIR = "/proc/sys/net/netfilter"


def parse_conntrack_stat(data: bytes, source: str = "nf_conntrack") -> dict[str, int]:
    """``{"entries": n, "insert_failed": sum over CPUs, ...}`` from the file's bytes.

    Raises :class:`CounterParseError` for a file that is not a header and hex rows.
    """
    names, sums = _sums(data, source)
    return dict(zip(names, sums))


def conntrack_section(data: bytes, source: str = "nf_conntrack") -> bytes:
    """The file as a netstat-style section for History; ``b""`` when every value is 0."""
    names, sums = _sums(data, source)
    return _render(names, sums) if any(sums) else b""


@dataclass(frozen=True, slots=True)
class _Header:
    names: tuple[str, ...]
    entries: int  # column of "entries"
    line: bytes  # "Conntrack: entries clashres ...\nConntrack: " (what History gets, before the values)


_headers: dict[bytes, _Header] = {}


def _header(raw: bytes, source: str) -> _Header:
    h = _headers.get(raw)
    if h is not None:
        return h
    try:
        names = tuple(raw.decode("ascii").split())
    except UnicodeDecodeError:
        raise CounterParseError(f"{source}: header is not ASCII") from None
    if "entries" not in names:
        raise CounterParseError(f"{source}: no 'entries' column in the header {raw[:60]!r}")
    line = f"{SECTION}: {' '.join(names)}\n{SECTION}: ".encode()
    h = _Header(names, names.index("entries"), line)
    if len(_headers) > 16:  # one shape per kernel: a bound, not a cache to tune
        _headers.clear()
    _headers[raw] = h
    return h


def _render(names: tuple[str, ...] | list[str], sums: list[int], header: _Header | None = None) -> bytes:
    head = header.line if header is not None else f"{SECTION}: {' '.join(names)}\n{SECTION}: ".encode()
    return head + " ".join(map(str, sums)).encode() + b"\n"


def _sums(data: bytes, source: str) -> tuple[tuple[str, ...], list[int]]:
    h, sums = _parse(data, source)
    return h.names, sums


def _parse(data: bytes, source: str) -> tuple[_Header, list[int]]:
    first, _, rest = data.partition(b"\n")
    h = _header(first, source)
    n = len(h.names)
    nrows = rest.count(b"\n") + (not rest.endswith(b"\n"))
    # Every value is printed %08x: with the spaces and newlines gone, the rows are one run of
    # hex digits that decodes at once. Splitting into values first costs ~50 ns a value,
    # and a 64-CPU node has 1088 of them.
    digits = rest.replace(b" ", b"").replace(b"\n", b"")
    try:
        if not nrows or len(digits) != 8 * n * nrows:
            raise ValueError
        vals = _u32s(nrows * n).unpack(bytes.fromhex(digits.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        rows = [ln for ln in rest.split(b"\n") if ln.strip()]
        if not rows:
            raise CounterParseError(f"{source}: a header but no per-CPU rows") from None
        vals = tuple(v for i, row in enumerate(rows, start=2) for v in _slow_row(row, n, source, i))
    sums = list(vals) if len(vals) == n else list(map(sum, zip(*(vals[i:i + n] for i in range(0, len(vals), n)))))
    sums[h.entries] = vals[h.entries]  # the namespace's count, repeated on each row: not a sum
    return h, sums


_u32_structs: dict[int, struct.Struct] = {}


def _u32s(count: int) -> struct.Struct:
    st = _u32_structs.get(count)
    if st is None:
        st = _u32_structs[count] = struct.Struct(f">{count}I")
    return st


def _slow_row(row: bytes, n: int, source: str, lineno: int) -> tuple[int, ...]:
    parts = row.split()
    if len(parts) != n:
        raise CounterParseError(f"{source}: line {lineno} has {len(parts)} values for {n} names (truncated?)")
    try:
        return tuple(int(p, 16) for p in parts)
    except ValueError:
        raise CounterParseError(f"{source}: line {lineno} has a value that is not hex: {row[:60]!r}") from None


class ConntrackReader:
    """Per namespace: whether to read the file this tick, and its section for History.

    :meth:`want` says whether to read it now (always once in use; else every ``recheck``
    ticks); :meth:`section` turns what was read into the bytes History
    gets: ``None`` means "not read this tick", ``b""`` "read, but the file is not there" (no
    conntrack in this kernel yet: a module may load later). When nothing new was read it
    returns the last section again. The sampler calls both under its lock, once per
    namespace per tick.
    """

    __slots__ = ("_state", "recheck")

    def __init__(self, recheck: int = RECHECK_TICKS) -> None:
        self._state: dict[int, _NsConntrack] = {}
        # ticks between two reads of a namespace not in use; 1 for the headless commands,
        # whose two samples must both read it
        self.recheck = max(1, recheck)

    def want(self, inode: int) -> bool:
        st = self._state.get(inode)
        if st is None or st.in_use:
            return True
        st.wait -= 1
        return st.wait <= 0

    def section(self, inode: int, raw: bytes | None, source: str = "nf_conntrack") -> bytes:
        st = self._state.get(inode)
        if st is None:
            st = self._state[inode] = _NsConntrack(self.recheck)
        if raw is None:
            return st.section
        st.wait = self.recheck
        if raw == st.raw:  # the usual idle tick: nothing to parse
            return st.section
        if not raw:
            return st.section
        try:
            header, sums = _parse(raw, source)
        except CounterParseError:
            return st.section  # a file we cannot read is no reason to lose the netstat/snmp sample
        st.raw = raw
        if st.in_use or any(sums):
            # in use once, in use for good: entries going back to 0 is news, not silence
            st.in_use, st.section = True, _render(header.names, sums, header)
        return st.section

    def in_use(self, inode: int) -> bool:
        st = self._state.get(inode)
        return st is not None and st.in_use

    def retain(self, inodes: set[int]) -> None:
        for inode in [i for i in self._state if i not in inodes]:
            del self._state[inode]

    def forget(self, inode: int) -> None:
        self._state.pop(inode, None)


class _NsConntrack:
    __slots__ = ("in_use", "raw", "section", "wait")

    def __init__(self, wait: int) -> None:
        self.in_use = False
        self.wait = wait  # ticks until the next read while not in use
        self.raw: bytes | None = None  # the file as last read
        self.section = b""  # what History gets: b"" (no section) until in use


def read_conntrack_max() -> int | None:
    """``net.netfilter.nf_conntrack_max`` as this thread's namespace sees it (global on 6.18)."""
    try:
        with open(f"{_SYSCTL_DIR}/nf_conntrack_max", "rb") as f:  # bytes: no codec to import (a child
            return int(f.read().split()[0])                       # that dropped root may not read one)
    except (OSError, ValueError, IndexError):
        return None


def entry_size(slabinfo: str = "/proc/slabinfo") -> int | None:
    """Bytes of one conntrack entry (``struct nf_conn``): the ``nf_conntrack`` slab's object
    size on this kernel (256 on 6.18 x86_64). Extensions (NAT, helpers, timestamps) are
    allocated apart and not included. ``None`` when the file cannot be read (it needs root)."""
    try:
        with open(slabinfo, "rb") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] == b"nf_conntrack" and len(parts) > 3:
                    return int(parts[3])
    except (OSError, ValueError):
        return None
    return None


@dataclass(frozen=True, slots=True)
class ConntrackView:
    """One namespace's conntrack over a window, for the rules and the JSON records."""

    entries: int  # now
    entries_peak: int  # the highest sampled in the window
    values: Mapping[str, int]  # every column's latest value ("insert_failed": 3)
    deltas: Mapping[str, int]  # growth over the window of the counters that moved

    def as_dict(self) -> dict:
        return {"entries": self.entries, "entries_peak": self.entries_peak,
                "values": dict(self.values), "deltas": dict(self.deltas)}


def conntrack_view(history, n: int | None = None) -> ConntrackView | None:  # type: ignore[no-untyped-def]
    """The conntrack of a :class:`~tui.core.history.NsHistory` over its last n ticks;
    ``None`` when the namespace has no conntrack in use (no Conntrack section)."""
    values = {k.partition(".")[2]: v for k, v in history.values().items() if k.startswith(SECTION + ".")}
    if not values:
        return None
    deltas = {}
    for key in history.moved(n):
        if key.startswith(SECTION + "."):
            d = history.total_delta(key, n)
            if d > 0:
                deltas[key.partition(".")[2]] = d
    now = values.get("entries", 0)
    sampled = history.gauge_values(ENTRIES, n) if history.ticks else []
    return ConntrackView(now, max([now, *sampled]), values, deltas)
