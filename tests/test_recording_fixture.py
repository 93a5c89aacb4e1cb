"""The checked-in recordings (scripts/make_recordings.py: the real `synscope record` against
the lab's incidents, and against containers with odd names) hold what the incidents made,
under the names discovery gave them. Read as any user reads a recording: no root, no
kernel, nothing written beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.store.dump import rows, select
from tui.core.store.reader import Store

RECORDING = Path(__file__).parent / "fixtures" / "recordings" / "lab-incidents.synscope"
NAMES = Path(__file__).parent / "fixtures" / "recordings" / "lab-names.synscope"


@pytest.fixture(scope="module")
def store():
    s = Store(str(RECORDING))
    yield s
    s.close()


def _moved(store: Store, pattern: str, counter: str) -> int:
    return sum(r.delta or 0 for r in rows(store, select(store, pattern)) if r.counter == counter)


def test_the_web_pods_listen_overflow_is_there_under_its_pod_name(store):
    (web,) = select(store, "shop/web-7d9c5b-x2k4q")
    ns = web.netns
    assert (ns.kind, ns.pod, ns.k8s_namespace) == ("pod", "web-7d9c5b-x2k4q", "shop")
    assert {c.k8s_container for c in ns.containers} == {"POD", "web"}
    assert _moved(store, "shop/web-7d9c5b-x2k4q", "TcpExt.ListenDrops") >= 10
    assert _moved(store, "shop/web-7d9c5b-x2k4q", "TcpExt.ListenOverflows") >= 10


def test_nat_timestamps_and_the_slow_readers_delayed_acks_are_there(store):
    paws = {r.netns.name: _moved(store, r.netns.name, "TcpExt.PAWSTimewait") for r in store.namespaces()}
    assert max(paws.values()) >= 25, paws
    dacks = {r.netns.name: _moved(store, r.netns.name, "TcpExt.DelayedACKs") for r in store.namespaces()}
    assert max(dacks.values()) >= 60, dacks


def test_idle_pods_and_containers_are_recorded_and_stay_quiet(store):
    for name in ("shop/cart-5f6d8-q9w7e", "billing/api-6c4b9-m2n8p", "redis-cache"):
        (r,) = select(store, name)
        assert r.netns.kind == ("container" if name == "redis-cache" else "pod")
        assert not [x for x in rows(store, [r]) if x.counter.startswith("TcpExt.")], name


def test_the_recording_rebuilds_a_history_at_the_overflow(store):
    first, last = store.span()
    assert last - first > 30
    (web,) = select(store, "shop/web-7d9c5b-x2k4q")
    when = next(r.timestamp for r in rows(store, [web]) if r.counter == "TcpExt.ListenDrops")
    m = store.history_at(when)
    h = m.history.get(web.inode)
    assert h is not None and h.last_deltas.get("TcpExt.ListenDrops", 0) > 0
    assert "shop/web-7d9c5b-x2k4q" in [n.name for n in m.namespaces]
    assert store.notes == []


def test_the_names_recording_holds_the_odd_names_as_discovery_gave_them():
    s = Store(str(NAMES))
    try:
        by_name = {r.netns.name: r.netns for r in s.namespaces()}
        markup = by_name["[red]team[/red]/[bold]x[/]"]
        assert (markup.kind, markup.pod, markup.k8s_namespace) == ("pod", "[bold]x[/]", "[red]team[/red]")
        assert ("app", "[link=x]y[/link]") in markup.labels
        assert by_name["支付/支付服务-容器"].kind == "pod"
        long = by_name["a-very-long-container-name-from-a-compose-project-0123456789abcdef-worker-17"]
        assert long.kind == "container"
        assert by_name["kube-system/coredns-5d78c9869d-7xk2p"].kind == "pod"
        # the hostNetwork pod names the host row, which stays "host"
        assert "kube-system/kube-proxy-x8k2n" in by_name["host"].aliases
        assert by_name["host"].kind == "host" and not by_name["host"].pod
        first, last = s.span()
        assert last - first >= 5 and s.notes == []
    finally:
        s.close()
