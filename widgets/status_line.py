"""The status line: interval, sample age, namespace count, what the tool cannot see.

Takes a :class:`StatusInfo`, does no I/O. Honest first: unavailable sources with their
reason and the not-root warning come before anything else that might be cut off at 80
columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui.core.namespaces import SourceStatus

__all__ = ["StatusInfo", "StatusLine"]


@dataclass(frozen=True)
class StatusInfo:
    interval: float
    sample_age: float | None  # None: no sample yet
    namespaces: int
    shown: int
    statuses: tuple[SourceStatus, ...] = ()
    notes: tuple[str, ...] = ()
    root: bool = True
    frozen: bool = False
    frozen_behind: int = 0  # frames sampled since the display froze
    baseline: str = ""  # "" or "baseline set 42 s ago for web-..."
    slow: bool = False  # the last tick took longer than the interval
    lead: str = ""  # said first: where the history comes from (the recorder, a replay)
    replay: bool = False  # recorded data: no sample age to tell


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: auto; max-height: 3; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__("", **kw)
        self.info: StatusInfo | None = None
        self._lines = 0

    def show(self, info: StatusInfo) -> None:
        if info == self.info:
            return
        self.info = info
        text = self.render_info(info)
        # a layout pass only when the line count may change (height: auto)
        width = max(1, (self.size.width or 80) - 2)
        lines = -(-text.cell_len // width)
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    @staticmethod
    def render_info(info: StatusInfo) -> Text:
        t = Text(no_wrap=False, overflow="ellipsis")
        if info.lead:
            t.append(info.lead, style="bold cyan")
            t.append(" · ")
        if info.frozen:
            t.append(" FROZEN ", style="bold reverse cyan")
            t.append(f" {info.frozen_behind} new samples not shown (p resumes) ", style="cyan")
        if not info.root:
            t.append(" not root: only reachable namespaces ", style="bold reverse yellow")
            t.append(" ")
        absent = [st.name for st in info.statuses if not st.available and st.absent]
        for st in info.statuses:
            if not st.available and not st.absent:  # a failure: the reason matters
                t.append(f"{st.name}: unavailable", style="bold yellow")
                t.append(f" ({st.reason}) " if st.reason else " ", style="yellow")
        if absent:  # simply not on this node: say so briefly (snapshot prints why)
            t.append(f"no {', no '.join(absent)} · ", style="dim")
        t.append(f"every {info.interval:g} s", style="")
        if info.replay:
            pass  # the title says which moment is shown
        elif info.sample_age is None:
            t.append(" · waiting for the first sample", style="dim")
        else:
            t.append(f" · sample {info.sample_age:.1f} s ago", style="bold red" if info.slow else "")
        count = f"{info.shown}/{info.namespaces}" if info.shown != info.namespaces else f"{info.namespaces}"
        t.append(f" · {count} namespaces")
        if info.baseline:
            t.append(f" · {info.baseline}", style="bold magenta")
        for note in info.notes:
            t.append(f" · {note}", style="italic")
        return t
