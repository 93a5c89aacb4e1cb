"""The netstat -s words on screen.

At every size from 80x24 the focused counter's whole netstat -s wording is visible under the
detail panel, with what it counts and what usually makes it move; from 160 columns every
row of the panel shows its whole wording. Driven with Pilot against the scripted incident
(its counters come through the real parser and history).
"""

from __future__ import annotations

import pytest
from rich.console import Console

from tui.app import SynscopeApp
from tui.core.catalog import CATALOG, Group
from tui.source import nstat_name
from widgets.counter_note import note_text
from widgets.counter_panel import _wrap


def flat(text: str) -> str:
    return " ".join(text.split())


def screen_text(app: SynscopeApp, widget) -> str:  # type: ignore[no-untyped-def]
    """What the widget shows on the screen right now (its painted lines)."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


@pytest.mark.parametrize("size", [(80, 24), (120, 32), (160, 48), (200, 60)])
async def test_the_focused_counter_reads_in_netstat_words_at_every_size(size, settle, replayed_app):
    app = replayed_app()  # the lab's recording: the counters the kernel moved
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # into the detail panel: arrows pick the counter
        note = app.main.note
        keys = app.main.panel.keys
        assert len(keys) >= 10
        for i, key in enumerate(keys):
            if i:
                await pilot.press("down")
                await settle(pilot)
            assert app.main.panel.focus_key == key
            shown = flat(screen_text(app, note))
            c = CATALOG.get(key)
            assert shown.startswith(nstat_name(key)), shown
            if c is None:
                assert "not in synscope's catalog" in shown
                continue
            # the whole wording, and what it means and why, on screen (nothing cut off)
            assert flat(c.wording.removeprefix("N ") or f"{key.partition('.')[2]}: N") in shown, (size, key, shown)
            assert flat(c.note) in shown, (size, key, shown)
            if c.cause:
                assert flat(f"Usually: {c.cause}") in shown, (size, key, shown)
            r = note.region
            assert r.bottom <= size[1] - 2 and r.width == size[0]  # above the status line and footer


def test_every_catalog_note_fits_its_box_at_80_columns():
    """The note box is at most 5 lines (CSS max-height): no counter's note may need more at
    80 columns (78 inside the padding), and from 160 columns each fits in 3."""
    for width, most in ((78, 5), (158, 3)):
        console = Console(width=width, color_system=None)
        for key in CATALOG:
            lines = console.render_lines(note_text(key), console.options.update_width(width), pad=False)
            assert len(lines) <= most, (width, key, [''.join(s.text for s in ln) for ln in lines])


@pytest.mark.parametrize("size", [(160, 48), (200, 60)])
async def test_from_160_columns_every_row_shows_its_whole_wording(size, settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        panel = app.main.panel
        assert panel.wrap
        for all_counters in (False, True):
            if all_counters:
                await pilot.press("a")
                await settle(pilot)
            lines = {ln.key: ln for ln in panel.detail.lines}
            painted: dict[str, list[str]] = {}
            for y, (kind, key) in enumerate(panel._entries):
                if kind in ("row", "flat", "words"):
                    painted.setdefault(key, []).append(panel._build(y).text)
            assert set(painted) == set(lines)
            for key, texts in painted.items():
                wording = lines[key].wording
                assert flat(wording) in flat(" ".join(texts)), (key, texts)
                assert not any(t.rstrip().endswith("…") for t in texts), (key, texts)  # nothing cut
                assert all(len(t) == panel._width() for t in texts)


async def test_below_160_columns_rows_stay_one_line(settle, replayed_app):
    app = replayed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.main.panel
        assert not panel.wrap
        assert all(kind != "words" for kind, _ in panel._entries)
        hot = [ln for ln in panel.detail.lines if ln.hot and ln.group is Group.SYN]
        assert hot  # the NAT + timestamps namespace's PAWS rejects are in view


def test_wrap_keeps_words_whole_and_lines_short():
    text = "packets rejected in established connections because of timestamp"
    for width in (11, 20, 33, 64, 80):  # 11: its longest word
        parts = _wrap(text, width)
        assert " ".join(parts) == text
        assert all(len(p) <= width for p in parts)
    assert _wrap("", 10) == [""]
    assert _wrap("established", 5) == ["established"]  # a word longer than the line stays whole
