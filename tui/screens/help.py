"""Help: every key and what it does, from the table of actions (tui/actions.py), and the legend."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpScreen", "LEGEND"]

LEGEND: tuple[tuple[str, str, str], ...] = (
    ("S", "bold reverse red", "a SYN-trouble counter moved in the latest sample (ListenDrops, PAWS*, SYN retransmits, "
                              "SYN queue/cookies...): SYNs are being dropped or retried. Row in red, sorted first."),
    ("D", "bold reverse yellow", "a delayed-ACK counter moved in the latest sample (DelayedACKs, DelayedACKLocked, "
                                 "quick-ack mode). Row in yellow, sorted next."),
    ("C", "bold reverse magenta", "conntrack dropped packets or evicted entries in the latest sample (drop, early_drop, "
                                  "chainlength): on the host row, the node's NAT (kube-proxy) losing SYNs before any "
                                  "socket sees them. Sorted after S."),
    (" ·", "dim", "one of them moved in the last minute: a burst you may have missed."),
    ("!", "bold red", "in the detail panel: this counter's delta is non-zero right now."),
)

NOTES = (
    "SYN/s counts the SYN-trouble group once: ListenOverflows and TCPReqQFullDrop are already in ListenDrops.",
    "Rates are per second over the last sample; the first sample has none; a counter that goes down is a reset, never a "
    "negative rate.",
    "Values read 'since baseline' after b (per namespace, like nstat's history file but never mixing namespaces).",
    "Freeze (p) stops the display; sampling and history go on, and p shows the latest again.",
)

class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape,question_mark", "dismiss_help", "Close help", id="help.close"),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys  # (key as people read it, what it does): tui.actions.help_rows()

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold cyan", no_wrap=True)
        keys.add_column()
        for key, desc in self.keys:
            keys.add_row(Text(key), Text(desc))
        legend = Table.grid(padding=(0, 2))
        legend.add_column(no_wrap=True)
        legend.add_column()
        for mark, style, desc in LEGEND:
            legend.add_row(Text(mark, style=style), Text(desc))
        with VerticalScroll() as vs:
            vs.border_title = "synscope — keys (esc closes)"
            yield Static(keys, id="help-keys")
            yield Static(Text("\nWhat is lit", style="bold"))
            yield Static(legend, id="help-legend")
            yield Static(Text("\n" + "\n".join(f"• {n}" for n in NOTES), style="dim"))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
