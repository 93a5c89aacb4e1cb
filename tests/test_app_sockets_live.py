"""The sockets pane on the LIVE source, against what ss prints inside the namespace.

The lab of tests/test_sockets_summary.py: in the server namespace a listen(4) listener that
never accepts with 5 connections queued (full), a listener whose clients drop its SYN-ACKs
(3 half-open), 3 TIME-WAIT sockets, and a connection that lost every 5th segment to its peer.
The app runs headless on LiveSource (real discovery, the sampler's setns thread), filtered to
that namespace; the test presses l and steps the ticks itself, then checks that the pane
shows the figures ``ss -ltn``, ``ss -tn state syn-recv``, ``ss -tan`` and ``ss -ti`` print
there. Then a namespace that is deleted while its pane is open: the pane says so.
"""

from __future__ import annotations

import re
from collections import Counter

from nethelpers import ip, wait_for
from test_sockets_summary import BULK_PORT, FULL_PORT, HALF_PORT, _lab, _ss, _ss_info

from tui.app import SynscopeApp
from tui.core.namespaces import ns_inode_of_path
from tui.source import LiveSource


async def _step(app: SynscopeApp, pilot) -> None:  # type: ignore[no-untyped-def]
    app.request_tick()
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def _ss_now(srv: str) -> tuple:
    return (tuple(_ss(srv, "-ltn")), tuple(_ss(srv, "-tn", "state", "syn-recv")),
            tuple(sorted(Counter(line.split()[0] for line in _ss(srv, "-tan")).items())),
            tuple(sorted((k, tuple(sorted(v.items()))) for k, v in _ss_info(srv).items())))


async def test_the_pane_shows_what_ss_prints_inside_the_namespace(lab):
    srv = _lab(lab)
    srv_inode = ns_inode_of_path(f"/run/netns/{srv}")
    assert wait_for(lambda: len(_ss(srv, "-tn", "state", "syn-recv")) == 3, timeout=10)
    source = LiveSource(interval=0.3)
    app = SynscopeApp(source, ns_filter=srv, autotick=False)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await _step(app, pilot)
            assert app.main.table.order == [srv_inode]
            await pilot.press("l")
            pane = app.main.sockets
            text = before = after = None
            for _ in range(10):  # bounded: a few ticks; the lab has settled, so usually the first
                before = _ss_now(srv)
                await _step(app, pilot)
                text = pane.text
                after = _ss_now(srv)
                if before == after and pane.summary is not None and pane.summary.time:
                    break
            assert before == after, "the sockets kept changing while ss ran"
            assert pane.summary is not None and pane.summary.ns_inode == srv_inode, text
            assert text is not None
            lines = text.splitlines()
            ss_listen, ss_synrecv, ss_states, _ = before
            half_open = Counter(int(line.split()[2].rpartition(":")[2]) for line in ss_synrecv)
            # ss -ltn: Recv-Q / Send-Q on the listener's line, FULL where the queue is at its
            # backlog; ss -tn state syn-recv: the half-open count at its end
            for row in ss_listen:
                _state, recvq, sendq, local, _peer = row.split()[:5]
                port = int(local.rpartition(":")[2])
                line = next(ln for ln in lines if ln.startswith(local + " "))
                full = int(recvq) > 0 and int(recvq) >= int(sendq)
                assert re.search(rf"\s{recvq}/{sendq}{' FULL' if full else ''}\s+{half_open.get(port, 0)}$", line), line
            assert f"{FULL_PORT}" in text and f"{HALF_PORT}" in text
            full_line = next(ln for ln in lines if ln.startswith(f"0.0.0.0:{FULL_PORT} "))
            assert "5/4 FULL" in full_line
            # ss -tan: every state's count on the first line, TIME-WAIT included
            for state, n in ss_states:
                assert f"{state} {n}" in lines[0], (state, n, lines[0])
            assert sum(n for _, n in ss_states) == int(lines[0].split()[0])
            # ss -ti: the lossy peer first, with its connection in ss's own words
            ss_info = dict((k, dict(v)) for k, v in before[3])
            lossy = next(v for (local, peer), v in ss_info.items() if peer.startswith("203.0.113.2:"))
            retrans = lossy.get("retrans", "0/0")
            peer_rows = [ln for ln in lines if re.match(r"^\d+\.\d+\.\d+\.\d+\s+\d+\s", ln)]
            assert peer_rows[0].split()[:3] == ["203.0.113.2", "1", retrans], peer_rows
            assert retrans != "0/0"  # the lab's loss made it retransmit
            conn = next(ln for ln in lines if f":{BULK_PORT} -> :" in ln)
            assert f"rtt:{lossy['rtt']}" in conn and f"cwnd:{lossy['cwnd']}" in conn and f"retrans:{retrans}" in conn
            assert peer_rows[1].split()[:3] == ["198.51.100.2", "5", "0/0"]

            # closing stops the reads
            await pilot.press("l")
            reads = app.main.sockets_view.reads
            for _ in range(3):
                await _step(app, pilot)
            assert app.main.sockets_view.reads == reads and not pane.display
    finally:
        source.close()


async def test_a_namespace_deleted_while_its_pane_is_open_is_named_as_gone(lab):
    name = lab.add("gone")
    inode = ns_inode_of_path(f"/run/netns/{name}")
    source = LiveSource(interval=0.3)
    app = SynscopeApp(source, ns_filter=name, autotick=False)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await _step(app, pilot)
            assert app.main.table.order == [inode]
            await pilot.press("l")
            await _step(app, pilot)
            pane = app.main.sockets
            assert pane.summary is not None and pane.text.startswith("0 TCP sockets"), pane.text
            ip("netns", "del", name)
            lab.names.remove(name)
            for _ in range(10):  # bounded: the next sample finds it gone
                await _step(app, pilot)
                if pane.summary is None:
                    break
            text = pane.text
            assert pane.summary is None and name in text and "Traceback" not in text, text
            assert text == f"{name} (net:[{inode}]) vanished: its namespace is no longer on the node" or \
                text.startswith(f"{name}: cannot read its sockets:"), text
            await _step(app, pilot)  # the app goes on sampling
            assert app.latest is not None and app.latest.seq >= 3  # frames the source produced
    finally:
        source.close()
