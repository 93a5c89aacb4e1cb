"""The table's selection policy on its own: no App, no Pilot, every rule in a few ticks.

tests/test_table_selection.py checks the same rules through the real table on screen.
"""

from __future__ import annotations

from widgets.selection import DACK, HOLD_S, NEITHER, SYN, SelectionPolicy

A, B, C, D = 1, 2, 3, 4
ROWS = 10  # lines visible under the header


def sev(**levels: int):  # type: ignore[no-untyped-def]
    table = {"a": A, "b": B, "c": C, "d": D}
    by_inode = {table[k]: v for k, v in levels.items()}
    return lambda inode: by_inode.get(inode, NEITHER)


def test_first_tick_selects_the_top_row_then_holds_it_while_both_are_lit():
    p = SelectionPolicy()
    step = p.follow([B, A], sev(a=SYN, b=SYN), 100.0, ROWS, 0)
    assert step.changed and step.automatic and p.selected == B and p.cursor_row == 0
    step = p.follow([A, B], sev(a=SYN, b=SYN), 101.0, ROWS, 2)  # alpha overtakes: bravo stays
    assert not step.changed and p.selected == B and p.cursor_row == 1


def test_trouble_is_held_for_hold_s_then_a_lit_top_row_takes_the_selection():
    p = SelectionPolicy()
    p.follow([B, A], sev(a=SYN, b=SYN), 100.0, ROWS, 0)
    for t in range(101, 101 + int(HOLD_S)):  # bravo quiet, alpha lit: bravo's last drop still counts
        p.follow([A, B], sev(a=SYN), float(t), ROWS, 2)
        assert p.selected == B, t
    step = p.follow([A, B], sev(a=SYN), 101.0 + HOLD_S, ROWS, 2)
    assert step.changed and p.selected == A and p.cursor_row == 0


def test_worse_trouble_on_top_moves_the_selection_at_once():
    p = SelectionPolicy()
    p.follow([B, A], sev(b=DACK), 100.0, ROWS, 0)
    assert p.selected == B
    p.follow([A, B], sev(a=SYN, b=DACK), 101.0, ROWS, 2)  # SYN beats delayed ACKs
    assert p.selected == A


def test_a_quiet_selection_stays_until_something_lights_up():
    p = SelectionPolicy()
    p.follow([B, A], sev(), 100.0, ROWS, 0)
    p.follow([A, B], sev(), 500.0, ROWS, 2)
    assert p.selected == B


def test_retop_and_a_vanished_row_go_back_to_the_top():
    p = SelectionPolicy()
    p.follow([B, A, C], sev(b=SYN), 100.0, ROWS, 0)
    p.retop = True  # a new sort or filter
    step = p.follow([C, B, A], sev(b=SYN), 101.0, ROWS, 3)
    assert step.changed and p.selected == C and not p.retop
    step = p.follow([A, B], sev(), 102.0, ROWS, 3)  # charlie is gone
    assert step.changed and p.selected == A and not step.settled  # fewer rows: check the fold after layout


def test_a_held_row_below_the_fold_goes_back_to_the_top():
    p = SelectionPolicy()
    order = [B, A, C, D]
    p.follow(order, sev(b=SYN), 100.0, 2, 0)
    p.follow([A, C, D, B], sev(a=SYN, b=SYN, c=SYN, d=SYN), 101.0, 2, 4)  # bravo sorted to row 3 of 2 shown
    assert p.selected == A
    # rows came (4 now, 3 before): the table's height is known only after layout, where
    # check_fold runs with it
    q = SelectionPolicy()
    q.follow([B, A, C, D], sev(b=SYN), 100.0, 2, 0)
    step = q.follow([C, D, A, B], sev(a=SYN, b=SYN, c=SYN, d=SYN), 101.0, 2, 3)
    assert not step.settled and q.selected == B and q.cursor_row == 3
    assert q.check_fold([C, D, A, B], sev(a=SYN, b=SYN, c=SYN, d=SYN), 101.0, 2)
    assert q.selected == C and q.cursor_row == 0


def test_the_users_choice_is_kept_and_a_vanished_choice_takes_the_row_under_the_cursor():
    p = SelectionPolicy()
    p.follow([A, B, C], sev(), 100.0, ROWS, 0)
    assert p.choose([A, B, C], 1) and p.user_chose and p.selected == B
    step = p.follow([C, A, B], sev(c=SYN), 101.0, ROWS, 3)
    assert not step.automatic and not step.changed and p.selected == B and p.cursor_row == 2
    assert not p.check_fold([C, A, B], sev(c=SYN), 101.0, 1)  # a user's choice is never moved
    step = p.follow([C, A], sev(), 102.0, ROWS, 3)  # bravo is gone: the row at the cursor (clamped)
    assert step.changed and p.selected == A
    step = p.follow([], sev(), 103.0, ROWS, 2)
    assert step.changed and p.selected is None
