"""The BPF filters a capture offers: SYN-trouble presets for IPv4 and IPv6, a port, a listener's ports."""

from __future__ import annotations

from dataclasses import dataclass

from ..namespaces import NetNS
from ..netns import NamespaceGone, NetnsReader
from .errors import CaptureError

__all__ = ["PRESETS", "Preset", "listen_ports", "preset_filter"]


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


def listen_ports(ns: NetNS, reader: NetnsReader | None = None) -> list[int]:
    """The TCP ports something listens on inside ``ns`` (sock_diag, read inside the namespace)."""
    from ..sockets import listening_sockets  # late: sock_diag is not needed for the other presets

    try:
        socks = listening_sockets(ns, reader=reader)
    except NamespaceGone as exc:
        raise CaptureError(str(exc)) from None
    ports = sorted({s.port for s in socks})
    if not ports:
        raise CaptureError(f"nothing listens on TCP in {ns.name}: use the 'syn' preset to see SYNs on all ports")
    return ports
