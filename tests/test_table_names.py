"""A row's name is NetNS.name, at every width: a pod's k8s namespace is never added twice.

The rows here come from the scripted node, which is built by the real Docker and kubelet
source code (tui/scripted_node.py): its pods are named exactly as the live sources name
them. The table's one row painter must paint what rich paints for the row's cells: the same
characters in the same styles, wide characters cut by cells.
"""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from tui.core.namespaces import NetNS
from tui.scripted_node import HOST_INODE, scripted_node
from tui.source import NsSummary
from widgets.namespace_table import NamespaceTable

WEB = HOST_INODE + 1201


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
async def test_pod_rows_read_namespace_slash_pod_once(width, widget_host):
    rows, _ = scripted_node().namespaces()
    web = next(ns for ns in rows if ns.inode == WEB)
    assert (web.kind, web.name, web.k8s_namespace, web.pod) == ("pod", "mservice/web-7d9f8c6b5-x2x4q", "mservice",
                                                                "web-7d9f8c6b5-x2x4q")
    app = widget_host(NamespaceTable)
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


def rich_line(table: NamespaceTable, cells) -> list:  # type: ignore[no-untyped-def]
    """The reference: each cell as rich renders its Text, cut with "…" to its column's
    cells and padded (the way the table painted rows before it had one painter)."""
    console = table.app.console
    segs: list[Segment] = []
    for i, (key, _, width) in enumerate(table._layout.columns):
        if i:
            segs.append(Segment(" "))
        cell = cells[key].copy()
        cell.truncate(width, overflow="ellipsis")
        pad = width - cell.cell_len
        if pad > 0:
            if cell.justify == "right":
                segs.append(Segment(" " * pad))
            else:
                cell.append(" " * pad)
        style = Style.parse(cell.style) if isinstance(cell.style, str) else cell.style
        segs.extend(Segment.apply_style((seg for seg in cell.render(console) if seg.text), style))
    return segs


@pytest.mark.parametrize("width", [80, 200])
async def test_the_row_painter_paints_what_rich_paints(width, widget_host):
    rows, _ = scripted_node().namespaces()
    long_pod = NetNS(77, "pod", "team-with-a-long-name/pod-" + "x" * 90, (5,), pod="pod-" + "x" * 90,
                     k8s_namespace="team-with-a-long-name")
    long_ns = NetNS(78, "pod", "k" * 90 + "/p", (6,), pod="p", k8s_namespace="k" * 90)
    wide = NetNS(79, "proc", "网络服务-" + "宽" * 50, (7,))  # two cells a character: cut by cells
    wide_pod = NetNS(80, "pod", "团队/web-1", (8,), pod="web-1", k8s_namespace="团队")
    accented = NetNS(81, "container", "café-worker", (9,))
    rows = [*rows, long_pod, long_ns, wide, wide_pod, accented]
    app = widget_host(NamespaceTable)
    async with app.run_test(size=(width, 40)) as pilot:
        table = app.query_one(NamespaceTable)
        lit = {WEB: NsSummary(WEB, syn_delta=3, syn_rate=3.0, last_moved=10.0),
               77: NsSummary(77, dack_delta=2, dack_rate=2.0, last_moved=10.0),
               79: NsSummary(79, syn_delta=1, syn_rate=1.0, last_moved=10.0)}
        table.show(rows, lit, 10.0)
        await pilot.pause()
        for inode in table.order:
            table._fresh(inode)
            painted = table._row_strip(inode)
            name = next(n.name for n in rows if n.inode == inode)
            assert cells(painted) == cells(rich_line(table, table._row_cells(inode))), name
            columns = table._layout.columns
            assert painted.cell_length == sum(w for _, _, w in columns) + len(columns) - 1, name  # cut by cells
        header = {key: Text(label, justify="right" if key in ("pid", "syn", "dack", "retrans", "last", "trend")
                            else "left") for key, label, _ in table._layout.columns}
        assert cells(table._header_strip()) == cells(rich_line(table, header))
