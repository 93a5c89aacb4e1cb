"""The sysctl preview: what is wrong in one namespace and what to change, as exact commands.

Built from plain data (the NetNS, its findings and proposals, and whether apply is allowed)
so the main app can push it for the selected row and tests can push it on a tiny App.

* ``c`` copies the whole preview (OSC 52, through the terminal), ``C`` only the selected
  proposal's temporary command; ``W`` saves the preview to a file (asks for the path;
  default in the private synscope directory, mode 0600).
* ``w`` writes this namespace's incident bundle (tui/screens/bundle.py: the App does it in a
  thread worker and says where it went).
* ``a`` applies the selected proposal — only when synscope was started with
  ``--allow-apply``. It first shows the exact change and asks; the write happens in the
  chosen namespace only (core checks the namespace inode from the setns thread), is read
  back, logged to the screen and to ``apply.log``, and ``r`` reverts it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Static

from tui.core.namespaces import NetNS
from tui.core.rules import Diagnosis, Finding, proposals_of
from tui.screens.bundle import BundleRequested
from tui.core.sysctl import (
    ApplyPermit,
    Change,
    Proposal,
    apply_sysctl,
    permit_from_flag,
    preview_text,
    private_dir,
    revert_change,
    save_private,
)
from widgets.sysctl_diff import SysctlDiff, findings_summary, proposal_detail

__all__ = ["ConfirmChange", "SavePreview", "SysctlScreen"]


class ConfirmChange(ModalScreen[bool]):
    """Shows the exact change; only ``y`` or the Apply button says yes. Cancel has the focus."""

    DEFAULT_CSS = """
    ConfirmChange { align: center middle; }
    ConfirmChange > Vertical { width: 76; max-width: 100%; height: auto; border: thick $error;
        background: $surface; padding: 0 1; }
    ConfirmChange Horizontal { height: auto; align-horizontal: right; }
    ConfirmChange Button { margin: 0 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes, write it", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, body: str, yes: str = "Apply") -> None:
        super().__init__()
        self.title_text, self.body, self.yes = title, body, yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.body, id="confirm-body")
            yield Static(Text("y: write it    n / Esc: cancel", style="dim"))
            with Horizontal():
                yield Button(self.yes, variant="error", id="confirm-yes")
                yield Button("Cancel", variant="primary", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class SavePreview(ModalScreen[str | None]):
    """Asks where to save; Enter saves, Esc cancels."""

    DEFAULT_CSS = """
    SavePreview { align: center middle; }
    SavePreview > Vertical { width: 76; max-width: 100%; height: auto; border: round $accent;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="save.cancel")]

    def __init__(self, default_path: str) -> None:
        super().__init__()
        self.default_path = default_path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Save the preview to (mode 0600):", style="bold"))
            yield Input(value=self.default_path, id="save-path")
            yield Static(Text("Enter: save    Esc: cancel", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SysctlScreen(Screen[None]):
    DEFAULT_CSS = """
    SysctlScreen { layout: vertical; }
    SysctlScreen #sysctl-title { height: 1; background: $panel; padding: 0 1; }
    SysctlScreen #sysctl-findings { height: auto; max-height: 7; padding: 0 1; }
    SysctlScreen SysctlDiff { margin: 0 1; }
    SysctlScreen #sysctl-detail-scroll { height: 1fr; border-top: solid $panel; padding: 0 1; }
    SysctlScreen #sysctl-log { height: auto; max-height: 4; background: $panel; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "close", "Back", id="sysctl.close"),
        Binding("c", "copy_all", "Copy", id="sysctl.copy"),
        Binding("C", "copy_command", "Copy command", show=False, id="sysctl.copy_command"),
        Binding("w", "bundle", "Bundle", id="sysctl.bundle"),
        Binding("W", "save", "Save", id="sysctl.save"),
        Binding("a", "apply", "Apply", id="sysctl.apply"),
        Binding("r", "revert", "Revert", id="sysctl.revert"),
    ]

    def __init__(
        self,
        ns: NetNS,
        findings: Sequence[Finding],
        proposals: Sequence[Proposal] | None = None,
        *,
        allow_apply: ApplyPermit | bool | None = False,
        kernel: str = "",
        notes: Sequence[str] = (),
        log_dir: str | None = None,
        apply_off: str = "",
    ) -> None:
        super().__init__()
        self.apply_off = apply_off  # why apply cannot be on here at all (replay), "" when --allow-apply would do
        self.ns = ns
        self.findings = tuple(findings)
        self.proposals = tuple(proposals if proposals is not None else proposals_of(self.findings))
        # the permit is the only thing core's apply accepts; a bool is turned into one (or
        # None) through the same single door the CLI flag uses
        self.permit = allow_apply if isinstance(allow_apply, ApplyPermit) else permit_from_flag(allow_apply is True)
        self.kernel = kernel or os.uname().release
        self.notes = tuple(notes)
        self.log_dir = log_dir
        self.current: dict[str, str] = {}  # values known after our writes
        self.changes: list[Change] = []  # applied, not yet reverted (a stack)
        self.log_lines: list[str] = []

    @classmethod
    def from_diagnosis(cls, d: Diagnosis, *, allow_apply: ApplyPermit | bool | None = False,
                       log_dir: str | None = None, apply_off: str = "") -> SysctlScreen:
        """The screen for a :func:`tui.core.rules.diagnose_namespace` result (run that in a worker:
        it reads sysctls and sockets inside the namespace)."""
        return cls(d.ns, d.findings, d.proposals, allow_apply=False if apply_off else allow_apply,
                   kernel=d.sysctls.kernel if d.sysctls else "", notes=d.notes, log_dir=log_dir, apply_off=apply_off)

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="sysctl-title")
        yield Static(findings_summary(self.findings), id="sysctl-findings")
        yield SysctlDiff(id="sysctl-diff")
        with VerticalScroll(id="sysctl-detail-scroll"):
            yield Static(id="sysctl-detail")
        yield Static(self._log_text(), id="sysctl-log")
        yield Footer()

    def _title(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("sysctl preview ", style="bold")
        t.append(f"{self.ns.name} ", style="bold cyan")
        t.append(f"({self.ns.kind}, {self.ns.label}) kernel {self.kernel}  ")
        if self.apply_off:
            t.append("RECORDED · apply off (replay)", style="bold cyan")
        elif self.permit is None:
            t.append("apply off (--allow-apply)", style="dim")
        else:
            t.append(" APPLY ON ", style="bold reverse red")
        return t

    def _log_text(self) -> Text:
        t = Text()
        lines = [*(f"note: {n}" for n in self.notes), *self.log_lines[-3:]]
        if not lines:
            t.append("nothing written" + ("" if self.permit else "; read-only: " + (self.apply_off or "start with --allow-apply to apply")), style="dim")
        for i, line in enumerate(lines):
            t.append(("\n" if i else "") + line)
        return t

    def on_mount(self) -> None:
        diff = self.query_one(SysctlDiff)
        diff.show(self.proposals)
        if self.proposals:
            diff.focus()
        self._show_detail()

    # -- selection ------------------------------------------------------------------------
    @property
    def selected(self) -> Proposal | None:
        if not self.proposals:
            return None
        row = self.query_one(SysctlDiff).cursor_row
        return self.proposals[min(max(row, 0), len(self.proposals) - 1)]

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        self.query_one("#sysctl-detail", Static).update(proposal_detail(self.selected, self.ns, self.findings))

    def _refresh(self) -> None:
        self.query_one(SysctlDiff).show(self.proposals, self.current)
        self.query_one("#sysctl-log", Static).update(self._log_text())

    # -- copy / save ----------------------------------------------------------------------
    def preview(self) -> str:
        header = [f"{f.title}: {f.evidence_text()}\n  {f.confidence_text()}" for f in self.findings]
        return preview_text(self.ns, self.proposals, self.kernel, header)

    def action_copy_all(self) -> None:
        text = self.preview()
        self.app.copy_to_clipboard(text)
        self.notify(f"copied the preview ({len(text.splitlines())} lines) to the clipboard via OSC 52; "
                    "if nothing arrives, your terminal blocks OSC 52: use w to save it")

    def action_copy_command(self) -> None:
        from tui.core.sysctl import commands_for

        p = self.selected
        if p is None:
            self.notify("no sysctl proposed here", severity="warning")
            return
        cmd = commands_for(p, self.ns).temporary
        self.app.copy_to_clipboard(cmd)
        self.notify(f"copied: {cmd}")

    def default_save_path(self) -> str:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.ns.name)[:40] or str(self.ns.inode)
        return os.path.join(private_dir(), f"sysctl-{name}-{time.strftime('%Y%m%d-%H%M%S')}.txt")

    def action_bundle(self) -> None:
        self.post_message(BundleRequested(self.ns))

    def action_save(self) -> None:
        try:
            default = self.default_save_path()
        except OSError as exc:
            default = ""
            self.notify(f"cannot create the private synscope directory: {exc.strerror}", severity="warning")
        self.app.push_screen(SavePreview(default), self._save_to)

    def _save_to(self, path: str | None) -> None:
        if not path:
            self.notify("not saved")
            return
        try:
            written = save_private(self.preview(), path)
        except OSError as exc:
            self.notify(f"not saved: {path}: {exc.strerror or exc}", severity="error")
            return
        self.log_lines.append(f"saved preview to {written} (0600)")
        self._refresh()
        self.notify(f"saved to {written}")

    # -- apply / revert ---------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply" and self.apply_off:
            return True  # replay: the key answers with the reason (a disabled key would say nothing)
        if action in ("apply", "revert") and self.permit is None:
            return None  # shown disabled in the footer: there is no write path without the flag
        if action == "revert" and not self.changes:
            return None
        return True

    def action_apply(self) -> None:
        if self.apply_off:
            self.notify(self.apply_off, severity="warning")
            return
        if self.permit is None:
            self.notify("apply is off: start synscope with --allow-apply to enable it", severity="warning")
            return
        p = self.selected
        if p is None:
            self.notify("no sysctl proposed here", severity="warning")
            return
        cur = self.current.get(p.key, p.current)
        if cur == p.value:
            self.notify(f"{p.key} is already {p.value} in {self.ns.name}")
            return
        if p.scope not in ("namespace", "host"):
            self.notify(f"{p.key} is {p.scope} on this kernel: synscope writes only inside the chosen namespace; "
                        "use the host command in the preview", severity="error")
            return
        where = "the HOST namespace (the node itself)" if p.scope == "host" else f"{self.ns.name} only"
        body = (
            f"namespace: {self.ns.name} ({self.ns.kind}, {self.ns.label})\n"
            f"write:     {p.key} = {p.value}\n"
            f"now:       {cur if cur is not None else '(absent)'}   host: {p.host if p.host is not None else '(absent)'}\n"
            f"affects:   {where}; lasts until the namespace goes away or it is reverted (r)\n"
            f"risk:      {p.risk}"
        )
        self.app.push_screen(ConfirmChange(f"Write {p.key} in {self.ns.name}?", body),
                             lambda yes: self._confirmed_apply(p) if yes else self.notify("nothing written"))

    def _confirmed_apply(self, p: Proposal) -> None:
        self._write(p.key, p.value, None)

    def action_revert(self) -> None:
        if self.permit is None or not self.changes:
            self.notify("nothing to revert", severity="warning")
            return
        ch = self.changes[-1]
        body = (
            f"namespace: {self.ns.name} ({self.ns.label})\n"
            f"write:     {ch.key} = {ch.before}   (back from {ch.after})"
        )
        self.app.push_screen(ConfirmChange(f"Revert {ch.key} in {self.ns.name}?", body, yes="Revert"),
                             lambda yes: self._write(ch.key, ch.before, ch) if yes else self.notify("nothing written"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="sysctl-write")
    def _write(self, key: str, value: str, reverting: Change | None) -> None:
        # runs in a thread: core enters the namespace on its own setns thread and verifies it
        try:
            if reverting is not None:
                change = revert_change(reverting, self.ns, self.permit, log_dir=self.log_dir)
            else:
                change = apply_sysctl(self.ns, key, value, self.permit, log_dir=self.log_dir)
        except Exception as exc:  # any failure is shown, never a traceback
            self.app.call_from_thread(self._write_failed, key, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._written, change, reverting)

    def _written(self, change: Change, reverting: Change | None) -> None:
        if reverting is not None and self.changes and self.changes[-1] is reverting:
            self.changes.pop()
        elif reverting is None:
            self.changes.append(change)
        self.current[change.key] = change.after
        where = f" (logged to {change.log_path})" if change.log_path else ""
        self.log_lines.append(change.describe() + where)
        self._refresh()
        self.refresh_bindings()
        if change.verified:
            hint = "; r reverts it" if change.action == "apply" else ""
            self.notify(f"{change.key} = {change.after} in {self.ns.name}, read back{hint}")
        else:
            self.notify(f"{change.key}: wrote {change.requested}, read back {change.after}", severity="error")

    def _write_failed(self, key: str, why: str) -> None:
        self.log_lines.append(f"FAILED {key}: {why}")
        self._refresh()
        self.notify(f"{key} not written: {why}", severity="error")

    def action_close(self) -> None:
        self.app.pop_screen()
