"""Running synscope the way it runs on a node, for the shipping tests (onefile, image).

A scrubbed environment (a root shell's PATH, no venv), the version the build must carry, a
few SYNs to a closed port inside a test namespace, and a count of the packets in a pcap.
"""

from __future__ import annotations

import struct
import tomllib
from pathlib import Path

from nethelpers import NetnsLab

ROOT = Path(__file__).resolve().parent.parent
SCRUBBED_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}  # what a node's root shell has, no venv

_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}


def pyproject_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def pcap_records(path: Path) -> int:
    """Packets in a classic pcap file: a 24-byte header, then a 16-byte header per record."""
    data = path.read_bytes()
    order = _PCAP_MAGIC.get(data[:4])
    assert len(data) >= 24 and order, f"{path} is not a pcap file: {data[:4]!r}"
    n, pos = 0, 24
    while pos + 16 <= len(data):
        incl, = struct.unpack_from(order + "I", data, pos + 8)
        pos += 16 + incl
        n += 1
    return n


def syn_to_closed_port(lab: NetnsLab, ns: str, tries: int = 3) -> None:
    """A few connects to a closed port on the namespace's loopback: a SYN and a RST each."""
    code = f"""
        import socket, time
        for _ in range({tries}):
            s = socket.socket()
            s.settimeout(1)
            try:
                s.connect(("127.0.0.1", 9))
            except OSError:
                pass
            s.close()
            time.sleep(0.2)
    """
    lab.python(ns, code).wait(timeout=30)
