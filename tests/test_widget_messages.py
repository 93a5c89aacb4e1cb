"""Every widget message names the widget that sent it (``control``), so ``@on(Msg, "#id")``
selectors and handlers that tell two widgets apart work: Textual matches selectors on it."""

from __future__ import annotations

from widgets.capture_list import CaptureList
from widgets.counter_chart import CounterChart
from widgets.counter_panel import CounterPanel
from widgets.namespace_table import NamespaceTable


def test_each_widget_message_has_its_sender_as_control():
    table, panel, chart, captures = NamespaceTable(), CounterPanel(), CounterChart(), CaptureList()
    messages = [
        (NamespaceTable.Selected(table, None), table),
        (NamespaceTable.DetailRequested(table), table),
        (CounterPanel.Focused(panel, "TcpExt.ListenDrops"), panel),
        (CounterChart.Built(chart, (0, 1, 1, "t"), [], "title"), chart),
        (CaptureList.Chosen(captures, 1), captures),
    ]
    for message, sender in messages:
        assert message.control is sender, type(message).__qualname__
