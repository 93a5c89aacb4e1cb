"""The command palette's synscope entries, generated from the table of actions (tui/actions.py).

Textual's own entries (theme, keys, screenshot, quit) stay beside these. The main screen's
actions are offered only over the main screen: from the help, capture or sysctl screens
they would act on a table that is not in view.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.actions import PaletteEntry, palette_entries
from tui.screens.main import MainScreen

__all__ = ["ActionsProvider"]


class ActionsProvider(Provider):
    """Every action of the table that has a palette title."""

    def entries(self) -> Iterator[tuple[PaletteEntry, object]]:
        """(entry, its callback) for the screen the palette was opened over."""
        on_main = isinstance(self.screen, MainScreen)
        for entry in palette_entries(replay=getattr(self.app, "replay", False)):
            if entry.owner == "app":
                yield entry, partial(self.app.run_action, entry.action)
            elif on_main:
                yield entry, partial(self.screen.run_action, entry.action)

    async def discover(self) -> Hits:
        for entry, callback in self.entries():
            yield DiscoveryHit(entry.title, callback, help=entry.help)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry, callback in self.entries():
            if (score := matcher.match(entry.title)) > 0:
                yield Hit(score, matcher.highlight(entry.title), callback, help=entry.help)  # type: ignore[arg-type]
