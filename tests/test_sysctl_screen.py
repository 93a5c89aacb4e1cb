"""The sysctl preview screen, driven with Pilot on a tiny App with scripted findings.

Copy and save need no root. The apply-confirm flow writes for real into a lab namespace
(somaxconn 37 -> 4096) and reverts; the host's value is checked to be unchanged.
"""

from __future__ import annotations

import os
import stat
import subprocess


from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.rules import Evidence, Finding
from tui.core.sysctl import Proposal
from tui.screens.sysctl import ConfirmChange, SavePreview, SysctlScreen
from widgets.sysctl_diff import SysctlDiff

SIZE = (100, 30)


def scripted(ns_current: str = "37", host: str = "4096") -> tuple[list[Finding], list[Proposal]]:
    p = Proposal("net.core.somaxconn", "4096", ns_current, host, "namespace",
                 "ListenOverflows +72, ListenDrops +72 in 10 s; full: port 8080", "low: more memory", "accept-queue")
    f = Finding("accept-queue", "critical", "Accept queue overflow", "explained",
                (Evidence("TcpExt.ListenOverflows", 72, ""), Evidence("TcpExt.ListenDrops", 72, "")), 10.0, (p,),
                ("raise the app's backlog",), confidence="high", confidence_why="port 8080 is full at somaxconn")
    loss = Finding("path-loss", "warning", "Retransmits: loss on the path, not a sysctl", "lossy",
                   (Evidence("Tcp.RetransSegs", 80, ""),), 10.0, (), ("capture it",), not_a_sysctl=True)
    return [f, loss], [p]


def host_value(key: str) -> str:
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return f.read().strip()


async def test_preview_shows_values_copies_and_saves(tmp_path, screen_host):
    ns = NetNS(42, "pod", "web-1", pids=(4242,), pod="web-1", k8s_namespace="shop")
    findings, props = scripted()
    screen = SysctlScreen(ns, findings, props, allow_apply=False, kernel="6.18", log_dir=str(tmp_path))
    app = screen_host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen is screen
        diff = screen.query_one(SysctlDiff)
        assert diff.row_count == 1
        row = [str(c) for c in diff.get_row("net.core.somaxconn")]
        assert row == ["net.core.somaxconn", "37", "4096", "4096", "namespace"]
        detail = str(screen.query_one("#sysctl-detail").render())
        assert "nsenter --net=/proc/4242/ns/net sysctl -w net.core.somaxconn=4096" in detail
        assert "securityContext" in detail and "--allowed-unsafe-sysctls" in detail
        assert "apply off" in str(screen.query_one("#sysctl-title").render())
        assert "not a sysctl" in str(screen.query_one("#sysctl-findings").render())
        # every finding's confidence: its level in the summary, level and why beside the proposal
        assert "confidence high" in str(screen.query_one("#sysctl-findings").render())
        assert "confidence: high — port 8080 is full at somaxconn" in detail
        # a finding with no proposal is in the (scrollable) detail too: the summary may be cut short
        assert "other findings (no sysctl):\nWARNING: Retransmits: loss on the path, not a sysctl" in detail

        await pilot.press("c")
        assert "## net.core.somaxconn: 37 -> 4096" in app.clipboard
        assert "Accept queue overflow: ListenOverflows +72" in app.clipboard
        assert "#   confidence high: port 8080 is full at somaxconn" in app.clipboard
        assert "#   confidence not stated" in app.clipboard  # the scripted loss finding has none
        await pilot.press("C")
        assert app.clipboard == "nsenter --net=/proc/4242/ns/net sysctl -w net.core.somaxconn=4096"

        target = tmp_path / "out" / "preview.txt"
        target.parent.mkdir()
        await pilot.press("W")
        await pilot.pause()
        assert isinstance(app.screen, SavePreview)
        inp = app.screen.query_one("#save-path")
        inp.value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert target.read_text() == screen.preview()
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600

        # no --allow-apply: a and r are disabled, nothing is written, no log exists
        await pilot.press("a")
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is screen and screen.changes == []
        assert not (tmp_path / "apply.log").exists()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_apply_confirm_and_revert_in_a_real_namespace(lab, tmp_path, screen_host):
    name = lab.add("scr")
    subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.core.somaxconn=37"], check=True)
    path = f"/run/netns/{name}"
    ns = NetNS(ns_inode_of_path(path) or 0, "netns", name, path=path)
    host_before = host_value("net.core.somaxconn")
    findings, props = scripted(host=host_before)

    def ns_value() -> str:
        return subprocess.run(["ip", "netns", "exec", name, "sysctl", "-n", "net.core.somaxconn"],
                              capture_output=True, text=True, check=True).stdout.strip()

    screen = SysctlScreen(ns, findings, props, allow_apply=True, log_dir=str(tmp_path))
    app = screen_host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "APPLY ON" in str(screen.query_one("#sysctl-title").render())
        # first say no: nothing is written
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmChange)
        body = str(app.screen.query_one("#confirm-body").render())
        assert f"namespace: {name}" in body and "write:     net.core.somaxconn = 4096" in body and "now:       37" in body
        await pilot.press("enter")  # the focused button is Cancel
        await pilot.pause()
        assert app.screen is screen and ns_value() == "37"

        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ns_value() == "4096"
        assert host_value("net.core.somaxconn") == host_before
        assert len(screen.changes) == 1 and screen.changes[0].verified
        log = str(screen.query_one("#sysctl-log").render())
        assert "apply: net.core.somaxconn 37 -> 4096" in log and "verified" in log
        assert [str(c) for c in screen.query_one(SysctlDiff).get_row("net.core.somaxconn")][1] == "4096"

        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmChange)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ns_value() == "37" and screen.changes == []
        assert host_value("net.core.somaxconn") == host_before
        assert len((tmp_path / "apply.log").read_text().splitlines()) == 2


async def test_from_diagnosis_with_no_finding_shows_notes_and_nothing_to_apply(tmp_path, screen_host):
    from tui.core.rules import Diagnosis

    ns = NetNS(43, "netns", "quiet", path="/run/netns/quiet-does-not-exist")
    d = Diagnosis(ns, (), None, None, 10.0, {}, ("sysctls not read: quiet (net:[43]) cannot be entered",))
    screen = SysctlScreen.from_diagnosis(d, allow_apply=True, log_dir=str(tmp_path))
    app = screen_host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "No finding" in str(screen.query_one("#sysctl-findings").render())
        assert "cannot be entered" in str(screen.query_one("#sysctl-log").render())
        assert screen.query_one(SysctlDiff).row_count == 0
        await pilot.press("a")  # allowed, but there is nothing to apply
        await pilot.pause()
        assert app.screen is screen and screen.changes == []
        assert not (tmp_path / "apply.log").exists()
        await pilot.press("c")
        assert "# no sysctl change proposed" in app.clipboard
