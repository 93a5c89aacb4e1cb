"""What arms a capture: "SYN trouble moves here", or "counter K grows by at least N in one tick".

:func:`parse_when` reads the headless ``--when`` text (and the form's fields) strictly: one
counter the catalog knows, ``>=``, a whole number from 1. A typo gets the nearest known
names and the whole list, never a capture that silently waits for a counter that does not
exist. :meth:`Trigger.fired` compares two consecutive ticks' absolute values.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..catalog import CATALOG, Group, keys_in
from .errors import CaptureError

__all__ = ["MAX_AT_LEAST", "SYN_TRIGGER", "Trigger", "parse_when"]

MAX_AT_LEAST = 10**9
SYN_WORDS = ("syn", "syn trouble", "syn-trouble")


@dataclass(frozen=True, slots=True)
class Trigger:
    """``key`` None: any SYN-trouble counter moved (the table's red ``S``); else ``key`` grew
    by at least ``at_least`` between two ticks."""

    key: str | None = None
    at_least: int = 1

    @property
    def text(self) -> str:
        """The --when text that makes this trigger."""
        return "syn" if self.key is None else f"{self.key}>={self.at_least}"

    @property
    def title(self) -> str:
        if self.key is None:
            return "when SYN trouble moves here"
        return f"when {self.key} grows by ≥{self.at_least} in one tick"

    def fired(self, before: dict[str, int], now: dict[str, int]) -> dict[str, int]:
        """The deltas that fire this trigger between two ticks' values, or {} (no fire).

        A counter absent from either tick, or that went down (a reset: the namespace is not
        the one we watched before), does not fire.
        """
        from .manager import syn_trouble_deltas  # the pane's own SYN-trouble deltas

        if self.key is None:
            keys = tuple(k for k in keys_in(Group.SYN) if k in before and k in now and now[k] >= before[k])
            return syn_trouble_deltas(before, now, keys)
        if self.key not in before or self.key not in now:
            return {}
        d = now[self.key] - before[self.key]
        return {self.key: d} if d >= self.at_least else {}


SYN_TRIGGER = Trigger()

_EXPR = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9_.]*)\s*(?P<op>>=|=>|>|==|=|<=|<)?\s*(?P<n>\S*)\s*$")
_NSTAT = {k.replace(".", "", 1).lower(): k for k in CATALOG}  # TcpExtListenDrops -> TcpExt.ListenDrops


def _known_counter(name: str) -> str:
    if name in CATALOG:
        return name
    folded = name.lower()
    exact = [k for k in CATALOG if k.lower() == folded] or ([_NSTAT[folded]] if folded in _NSTAT else [])
    if exact:
        return exact[0]
    bare = [k for k in CATALOG if k.partition(".")[2].lower() == folded]
    close = bare or difflib.get_close_matches(name, list(CATALOG), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise CaptureError(f"unknown counter {name!r} in --when: {hint}known counters: {', '.join(CATALOG)}")


def parse_when(text: str) -> Trigger:
    """``syn`` (SYN trouble moves), or ``Section.Name>=N``: that counter grows by at least N
    in one tick. Raises :class:`CaptureError` saying what is wrong."""
    raw = text.strip()
    if raw.lower() in SYN_WORDS:
        return SYN_TRIGGER
    m = _EXPR.match(raw)
    if m is None:
        raise CaptureError(f"cannot read --when {text!r}: write 'syn' or COUNTER>=N, e.g. 'TcpExt.ListenDrops>=1'")
    key = _known_counter(m["key"])
    op, n = m["op"], m["n"]
    if op is None:
        raise CaptureError(f"--when {text!r} has no threshold: write {key}>=N (grows by at least N in one tick)")
    if op not in (">=", "=>"):
        raise CaptureError(f"--when takes only >= (grows by at least N in one tick), not {op!r}: write {key}>={n or 'N'}")
    try:
        at_least = int(n)
    except ValueError:
        raise CaptureError(f"--when {text!r}: N must be a whole number, not {n!r}") from None
    if not 1 <= at_least <= MAX_AT_LEAST:
        raise CaptureError(f"--when {text!r}: N must be from 1 to {MAX_AT_LEAST}, not {at_least}")
    return Trigger(key, at_least)
