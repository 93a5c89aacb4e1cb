"""Regenerate the screenshots in this directory by replaying the lab's recording.

    .venv/bin/python screenshots/make.py

Writes SVGs (Textual's own export) and, when ``rsvg-convert`` is installed
(``apt-get install librsvg2-bin``), PNGs beside them. Same source as the snapshot tests:
tests/fixtures/recordings/lab-incidents.synscope, the real `synscope record` against the
lab's incidents (a pod's listen overflow, NAT + timestamps, a slow reader's delayed ACKs,
idle pods and a container), paused at a recorded moment, its clock in UTC. The capture form
and the sockets pane cannot be replayed (capture needs the live namespace; sockets are not
recorded): those keep the scripted incident.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.app import SynscopeApp
from tui.core.store.reader import Store
from tui.replay_source import ReplaySource
from tui.scripted_source import ScriptedSource

OUT = Path(__file__).resolve().parent

RECORDING = OUT.parent / "tests" / "fixtures" / "recordings" / "lab-incidents.synscope"
SCENE_AT = 30.0  # s into the recording (tests/conftest.py LAB_SCENE_AT): NAT, SYN retransmits, delayed ACKs lit
AT: dict[str, float] = {"overflow-200x60": 9.0}  # the web pod's listen overflow
SCRIPTED = {"capture-form-80x24", "capture-form-armed-80x24", "sockets-80x24", "sockets-200x60"}  # cannot be replayed (see above)

SHOTS: list[tuple[str, tuple[int, int], tuple[str, ...]]] = [
    ("main-80x24", (80, 24), ()),
    ("main-200x60", (200, 60), ()),
    ("overflow-200x60", (200, 60), ()),
    ("replay-goto-120x32", (120, 32), ("g", *"02:05:10")),
    ("detail-80x24", (80, 24), ("enter", "down", "down")),
    ("chart-80x24", (80, 24), ("c",)),
    ("filter-120x32", (120, 32), ("slash", *"shop", "enter")),
    ("all-counters-160x48", (160, 48), ("a",)),
    ("help-80x24", (80, 24), ("question_mark",)),
    ("sysctl-120x40", (120, 40), ("s",)),
    ("sysctl-80x24", (80, 24), ("s",)),
    ("capture-form-80x24", (80, 24), ("t",)),
    ("sockets-80x24", (80, 24), ("l",)),
    ("sockets-200x60", (200, 60), ("l",)),
    ("capture-form-armed-80x24", (80, 24), ("t",)),
]
# after the keys: put the form in a state no key sequence reaches plainly
AFTER_KEYS = {
    "capture-form-armed-80x24": lambda app: _arm_form(app),
}


def _arm_form(app: SynscopeApp) -> None:
    from textual.widgets import Input, Select

    app.screen.query_one("#start", Select).value = "counter"
    app.screen.query_one("#counter", Input).value = "TcpExt.ListenDrops"


# the sockets shots also show the node's conntrack losing the SNAT race (the host row's C)
SOURCE_OPTIONS: dict[str, dict[str, bool]] = {
    "sockets-80x24": {"conntrack_race": True},
    "sockets-200x60": {"conntrack_race": True},
}


async def shoot(name: str, size: tuple[int, int], keys: tuple[str, ...]) -> Path:
    if name in SCRIPTED:
        source = ScriptedSource(**SOURCE_OPTIONS.get(name, {}))
    else:
        store = Store(str(RECORDING))
        span = store.span()
        assert span is not None
        source = ReplaySource(store, span[0] + AT.get(name, SCENE_AT), utc=True)
    app = SynscopeApp(source, autotick=False)
    async with app.run_test(size=size) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        for key in keys:
            await pilot.press(key)
            for _ in range(2):
                await app.workers.wait_for_complete()
                await pilot.pause()
        if name in AFTER_KEYS:
            AFTER_KEYS[name](app)
            for _ in range(2):
                await app.workers.wait_for_complete()
                await pilot.pause()
        for _ in range(20):  # the chart is built in a thread: wait for its picture
            if not app.main.chart.building:
                break
            await app.workers.wait_for_complete()
            await pilot.pause()
        path = OUT / f"{name}.svg"
        app.save_screenshot(str(path))
    return path


def to_png(svg: Path) -> Path | None:
    if shutil.which("rsvg-convert") is None:
        return None
    # librsvg drops the width of &#160; runs in Textual's SVG: hand it plain spaces instead
    text = re.sub("&#160;", " ", svg.read_text())
    text = text.replace("<svg ", '<svg xml:space="preserve" ', 1)
    tmp = svg.with_suffix(".tmp.svg")
    tmp.write_text(text)
    png = svg.with_suffix(".png")
    try:
        subprocess.run(["rsvg-convert", "-w", "1600", str(tmp), "-o", str(png)], check=True)
    finally:
        tmp.unlink(missing_ok=True)
    return png


def main() -> None:
    for name, size, keys in SHOTS:
        svg = asyncio.run(shoot(name, size, keys))
        png = to_png(svg)
        print(svg.relative_to(OUT.parent), "+ png" if png else "")


if __name__ == "__main__":
    main()
