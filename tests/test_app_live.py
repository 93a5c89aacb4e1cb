"""End to end on the real kernel: the app on the LIVE source sees a listen overflow.

Two namespaces joined by a veth; a backlog-1 server that never accepts, a client opening 20
connections. The app runs headless on LiveSource (real discovery, real /proc reads, setns)
with a short interval; the test steps ticks itself and waits on conditions (bounded by a
count of ticks), never on a fixed sleep.
"""

from __future__ import annotations

import subprocess

from nethelpers import listen_overflow
from rich.text import Text

from tui.app import SynscopeApp
from tui.core.namespaces import ns_inode_of_path
from tui.screens.sysctl import SysctlScreen
from tui.source import LiveSource


async def test_listen_overflow_lights_the_row_and_shows_listendrops(lab):
    srv = lab.add("srv")
    cli = lab.add("cli")
    lab.veth(srv, "198.51.100.1/24", cli, "198.51.100.2/24")
    srv_inode = ns_inode_of_path(f"/run/netns/{srv}")
    source = LiveSource(interval=0.3)
    app = SynscopeApp(source, ns_filter=srv, autotick=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            async def step() -> None:
                app.request_tick()
                for _ in range(3):
                    await app.workers.wait_for_complete()
                    await pilot.pause()

            await step()
            table = app.main.table
            assert table.order == [srv_inode], (table.order, srv_inode)  # the filter found the server's netns
            assert app.main.selected_namespace is not None and app.main.selected_namespace.name == srv
            mark = table.get_cell(str(srv_inode), "mark")
            assert "S" not in mark.plain  # nothing happened yet: not lit

            server, client = listen_overflow(lab, srv, cli, "198.51.100.1", n=20, hold=4)
            lit_seen = drops_seen = None
            for _ in range(60):  # at most 60 ticks (~20 s with the pauses); usually 2-5
                await pilot.pause(0.3)  # let the kernel work between two samples
                await step()
                summary = app.main.frame.summary(srv_inode)
                mark = table.get_cell(str(srv_inode), "mark")
                assert isinstance(mark, Text)
                if summary.syn_lit:
                    # the row on screen is lit with the marker, in this very frame
                    assert "S" in mark.plain
                    lit_seen = mark.plain
                    d = app.main.detail
                    assert d is not None and d.inode == srv_inode
                    line = next((ln for ln in d.lines if ln.key == "TcpExt.ListenDrops"), None)
                    if line is not None and line.delta:
                        drops_seen = line
                        break
            assert lit_seen is not None, "the server's row never lit up"
            assert drops_seen is not None, "the detail never showed a ListenDrops delta"
            assert drops_seen.hot and drops_seen.value > 0 and drops_seen.rate and drops_seen.rate > 0
            assert drops_seen.last_moved_ago == 0.0
            # the panel on screen carries it, highlighted
            panel = app.main.panel
            assert panel.highlight("TcpExt.ListenDrops") == "syn"
            painted = panel.line_text("TcpExt.ListenDrops")
            assert "!TcpExtListenDrops" in painted and f"+{drops_seen.delta}" in painted, painted

            # `s` on that row: the diagnosis reads the namespace's own sysctls and sockets
            await pilot.press("s")
            for _ in range(20):
                await app.workers.wait_for_complete()
                await pilot.pause()
                if isinstance(app.screen, SysctlScreen):
                    break
            screen = app.screen
            assert isinstance(screen, SysctlScreen), "s did not open the sysctl preview"
            accept = [f for f in screen.findings if "accept queue" in f.title.lower()]
            assert accept, [f.title for f in screen.findings]
            assert [sk.port for sk in accept[0].sockets] == [8080]  # the listener at its backlog, named
            # listen(1): the application's own backlog is the limit, read against the namespace's
            # own somaxconn; raising somaxconn would change nothing, so no sysctl is proposed
            ns_somaxconn = subprocess.run(["ip", "netns", "exec", srv, "sysctl", "-n", "net.core.somaxconn"],
                                          capture_output=True, text=True, check=True).stdout.strip()
            assert f"port 8080 (backlog 1): the application's own listen() backlog is the limit (somaxconn " \
                   f"{ns_somaxconn} allows more), so raising somaxconn does not help" in accept[0].explanation
            assert "net.core.somaxconn" not in {p.key for p in screen.proposals}
            assert accept[0].confidence == "high"
            client.wait(timeout=15)
    finally:
        source.close()
