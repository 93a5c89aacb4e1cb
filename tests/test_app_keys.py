"""Every key of the main screen, driven by Pilot on the lab's recording.

The App replays tests/fixtures/recordings (the real `synscope record` against real lab
incidents: conftest's ``replayed_app``), so the rows are the names, kinds and labels
discovery gave and the counters are those the kernel moved; each test checks the App
against what the store itself holds at that moment (tests/recorded.py), not against
numbers written here. Odd names (markup, CJK, a long one) and a hostNetwork pod come from
a second small recording of their own (lab-names.synscope). A replay is paused: a tick
shows the same recorded moment again, a step (``.``) shows the next recorded tick. Ticks
are requested explicitly (autotick off) and awaited: no sleeps, no timing.

One test keeps the scripted incident (tui/scripted_source.py) and says why: the capture
form needs the live namespace, which replay refuses.
"""

from __future__ import annotations

import pytest
from conftest import LAB_NAMES_AT, LAB_NAMES_RECORDING, LAB_OVERFLOW_AT, LAB_SCENE_AT
from rich.text import Text
from textual.binding import Binding

from tui.actions import ACTIONS, key_text
from tui.app import SynscopeApp
from tui.screens.capture import CaptureForm
from tui.screens.help import HelpScreen
from tui.screens.palette import ActionsProvider
from tui.screens.sysctl import SysctlScreen
from tui.scripted_source import ScriptedSource
from tui.source import CT_DROP_KEYS, DACK_KEYS, DETAIL_WINDOW_S, SYN_KEYS
from widgets.counter_panel import CounterPanel
from widgets.namespace_table import NamespaceTable
from widgets.status_line import StatusLine

SCRIPTED_WEB = 4026531840 + 1201  # the scripted incident's pod (the capture form's test only)


async def tick(pilot, settle) -> None:  # type: ignore[no-untyped-def]
    pilot.app.request_tick()
    await settle(pilot)


async def step(pilot, settle) -> None:  # type: ignore[no-untyped-def]
    """One recorded tick forward (the replay's ``.``), settled."""
    await pilot.press("full_stop")
    await settle(pilot)


def cell_text(app: SynscopeApp, inode: int, column: str) -> str:
    value = app.main.table.get_cell(str(inode), column)
    return value.plain if isinstance(value, Text) else str(value)


def name_of(app: SynscopeApp, inode: int) -> str:
    return next(ns.name for ns in app.main.frame.namespaces if ns.inode == inode)


def _rank(syn: int, ct: int, dack: int) -> int:
    """Where the trouble sort puts a row: SYN trouble, then conntrack drops, then delayed ACKs."""
    return 0 if syn else 1 if ct else 2 if dack else 3


@pytest.mark.parametrize("at", [LAB_OVERFLOW_AT, LAB_SCENE_AT])
async def test_the_recorded_trouble_is_lit_and_sorted_first(at, settle, replayed_app, recorded):
    rec = recorded(at)
    syn = {r.inode: rec.moved_any(r, SYN_KEYS) for r in rec.alive}
    ct = {r.inode: rec.moved_any(r, CT_DROP_KEYS) for r in rec.alive}
    dack = {r.inode: rec.moved_any(r, DACK_KEYS) for r in rec.alive}
    assert any(syn.values()), "the moment holds SYN trouble"
    app = replayed_app(at)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert sorted(table.order) == sorted(r.inode for r in rec.alive)
        for r in rec.alive:  # the names as discovery gave them, each lit as its counters moved
            mark = cell_text(app, r.inode, "mark")
            assert cell_text(app, r.inode, "name").strip() == rec.name(r), r
            assert ("S" in mark, "C" in mark, "D" in mark) == (bool(syn[r.inode]), bool(ct[r.inode]),
                                                               bool(dack[r.inode])), (rec.name(r), mark)
            assert (cell_text(app, r.inode, "syn").strip() == "·") == (not syn[r.inode]), rec.name(r)
        # lit rows first (S, then C, then D), the worst SYN trouble at the top
        ranks = [_rank(syn[i], ct[i], dack[i]) for i in table.order]
        assert ranks == sorted(ranks), [(name_of(app, i), rk) for i, rk in zip(table.order, ranks)]
        s_rows = [syn[i] for i in table.order if syn[i]]
        assert s_rows == sorted(s_rows, reverse=True)
        # the selection starts on the first row, and the detail is that namespace's, the SYN
        # counters the recording moved there lit
        worst = table.order[0]
        assert app.main.selected_namespace is not None and app.main.selected_namespace.inode == worst
        assert app.main.detail is not None and app.main.detail.inode == worst
        hot = {ln.key for ln in app.main.detail.lines if ln.hot}
        moved_syn = set(rec.moved(rec.by_inode(worst))) & set(SYN_KEYS)
        assert moved_syn and moved_syn <= hot, (moved_syn, hot)


async def test_odd_names_render_literally(settle, replayed_app, recorded):
    # the names recording: a container labelled by hand as a pod with markup in its labels,
    # one with CJK in them, a container with a very long name (scripts/make_recordings.py)
    rec = recorded(LAB_NAMES_AT, LAB_NAMES_RECORDING)
    (markup,) = [r for r in rec.alive if "[/" in rec.name(r)]
    (wide,) = [r for r in rec.alive if any("\u4e00" <= ch <= "\u9fff" for ch in rec.name(r))]
    longest = max(rec.alive, key=lambda r: len(rec.name(r)))
    assert len(rec.name(longest)) > 60
    app = replayed_app(LAB_NAMES_AT, LAB_NAMES_RECORDING)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert cell_text(app, markup.inode, "name") == rec.name(markup)  # <k8s namespace>/<pod>, literally
        assert rec.name(wide) in cell_text(app, wide.inode, "name")
        table = app.main.table
        # every painted row is exactly the table's width: long and wide (CJK) names never
        # push the columns out of line
        assert table.shown == len(rec.alive)
        for y in range(1, table.shown + 1):
            assert table.render_line(y).cell_length == table.size.width
        long_row = table.order.index(longest.inode) + 1
        assert rec.name(longest)[:26] in table.render_line(long_row).text
        assert "…" in table.render_line(long_row).text
        wide_row = table.order.index(wide.inode) + 1
        assert rec.name(wide) in table.render_line(wide_row).text
        odd_row = table.order.index(markup.inode) + 1
        assert rec.name(markup) in table.render_line(odd_row).text
        app.main.table.select_inode(markup.inode)
        await settle(pilot)
        assert app.main.panel.border_title is not None
        # the border title is markup: the name must be escaped to show literally
        assert rec.name(markup).replace("[", "\\[") in app.main.panel.border_title


async def test_filter_by_name_namespace_and_label_with_count(settle, replayed_app, recorded):
    rec = recorded()
    total = len(rec.alive)
    k8s_ns = next(r.netns.k8s_namespace for r in rec.alive if r.netns.k8s_namespace)
    in_ns = {r.inode for r in rec.alive if r.netns.k8s_namespace == k8s_ns}
    label = next(f"{k}={v}" for r in rec.alive for k, v in r.netns.labels if k == "app")
    labelled = {r.inode for r in rec.alive if tuple(label.split("=", 1)) in r.netns.labels}
    assert 0 < len(in_ns) < total and len(labelled) == 1
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert (table.shown, table.total) == (total, total)
        await pilot.press("slash")
        assert app.focused is app.main.filter_input
        await pilot.press(*k8s_ns)  # a Kubernetes namespace: its pods
        await pilot.press("enter")
        assert set(table.order) == in_ns and (table.shown, table.total) == (len(in_ns), total)
        assert f"{len(in_ns)} / {total}" in app.main.query_one("#titlebar").render().plain
        assert app.focused is table
        # a label
        await pilot.press("slash", *["backspace"] * len(k8s_ns), *label, "enter")
        assert table.shown == 1 and set(table.order) == labelled
        # escape clears the filter
        await pilot.press("escape")
        assert table.shown == total and app.main.filter_text == ""
        # nothing matches: an empty table, an honest count, no crash
        await pilot.press("slash", *"nosuchpod", "enter")
        assert (table.shown, table.total) == (0, total)
        assert app.main.selected_namespace is None
        await tick(pilot, settle)
        assert table.shown == 0


async def test_q_typed_into_filter_is_a_letter_not_quit(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "q")
        assert app.is_running
        assert app.main.filter_input.value == "q"
        assert app.main.filter_text == "q"


async def test_ns_filter_from_the_command_line(settle, replayed_app, recorded):
    # the names recording: kube-system's coredns pod, and the hostNetwork pod kube-proxy,
    # whose containers run in the host's namespace (the recorder gave the host row its names)
    rec = recorded(LAB_NAMES_AT, LAB_NAMES_RECORDING)
    expected = {rec.name(r) for r in rec.alive
                if r.netns.k8s_namespace == "kube-system" or any(a.startswith("kube-system/") for a in r.netns.aliases)}
    assert "host" in expected and len(expected) == 2, expected
    app = replayed_app(LAB_NAMES_AT, LAB_NAMES_RECORDING, ns_filter="kube-system")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.main.table.shown == len(expected)
        names = {ns.name for ns in app.main.frame.namespaces if ns.inode in app.main.table.order}
        assert names == expected
        assert app.main.filter_input.display  # the active filter is visible


async def test_sort_keys_cycle_and_reverse(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert table.sort_key == "trouble"
        top = table.order[0]
        await pilot.press("down", "up")  # the user picks the top row: it stays picked
        await pilot.press("o")
        assert table.sort_key == "syn"
        syn = [app.main.frame.summary(i).syn_rate for i in table.order]
        assert syn == sorted(syn, reverse=True) and syn[0] > 0
        await pilot.press("o", "o", "o")
        assert table.sort_key == "name"
        names = [name_of(app, i).lower() for i in table.order]
        assert names == sorted(names)
        # the rows on screen follow the order: the first painted row is the first in order
        assert name_of(app, table.order[0]) in table.render_line(1).text
        await pilot.press("r")
        assert table.sort_reverse
        assert [table.row_at(r) for r in range(3)] == table.order[:3]
        names_rev = [name_of(app, i).lower() for i in table.order]
        assert names_rev == sorted(names_rev, reverse=True)
        # the selection stays on the same namespace wherever the sort moves it
        assert app.main.selected_namespace.inode == top
        assert table.cursor_row == table.order.index(top) != 0


async def test_selection_moves_and_detail_follows(settle, replayed_app, recorded):
    rec = recorded()
    app = replayed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        second = app.main.table.order[1]
        await pilot.press("down")
        await settle(pilot)
        assert app.main.selected_namespace.inode == second
        assert app.main.detail is not None and app.main.detail.inode == second
        keys = {ln.key for ln in app.main.detail.lines}
        r = rec.by_inode(second)
        moved_syn = set(rec.moved(r)) & set(SYN_KEYS)
        assert moved_syn and moved_syn <= keys  # what it is lit for
        # only what moved in the detail's window (the recording so far): nothing it never moved
        in_window = set(rec.moved(r, ticks=int(DETAIL_WINDOW_S / app.source.interval)))
        assert keys == in_window, keys ^ in_window
        # the selection survives a recorded tick that re-sorts the table
        order = list(app.main.table.order)
        await step(pilot, settle)
        assert app.main.table.order != order
        assert app.main.selected_namespace.inode == second


async def test_enter_focuses_detail_and_arrows_pick_the_charted_counter(settle, replayed_app, recorded):
    rec = recorded()
    app = replayed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        first_hot = next(ln.key for ln in app.main.detail.lines if ln.hot)
        assert app.main.chart.key == first_hot  # the first hot counter is charted
        assert first_hot in set(rec.moved(rec.by_inode(app.main.detail.inode))) & set(SYN_KEYS)
        assert not app.main.table.user_chose
        await pilot.press("enter")
        assert isinstance(app.focused, CounterPanel)
        # opening the detail picks the namespace: the automatic selection stops there (at
        # 80x24 the table then shrinks, and must not hand the panel to another namespace)
        assert app.main.table.user_chose
        await pilot.press("down")
        await settle(pilot)
        second = app.main.detail.lines[1].key
        assert second != first_hot
        assert app.main.panel.focus_key == second
        assert app.main.chart.key == second
        assert app.main.chart.points > 0
        await pilot.press("escape")
        assert app.focused is app.main.table


async def test_all_counters_toggle(settle, replayed_app, recorded):
    rec = recorded()
    app = replayed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        kept = rec.values(rec.by_inode(app.main.detail.inode))  # every counter the recorder kept there
        moved = len(app.main.detail.lines)
        await pilot.press("a")
        await settle(pilot)
        assert app.main.detail.all_counters
        assert {ln.key for ln in app.main.detail.lines} == set(kept) and len(kept) > 200 > moved
        assert any(ln.gauge and ln.key == "Tcp.CurrEstab" for ln in app.main.detail.lines)
        await pilot.press("a")
        await settle(pilot)
        assert len(app.main.detail.lines) == moved


async def test_freeze_keeps_display_while_sampling_continues(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = app.main.frame.seq
        await pilot.press("p")
        assert app.main.frozen
        await tick(pilot, settle)
        await tick(pilot, settle)
        assert app.latest.seq == shown + 2  # sampling went on
        assert app.main.frame.seq == shown  # the display did not
        assert app.main.frozen_behind == 2
        assert app.main.status.info.frozen
        assert "FROZEN" in StatusLine.render_info(app.main.status.info).plain
        await pilot.press("p")
        assert not app.main.frozen and app.main.frame.seq == shown + 2


async def test_baseline_reads_since_baseline_per_namespace(settle, replayed_app, recorded):
    rec = recorded()
    after = rec.next()  # the recorded tick one step shows
    app = replayed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        inode = app.main.detail.inode
        r = rec.by_inode(inode)
        # a counter that moves in the next recorded tick, and had a value before it
        key = next(k for k in sorted(after.moved(r)) if rec.values(r).get(k, 0) > after.moved(r)[k])
        absolute = {ln.key: ln.value for ln in app.main.detail.lines}
        assert absolute[key] == rec.values(r)[key]
        await pilot.press("b")
        await settle(pilot)
        assert inode in app.main.baselines and app.main.detail.baseline_time is not None
        assert "since baseline" in app.main.panel.border_subtitle
        await step(pilot, settle)
        assert app.main.detail.inode == inode
        line = next(ln for ln in app.main.detail.lines if ln.key == key)
        # since the baseline: exactly what the recording moved in the one tick after it
        assert line.value == line.delta == after.moved(r)[key]
        # another namespace has no baseline: absolute values there
        await pilot.press("down")
        await settle(pilot)
        assert app.main.detail.baseline_time is None
        await pilot.press("up")
        await settle(pilot)
        assert app.main.detail.inode == inode and app.main.detail.baseline_time is not None
        await pilot.press("B")
        await settle(pilot)
        assert inode not in app.main.baselines
        line = next(ln for ln in app.main.detail.lines if ln.key == key)
        assert line.value == after.values(r)[key]


async def test_help_lists_every_key_and_closes(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = dict(app.screen.keys)
        bound = [b for b in (*app.BINDINGS, *app.main.BINDINGS, *NamespaceTable.BINDINGS) if isinstance(b, Binding)]
        assert any(next(a for a in ACTIONS if a.id == b.id).replay for b in bound)
        # every key of the App, the main screen and the table, with its words; in replay the
        # replay keys too (a live App's help leaves them out: tests/test_replay.py)
        for b in bound:
            action = next(a for a in ACTIONS if a.id == b.id)
            assert listed.get(key_text(action)) == action.help, b
        assert "enter" in listed and "ctrl+p" in listed
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.parametrize(("at", "counter", "finding", "proposes"), [
    (LAB_OVERFLOW_AT, "TcpExt.ListenOverflows", "accept queue", False),  # the app's backlog of 1: no sysctl to blame
    (LAB_SCENE_AT, "TcpExt.PAWSTimewait", "timestamps", True),
])
async def test_s_opens_the_diagnosis_of_the_selected_namespace(at, counter, finding, proposes, settle, replayed_app,
                                                                 recorded):
    rec = recorded(at)
    app = replayed_app(at)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        selected = app.main.selected_namespace
        assert selected is not None and selected.inode == app.main.table.order[0]
        r = rec.by_inode(selected.inode)
        assert rec.moved(r).get(counter, 0) > 0  # what the recording says it is in trouble for
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SysctlScreen)
        assert screen.ns.inode == selected.inode
        titles = " ".join(f.title for f in screen.findings).lower()
        assert finding in titles
        assert bool(screen.proposals) == proposes
        recorded_sysctls = rec.sysctls(r)
        for p in screen.proposals:  # each one starts from the value the recorder read there
            assert p.current == recorded_sysctls[p.key], p
        assert screen.permit is None  # replay, and no --allow-apply: no write path
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SysctlScreen)


# Scripted, not replayed: capture needs the live namespace (replay refuses it, and says so)
async def test_t_opens_the_capture_form_for_the_selected_namespace(settle):
    app = SynscopeApp(ScriptedSource(), autotick=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, CaptureForm)
        assert app.screen.ns.inode == SCRIPTED_WEB
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CaptureForm)
        assert app.captures.ids() == []  # cancelled: nothing started


async def test_command_palette_reaches_every_action(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        provider = ActionsProvider(app.screen)
        hits = {hit.text: hit async for hit in provider.discover()}
        for needed in ("Filter namespaces", "Freeze / resume display", "Set baseline", "Clear baseline",
                       "Detail panel", "All counters / moved only", "Show / hide chart", "Sort by name",
                       "Reverse sort", "Capture in namespace", "Captures", "Diagnose / sysctl fix preview", "Help: keys",
                       "Replay: one tick forward", "Replay: play / pause"):
            assert needed in hits, needed
        assert hits["Freeze / resume display"].help == "Sampling continues while frozen (p)"  # the key, from the table
        assert "Quit" in {c.title for c in app.get_system_commands(app.screen)}  # Textual's own entry
        found = [hit async for hit in provider.search("Sort by retrans")]
        await found[0].command()
        await pilot.pause()
        assert app.main.table.sort_key == "retrans"
        await pilot.press("question_mark")  # over another screen only the App's own entries are offered
        over_help = {hit.text async for hit in ActionsProvider(app.screen).discover()}
        assert over_help == {"Help: keys"}


async def test_chart_toggle_at_80_columns_replaces_detail(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.main.chart.display or not app.main.chart_on
        assert app.main.panel.region.height >= 6
        await pilot.press("c")
        await pilot.pause()
        assert app.main.chart.region.height >= 6 and app.main.panel.region.height == 0


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_layout_fits(size, settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        m = app.main
        w, h = size
        for widget in (m.table, m.panel, m.status):
            r = widget.region
            assert r.width > 0 and r.height > 0 and r.right <= w and r.bottom <= h, (widget, r)
        assert m.table.region.height >= 8  # header + at least 7 rows even at 80x24
        assert m.panel.region.height >= 6


async def test_quit_exits_cleanly(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_selection_follows_the_worst_row_until_the_user_picks_one(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.main.table
        worst = table.order[0]
        assert not table.user_chose and app.main.selected_namespace.inode == worst
        assert app.main.frame.summary(worst).syn_lit
        # the host row is not in trouble in the recording: sort by kind puts it first, and
        # the untouched selection goes with the top row
        app.main.set_sort("kind")
        await settle(pilot)
        host = table.order[0]
        assert name_of(app, host) == "host" and app.main.selected_namespace.inode == host != worst
        await pilot.press("down", "up")
        await settle(pilot)
        chosen = app.main.selected_namespace.inode
        app.main.set_sort("trouble")
        await settle(pilot)
        assert table.user_chose and app.main.selected_namespace.inode == chosen  # now it stays put
