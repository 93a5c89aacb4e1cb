"""Snapshots of the main screen and help, from the deterministic scripted incident.

Deterministic: the ScriptedSource has a fixed clock and seeded randomness, autotick is off
(exactly one tick is taken), the scripted mode shows no hostname and no wall-clock time, and
every terminal size is fixed. Update with ``pytest --snapshot-update`` after looking at the
diff (``snapshot_report.html``).
"""

from __future__ import annotations

from tui.app import SynscopeApp
from tui.source import ScriptedSource


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
    for _ in range(20):  # the chart is built in a thread: wait for its picture
        if not app.main.chart.building:
            break
        await app.workers.wait_for_complete()
        await pilot.pause()


def _app() -> SynscopeApp:
    return SynscopeApp(ScriptedSource(), autotick=False)


def test_main_80x24(snap_compare):
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=_settle)


def test_main_160x48(snap_compare):
    assert snap_compare(_app(), terminal_size=(160, 48), run_before=_settle)


def test_help_80x24(snap_compare):
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=run_before)


def test_filter_and_chart_80x24(snap_compare):
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("slash", *"mservice", "enter", "c")
        await _settle(pilot)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=run_before)


def _sockets_app() -> SynscopeApp:
    # the node's conntrack losing the SNAT race too: the host row's C marker shows
    return SynscopeApp(ScriptedSource(conntrack_race=True), autotick=False)


async def _open_sockets(pilot) -> None:  # type: ignore[no-untyped-def]
    await _settle(pilot)
    await pilot.press("l")
    await _settle(pilot)


def test_sockets_80x24(snap_compare):
    assert snap_compare(_sockets_app(), terminal_size=(80, 24), run_before=_open_sockets)


def test_sockets_200x60(snap_compare):
    assert snap_compare(_sockets_app(), terminal_size=(200, 60), run_before=_open_sockets)
