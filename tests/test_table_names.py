"""A row's name is NetNS.name, at every width: a pod's k8s namespace is never added twice.

The rows here come from the scripted node, which is built by the real Docker and kubelet
source code (tui/scripted_node.py): its pods are named exactly as the live sources name
them. The table's two row paths (the fast one and the general rich Text one) must paint
the same characters in the same styles.
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tui.core.namespaces import NetNS
from tui.scripted_node import HOST_INODE, scripted_node
from tui.source import NsSummary
from widgets.namespace_table import NamespaceTable

WEB = HOST_INODE + 1201


class Host(App):
    def compose(self) -> ComposeResult:
        yield NamespaceTable()


def cells(strip) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Each painted character with what can be seen of its style (segment boundaries do not
    matter; a space's colour or boldness cannot be seen, its background and reverse can)."""
    out = []
    for seg in strip:
        st = seg.style
        for ch in seg.text:
            if ch == " ":
                out.append((ch, (st.bgcolor, st.reverse, st.underline) if st else (None, None, None)))
            else:
                out.append((ch, st or None))
    return out


@pytest.mark.parametrize("width", [80, 119, 120, 200])
async def test_pod_rows_read_namespace_slash_pod_once(width):
    rows, _ = scripted_node().namespaces()
    web = next(ns for ns in rows if ns.inode == WEB)
    assert (web.kind, web.name, web.k8s_namespace, web.pod) == ("pod", "mservice/web-7d9f8c6b5-x2x4q", "mservice",
                                                                "web-7d9f8c6b5-x2x4q")
    app = Host()
    async with app.run_test(size=(width, 20)) as pilot:
        table = app.query_one(NamespaceTable)
        table.show(rows, {WEB: NsSummary(WEB, syn_delta=3, syn_rate=3.0, last_moved=10.0)}, 10.0)
        await pilot.pause()
        for y, inode in enumerate(table.order, start=1):
            ns = next(n for n in rows if n.inode == inode)
            painted = table.render_line(y).text
            assert painted.count("mservice/") <= 1, painted
            if ns.kind == "pod" and len(ns.name) < table._layout.name_w:
                assert f"  {ns.name} " in painted, (painted, ns.name)  # the whole name, once
        assert "k8s namespace" not in table.render_line(0).text  # the name carries it


@pytest.mark.parametrize("width", [80, 200])
async def test_both_row_paths_paint_the_same(width):
    rows, _ = scripted_node().namespaces()
    long_pod = NetNS(77, "pod", "team-with-a-long-name/pod-" + "x" * 90, (5,), pod="pod-" + "x" * 90,
                     k8s_namespace="team-with-a-long-name")
    long_ns = NetNS(78, "pod", "k" * 90 + "/p", (6,), pod="p", k8s_namespace="k" * 90)
    rows = [*rows, long_pod, long_ns]
    app = Host()
    async with app.run_test(size=(width, 40)) as pilot:
        table = app.query_one(NamespaceTable)
        lit = {WEB: NsSummary(WEB, syn_delta=3, syn_rate=3.0, last_moved=10.0),
               77: NsSummary(77, dack_delta=2, dack_rate=2.0, last_moved=10.0)}
        table.show(rows, lit, 10.0)
        await pilot.pause()
        checked = 0
        for inode in table.order:
            table._fresh(inode)
            fast = table._fast_row(table._inputs[inode])
            if fast is None:
                continue  # a non-ASCII name: the general path only
            slow = table._line(table._row_cells(inode))
            assert cells(fast) == cells(slow), next(n.name for n in rows if n.inode == inode)
            checked += 1
        assert checked >= 9
