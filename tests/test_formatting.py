"""The formatters the table and the detail panel share: one "N s ago", one set of blocks."""

from __future__ import annotations

from widgets.formatting import fmt_ago, fmt_rate, human_bytes
from widgets.sparkline import BARS, trend_blocks


def test_ago_in_its_three_widths():
    assert [fmt_ago(s, compact=True) for s in (0, 45, 119, 120, 7199, 7200)] == ["0s", "45s", "119s", "2m", "119m", "2h"]
    assert [fmt_ago(s, short=True) for s in (0, 45, 180, 10_800)] == ["now", "45s ago", "3m ago", "3h ago"]
    assert [fmt_ago(s) for s in (0, 45, 180, 10_800)] == [
        "moving now", "last moved 45 s ago", "last moved 3 min ago", "last moved 3 h ago"]
    assert fmt_ago(None) == fmt_ago(None, short=True) == "never moved"


def test_trend_blocks_blank_for_quiet_ticks_and_at_least_the_lowest_block_for_one_drop():
    assert trend_blocks([0, 0, 0]) == ""
    assert trend_blocks([0, 1, 100, 50]) == " " + BARS[0] + BARS[-1] + BARS[3]


def test_rates_and_bytes():
    assert [fmt_rate(r) for r in (0, 0.5, 3, 12.4, 1234, 15000)] == ["·", "0.5", "3", "12", "1.2k", "15k"]
    assert [human_bytes(n) for n in (512, 1500, 25_000_000)] == ["512 B", "1.5 kB", "25.0 MB"]
