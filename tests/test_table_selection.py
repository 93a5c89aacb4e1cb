"""The automatic selection of the namespace table: it stays while its namespace is in trouble.

A tiny App holds only the table and is fed summaries directly, so each tick's sort order
is chosen by the test.
"""

from __future__ import annotations

from spy import record_calls
from textual.app import App, ComposeResult
from textual.geometry import Region

from tui.core.namespaces import NetNS
from tui.source import NsSummary
from widgets.namespace_table import HOLD_S, NamespaceTable

A, B, C, D = 101, 102, 103, 104
NAMESPACES = [NetNS(A, "pod", "alpha", (11,)), NetNS(B, "pod", "bravo", (12,)),
              NetNS(C, "pod", "charlie", (13,)), NetNS(D, "pod", "delta", (14,))]


class Host(App):
    def __init__(self) -> None:
        super().__init__()
        self.selections: list[int | None] = []

    def compose(self) -> ComposeResult:
        yield NamespaceTable()

    def on_namespace_table_selected(self, msg: NamespaceTable.Selected) -> None:
        self.selections.append(msg.ns.inode if msg.ns else None)


def summaries(**rates: tuple[int, int]) -> dict[int, NsSummary]:
    """name letter -> (SYN delta, delayed-ACK delta) this tick."""
    ids = {"a": A, "b": B, "c": C, "d": D}
    return {ids[k]: NsSummary(ids[k], syn_delta=s, dack_delta=d, syn_rate=float(s), dack_rate=float(d),
                              last_moved=100.0 if s or d else None)
            for k, (s, d) in rates.items()}


async def test_auto_selection_stays_on_a_lit_namespace_while_the_worst_row_changes():
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(NamespaceTable)
        # first tick: bravo has the most SYN drops and is the top row: it is selected
        table.show(NAMESPACES, summaries(a=(3, 0), b=(9, 0)), 100.0)
        await pilot.pause()
        assert table.order[0] == B and table.selected_inode == B
        # alpha overtakes bravo, both still SYN-lit: the selection stays on bravo, the
        # cursor follows bravo down to the second row
        table.show(NAMESPACES, summaries(a=(20, 0), b=(1, 0)), 101.0)
        await pilot.pause()
        assert table.order[0] == A and table.selected_inode == B and table.cursor_row == 1
        # bravo is quiet for a few seconds while alpha's burst goes on: drops often come
        # every few seconds, bravo keeps the selection for HOLD_S after it was last lit
        for t in range(102, 102 + int(HOLD_S)):
            table.show(NAMESPACES, summaries(a=(5, 0), b=(0, 0)), float(t))
            await pilot.pause()
            assert table.selected_inode == B, t
        # bravo quiet for longer than that: the worse row takes the selection
        table.show(NAMESPACES, summaries(a=(5, 0), b=(0, 0)), 101.0 + HOLD_S + 1)
        await pilot.pause()
        assert table.selected_inode == A and table.cursor_row == 0
        # alpha calms down too and nothing else is lit: alpha, the last one in trouble, stays
        table.show(NAMESPACES, summaries(c=(0, 0)), 200.0)
        await pilot.pause()
        assert table.selected_inode == A
        # delayed ACKs in charlie: worse than nothing, the selection goes there...
        table.show(NAMESPACES, summaries(c=(0, 4)), 201.0)
        await pilot.pause()
        assert table.selected_inode == C
        # ...and SYN trouble in delta is worse than delayed ACKs, even ones seen just now
        table.show(NAMESPACES, summaries(c=(0, 9), d=(1, 0)), 202.0)
        await pilot.pause()
        assert table.selected_inode == D
        # delta's SYN drops pause for a second while charlie's delayed ACKs go on: delta stays
        table.show(NAMESPACES, summaries(c=(0, 9), d=(0, 0)), 203.0)
        await pilot.pause()
        assert table.selected_inode == D
        assert app.selections == [B, A, C, D]  # one message per move, none for the ticks it stayed
        assert not table.user_chose


async def test_sort_and_filter_put_the_automatic_selection_back_on_the_top_row():
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(NamespaceTable)
        table.show(NAMESPACES, summaries(a=(3, 0), b=(9, 0)), 100.0)
        table.show(NAMESPACES, summaries(a=(20, 0), b=(1, 0)), 101.0)
        await pilot.pause()
        assert table.selected_inode == B != table.order[0]
        table.set_sort("name")
        table.show(NAMESPACES, summaries(a=(20, 0), b=(1, 0)), 102.0)
        await pilot.pause()
        assert table.selected_inode == A == table.order[0]
        table.set_sort("trouble")
        table.show(NAMESPACES, summaries(a=(1, 0), b=(20, 0)), 103.0)
        await pilot.pause()
        assert table.selected_inode == B
        # a filter that keeps alpha and charlie: the top row of what is left
        table.show(NAMESPACES, summaries(a=(1, 0), b=(20, 0)), 104.0, keep=lambda ns: ns.inode in (A, C), retop=True)
        await pilot.pause()
        assert table.selected_inode == A


async def test_a_row_the_user_picked_stays_picked_whatever_lights_up():
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(NamespaceTable)
        table.show(NAMESPACES, summaries(b=(9, 0)), 100.0)
        await pilot.pause()
        table.focus()
        await pilot.press("down", "down")
        picked = table.selected_inode
        assert table.user_chose and picked != B
        table.show(NAMESPACES, summaries(d=(50, 50)), 101.0)
        await pilot.pause()
        assert table.selected_inode == picked


async def test_a_tick_repaints_only_the_rows_that_changed(monkeypatch):
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(NamespaceTable)
        calm = summaries(a=(0, 0), b=(0, 0), c=(0, 0), d=(0, 0))
        table.show(NAMESPACES, calm, 100.0)
        await pilot.pause()
        painted = record_calls(monkeypatch, table, "render_line")
        table.show(NAMESPACES, calm, 100.0)  # nothing changed: nothing is painted
        await pilot.pause()
        assert painted == []
        # delayed ACKs in delta: its row is lit and sorts first, above the other three
        table.show(NAMESPACES, summaries(a=(0, 0), b=(0, 0), c=(0, 0), d=(0, 3)), 100.0)
        await pilot.pause()
        assert table.order[0] == D and table.cursor_row == 0
        assert sorted(set(painted)) == [1, 2, 3, 4]  # the four rows moved; the header and blanks did not
        painted.clear()
        # delta's rate changes, the order does not: only its line
        table.show(NAMESPACES, summaries(a=(0, 0), b=(0, 0), c=(0, 0), d=(0, 5)), 100.0)
        await pilot.pause()
        assert sorted(set(painted)) == [1]
        assert "5" in table.get_cell(D, "dack").plain


async def test_a_held_selection_that_sorts_out_of_sight_goes_back_to_the_top():
    many = [NetNS(200 + i, "pod", f"pod-{i:02d}", (300 + i,)) for i in range(30)]
    app = Host()
    async with app.run_test(size=(100, 8)) as pilot:  # header + 7 rows on screen
        table = app.query_one(NamespaceTable)
        table.show(many, {201: NsSummary(201, syn_delta=5, syn_rate=5.0, last_moved=100.0)}, 100.0)
        await pilot.pause()
        assert table.selected_inode == 201
        # ten others light up with more drops: pod-01 (still held) sorts to row 11, off screen
        lit = {200 + i: NsSummary(200 + i, syn_delta=50, syn_rate=50.0, last_moved=101.0) for i in range(2, 12)}
        lit[201] = NsSummary(201, syn_delta=1, syn_rate=1.0, last_moved=101.0)
        table.show(many, lit, 101.0)
        await pilot.pause()
        assert table.order.index(201) >= 7
        assert table.selected_inode == table.order[0] and table.scroll_y == 0


async def test_rows_off_screen_cost_nothing_and_are_current_when_scrolled_to(monkeypatch):
    many = [NetNS(500 + i, "pod", f"pod-{i:03d}", (900 + i,)) for i in range(200)]
    app = Host()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(NamespaceTable)
        table.set_sort("name")
        table.show(many, {}, 100.0)
        await pilot.pause()
        computed = record_calls(monkeypatch, table, "_cell_inputs")
        # the last pod starts retransmitting while it is far below the fold
        last = many[-1].inode
        table.show(many, {last: NsSummary(last, retrans_delta=7, retrans_rate=7.0)}, 101.0)
        await pilot.pause()
        assert 0 < len(set(computed)) <= 12 and last not in computed  # only the rows on screen
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.selected_inode == last
        assert table.get_cell(last, "retrans").plain.strip() == "7"
        y = table.cursor_row - int(table.scroll_y) + 1  # the cursor's screen line, as painted (the
        line = table.render_lines(Region(0, y, table.size.width, 1))[0]  # widget's line cache)
        assert "pod-199" in line.text and " 7 " in line.text


async def test_rows_that_grow_the_table_do_not_take_a_held_selection_away():
    """Visibility is judged after layout: three new lit rows above it make the table taller."""
    six = [NetNS(700 + i, "pod", f"pod-{chr(97 + i)}", (800 + i,)) for i in range(6)]

    def syn(now: float, **rates: int) -> dict[int, NsSummary]:
        ids = {chr(97 + i): 700 + i for i in range(6)}
        return {ids[k]: NsSummary(ids[k], syn_delta=v, syn_rate=float(v), last_moved=now) for k, v in rates.items()}

    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(NamespaceTable)
        table.show(six[:3], syn(100.0, c=5), 100.0)
        await pilot.pause()
        assert table.selected_inode == 702 and table.size.height == 4  # header + 3 rows
        table.show(six, syn(101.0, c=1, d=9, e=9, f=9), 101.0)  # pod-c: still lit, now 4th
        await pilot.pause()
        assert table.order.index(702) == 3 and table.size.height == 7
        assert table.selected_inode == 702 and table.cursor_row == 3
