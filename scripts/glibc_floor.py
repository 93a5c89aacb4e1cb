"""The oldest glibc a set of ELF files can run on: the highest GLIBC_x.y version they need.

    python3 scripts/glibc_floor.py FILE_OR_DIR...     # prints e.g. "2.34 libpython3.11.so.1.0"

Run inside dist/synscope (``dist/synscope -I -S -c "$(cat scripts/glibc_floor.py)"``) with no
path, it scans its own unpacked runtime and the executable itself: exactly what the node's
dynamic loader will have to satisfy. The versions come from each file's version-needs table
(``.gnu.version_r``, what ``objdump -p`` shows under "Version References"), not from a guess
at the build machine's glibc.
"""

from __future__ import annotations

import os
import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE


def needed_glibc(path: str) -> list[tuple[int, ...]]:
    """Every GLIBC_x.y version ``path`` needs, as tuples; [] for a non-ELF or a static file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit ELF only (x86_64, aarch64)
        return []
    end = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(end + "Q", data, 0x28)
    shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
    sections = [struct.unpack_from(end + "IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    found = []
    for _name, sh_type, _flags, _addr, offset, _size, link, info, _align, _entsize in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab = sections[link][4]
        pos = offset
        for _ in range(info):  # Elf64_Verneed entries
            _version, cnt, _file, aux, nxt = struct.unpack_from(end + "HHIII", data, pos)
            apos = pos + aux
            for _ in range(cnt):  # Elf64_Vernaux entries
                _hash, _flags2, _other, name, anext = struct.unpack_from(end + "IHHII", data, apos)
                text = data[strtab + name:data.index(b"\0", strtab + name)].decode()
                if text.startswith("GLIBC_") and text[6:7].isdigit():
                    found.append(tuple(int(x) for x in text[6:].split(".")))
                apos += anext
            if not nxt:
                break
            pos += nxt
    return found


def floor(paths: list[str]) -> tuple[tuple[int, ...], str]:
    """The highest needed version over all ELF files under ``paths``, and the file needing it."""
    best: tuple[tuple[int, ...], str] = ((0,), "")
    for top in paths:
        files = [top] if os.path.isfile(top) else [os.path.join(d, n) for d, _, names in os.walk(top) for n in names]
        for path in files:
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            for v in needed_glibc(path):
                if v > best[0]:
                    best = (v, os.path.relpath(path, top) if path != top else os.path.basename(path))
    return best


if __name__ == "__main__":
    args = sys.argv[1:] or ([sys._MEIPASS, sys.executable] if getattr(sys, "frozen", False) else [])
    if not args:
        sys.exit("usage: glibc_floor.py FILE_OR_DIR...")
    version, where = floor(args)
    print(".".join(map(str, version)), where)
