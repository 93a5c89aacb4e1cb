"""tcpdump's printed packets: ``-e -nn`` lines folded back into plain ``tcpdump -nn`` text."""

from __future__ import annotations

import re

__all__ = ["decode_line"]


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
