#!/usr/bin/env python3
"""Record the lab's scenes with the real `synscope record`, into tests/fixtures/recordings.

    sudo .venv/bin/python scripts/make_recordings.py [--scene incidents|names] [-o FILE]

``--scene incidents`` (the default) writes lab-incidents.synscope, ``--scene names``
lab-names.synscope. Each scene is one recorder at 1 s ticks for the whole run.

The incidents (what tests, snapshots and screenshots replay):
* the suite's private Docker engine (tests/dockerd.py) with pods labelled as the kubelet
  labels them: ``shop/web-7d9c5b-x2k4q`` (a sandbox and an app container) whose backlog-1
  listener overflows (20 connections, never accepted), and idle ones: ``shop/cart-5f6d8-q9w7e``,
  ``billing/api-6c4b9-m2n8p`` and a plain container ``redis-cache``;
* NAT + timestamps: three clients behind a MASQUERADE router with 4 source ports, the server
  closing first (tests/scenarios.py's scenario 4: PAWSTimewait, SYN retransmits, a failed
  conntrack insert);
* a slow reader's delayed ACKs (scenario 6: 100 B every 50 ms, read every 0.5 s);
The names (how odd names look, for the tests that need them; a file of its own, so the
incidents' snapshots stay as they are), from the same private Docker engine, idle:
* a container labelled by hand as a pod with markup in its labels (labels are anyone's to
  set): pod ``[bold]x[/]`` in ``[red]team[/red]``, ``app=[link=x]y[/link]``;
* one labelled as a pod with unicode (CJK) in its labels: ``支付/支付服务-容器`` (Docker's own
  container names are ASCII only);
* a plain container with a very long name;
* ``kube-system/coredns-5d78c9869d-7xk2p``, and the hostNetwork pod
  ``kube-system/kube-proxy-x8k2n`` (its containers in the host's namespace: it names the
  host row).

Then `synscope dump --format recording` of the whole store into one small file. Everything
it creates (containers, engine, namespaces, the store) is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from dockerd import DockerEngine, pid_of, private_engine, remove_containers_and_stop  # noqa: E402
from nethelpers import CLIENT, SERVER, NetnsLab, wait_for  # noqa: E402
from recorderhelpers import start_recorder, stop, store_ticks  # noqa: E402

import scenarios  # noqa: E402

from tui.core.netns import NetnsReader  # noqa: E402

POD = "io.kubernetes.pod.name"
POD_NS = "io.kubernetes.pod.namespace"
CTR = "io.kubernetes.container.name"
UID = "io.kubernetes.pod.uid"


def pod(engine: DockerEngine, name: str, k8s_ns: str, uid: str, app: str, containers: tuple[str, ...] = ("app",),
        *, host_network: bool = False):
    labels = {POD: name, POD_NS: k8s_ns, UID: uid, "app": app}
    # hostNetwork: the sandbox and its containers run in the host's namespace (the engine's
    # --bridge=none and --iptables=false: nothing is added to the host's network)
    sandbox = engine.run(f"k8s_POD_{name}_{k8s_ns}_{uid}_0", labels={**labels, CTR: "POD"},
                         network_mode="host" if host_network else None)
    for c in containers:
        engine.run(f"k8s_{c}_{name}_{k8s_ns}_{uid}_0", labels={**labels, CTR: c},
                   network_mode="host" if host_network else f"container:{sandbox.id}")
    return sandbox


def recorded_names(store: str) -> set[str]:
    from tui.core.store.reader import Store

    try:
        s = Store(store)
    except Exception:
        return set()
    try:
        return {r.netns.name for r in s.namespaces()}
    finally:
        s.close()


def scene_class(store: str):  # type: ignore[no-untyped-def]
    class RecordedScene(scenarios.Scene):
        """A scenario whose window starts once the recorder has seen its namespaces, so the
        incident is in the recording as deltas, not in the first sample."""

        def start(self) -> None:
            names = {netns for netns, _ in self.roles.values()}
            assert wait_for(lambda: names <= recorded_names(store), timeout=30), "the recorder did not see the lab"
            super().start()

    return RecordedScene


def in_netns(pid: int, code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", code, *args],
                            start_new_session=True, **kw)


def record_incidents(engine: DockerEngine, store: str, start_recording: Callable[[], None],
                     procs: list[subprocess.Popen], lab_names: set[str]) -> None:
    """The incidents' containers, a recorder, then the incidents one after the other."""
    web = pod(engine, "web-7d9c5b-x2k4q", "shop", "3f1c2a9e-7b7d-4c1e-9a55-2c8e4b1d6f01", "web", ("web",))
    pod(engine, "cart-5f6d8-q9w7e", "shop", "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d", "cart", ("cart",))
    pod(engine, "api-6c4b9-m2n8p", "billing", "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f", "api", ("api", "envoy"))
    engine.run("redis-cache")
    start_recording()
    assert wait_for(lambda: store_ticks(store) >= 8, timeout=60), "the recorder wrote nothing"
    # 1. the web pod's listen overflow
    pid = pid_of(web)
    server = in_netns(pid, SERVER, "127.0.0.1", "8080", "90", stdout=subprocess.PIPE, text=True)
    procs.append(server)
    assert server.stdout is not None and server.stdout.readline().strip() == "listening"
    client = in_netns(pid, CLIENT, "127.0.0.1", "8080", "20", "3")
    procs.append(client)
    client.wait(timeout=30)
    time.sleep(5)
    # 2. NAT + timestamps, 3. a slow reader (each in a lab of its own, torn down after)
    scene = scene_class(store)
    reader = NetnsReader()
    try:
        with NetnsLab("m") as lab:
            for name in scenarios.SCENARIOS:
                if name.startswith(("4 ", "6 ")):
                    print(f"scenario: {name}", file=sys.stderr)
                    scenarios.SCENARIOS[name](scene(lab, reader, name))
                    lab_names.update(lab.names)
            time.sleep(10)  # the quiet after the incidents, then the lab goes
    finally:
        reader.close()
    time.sleep(5)


def record_names(engine: DockerEngine, store: str, start_recording: Callable[[], None]) -> None:
    """Containers with odd names and a hostNetwork pod, idle, and a recorder that sees them."""
    engine.run("markup-test", labels={POD: "[bold]x[/]", POD_NS: "[red]team[/red]", "app": "[link=x]y[/link]"})
    engine.run("pay-cjk", labels={POD: "支付服务-容器", POD_NS: "支付", "app": "支付"})
    engine.run("a-very-long-container-name-from-a-compose-project-0123456789abcdef-worker-17")
    pod(engine, "coredns-5d78c9869d-7xk2p", "kube-system", "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "coredns",
        ("coredns",))
    pod(engine, "kube-proxy-x8k2n", "kube-system", "7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b", "kube-proxy",
        ("kube-proxy",), host_network=True)
    start_recording()
    assert wait_for(lambda: store_ticks(store) >= 8, timeout=60), "the recorder wrote nothing"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scene", choices=("incidents", "names"), default="incidents")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    output = args.output or str(ROOT / "tests" / "fixtures" / "recordings" / f"lab-{args.scene}.synscope")
    if os.geteuid() != 0:
        print("run as root (namespaces, Docker)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="synscope-rec-", dir="/tmp")
    engine = private_engine(os.path.join(work, "docker"))
    store = os.path.join(work, "store")
    procs: list[subprocess.Popen] = []
    lab_names: set[str] = set()
    recorder: subprocess.Popen | None = None

    def start_recording() -> None:  # the scene starts it when its containers are up; main stops it
        nonlocal recorder
        recorder = start_recorder(store, "--interval", "1", "--discover-every", "0.5", env={"DOCKER_HOST": engine.url})

    try:
        engine.start()
        engine.import_image()
        if args.scene == "incidents":
            record_incidents(engine, store, start_recording, procs, lab_names)
        else:
            record_names(engine, store, start_recording)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        if recorder is not None:
            _, err = stop(recorder)
            print(err.strip(), file=sys.stderr)
        try:
            remove_containers_and_stop(engine)
        finally:
            engine.cleanup_dirs()
    try:
        os.makedirs(os.path.dirname(output), exist_ok=True)
        # only what this script made (other programs' namespaces on the machine stay out)
        from tui.core.store.dump import write_recording
        from tui.core.store.reader import Store

        s = Store(store)
        ours = [r for r in s.namespaces() if r.netns.kind in ("host", "pod", "container") or r.netns.name in lab_names]
        size = write_recording(s, ours, output)
        print(f"wrote {output}: {size // 1024} KB, {len(ours)} namespaces, {s.span()[1] - s.span()[0]:.0f} s",
              file=sys.stderr)
        s.close()
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
