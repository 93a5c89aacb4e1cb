"""Snapshots of the main screen, help, the detail, the sysctl preview and the capture form
(the scenes screenshots/ shows), replaying the lab's recording (tests/fixtures/recordings:
the real `synscope record` against real incidents), so each shows what the live sources
produce: the names discovery gave, the counters the kernel moved.

Deterministic: a replay is paused at a fixed recorded moment (LAB_SCENE_AT), its clock is
shown in UTC, autotick is off, every terminal size is fixed. Two scenes cannot be replayed
and keep the scripted incident (each says why). Update with ``pytest --snapshot-update``
after looking at the diff (``snapshot_report.html``).
"""

from __future__ import annotations

import pytest

import tui.screens.capture as capture_screens
from tui.scripted_source import ScriptedSource

# the scripted pod's one listener, as the scripted source's diagnosis has it: the scripted
# namespaces are not real, so the capture form cannot read their sockets (a fake, for that only)
SCRIPTED_LISTENERS = [888]


def keys_then_settle(settle, *keys: str):  # type: ignore[no-untyped-def]
    """A run_before: the first tick settled, then each key, each settled (chart included)."""
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, chart=True)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, chart=True, rounds=2)

    return run_before


def test_main_80x24(snap_compare, replayed_app, settle):
    assert snap_compare(replayed_app(), terminal_size=(80, 24), run_before=keys_then_settle(settle))


def test_main_160x48(snap_compare, replayed_app, settle):
    assert snap_compare(replayed_app(), terminal_size=(160, 48), run_before=keys_then_settle(settle))


def test_main_at_the_listen_overflow_200x60(snap_compare, replayed_app, settle):
    # 9 s in: the web pod's accept queue overflowing, its clients retransmitting their SYNs
    assert snap_compare(replayed_app(at=9.0), terminal_size=(200, 60), run_before=keys_then_settle(settle))


def test_help_80x24(snap_compare, replayed_app, settle):
    assert snap_compare(replayed_app(), terminal_size=(80, 24), run_before=keys_then_settle(settle, "question_mark"))


def test_filter_and_chart_80x24(snap_compare, replayed_app, settle):
    run_before = keys_then_settle(settle, "slash", *"shop", "enter", "c")
    assert snap_compare(replayed_app(), terminal_size=(80, 24), run_before=run_before)


def test_detail_80x24(snap_compare, replayed_app, settle):
    # the detail panel focused, two counters down: the chart key and the note follow
    assert snap_compare(replayed_app(), terminal_size=(80, 24), run_before=keys_then_settle(settle, "enter", "down", "down"))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_sysctl_preview(snap_compare, replayed_app, settle, size):
    # the preview of the recorded moment: the real rules on the recorded deltas and sysctls
    assert snap_compare(replayed_app(), terminal_size=size, run_before=keys_then_settle(settle, "s"))


# Scripted, not replayed: capture needs the live namespace (replay refuses it, and says so)
def test_capture_form_80x24(snap_compare, scripted_app, settle, monkeypatch, tmp_path_factory):
    monkeypatch.setattr(capture_screens, "read_listen_ports", lambda ns: list(SCRIPTED_LISTENERS))
    monkeypatch.setenv("SYNSCOPE_CAPTURE_DIR", "/var/tmp/synscope-snapshot")  # shown, never created: no capture starts
    assert snap_compare(scripted_app(), terminal_size=(80, 24), run_before=keys_then_settle(settle, "t"))


# Scripted, not replayed: sockets are not recorded (replay's sockets pane says so); the
# scripted node's sockets are sock_diag-shaped dumps (tui/scripted_sockets.py)
def test_sockets_80x24(snap_compare, scripted_app, settle):
    # the node's conntrack losing the SNAT race too: the host row's C marker shows
    app = scripted_app(ScriptedSource(conntrack_race=True))
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle(settle, "l"))


def test_sockets_200x60(snap_compare, scripted_app, settle):
    app = scripted_app(ScriptedSource(conntrack_race=True))
    assert snap_compare(app, terminal_size=(200, 60), run_before=keys_then_settle(settle, "l"))
