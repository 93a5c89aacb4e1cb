"""Which namespace the table selects, tick by tick: a pure policy, no widget, no Textual.

Until the user picks a row the selection is automatic: the top row when the app starts,
the sort or the filter changes. On a tick it moves to the top row only when that row is in
worse trouble (SYN > delayed ACKs > neither) than the selected one, or the selected one is
gone: with several namespaces lit, the worst row changes from second to second, and a
detail panel that jumped between them would be unreadable. Trouble counts for ``HOLD_S``
after it was last seen (drops often come every few seconds), and a namespace whose burst
ended stays selected until something else lights up. A selection is held only while its
row is on screen without scrolling: the worst rows stay in view.

:class:`~widgets.namespace_table.NamespaceTable` owns one, feeds it each tick's order and
severities, and does what it answers (post ``Selected``, scroll, check the fold after
layout). Unit-tested without an App (tests/test_selection_policy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["HOLD_S", "NEITHER", "SelectionPolicy", "Step"]

HOLD_S = 10.0  # an automatic selection keeps counting its last trouble this long (seconds)
SYN, DACK, NEITHER = 0, 1, 2  # severities: lower is worse


@dataclass(frozen=True, slots=True)
class Step:
    """What one :meth:`SelectionPolicy.follow` decided, for the table to carry out."""

    changed: bool  # the selected namespace changed: post Selected
    automatic: bool  # the selection is automatic: keep the table scrolled to the top
    settled: bool  # as many rows as last time: the table's height is known now (else check the fold after layout)


class SelectionPolicy:
    """The selected inode and the cursor row, kept by the rules in the module docstring."""

    def __init__(self, hold_s: float = HOLD_S) -> None:
        self.hold_s = hold_s
        self.selected: int | None = None
        self.cursor_row = 0
        self.user_chose = False  # the user picked a row: no more automatic moves
        self.retop = True  # the next follow() puts an automatic selection on the top row
        self._hold_inode: int | None = None  # the automatic selection...
        self._hold_at: dict[int, float] = {}  # ...severity -> when it last had it (see held)

    def follow(self, order: Sequence[int], severity: Callable[[int], int], now: float, rows: int,
               rows_before: int) -> Step:
        """Adopt a tick's rows (``order``, top first) with ``rows`` lines visible under the
        header, ``rows_before`` rows shown last time."""
        before = self.selected
        if not order:
            self.cursor_row = 0
            self.selected = None
            return Step(before is not None, False, True)
        retop, self.retop = self.retop, False
        shown = set(order)
        if not self.user_chose:
            top, current = order[0], self.selected
            held = self.held(current, severity, now) if current in shown else NEITHER  # remembers trouble: every tick
            # a held row below the fold goes back to the top (see check_fold); with as many
            # rows as last time the table keeps its height, and that is known now
            settled = rows > 0 and len(order) == rows_before
            below = settled and current in shown and order.index(current) >= rows
            if current != top and (retop or current not in shown or below or severity(top) < held):
                self._select_top(order, severity, now)
            self.cursor_row = order.index(self.selected)  # type: ignore[arg-type]
            return Step(self.selected != before, True, settled)
        if self.selected not in shown:
            self.selected = order[min(self.cursor_row, len(order) - 1)]
        self.cursor_row = order.index(self.selected)
        return Step(self.selected != before, False, True)

    def check_fold(self, order: Sequence[int], severity: Callable[[int], int], now: float, rows: int) -> bool:
        """After layout, with the table's real height: an automatic selection whose row is
        below the fold goes back to the top row. True if the selection changed."""
        if self.user_chose or not order or self.selected not in order:
            return False
        if rows > 0 and self.cursor_row >= rows:
            before = self.selected
            self._select_top(order, severity, now)
            return self.selected != before
        return False

    def choose(self, order: Sequence[int], row: int) -> bool:
        """The user put the cursor on ``row``. True if the selection changed."""
        self.user_chose = True
        self.cursor_row = max(0, min(len(order) - 1, row))
        inode = order[self.cursor_row]
        changed, self.selected = inode != self.selected, inode
        return changed

    def pick(self, inode: int) -> bool:
        """A namespace chosen by name (as if the user moved there). True if it changed."""
        changed, self.selected = inode != self.selected, inode
        self.user_chose = True
        return changed

    def _select_top(self, order: Sequence[int], severity: Callable[[int], int], now: float) -> None:
        self.selected = order[0]
        self.held(order[0], severity, now)  # its trouble from now on counts
        self.cursor_row = 0

    def held(self, inode: int, severity: Callable[[int], int], now: float) -> int:
        """The selected namespace's severity, counting trouble it had in the last ``hold_s``.

        A namespace whose drops come every other second is in trouble the whole time: on
        its quiet ticks it must not lose the selection to the next flickering row.
        """
        if self._hold_inode != inode:
            self._hold_inode, self._hold_at = inode, {}
        level_now = severity(inode)
        if level_now < NEITHER:
            self._hold_at[level_now] = now
        for level in (SYN, DACK):
            at = self._hold_at.get(level)
            if at is not None and 0 <= now - at <= self.hold_s:
                return min(level_now, level)
        return level_now
