"""Every key of the main screen, driven by Pilot against the scripted incident.

The ScriptedSource feeds generated netstat/snmp text through the real History, so these
tests exercise parsing, deltas, rates and summaries as well as the UI. Ticks are requested
explicitly (autotick off) and awaited: no sleeps, no timing.
"""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.binding import Binding

from tui.actions import ACTIONS, key_text
from tui.app import SynscopeApp
from tui.screens.capture import CaptureForm
from tui.screens.help import HelpScreen
from tui.screens.palette import ActionsProvider
from tui.screens.sysctl import SysctlScreen
from tui.scripted_source import ScriptedSource
from widgets.counter_panel import CounterPanel
from widgets.namespace_table import NamespaceTable
from widgets.status_line import StatusLine

WEB = 4026531840 + 1201
GATEWAY = 4026531840 + 1202
ODD = 4026531840 + 1208


async def tick(pilot, settle) -> None:  # type: ignore[no-untyped-def]
    pilot.app.request_tick()
    await settle(pilot)


def make_app(**kw) -> SynscopeApp:  # type: ignore[no-untyped-def]
    return SynscopeApp(ScriptedSource(), autotick=False, **kw)


def cell_text(app: SynscopeApp, inode: int, column: str) -> str:
    value = app.main.table.get_cell(str(inode), column)
    return value.plain if isinstance(value, Text) else str(value)


async def test_incident_pod_is_lit_and_sorted_first(settle):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert table.order[0] == WEB  # SYN trouble + delayed ACKs: first
        assert table.order[1] == GATEWAY  # the client retransmitting its SYNs: SYN trouble only
        assert cell_text(app, WEB, "mark") == "SD"
        assert cell_text(app, GATEWAY, "mark").strip() == "S"
        assert cell_text(app, WEB, "syn") != "·"
        # a calm pod is not lit and carries no marker letter
        assert cell_text(app, 4026531840 + 1203, "mark").strip() in ("", "·")
        # the selection starts on the first row and the detail is that pod's
        assert app.main.selected_namespace is not None and app.main.selected_namespace.inode == WEB
        assert app.main.detail is not None and app.main.detail.inode == WEB
        hot = {ln.key for ln in app.main.detail.lines if ln.hot}
        assert {"TcpExt.ListenDrops", "TcpExt.DelayedACKs"} <= hot


async def test_odd_names_render_literally(settle):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert cell_text(app, ODD, "name") == "[red]team[/red]/[bold]x[/]"  # <k8s namespace>/<pod>, literally
        assert "支付服务-容器" in cell_text(app, 4026531840 + 1209, "name")
        table = app.main.table
        # every painted row is exactly the table's width: long and wide (CJK) names never
        # push the columns out of line
        for y in range(1, table.shown + 1):
            assert table.render_line(y).cell_length == table.size.width
        long_row = table.order.index(4026531840 + 1210) + 1
        assert "a-very-long-container-name" in table.render_line(long_row).text
        assert "…" in table.render_line(long_row).text
        odd_row = table.order.index(ODD) + 1
        assert "[red]team[/red]/[bold]x[/]" in table.render_line(odd_row).text
        app.main.table.select_inode(ODD)
        await settle(pilot)
        assert app.main.panel.border_title is not None
        # the border title is markup: the name must be escaped to show literally
        assert "\\[red]team\\[/red]/\\[bold]x\\[/]" in app.main.panel.border_title


async def test_filter_by_name_namespace_and_label_with_count(settle):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert (table.shown, table.total) == (11, 11)
        await pilot.press("slash")
        assert app.focused is app.main.filter_input
        await pilot.press(*"mservice")
        await pilot.press("enter")
        assert (table.shown, table.total) == (3, 11)
        assert "3 / 11" in app.main.query_one("#titlebar").render().plain
        assert app.focused is table
        # a label
        await pilot.press("slash", *["backspace"] * 8, *"app=web", "enter")
        assert table.shown == 1 and table.order == [WEB]
        # escape clears the filter
        await pilot.press("escape")
        assert table.shown == 11 and app.main.filter_text == ""
        # nothing matches: an empty table, an honest count, no crash
        await pilot.press("slash", *"nosuchpod", "enter")
        assert (table.shown, table.total) == (0, 11)
        assert app.main.selected_namespace is None
        await tick(pilot, settle)
        assert table.shown == 0


async def test_q_typed_into_filter_is_a_letter_not_quit(settle):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "q")
        assert app.is_running
        assert app.main.filter_input.value == "q"
        assert app.main.filter_text == "q"


async def test_ns_filter_from_the_command_line(settle):
    app = make_app(ns_filter="kube-system")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # coredns, and the host: the hostNetwork pod kube-system/kube-proxy-… runs in it
        assert app.main.table.shown == 2
        names = {ns.name for ns in app.main.frame.namespaces if ns.inode in app.main.table.order}
        assert names == {"kube-system/coredns-5d78c9869d-7xk2p", "host"}
        assert app.main.filter_input.display  # the active filter is visible


async def test_sort_keys_cycle_and_reverse(settle):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert table.sort_key == "trouble"
        await pilot.press("down", "up")  # the user picks the top row (WEB): it stays picked
        await pilot.press("o")
        assert table.sort_key == "syn"
        syn = [app.main.frame.summary(i).syn_rate for i in table.order]
        assert syn == sorted(syn, reverse=True)
        await pilot.press("o", "o", "o")
        assert table.sort_key == "name"
        names = [app.main.frame.namespaces and next(n for n in app.main.frame.namespaces if n.inode == i).name.lower() for i in table.order]
        assert names == sorted(names)
        # the rows on screen follow the order: the first painted row is the first in order
        first = next(n for n in app.main.frame.namespaces if n.inode == table.order[0])
        assert first.name in table.render_line(1).text
        await pilot.press("r")
        assert table.sort_reverse
        assert [table.row_at(r) for r in range(3)] == table.order[:3]
        names_rev = [next(n for n in app.main.frame.namespaces if n.inode == i).name.lower() for i in table.order]
        assert names_rev == sorted(names_rev, reverse=True)
        # the selection stays on the same namespace wherever the sort moves it
        assert app.main.selected_namespace.inode == WEB
        assert table.cursor_row == table.order.index(WEB)


async def test_selection_moves_and_detail_follows(settle):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)
        assert app.main.selected_namespace.inode == GATEWAY
        assert app.main.detail is not None and app.main.detail.inode == GATEWAY
        keys = {ln.key for ln in app.main.detail.lines}
        assert "TcpExt.TCPSynRetrans" in keys
        assert "TcpExt.ListenDrops" not in keys  # the client drops nothing: not shown
        # the selection survives a new tick that re-sorts the table
        await tick(pilot, settle)
        assert app.main.selected_namespace.inode == GATEWAY


async def test_enter_focuses_detail_and_arrows_pick_the_charted_counter(settle):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.main.chart.key == "TcpExt.ListenDrops"  # the first hot counter is charted
        assert not app.main.table.user_chose
        await pilot.press("enter")
        assert isinstance(app.focused, CounterPanel)
        # opening the detail picks the namespace: the automatic selection stops there (at
        # 80x24 the table then shrinks, and must not hand the panel to another namespace)
        assert app.main.table.user_chose
        await pilot.press("down")
        await settle(pilot)
        second = app.main.detail.lines[1].key
        assert app.main.panel.focus_key == second
        assert app.main.chart.key == second
        assert app.main.chart.points > 0
        await pilot.press("escape")
        assert app.focused is app.main.table


async def test_all_counters_toggle(settle):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        moved = len(app.main.detail.lines)
        await pilot.press("a")
        await settle(pilot)
        assert app.main.detail.all_counters and len(app.main.detail.lines) > 200 > moved
        assert any(ln.gauge and ln.key == "Tcp.CurrEstab" for ln in app.main.detail.lines)
        await pilot.press("a")
        await settle(pilot)
        assert len(app.main.detail.lines) == moved


async def test_freeze_keeps_display_while_sampling_continues(settle):
    app = make_app()
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


async def test_baseline_reads_since_baseline_per_namespace(settle):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        absolute = {ln.key: ln.value for ln in app.main.detail.lines}
        assert absolute["TcpExt.ListenDrops"] > 1000
        await pilot.press("b")
        await settle(pilot)
        assert WEB in app.main.baselines and app.main.detail.baseline_time is not None
        assert "since baseline" in app.main.panel.border_subtitle
        await tick(pilot, settle)
        drops = next(ln for ln in app.main.detail.lines if ln.key == "TcpExt.ListenDrops")
        # since the baseline: exactly what moved in the one tick after it
        assert drops.value == drops.delta
        # another namespace has no baseline: absolute values there
        await pilot.press("down")
        await settle(pilot)
        assert app.main.detail.baseline_time is None
        await pilot.press("up")
        await settle(pilot)
        assert app.main.detail.baseline_time is not None
        await pilot.press("B")
        await settle(pilot)
        assert WEB not in app.main.baselines
        drops = next(ln for ln in app.main.detail.lines if ln.key == "TcpExt.ListenDrops")
        assert drops.value > 1000


async def test_help_lists_every_key_and_closes(settle):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = dict(app.screen.keys)
        bound = [b for b in (*app.BINDINGS, *app.main.BINDINGS, *NamespaceTable.BINDINGS) if isinstance(b, Binding)]
        for b in bound:  # every key of the App, the main screen and the table, with its words
            action = next(a for a in ACTIONS if a.id == b.id)
            if action.replay:  # replay's keys: listed in replay only (tests/test_replay.py)
                assert listed.get(key_text(action)) != action.help, b
                continue
            assert listed.get(key_text(action)) == action.help, b
        assert "enter" in listed and "ctrl+p" in listed
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_s_opens_the_diagnosis_of_the_selected_namespace(settle):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main.selected_namespace is not None and app.main.selected_namespace.inode == WEB
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SysctlScreen)
        assert screen.ns.inode == WEB
        titles = " ".join(f.title for f in screen.findings).lower()
        assert "accept queue" in titles  # the pod's ListenOverflows ~ ListenDrops
        somaxconn = [p for p in screen.proposals if p.key == "net.core.somaxconn"]
        assert somaxconn and somaxconn[0].current == "128"  # the script's value, shown as current
        assert screen.permit is None  # no --allow-apply: no write path
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SysctlScreen)


async def test_t_opens_the_capture_form_for_the_selected_namespace(settle):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, CaptureForm)
        assert app.screen.ns.inode == WEB
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CaptureForm)
        assert app.captures.ids() == []  # cancelled: nothing started


async def test_command_palette_reaches_every_action(settle):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        provider = ActionsProvider(app.screen)
        hits = {hit.text: hit async for hit in provider.discover()}
        for needed in ("Filter namespaces", "Freeze / resume display", "Set baseline", "Clear baseline",
                       "Detail panel", "All counters / moved only", "Show / hide chart", "Sort by name",
                       "Reverse sort", "Capture in namespace", "Captures", "Diagnose / sysctl fix preview", "Help: keys"):
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


async def test_chart_toggle_at_80_columns_replaces_detail(settle):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.main.chart.display or not app.main.chart_on
        assert app.main.panel.region.height >= 6
        await pilot.press("c")
        await pilot.pause()
        assert app.main.chart.region.height >= 6 and app.main.panel.region.height == 0


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_layout_fits(size, settle):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        m = app.main
        w, h = size
        for widget in (m.table, m.panel, m.status):
            r = widget.region
            assert r.width > 0 and r.height > 0 and r.right <= w and r.bottom <= h, (widget, r)
        assert m.table.region.height >= 8  # header + at least 7 rows even at 80x24
        assert m.panel.region.height >= 6


async def test_quit_exits_cleanly(settle):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_selection_follows_the_worst_row_until_the_user_picks_one(settle):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert not table.user_chose and app.main.selected_namespace.inode == table.order[0] == WEB
        # the host row is last in trouble order: sort by kind puts it first, and the
        # untouched selection goes with the top row
        app.main.set_sort("kind")
        await settle(pilot)
        assert app.main.selected_namespace.inode == table.order[0] != WEB
        await pilot.press("down", "up")
        await settle(pilot)
        chosen = app.main.selected_namespace.inode
        app.main.set_sort("trouble")
        await settle(pilot)
        assert table.user_chose and app.main.selected_namespace.inode == chosen  # now it stays put
