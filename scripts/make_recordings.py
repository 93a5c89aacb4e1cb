#!/usr/bin/env python3
"""Record the lab's incidents with the real `synscope record`, into tests/fixtures/recordings.

    sudo .venv/bin/python scripts/make_recordings.py [-o tests/fixtures/recordings/lab-incidents.synscope]

What it records (one recorder, 1 s ticks, the whole run):
* the suite's private Docker engine (tests/dockerd.py) with pods labelled as the kubelet
  labels them: ``shop/web-7d9c5b-x2k4q`` (a sandbox and an app container) whose backlog-1
  listener overflows (20 connections, never accepted), and idle ones: ``shop/cart-5f6d8-q9w7e``,
  ``billing/api-6c4b9-m2n8p`` and a plain container ``redis-cache``;
* NAT + timestamps: three clients behind a MASQUERADE router with 4 source ports, the server
  closing first (tests/scenarios.py's scenario 4: PAWSTimewait, SYN retransmits, a failed
  conntrack insert);
* a slow reader's delayed ACKs (scenario 6: 100 B every 50 ms, read every 0.5 s);
then `synscope dump --format recording` of the whole store into one small file. Everything it
creates (containers, engine, namespaces, the store) is removed at the end.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from dockerd import DockerEngine, pid_of  # noqa: E402
from nethelpers import CLIENT, SERVER, NetnsLab, wait_for  # noqa: E402
from recorderhelpers import start_recorder, stop, store_ticks  # noqa: E402

import scenarios  # noqa: E402

from tui.core.netns import NetnsReader  # noqa: E402

POD = "io.kubernetes.pod.name"
POD_NS = "io.kubernetes.pod.namespace"
CTR = "io.kubernetes.container.name"
UID = "io.kubernetes.pod.uid"


def pod(engine: DockerEngine, name: str, k8s_ns: str, uid: str, app: str, containers: tuple[str, ...] = ("app",)):
    labels = {POD: name, POD_NS: k8s_ns, UID: uid, "app": app}
    sandbox = engine.run(f"k8s_POD_{name}_{k8s_ns}_{uid}_0", labels={**labels, CTR: "POD"})
    for c in containers:
        engine.run(f"k8s_{c}_{name}_{k8s_ns}_{uid}_0", labels={**labels, CTR: c}, network_mode=f"container:{sandbox.id}")
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default=str(ROOT / "tests" / "fixtures" / "recordings" / "lab-incidents.synscope"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root (namespaces, Docker)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="synscope-rec-", dir="/tmp")
    engine = DockerEngine(os.path.join(work, "docker"))
    os.makedirs(engine.root, exist_ok=True)
    with open(os.path.join(engine.root, "daemon.json"), "w") as f:
        f.write("{}\n")
    store = os.path.join(work, "store")
    procs: list[subprocess.Popen] = []
    lab_names: set[str] = set()
    recorder = None
    try:
        engine.start()
        engine.import_image()
        web = pod(engine, "web-7d9c5b-x2k4q", "shop", "3f1c2a9e-7b7d-4c1e-9a55-2c8e4b1d6f01", "web", ("web",))
        pod(engine, "cart-5f6d8-q9w7e", "shop", "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d", "cart", ("cart",))
        pod(engine, "api-6c4b9-m2n8p", "billing", "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f", "api", ("api", "envoy"))
        engine.run("redis-cache")
        recorder = start_recorder(store, "--interval", "1", "--discover-every", "0.5", env={"DOCKER_HOST": engine.url})
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
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        if recorder is not None:
            _, err = stop(recorder)
            print(err.strip(), file=sys.stderr)
        try:
            if engine.proc is not None and engine.proc.poll() is None:
                engine.remove_all()
        finally:
            engine.stop()
            engine.cleanup_dirs()
    try:
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        # only what this script made (other programs' namespaces on the machine stay out)
        from tui.core.store.dump import write_recording
        from tui.core.store.reader import Store

        s = Store(store)
        ours = [r for r in s.namespaces() if r.netns.kind in ("host", "pod", "container") or r.netns.name in lab_names]
        size = write_recording(s, ours, args.output)
        print(f"wrote {args.output}: {size // 1024} KB, {len(ours)} namespaces, {s.span()[1] - s.span()[0]:.0f} s",
              file=sys.stderr)
        s.close()
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
