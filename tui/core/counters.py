"""Parse `/proc/net/netstat` and `/proc/net/snmp` into counters keyed ``Section.Name``.

Both files are pairs of lines per section::

    TcpExt: SyncookiesSent SyncookiesRecv ...
    TcpExt: 0 0 ...

Column sets differ between kernels and even between namespaces (``IcmpMsg``), so the
header lines drive everything; no position is hard-coded.

Two entry points:

* :func:`parse_proc_net` — text in, ``{"TcpExt.ListenDrops": 72, ...}`` out. Simple, used by
  tests, the CLI and anything that is not on the hot path.
* :class:`Layout` + :func:`split_sections` — the sampler's fast path: a ``Layout`` (the
  ordered keys of one file's headers) is built once per distinct header text and shared by
  every namespace that has the same kernel columns, so a tick only turns value lines into
  ints, and only for sections whose bytes changed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CounterParseError",
    "GAUGES",
    "Layout",
    "is_gauge",
    "layout_for",
    "parse_proc_net",
    "parse_values",
    "split_sections",
]


class CounterParseError(ValueError):
    """The text is not a well-formed netstat/snmp file; the message says what is wrong."""


# Values that are levels, not event counts: never give them a rate or a delta-as-rate.
GAUGES: frozenset[str] = frozenset(
    {
        "Tcp.RtoAlgorithm",
        "Tcp.RtoMin",
        "Tcp.RtoMax",
        "Tcp.MaxConn",
        "Tcp.CurrEstab",
        "Ip.Forwarding",
        "Ip.DefaultTTL",
        "Ip6.Forwarding",
        "MPTcpExt.MPCurrEstab",
        "TcpExt.TCPMemoryPressuresChrono",  # accumulated ms, but not an event count either
        "Conntrack.entries",  # the namespace's conntrack entries now (tui/core/conntrack.py)
    }
)


def is_gauge(key: str) -> bool:
    return key in GAUGES


@dataclass(frozen=True, slots=True)
class Layout:
    """The column layout of one file: its sections in order and their counter keys.

    ``keys[i]`` is the tuple of ``Section.Name`` keys of the i-th section; ``flat`` is all
    keys in file order, so a flat list of values lines up with it.
    """

    sections: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    flat: tuple[str, ...]
    gauge_keys: frozenset[str]


_layouts: dict[tuple[bytes, ...], Layout] = {}


def split_sections(data: bytes, source: str = "input") -> tuple[list[bytes], list[bytes]]:
    """Split a file into its header lines and value lines (bytes), checking the pairing."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise CounterParseError(f"{source}: empty file, no counter sections")
    if len(lines) % 2:
        raise CounterParseError(
            f"{source}: {len(lines)} lines; expected header/value pairs "
            f"(last line {lines[-1][:40]!r} has no partner — truncated?)"
        )
    return lines[0::2], lines[1::2]


def layout_for(headers: list[bytes], source: str = "input") -> Layout:
    """The (cached, shared) layout for these header lines."""
    key = tuple(headers)
    layout = _layouts.get(key)
    if layout is not None:
        return layout
    sections: list[str] = []
    keys: list[tuple[str, ...]] = []
    for lineno, raw in enumerate(headers, start=1):
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise CounterParseError(f"{source}: header line {lineno * 2 - 1} is not ASCII") from exc
        prefix, sep, rest = text.partition(":")
        if not sep or not prefix or " " in prefix:
            raise CounterParseError(
                f"{source}: line {lineno * 2 - 1} is not a 'Section: Name Name ...' header: {text[:60]!r}"
            )
        names = rest.split()
        sections.append(prefix)
        keys.append(tuple(f"{prefix}.{n}" for n in names))
    flat = tuple(k for ks in keys for k in ks)
    gauges = frozenset(k for k in flat if k in GAUGES)
    layout = Layout(tuple(sections), tuple(keys), flat, gauges)
    if len(_layouts) > 256:  # many distinct IcmpMsg shapes: keep the cache bounded
        _layouts.clear()
    _layouts[key] = layout
    return layout


def parse_values(line: bytes, section: str, expected: int, source: str = "input") -> list[int]:
    """Turn one value line into ints, checking its prefix and its count."""
    parts = line.split()
    if not parts or parts[0] != section.encode() + b":":
        got = parts[0][:30] if parts else b""
        raise CounterParseError(f"{source}: value line for {section} starts with {got!r}, not '{section}:'")
    if len(parts) - 1 != expected:
        raise CounterParseError(
            f"{source}: section {section} has {expected} names but {len(parts) - 1} values (truncated?)"
        )
    try:
        return list(map(int, parts[1:]))
    except ValueError:
        bad = next(p for p in parts[1:] if not _is_int(p))
        raise CounterParseError(f"{source}: section {section} has a non-numeric value {bad[:30]!r}") from None


def _is_int(token: bytes) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


def parse_proc_net(text: str | bytes, source: str = "input") -> dict[str, int]:
    """Parse netstat or snmp text into ``{"Section.Name": value}``.

    Raises :class:`CounterParseError` with a message naming the problem for empty text,
    a truncated file, a header/value count mismatch or a non-numeric value.
    """
    data = text.encode() if isinstance(text, str) else text
    headers, values = split_sections(data, source)
    layout = layout_for(headers, source)
    out: dict[str, int] = {}
    for section, keys, line in zip(layout.sections, layout.keys, values):
        out.update(zip(keys, parse_values(line, section, len(keys), source)))
    return out
