"""The sockets pane (l) and the conntrack marker (C), driven by Pilot.

The sockets pane runs on the scripted node: sockets are not recorded (replay's pane says
so), and the scripted node's are sock_diag-shaped dumps summarized by the real
summarize_sockets (tui/scripted_sockets.py). The C marker is the lab's recording
(conftest's ``replayed_app``): the NAT router's real failed conntrack inserts, checked
against what the store holds (tests/recorded.py). The host row's marker going out after a
race stays scripted (real nf_conntrack text through the real parser,
tui/scripted_conntrack.py): the recorded router drops on every tick it lives, and a race
on the host's own conntrack cannot be staged safely (nf_conntrack_max is global). Ticks
are requested by the test (autotick off) and awaited: no sleeps.
"""

from __future__ import annotations

import threading

from textual.widgets import Static

from conftest import LAB_OVERFLOW_AT

from tui.app import SynscopeApp
from tui.screens.palette import ActionsProvider
from tui.core.netns import NamespaceGone
from tui.screens.help import HelpScreen
from tui.scripted_source import ScriptedSource
from tui.source import CT_DROP_KEYS, SYN_KEYS

HOST = 4026531840
WEB = 4026531840 + 1201
GATEWAY = 4026531840 + 1202


# The sockets tests are scripted, not replayed: sockets are not recorded (replay's pane says so)
class CountingSource(ScriptedSource):
    """The scripted source, counting the sockets reads and the threads they ran on."""

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.socket_reads: list[int] = []
        self.read_threads: set[str] = set()
        self.gone: set[int] = set()  # inodes whose namespace "vanishes" (see test below)

    def sockets(self, ns):  # type: ignore[no-untyped-def]
        self.socket_reads.append(ns.inode)
        self.read_threads.add(threading.current_thread().name)
        if ns.inode in self.gone:
            raise NamespaceGone(f"{ns.name} ({ns.label}) cannot be entered: /proc/48213/ns/net: process exited")
        return super().sockets(ns)


def painted(widget) -> str:  # type: ignore[no-untyped-def]
    """The widget's lines as painted, joined (wrapped lines rejoined with single spaces)."""
    return " ".join(" ".join(widget.render_line(y).text.split()) for y in range(widget.size.height))


async def settle(app: SynscopeApp, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def tick(app: SynscopeApp, pilot) -> None:  # type: ignore[no-untyped-def]
    app.request_tick()
    await settle(app, pilot)


async def test_l_opens_the_pane_with_the_selected_namespaces_sockets_and_closes_it():
    source = CountingSource()
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        pane = app.main.sockets
        assert not pane.display and source.socket_reads == []  # nothing read until asked
        assert app.main.selected_namespace is not None and app.main.selected_namespace.inode == WEB
        await pilot.press("l")
        await settle(app, pilot)
        assert pane.display and app.main.has_class("-sockets")
        assert not app.main.panel.display  # at 80 columns it takes the detail's place
        assert source.socket_reads == [WEB]
        assert threading.main_thread().name not in source.read_threads  # a worker thread, not the UI's
        expected = source.sockets(app.main.selected_namespace)
        source.socket_reads.pop()
        text = pane.text
        listener = next(x for x in expected.listeners if x.port == 888)
        assert listener.full and "0.0.0.0:888" in text
        assert f"{listener.accept_queue}/{listener.backlog} FULL" in text
        assert f"SYN-RECV {expected.state_count('SYN-RECV')}" in text
        assert f"TIME-WAIT {expected.state_count('TIME-WAIT')}" in text
        worst = expected.peers[0]
        lines = text.splitlines()
        peer_lines = [ln for ln in lines if ln.startswith("10.244.")]
        assert peer_lines[0].split()[:3] == [worst.address, str(worst.connections), f"{worst.retrans}/{worst.total_retrans}"]
        assert "sockets" in pane.border_title and "web-7d9f8c6b5-x2x4q" in pane.border_title

        # every tick reads again (the script's numbers move from step to step)
        before = source.step
        for _ in range(3):
            await tick(app, pilot)
        assert source.socket_reads == [WEB] * 4  # the first read, and one a tick
        now = source.sockets(app.main.selected_namespace)
        source.socket_reads.pop()
        assert source.step == before + 3
        assert f"TIME-WAIT {now.state_count('TIME-WAIT')}" in pane.text

        # another namespace selected: the pane follows it at once
        await pilot.press("down")
        await settle(app, pilot)
        assert app.main.selected_namespace is not None and app.main.selected_namespace.inode == GATEWAY
        assert source.socket_reads[-1] == GATEWAY
        assert "gateway-66b9d4c7f-pq7rt" in pane.border_title and "0.0.0.0:8443" in pane.text

        # l again closes it: no more reads, the detail is back
        await pilot.press("l")
        await settle(app, pilot)
        reads = len(source.socket_reads)
        for _ in range(3):
            await tick(app, pilot)
        assert len(source.socket_reads) == reads
        assert not pane.display and app.main.panel.display and not app.main.has_class("-sockets")

        # esc closes it too
        await pilot.press("l")
        await settle(app, pilot)
        assert pane.display
        await pilot.press("escape")
        await settle(app, pilot)
        assert not pane.display and not app.main.sockets_view.open


async def test_at_200x60_the_pane_takes_the_charts_place_and_lists_the_worst_connections():
    source = CountingSource()
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        assert app.main.chart.display
        await pilot.press("l")
        await settle(app, pilot)
        pane = app.main.sockets
        assert pane.display and app.main.panel.display and not app.main.chart.display
        expected = source.sockets(app.main.selected_namespace)
        worst = expected.peers[0].worst[0]
        assert worst.ss_text()[:40] in pane.text  # ss -ti's own words, under its peer
        await pilot.press("l")
        await settle(app, pilot)
        assert app.main.chart.display and not pane.display


async def test_a_namespace_that_cannot_be_entered_shows_one_line_and_the_app_goes_on():
    source = CountingSource()
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        assert "0.0.0.0:888" in app.main.sockets.text
        source.gone.add(WEB)
        await tick(app, pilot)
        text = app.main.sockets.text
        assert text.splitlines() == [f"mservice/web-7d9f8c6b5-x2x4q: cannot read its sockets: mservice/web-7d9f8c6b5-x2x4q "
                                     f"({app.main.selected_namespace.label}) cannot be entered: /proc/48213/ns/net: process exited"]
        assert "Traceback" not in text
        await tick(app, pilot)  # the tick chain runs on, and so do the reads
        assert source.socket_reads.count(WEB) >= 3
        source.gone.clear()
        await tick(app, pilot)
        assert "0.0.0.0:888" in app.main.sockets.text


async def test_a_vanished_namespace_is_named_in_the_pane():
    source = CountingSource()
    app = SynscopeApp(source, ns_filter="web-7d9f8c6b5", autotick=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        assert "0.0.0.0:888" in app.main.sockets.text
        # the pod's namespace goes away: the next frames no longer carry it (what the live
        # sampler does with a namespace that vanished), so the filtered table is empty
        source.namespaces = [ns for ns in source.namespaces if ns.inode != WEB]
        reads = len(source.socket_reads)
        await tick(app, pilot)
        assert app.main.selected_namespace is None
        assert app.main.sockets.text == ("mservice/web-7d9f8c6b5-x2x4q (net:[4026533041]) vanished: its namespace is "
                                         "no longer on the node")
        assert len(source.socket_reads) == reads  # nothing to read


async def test_a_namespace_whose_conntrack_dropped_lights_C_after_the_S_rows_and_the_legend_says_so(
        replayed_app, recorded):
    rec = recorded()  # the NAT lab: its router's conntrack loses the SNAT race (insert_failed, drop)
    ct = {r.inode: rec.moved_any(r, CT_DROP_KEYS) for r in rec.alive}
    syn = {r.inode: rec.moved_any(r, SYN_KEYS) for r in rec.alive}
    c_only = {i for i in ct if ct[i] and not syn[i]}
    assert c_only and any(syn.values())
    app = replayed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main.table
        for r in rec.alive:  # C exactly where the recorder saw conntrack drop
            summary = app.main.frame.summary(r.inode)
            assert (summary.ct_lit, summary.ct_delta) == (bool(ct[r.inode]), ct[r.inode]), rec.name(r)
            mark = table.get_cell(str(r.inode), "mark")
            assert ("C" in mark.plain) == bool(ct[r.inode]), rec.name(r)
        for i in c_only:
            mark = table.get_cell(str(i), "mark")
            assert mark.plain == "  C" and "magenta" in str(mark.style)
        # after the S rows, before the rest
        s_rows = sum(1 for v in syn.values() if v)
        assert set(table.order[s_rows:s_rows + len(c_only)]) == c_only
        # the title's count is of every row with a marker, the C-only ones too
        marked = sum(1 for r in rec.alive if set(table.get_cell(str(r.inode), "mark").plain) & set("SDC"))
        assert f"  {marked} lit  " in str(app.main.query_one("#titlebar", Static).render())
        assert marked > sum(1 for r in rec.alive if app.main.frame.summary(r.inode).lit)
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        legend = painted(app.screen.query_one("#help-legend"))
        keys = painted(app.screen.query_one("#help-keys"))
        assert "conntrack dropped packets or evicted entries in the latest sample" in legend
        assert "sockets of the selected namespace" in keys


async def test_without_conntrack_trouble_no_row_carries_C(replayed_app, recorded):
    rec = recorded(LAB_OVERFLOW_AT)  # the web pod's listen overflow: SYN trouble, no conntrack drop anywhere
    assert not any(rec.moved_any(r, CT_DROP_KEYS) for r in rec.alive)
    assert any(rec.moved_any(r, SYN_KEYS) for r in rec.alive)
    app = replayed_app(LAB_OVERFLOW_AT)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main.table
        assert table.order and any("S" in table.get_cell(str(i), "mark").plain for i in table.order)
        assert all("C" not in table.get_cell(str(i), "mark").plain for i in table.order)


# Scripted, not replayed: the recorded router drops on every tick it lives, and a race on
# the host's own conntrack cannot be staged safely for a recording (nf_conntrack_max is global)
async def test_the_host_rows_C_goes_out_when_its_conntrack_stops_dropping():
    source = ScriptedSource(conntrack_race=True)
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.main.table
        summary = app.main.frame.summary(HOST)
        assert summary.ct_lit and summary.ct_delta > 0  # the stall: insert_failed and drop grew
        mark = table.get_cell(str(HOST), "mark")
        assert mark.plain == "  C" and "magenta" in str(mark.style)
        assert table.order[:3] == [WEB, GATEWAY, HOST]  # after the S rows
        assert "C" not in table.get_cell(str(WEB), "mark").plain  # the pod's own conntrack is idle
        # out of the stall: nothing dropped in the latest sample, the marker goes out
        while (source.step + 1) % 30 >= 22:
            await tick(app, pilot)
        await tick(app, pilot)
        assert not app.main.frame.summary(HOST).ct_lit
        assert "C" not in table.get_cell(str(HOST), "mark").plain


# Scripted, not replayed (as the sockets tests above): sockets are not recorded
async def test_the_palette_offers_the_sockets_view():
    app = SynscopeApp(ScriptedSource(), autotick=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(app, pilot)
        hits = {hit.text: hit async for hit in ActionsProvider(app.screen).discover()}
        assert "Sockets of namespace" in hits and hits["Sockets of namespace"].help.endswith("(l)")
        await hits["Sockets of namespace"].command()
        await settle(app, pilot)
        assert app.main.sockets.display and "0.0.0.0:888" in app.main.sockets.text


class SlowSource(CountingSource):
    """Each sockets read waits until the test lets it finish (bounded: 10 s)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def sockets(self, ns):  # type: ignore[no-untyped-def]
        summary = super().sockets(ns)
        self.release.wait(10)
        return summary


async def test_reads_never_pile_up_behind_a_slow_one():
    source = SlowSource()
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("l")
        await pilot.pause()
        assert app.main.sockets_view.busy and app.main.sockets_view.reads == 1
        for _ in range(5):  # ticks asking for the namespace being read: that read answers them
            app.main._request_sockets()
        assert app.main.sockets_view.reads == 1
        await pilot.press("down")  # another namespace: it waits as the one pending read
        await pilot.press("down")
        await pilot.pause()
        assert app.main.sockets_view.reads == 1
        source.release.set()
        await settle(app, pilot)
        assert source.socket_reads == [WEB, app.main.selected_namespace.inode]
        assert app.main.sockets.border_title.endswith(app.main.selected_namespace.name)
