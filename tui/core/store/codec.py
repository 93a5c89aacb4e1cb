"""The store's blobs: packed int64 arrays, zlib-compressed, each behind a CRC-32.

* a **tick row** (the open chunk, one per tick, uncompressed so a commit per tick stays
  cheap): ``[ns, n, code, value, code, value, …]`` repeated per namespace that moved;
* a **chunk** (one namespace, one chunk of ticks, written when the chunk is full): the keys
  that moved, the sparse events (resets and gauges) and a dense matrix of deltas, one row per
  key and one column per tick. Mostly zeros, so zlib packs it to a few bytes a tick;
* a **keyframe**: ``[key, value, key, value, …]``, every absolute value (zeros too) of a
  namespace after a tick;
* **times**: the tick times of a chunk, float64.

``code = key * 4 + kind``: ``DELTA`` (the counter grew by value), ``RESET`` (it went down:
value is the new absolute value) or ``GAUGE`` (value is the gauge's new value).

A blob whose CRC does not match (a torn or damaged page) raises :class:`CorruptBlob`; the
reader skips it and says so in a note.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from dataclasses import dataclass

__all__ = ["DELTA", "GAUGE", "RESET", "Chunk", "CorruptBlob", "decode_chunk", "decode_keyframe", "decode_tick",
           "decode_times", "encode_chunk", "encode_keyframe", "encode_tick", "encode_times"]

DELTA, RESET, GAUGE = 0, 1, 2
_CRC = struct.Struct("<I")
_LITTLE = sys.byteorder == "little"


class CorruptBlob(ValueError):
    """A stored blob failed its CRC or does not decode."""


def _seal(payload: bytes, level: int = 6) -> bytes:
    packed = zlib.compress(payload, level) if level else payload
    return _CRC.pack(zlib.crc32(packed)) + packed


def _open(blob: bytes | None, compressed: bool = True) -> bytes:
    if blob is None or len(blob) < 4:
        raise CorruptBlob("blob too short")
    (crc,) = _CRC.unpack_from(blob)
    packed = blob[4:]
    if zlib.crc32(packed) != crc:
        raise CorruptBlob("CRC mismatch")
    try:
        return zlib.decompress(packed) if compressed else packed
    except zlib.error as exc:
        raise CorruptBlob(str(exc)) from None


def _q(data: bytes) -> array:
    a = array("q")
    if len(data) % 8:
        raise CorruptBlob("not a whole number of int64")
    a.frombytes(data)
    if not _LITTLE:
        a.byteswap()
    return a


def _bytes(a: array) -> bytes:
    if not _LITTLE:
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


# -- one tick (the open chunk) -----------------------------------------------------------------
def encode_tick(entries: dict[int, list[int]]) -> bytes:
    """``{ns: [code, value, …]}`` -> a tick row's blob (not compressed: written every tick)."""
    a = array("q")
    for ns, flat in entries.items():
        a.append(ns)
        a.append(len(flat) // 2)
        a.extend(flat)
    return _seal(_bytes(a), level=0)


def decode_tick(blob: bytes) -> dict[int, list[int]]:
    a = _q(_open(blob, compressed=False))
    out: dict[int, list[int]] = {}
    i, n = 0, len(a)
    while i < n:
        if i + 2 > n:
            raise CorruptBlob("tick row cut short")
        ns, count = a[i], a[i + 1]
        end = i + 2 + 2 * count
        if count < 0 or end > n:
            raise CorruptBlob("tick row cut short")
        out[ns] = a[i + 2:end].tolist()
        i = end
    return out


# -- a chunk of one namespace --------------------------------------------------------------------
@dataclass(slots=True)
class Chunk:
    """One namespace over one chunk of ``ticks`` ticks (offsets 0..ticks-1 from its first)."""

    ticks: int
    deltas: dict[int, array]  # key -> one delta per tick (int64)
    events: list[tuple[int, int, int, int]]  # (offset, key, kind, value): resets and gauges, in order


def encode_chunk(chunk: Chunk) -> bytes:
    keys = sorted(chunk.deltas)
    a = array("q", [chunk.ticks, len(keys)])
    a.extend(keys)
    a.append(len(chunk.events))
    for offset, key, kind, value in chunk.events:
        a.extend((offset, key * 4 + kind, value))
    for key in keys:
        row = chunk.deltas[key]
        if len(row) != chunk.ticks:
            raise ValueError("a delta row must have one value per tick")
        a.extend(row)
    return _seal(_bytes(a))


def decode_chunk(blob: bytes) -> Chunk:
    a = _q(_open(blob))
    try:
        ticks, nkeys = a[0], a[1]
        keys = a[2:2 + nkeys].tolist()
        pos = 2 + nkeys
        nev = a[pos]
        pos += 1
        events = []
        for j in range(nev):
            offset, code, value = a[pos + 3 * j:pos + 3 * j + 3]
            events.append((offset, code >> 2, code & 3, value))
        pos += 3 * nev
        if ticks < 0 or len(a) != pos + nkeys * ticks:
            raise CorruptBlob("chunk size does not match its header")
        deltas = {key: a[pos + i * ticks:pos + (i + 1) * ticks] for i, key in enumerate(keys)}
    except (IndexError, ValueError) as exc:
        raise CorruptBlob(f"chunk does not decode: {exc}") from None
    return Chunk(ticks, deltas, events)


# -- keyframes and times -------------------------------------------------------------------------
def encode_keyframe(values: dict[int, int]) -> bytes:
    a = array("q")
    for key, v in values.items():  # zeros too: a rebuilt history lists every counter, as a live one
        a.append(key)
        a.append(v)
    return _seal(_bytes(a))


def decode_keyframe(blob: bytes) -> dict[int, int]:
    a = _q(_open(blob))
    if len(a) % 2:
        raise CorruptBlob("keyframe cut short")
    return dict(zip(a[0::2], a[1::2]))


def encode_times(times: list[float]) -> bytes:
    a = array("d", times)
    if not _LITTLE:
        a.byteswap()
    return _seal(a.tobytes())


def decode_times(blob: bytes) -> array:
    raw = _open(blob)
    if len(raw) % 8:
        raise CorruptBlob("times cut short")
    a = array("d")
    a.frombytes(raw)
    if not _LITTLE:
        a.byteswap()
    return a
