"""Sysctl proposals as a table (key, namespace value, host value, proposed, scope) and the
text blocks of the preview. Takes data, does no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

from tui.core.namespaces import NetNS
from tui.core.rules import Finding
from tui.core.sysctl import Proposal, commands_for

__all__ = ["SysctlDiff", "proposal_detail", "findings_summary"]

SEVERITY_STYLE = {"critical": "bold reverse red", "warning": "bold reverse yellow", "info": "bold reverse blue"}


def _v(v: str | None) -> str:
    return "(absent)" if v is None else v


class SysctlDiff(DataTable):
    """One row per proposal; the row key is the sysctl key."""

    DEFAULT_CSS = """
    SysctlDiff { height: auto; max-height: 8; }
    """

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)
        self._shown: tuple = ()

    def on_mount(self) -> None:
        self.add_column("sysctl", key="key")
        self.add_column("here", key="current")
        self.add_column("host", key="host")
        self.add_column("proposed", key="proposed")
        self.add_column("scope", key="scope")

    def show(self, proposals: Sequence[Proposal], current: Mapping[str, str] | None = None) -> None:
        """current: values known after an apply, overriding what the proposal was built from."""
        current = current or {}
        rows = tuple((p.key, current.get(p.key, _v(p.current)), _v(p.host), p.value, p.scope, p.optional) for p in proposals)
        if rows == self._shown:
            return
        self._shown = rows
        keep = self.cursor_row
        self.clear()
        for key, cur, host, new, scope, optional in rows:
            done = cur == new
            self.add_row(
                Text(key + (" *" if optional else "")),
                Text(cur, style="green" if done else "bold"),
                Text(host, style="dim"),
                Text(new, style="green" if done else "bold cyan"),
                Text(scope),
                key=key,
            )
        if rows:
            self.move_cursor(row=min(max(keep, 0), len(rows) - 1))


def findings_summary(findings: Sequence[Finding]) -> Text:
    t = Text()
    if not findings:
        t.append("No finding: nothing in the counters points at a sysctl.", style="dim")
        return t
    for i, f in enumerate(findings):
        if i:
            t.append("\n")
        t.append(f" {f.severity.upper()} ", style=SEVERITY_STYLE.get(f.severity, "bold"))
        t.append(f" {f.title}", style="bold")
        t.append(f"\n  {f.evidence_text()}", style="cyan")
        if f.confidence:
            t.append(f"  confidence {f.confidence}", style="dim")
        if f.not_a_sysctl:
            t.append("\n  not a sysctl: ", style="bold yellow")
            t.append(f.advice[0] if f.advice else "loss on the path")
    return t


def proposal_detail(p: Proposal | None, ns: NetNS, findings: Sequence[Finding] = ()) -> Text:
    """Why, risk and the exact commands for one proposal (or the advice when there is none)."""
    t = Text()
    if p is None:
        for f in findings:
            t.append(f"{f.title}\n", style="bold")
            t.append(f"{f.explanation}\n")
            t.append(f"{f.confidence_text()}\n", style="dim")
            for a in f.advice:
                t.append(f"  - {a}\n")
            t.append("\n")
        return t
    c = commands_for(p, ns)
    t.append(f"{p.key}", style="bold")
    t.append(f"  {_v(p.current)} -> {p.value}", style="bold cyan")
    t.append(f"   host {_v(p.host)}, scope {p.scope}\n", style="dim")
    if p.optional:
        t.append("one option among several, with trade-offs: read the advice below first\n", style="yellow")
    t.append("why:  ", style="bold")
    t.append(f"{p.why}\n")
    t.append("risk: ", style="bold")
    t.append(f"{p.risk}\n")
    for f in findings:
        if f.id == p.finding and f.confidence:
            t.append("confidence: ", style="bold")
            t.append(f"{f.confidence}" + (f" — {f.confidence_why}" if f.confidence_why else "") + "\n")
    t.append("\n")
    t.append(f"temporary ({c.temporary_note}):\n", style="bold")
    t.append(f"  {c.temporary}\n", style="green")
    t.append(f"persistent: {c.persistent_file}\n", style="bold")
    for line in c.persistent_content.rstrip("\n").splitlines():
        t.append(f"  {line}\n", style="green")
    t.append(f"  {c.persistent_note}\n", style="dim")
    if c.runtime:
        t.append("container runtime:\n", style="bold")
        for line in c.runtime.splitlines():
            t.append(f"  {line}\n", style="green")
    if c.k8s_yaml:
        t.append("Kubernetes pod spec:\n", style="bold")
        for line in c.k8s_yaml.rstrip("\n").splitlines():
            t.append(f"  {line}\n", style="green")
        t.append(f"  {c.k8s_note}\n", style="dim")
    for f in findings:
        if f.id == p.finding and f.advice:
            t.append("\nalso (not sysctls):\n", style="bold")
            for a in f.advice:
                t.append(f"  - {a}\n")
    # the findings that propose nothing are read here too: the summary above may be cut short
    others = [f for f in findings if not f.proposals]
    if others:
        t.append("\nother findings (no sysctl):\n", style="bold")
    for f in others:
        t.append(f"{f.severity.upper()}: {f.title}\n", style="bold")
        t.append(f"  {f.evidence_text()}; {f.confidence_text()}\n", style="dim")
        t.append(f"  {f.explanation}\n")
        for a in f.advice:
            t.append(f"  - {a}\n")
    return t
