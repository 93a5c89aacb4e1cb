"""Store.retreat (one tick back, in place) gives what Store.history_at rebuilds at that tick.

On the real recording in tests/fixtures/recordings and on a store recorded here from real
namespaces (a listen overflow across a veth pair, a namespace that appears and one that is
deleted mid-recording, chunks of 4 ticks), with the History's usual capacity and with small
ones, so that stepping back brings a tick back into full windows, across chunk boundaries.
Every step is compared field by field with a rebuild: the ticks' times, every counter's
deltas and rates, every gauge's values, the absolute values, what moved in the newest tick,
when each counter last moved, and the moment's names, statuses and notes.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from nethelpers import ip, listen_overflow

from tui.core.counters import is_gauge
from tui.core.history import NsHistory
from tui.core.idle_skip import IdleSkip
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery
from tui.core.recorder import Recorder
from tui.core.store.reader import Moment, Store

RECORDING = Path(__file__).parent / "fixtures" / "recordings" / "lab-incidents.synscope"


def _picture(h: NsHistory) -> dict[str, object]:
    """Everything a reader of the history sees (not how its rings are numbered)."""
    cap = h.capacity
    w = h.window()
    keys = sorted(set(h.series) | set(h.values()))
    return {
        "ticks in window": len(w),
        "times": [h.times[i % cap] for i in w],
        "last_time": h.last_time,
        "deltas": {k: h.deltas(k) for k in keys if not is_gauge(k)},
        # the oldest tick's rate needs the time before it, which a ring that wrapped no longer has
        "rates": {k: h.rates(k)[1:] for k in keys if not is_gauge(k)},
        "gauges": {k: h.gauge_values(k) for k in keys if is_gauge(k)},
        "values": h.values(),
        "last_deltas": h.last_deltas,
        "last_resets": sorted(h.last_resets),
        "last_gauges": h.last_gauges,
        "last_moved": h.last_moved,
        "moved": h.moved(),
    }


def _assert_same(stepped: Moment, rebuilt: Moment) -> None:
    where = f"tick {rebuilt.tick}"
    assert (stepped.tick, stepped.time) == (rebuilt.tick, rebuilt.time), where
    assert set(stepped.recorded) == set(rebuilt.recorded), where
    assert stepped.namespaces == rebuilt.namespaces, where
    assert (stepped.statuses, stepped.notes) == (rebuilt.statuses, rebuilt.notes), where
    for inode in rebuilt.recorded:
        a, b = _picture(stepped.history.get(inode)), _picture(rebuilt.history.get(inode))
        for name in b:
            assert a[name] == b[name], f"{where}, net:[{inode}], {name}"
        assert stepped.values.get(inode) == rebuilt.values.get(inode), f"{where}, net:[{inode}], values"


def _walk_back(s: Store, m: Moment, capacity: int, steps: int) -> tuple[Moment, int]:
    """Step back up to `steps` ticks, each compared with a rebuild; returns where it ended."""
    done = 0
    while done < steps:
        prev = s.retreat(m)
        if prev is None:
            break
        m, done = prev, done + 1
        _assert_same(m, s.history_at(m.time, capacity))
    return m, done


@pytest.mark.parametrize("capacity", [900, 7, 2, 1])
def test_retreat_after_any_number_of_advances_on_the_fixture_recording(capacity):
    s = Store(str(RECORDING))
    first, last = s.span()
    n_ticks = s.tick_at(last)[0] + 1
    assert n_ticks > 30 and not s.notes
    # from the end after advancing over the whole recording, back to the very first tick
    m = s.history_at(first, capacity)
    while (nxt := s.advance(m)) is not None:
        m = nxt
    m, done = _walk_back(s, m, capacity, n_ticks)
    assert done == n_ticks - 1 and m.tick == 0
    assert s.retreat(m) is None  # and no further
    # a few steps back after none, one or a few steps forward, from here and there
    for start in (10, 25, n_ticks - 4):
        for forward in (0, 1, 3):
            m = s.history_at(s.tick_times(start, start)[0][1], capacity)
            for _ in range(forward):
                m = s.advance(m)
            m, done = _walk_back(s, m, capacity, 6)
            assert done == 6 and m.tick == start + forward - 6


def test_a_random_walk_forward_and_back_on_the_fixture_recording():
    s = Store(str(RECORDING))
    rnd = random.Random(12)
    for capacity in (900, 5):
        m = s.history_at(s.span()[0], capacity)
        backs = 0
        for _ in range(150):
            was = m.tick
            nxt = s.retreat(m) if rnd.random() < 0.5 else s.advance(m)
            if nxt is None:
                continue
            m = nxt
            if m.tick < was:  # advance has its own test (test_recorder); its few differences
                backs += 1    # from a rebuild are not retreat's to check
                _assert_same(m, s.history_at(m.time, capacity))
        assert backs > 30


def test_namespaces_that_start_and_end_in_the_fixture_are_rebuilt_at_their_edges():
    s = Store(str(RECORDING))
    last_tick = s.tick_at(s.span()[1])[0]
    edges = sorted({r.first_tick for r in s.namespaces() if r.first_tick > 0}
                   | {r.last_tick + 1 for r in s.namespaces() if r.last_tick < last_tick})
    edges = [e for e in edges if 3 <= e < last_tick]
    assert edges, "the fixture has namespaces that appear or go away inside it"
    for edge in edges:
        m = s.history_at(s.tick_times(edge + 1, edge + 1)[0][1], 5)
        before = set(m.recorded)
        m, done = _walk_back(s, m, 5, 3)
        assert done == 3 and set(m.recorded) != before, edge


def _recorder(directory: str) -> Recorder:
    monitor = Monitor(Discovery(), background=False, idle_skip=IdleSkip())
    return Recorder(directory, monitor, interval=0.1, chunk_ticks=4, keyframe_chunks=2)


def _tick(rec: Recorder, n: int) -> None:
    for _ in range(n):
        rec.record_tick()
        time.sleep(0.05)


def test_retreat_on_a_store_recorded_from_real_namespaces(lab, tmp_path):
    """A listen overflow, a namespace added and one deleted while recording, chunks of 4
    ticks: every step back from the end to the start equals a rebuild, with capacities that
    make the windows full (a tick comes back on every step) and one that does not."""
    server_ns, client_ns, gone_ns = lab.add("sv"), lab.add("cl"), lab.add("gone")
    lab.veth(server_ns, "198.51.100.1/24", client_ns, "198.51.100.2/24")
    rec = _recorder(str(tmp_path))
    try:
        _tick(rec, 3)
        server, client = listen_overflow(lab, server_ns, client_ns, "198.51.100.1", n=10, hold=1.0)
        _tick(rec, 8)
        new_ns = lab.add("new")  # appears mid-recording
        ip("netns", "exec", new_ns, "ping", "-c", "3", "-i", "0.2", "-W", "1", "127.0.0.1", check=False)
        rec.monitor.rediscover()  # a scan now, not at the next discovery period
        _tick(rec, 8)
        ip("netns", "del", gone_ns)  # goes away mid-recording
        lab.names.remove(gone_ns)
        rec.monitor.rediscover()
        _tick(rec, 10)
        client.wait(timeout=20)
    finally:
        rec.close()
    s = Store(str(tmp_path))
    first, last = s.span()
    end = s.tick_at(last)[0]
    by_name = {r.netns.name: r for r in s.namespaces()}
    assert by_name[new_ns].first_tick > 0, "the added namespace starts inside the recording"
    assert by_name[gone_ns].last_tick < end, "the deleted namespace ends inside the recording"
    assert end // s.chunk_ticks >= 5, "the walk crosses chunk boundaries"
    server_rec = by_name[server_ns]
    assert s.values_at(server_rec, end).get("TcpExt.ListenOverflows", 0) > 0
    for capacity in (900, 6, 3, 1):
        m = s.history_at(last, capacity)
        for _ in range(5):  # stepped forward to the end again, then all the way back
            m = s.retreat(m)
            _assert_same(m, s.history_at(m.time, capacity))
        while (nxt := s.advance(m)) is not None:
            m = nxt
        m, done = _walk_back(s, m, capacity, end + 1)
        assert done == end and m.tick == 0, capacity
        assert s.retreat(m) is None
