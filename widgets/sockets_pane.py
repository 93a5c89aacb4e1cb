"""The sockets pane: the selected namespace's TCP sockets, as ``ss`` would show them inside it.

Takes a :class:`~tui.core.sockets.SocketsSummary` (or a line saying why there is none) and
does no I/O: the App reads the summary in a thread worker each tick (tui/sockets_view.py).

Three blocks, the ones an engineer types ``ss`` for after the counters named the namespace:

* sockets by state (``ss -tan``), TIME-WAIT and SYN-RECV included;
* each listener's accept queue against its backlog (``ss -ltn`` Recv-Q / Send-Q) and its
  half-open connections (``ss -tn state syn-recv``), a full queue marked ``FULL``;
* connections grouped by peer address, the peer with the most retransmits first, with
  ``ss -ti``'s retransmits (unacknowledged now / over the connections' life), the worst RTT,
  the smallest cwnd and RTO backoffs. With room (a tall pane), each peer's worst connections
  follow it in ``ss -ti``'s own words.

Every line is cut to the pane's width (no wrapping): at 80x24 the pane has ~10 rows and
scrolls (focus it with tab).
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.core.sockets import PeerGroup, SocketsSummary

__all__ = ["SocketsPane"]

CONNECTIONS_FROM_ROWS = 20  # a pane this tall lists each peer's worst connections too
NEAR_FULL = 0.8  # an accept queue this full is shown in yellow


class SocketsPane(VerticalScroll):
    """The sockets of one namespace, refreshed by the App every tick while shown."""

    DEFAULT_CSS = """
    SocketsPane { height: 1fr; border: round $panel-lighten-2; padding: 0 1; }
    SocketsPane:focus { border: round $accent; }
    SocketsPane > Static { width: auto; min-width: 100%; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.summary: SocketsSummary | None = None
        self.message = ""  # why there is no summary (shown instead of one)
        self.ns_name = ""
        self._body = Text("")

    def compose(self) -> ComposeResult:
        yield Static(Text("sockets: waiting for the first read", style="dim"), id="sockets-body")

    @property
    def text(self) -> str:
        """What the pane shows, as plain text (tests read it)."""
        return self._body.plain

    def show(self, ns_name: str, summary: SocketsSummary | None, *, message: str = "", as_of: str = "") -> None:
        """The namespace's summary, or ``message`` (a vanished namespace, a read that failed)."""
        self.ns_name, self.summary, self.message = ns_name, summary, message
        self.border_title = escape(f"sockets · {ns_name}" if ns_name else "sockets")
        self.border_subtitle = escape((f"as of {as_of} · " if as_of and summary is not None else "") + "l closes")
        self._body = self._render_body()
        self.query_one("#sockets-body", Static).update(self._body)

    def on_resize(self) -> None:
        if self.ns_name or self.message:  # the layout (connection lines, cuts) follows the size
            self._body = self._render_body()
            self.query_one("#sockets-body", Static).update(self._body)

    # -- rendering -------------------------------------------------------------------------
    def _render_body(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        s = self.summary
        if s is None:
            out.append(self.message or "no namespace selected", style="bold yellow" if self.message else "dim")
            return out
        width = max(40, self.size.width or 76)
        self._states(out, s)
        self._listeners(out, s)
        self._peers(out, s, width, connections=(self.size.height or 0) >= CONNECTIONS_FROM_ROWS)
        return out

    @staticmethod
    def _states(out: Text, s: SocketsSummary) -> None:
        out.append(f"{s.total} TCP sockets", style="bold")
        for name, n in s.states:
            out.append("  ")
            style = "yellow" if name in ("SYN-RECV", "SYN-SENT") else ("" if name != "LISTEN" else "dim")
            out.append(f"{name} {n}", style=style)
        out.append("\n")

    @staticmethod
    def _listeners(out: Text, s: SocketsSummary) -> None:
        if not s.listeners:
            out.append("no listening socket\n", style="dim")
            return
        out.append(f"{'listening on':<30} {'accept queue/backlog':>20} {'SYN-RECV':>9}\n", style="bold")
        for x in s.listeners:
            queue = f"{x.accept_queue}/{x.backlog}"
            fill = x.accept_queue / x.backlog if x.backlog > 0 else (1.0 if x.accept_queue else 0.0)
            style = "bold red" if x.full else ("yellow" if fill >= NEAR_FULL else "")
            out.append(f"{_cut(x.endpoint, 30):<30} ")
            out.append(f"{queue + (' FULL' if x.full else ''):>20}", style=style)
            out.append(f" {x.syn_recv:>9}\n", style="yellow" if x.syn_recv else "dim")

    def _peers(self, out: Text, s: SocketsSummary, width: int, *, connections: bool) -> None:
        if not s.peers:
            out.append("no connection\n", style="dim")
            return
        more = f", the {len(s.peers)} worst of {s.peers_total} peers" if s.peers_total > len(s.peers) else ""
        out.append(f"connections by peer, worst first ({s.connections}{more})\n", style="bold")
        out.append(f"{'peer':<24} {'conns':>5} {'retrans now/total':>17} {'rtt max':>9} {'cwnd min':>8} {'backoff':>7}\n",
                   style="dim")
        for g in s.peers:
            self._peer_line(out, g)
            if connections:
                for c in g.worst:
                    line = f"    {c.local} -> :{c.peer_port} {c.state}  {c.ss_text()}"
                    out.append(_cut(line, width) + "\n", style="dim" if not (c.retrans or c.backoff) else "")
                if g.connections > len(g.worst):
                    out.append(f"    … and {g.connections - len(g.worst)} more\n", style="dim")

    @staticmethod
    def _peer_line(out: Text, g: PeerGroup) -> None:
        bad = g.retrans > 0 or g.backoff_max > 0
        out.append(f"{_cut(g.address, 24):<24} {g.connections:>5} ", style="bold" if bad else "")
        out.append(f"{f'{g.retrans}/{g.total_retrans}':>17}", style="bold red" if g.retrans else
                   ("yellow" if g.total_retrans else "dim"))
        out.append(f" {_ms(g.rtt_ms_max):>9} {g.cwnd_min:>8} ")
        out.append(f"{g.backoff_max:>7}", style="bold red" if g.backoff_max else "dim")
        out.append("\n")


def _ms(v: float) -> str:
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
