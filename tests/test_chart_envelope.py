"""The chart draws a long history through ``envelope``: fewer points, the same picture."""

from __future__ import annotations

import random

from widgets.counter_chart import envelope


def test_short_series_are_drawn_as_they_are():
    xs, ys = [-3.0, -2.0, -1.0, 0.0], [0.0, 5.0, 0.0, 1.0]
    assert envelope(xs, ys, 78) == (xs, ys)


def test_a_single_second_burst_in_fifteen_minutes_keeps_its_height():
    n = 900
    xs = [float(i - n + 1) for i in range(n)]
    ys = [0.0] * n
    ys[417] = 250.0  # one sample of SYN drops
    px, py = envelope(xs, ys, 78)
    assert len(px) <= 2 * 78 < n
    assert max(py) == 250.0 and px[py.index(250.0)] == xs[417]
    assert min(py) == 0.0


def test_envelope_keeps_every_run_s_extremes_in_time_order():
    r = random.Random(3)
    n, buckets = 1000, 60
    xs = [float(i) for i in range(n)]
    ys = [r.random() * 100 for _ in range(n)]
    px, py = envelope(xs, ys, buckets)
    assert px == sorted(px) and len(set(px)) == len(px)
    assert len(px) <= 2 * buckets
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        run = ys[lo:hi]
        kept = [y for x, y in zip(px, py) if lo <= x < hi]
        assert max(run) in kept and min(run) in kept
