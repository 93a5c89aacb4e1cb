"""Replay's "go to a time" prompt (key g): one line, enter goes, escape cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

__all__ = ["GoToScreen"]


class GoToScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    GoToScreen { align: center middle; }
    GoToScreen > Vertical { width: 72; height: auto; border: round $accent; background: $panel; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="goto.cancel")]

    def __init__(self, span: str) -> None:
        super().__init__()
        self.span = span  # "recorded 02:04:55..02:05:35": what can be reached

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"go to a time · {self.span}")
            yield Input(placeholder="10m or 1h30m (before the end), 01:10, 2026-12-02T01:10", id="goto-when")
            yield Static("enter goes · esc cancels", classes="dim")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
