"""Delayed ACKs for real: a slow reader of small writes, the finding, and its fix applied.

The reader reads every 0.5 s while 100-byte writes arrive every 50 ms, so their ACKs wait for
the delayed-ACK timer (DelayedACKs). The finding must say what they are, and give the exact
`ip route change … quickack 1` for the reader's real route. Running that command and the same
traffic again must stop the delayed ACKs: the advice is checked by doing it.
"""

from __future__ import annotations

import shlex
import subprocess

from nethelpers import NetnsLab, require_root
from scenarios import Scene, slow_exchange, slow_reader

from tui.core.netns import NetnsReader


def test_slow_reader_delayed_acks_finding_and_its_quickack_command_works():
    require_root()
    reader = NetnsReader()
    try:
        with NetnsLab("da") as lab:
            scene = Scene(lab, reader, "slow reader")
            (rd, wr) = slow_reader(scene)
            assert rd.ok and wr.ok, (rd.explain(), wr.explain())
            d = scene.diagnoses["reader"]
            (f,) = d.findings
            assert f.id == "delayed-acks" and f.severity == "info" and f.proposals == () and f.not_a_sysctl
            assert "On their own they are normal" in f.explanation and "Nagle" in f.explanation
            assert f.confidence == "medium" and "capture" in f.confidence_why
            path = d.ns.path
            (cmd,) = [a for a in f.advice if a.startswith(f"nsenter --net={path} ip route change ")]
            # the reader's one route, its veth's prefix, rebuilt whole
            assert cmd.endswith(" proto kernel scope link src 198.51.100.1 quickack 1"), cmd
            assert any("TCP_NODELAY" in a for a in f.advice)

            subprocess.run(shlex.split(cmd), check=True, capture_output=True, text=True, timeout=10)
            before = scene.counter("reader", "TcpExt.DelayedACKs")
            writer = slow_exchange(scene, writes=60, port=5051)
            scene.wait("the writer's 60 writes", lambda: "written" in writer.lines, timeout=30)
            # 60 writes read as slowly: without quickack about 45 of them waited for the timer
            assert scene.counter("reader", "TcpExt.DelayedACKs") - before <= 1
    finally:
        reader.close()
