"""The UI benchmark's recording (scripts/make_bench_recording.py: the real `synscope record`
of 500 real namespaces with bounded traffic) holds what bench/bench_ui.py says it measures on:
500 namespaces of a node's kinds, a full history window and more, ~10% of the rows lit at a
tick. Replayed as any user replays it: no root, no kernel."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tui.core.history import DEFAULT_CAPACITY
from tui.replay_source import ReplaySource

RECORDING = Path(__file__).parent / "fixtures" / "recordings" / "bench-500.synscope"
MEASURED = 40  # bench_ui's default --ticks


@pytest.fixture(scope="module")
def replay():
    src = ReplaySource(str(RECORDING), capacity=20)  # a short window: the test stays cheap
    yield src
    src.close()


def test_it_holds_500_namespaces_of_a_nodes_kinds(replay):
    kinds = Counter(r.netns.kind for r in replay.store.namespaces())
    assert sum(kinds.values()) == 500, kinds
    assert kinds["host"] == 1 and kinds["pod"] >= 20 and kinds["netns"] >= 400, kinds
    pods = [r.netns for r in replay.store.namespaces() if r.netns.kind == "pod"]
    assert all(ns.k8s_namespace and ns.pod and ns.name == f"{ns.k8s_namespace}/{ns.pod}" for ns in pods)


def test_it_is_long_enough_for_the_benchs_window_and_ticks(replay):
    store = replay.store
    first, last = (store.tick_at(t) for t in replay.span)
    assert first is not None and last is not None
    assert last[0] - first[0] + 1 >= DEFAULT_CAPACITY + MEASURED + 10, (first, last)


def test_about_a_tenth_of_the_rows_are_lit_at_each_tick_and_they_rotate(replay):
    replay.go_to((replay.span[0] + replay.span[1]) / 2)
    lit_sets = []
    dack = 0
    for _ in range(10):
        frame = replay.tick()
        assert len(frame.namespaces) == 500
        lit = {i for i, s in frame.summaries.items() if s.lit}
        dack += sum(1 for s in frame.summaries.values() if s.dack_lit)
        assert 25 <= len(lit) <= 100, len(lit)
        lit_sets.append(lit)
        replay.step(1)
    assert len(set().union(*lit_sets)) >= 150  # a rotating subset, not the same rows lit
    assert dack > 0  # the slow readers' delayed ACKs


def test_one_namespaces_slice_decodes_its_own_chunks_alone(tmp_path):
    """`synscope dump --format recording` and the bundle read one namespace's window: only its
    chunks are decoded (each namespace used to decode all 500 namespaces' chunks of the window,
    and a recording of the whole node took ~3 minutes), and the slice holds what the store does."""
    from tui.core.store.dump import rows, write_recording
    from tui.core.store.reader import Store

    store = Store(str(RECORDING))
    try:
        busy = max(store.namespaces()[1:], key=lambda r: r.last_tick - r.first_tick)
        n = store.chunk_ticks
        store._load_chunks(busy.first_tick // n, busy.last_tick // n, {busy.row})
        decoded = {ns for (ns, _), ch in store._chunks.items() if ch is not None}
        assert decoded == {busy.row}, sorted(decoded)[:10]
        out = tmp_path / "one.synscope"
        write_recording(store, [busy], str(out))
        one = Store(str(out))
        try:
            assert list(rows(one, one.namespaces())) == list(rows(store, [busy]))
        finally:
            one.close()
    finally:
        store.close()
