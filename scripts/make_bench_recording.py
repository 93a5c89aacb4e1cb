#!/usr/bin/env python3
"""Record a 500-namespace node with the real `synscope record`, for bench/bench_ui.py.

    sudo .venv/bin/python scripts/make_bench_recording.py [-o tests/fixtures/recordings/bench-500.synscope]

What it records (one recorder, 1 s ticks, ~17 minutes: bench_ui's history window of 900
ticks, its measured ticks and a margin):

* 500 namespaces: the host, ``PODS`` pods on the suite's private Docker engine
  (tests/dockerd.py), each a sandbox plus one app container labelled the way the kubelet
  labels them (so the table has pod rows with k8s namespaces, as a node's does), and the rest
  named ``ip netns`` namespaces with ``lo`` up (what a containerd/CNI node's pod sandboxes are
  to the recorder: ``cni-…`` names under /run/netns). Pods are fewer than the netns ones
  because each is two containers, each with its containerd shim process, on a 2-CPU machine;
  an ``ip netns`` one holds no process at all.
* In every namespace a backlog-1 listener on 127.0.0.1:8080 that never accepts. Each second
  a new rotating batch of ``BATCH`` namespaces gets ``CLIENTS`` non-blocking connects to it,
  held ``HOLD`` s and closed: the full accept queue drops their SYNs (ListenOverflows,
  ListenDrops) and the clients retransmit once (TCPSynRetrans, RetransSegs), so a batch is
  lit for about two ticks and ~10% of the namespaces are lit at any tick.
* In ``SLOW`` namespaces at a time (moving on every ``SLOW_EVERY`` s) a slow reader: 100 B
  written every 50 ms, read every 0.5 s (DelayedACKs), as tests/scenarios.py's scenario 6.

Few processes (2 CPUs): one driver (this one) makes every socket from one thread that
``setns()``-es into the namespace and back (a socket keeps the namespace it was made in), and
drives them all from its main loop; plus the recorder and the Docker engine. Every loop is
bounded in count and time; sockets are closed; the containers, the engine, the namespaces and
the store are removed at the end, also on failure. Then the lab's namespaces (not other
programs' on the machine) are written as one recording file (`write_recording`).
"""

from __future__ import annotations

import argparse
import errno
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from dockerd import DockerEngine, pid_of, private_engine, remove_containers_and_stop  # noqa: E402
from nethelpers import ip, wait_for  # noqa: E402
from recorderhelpers import start_recorder, stop, store_ticks  # noqa: E402

from tui.core.counters import parse_proc_net  # noqa: E402
from tui.core.netns import setns_net  # noqa: E402

NAMESPACES = 500  # with the host
PODS = 40
BATCH = 25  # namespaces lit by new connects each second
CLIENTS = 4  # connects per lit namespace (the queue holds 2: the others overflow)
HOLD = 1.5  # s: one SYN retransmit (at 1 s), then closed
SLOW = 5
SLOW_EVERY = 120.0
PORT, SLOW_PORT = 8080, 8081
RECORD_S = 1020.0  # 900 ticks of history + 40 measured + margin

POD = "io.kubernetes.pod.name"
POD_NS = "io.kubernetes.pod.namespace"
CTR = "io.kubernetes.container.name"
UID = "io.kubernetes.pod.uid"
K8S_NAMESPACES = ("shop", "billing", "search", "kube-system", "payments")


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


class Entry:
    """Makes sockets inside a namespace: one thread enters it by fd, makes the socket, goes home."""

    def __init__(self) -> None:
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-setns")

    def _in(self, fd: int, fn):  # type: ignore[no-untyped-def]
        setns_net(fd)
        try:
            return fn()
        finally:
            setns_net(self.home)  # if this failed the thread would stay away: the error ends the run

    def call(self, fd: int, fn):  # type: ignore[no-untyped-def]
        return self.pool.submit(self._in, fd, fn).result()

    def counters(self, fd: int) -> dict[str, int]:
        def read() -> dict[str, int]:
            out: dict[str, int] = {}
            for f in ("netstat", "snmp"):
                with open(f"/proc/thread-self/net/{f}", "rb") as fh:
                    out.update(parse_proc_net(fh.read()))
            return out

        return self.call(fd, read)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        os.close(self.home)


def listener(backlog: int, port: int) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    return s


def pod(engine: DockerEngine, k: int):  # type: ignore[no-untyped-def]
    k8s_ns = K8S_NAMESPACES[k % len(K8S_NAMESPACES)]
    app = ("web", "api", "cart", "worker", "search", "ledger", "auth")[k % 7]
    name = f"{app}-{uuid.uuid5(uuid.NAMESPACE_DNS, f'rs{k}').hex[:10]}-{uuid.uuid5(uuid.NAMESPACE_DNS, f'p{k}').hex[:5]}"
    uid = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"uid{k}"))
    labels = {POD: name, POD_NS: k8s_ns, UID: uid, "app": app}
    sandbox = engine.run(f"k8s_POD_{name}_{k8s_ns}_{uid}_0", labels={**labels, CTR: "POD"})
    engine.run(f"k8s_{app}_{name}_{k8s_ns}_{uid}_0", labels={**labels, CTR: app},
               network_mode=f"container:{sandbox.id}")
    return sandbox


class SlowPair:
    """A slow reader and a small writer in one namespace (loopback), driven by the main loop."""

    def __init__(self, entry: Entry, fd: int) -> None:
        self.lst = entry.call(fd, lambda: listener(4, SLOW_PORT))
        self.writer = entry.call(fd, socket.socket)
        self.writer.settimeout(5)
        self.writer.connect(("127.0.0.1", SLOW_PORT))
        self.lst.settimeout(5)
        self.reader, _ = self.lst.accept()
        self.reader.setblocking(False)
        self.writer.setblocking(False)

    def write(self) -> None:
        try:
            self.writer.send(b"x" * 100)
        except BlockingIOError:
            pass  # the reader is slow: its window is full for now

    def read(self) -> None:
        try:
            self.reader.recv(1 << 16)
        except BlockingIOError:
            pass

    def close(self) -> None:
        for s in (self.writer, self.reader, self.lst):
            s.close()


def drive(entry: Entry, fds: list[int], duration: float) -> None:
    """The traffic, for `duration` s: bounded batches of connects, and the slow pairs."""
    listeners = [entry.call(fd, lambda: listener(1, PORT)) for fd in fds]  # never accepted
    clients: list[tuple[float, socket.socket]] = []
    slow: list[SlowPair] = []
    try:
        start = time.monotonic()
        end = start + duration
        next_batch = next_slow = next_read = start
        cursor = slow_cursor = 0
        report = start + 60
        while (now := time.monotonic()) < end:
            if now >= next_slow:  # move the slow readers to the next namespaces
                for p in slow:
                    p.close()
                slow = []
                for _ in range(SLOW):
                    slow.append(SlowPair(entry, fds[(slow_cursor * 7 + 3) % len(fds)]))
                    slow_cursor += 1
                next_slow += SLOW_EVERY
            if now >= next_batch:
                # a batch of namespaces, rotating; a stride so neighbours in the table are not
                # always lit together
                for _ in range(BATCH):
                    fd = fds[(cursor * 37) % len(fds)]
                    cursor += 1
                    for _ in range(CLIENTS):
                        c = entry.call(fd, socket.socket)
                        c.setblocking(False)
                        err = c.connect_ex(("127.0.0.1", PORT))
                        assert err in (0, errno.EINPROGRESS), os.strerror(err)
                        clients.append((now + HOLD, c))
                next_batch += 1.0
            while clients and clients[0][0] <= now:
                clients.pop(0)[1].close()
            for p in slow:
                p.write()
            if now >= next_read:
                for p in slow:
                    p.read()
                next_read += 0.5
            if now >= report:
                log(f"traffic: {now - start:.0f} s of {duration:.0f}, {len(clients)} clients open")
                report += 60
            time.sleep(0.05)
    finally:
        for _, c in clients:
            c.close()
        for p in slow:
            p.close()
        for s in listeners:
            s.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default=str(ROOT / "tests" / "fixtures" / "recordings" / "bench-500.synscope"))
    ap.add_argument("--seconds", type=float, default=RECORD_S, help="seconds of traffic recorded")
    ap.add_argument("--namespaces", type=int, default=NAMESPACES, help="with the host (fewer: a quick try)")
    ap.add_argument("--pods", type=int, default=PODS)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root (namespaces, Docker)", file=sys.stderr)
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    work = tempfile.mkdtemp(prefix="synscope-bench-", dir="/tmp")
    engine = private_engine(os.path.join(work, "docker"))
    store = os.path.join(work, "store")
    tag = f"ssb{os.getpid() % 100000}"  # every netns this run makes starts with it (cleanup, the dump)
    names: list[str] = []
    fds: list[int] = []
    entry = Entry()
    recorder = None
    ok = False
    try:
        engine.start()
        engine.import_image()
        t0 = time.monotonic()
        for k in range(args.pods):
            fds.append(os.open(f"/proc/{pid_of(pod(engine, k))}/ns/net", os.O_RDONLY | os.O_CLOEXEC))
        log(f"{args.pods} pods in {time.monotonic() - t0:.0f} s")
        for k in range(args.namespaces - 1 - args.pods):
            name = f"{tag}-cni-{uuid.uuid5(uuid.NAMESPACE_DNS, f'{tag}{k}')}"
            ip("netns", "add", name)
            names.append(name)
            ip("-n", name, "link", "set", "lo", "up")
            fds.append(os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC))
        log(f"{len(names)} ip netns namespaces")
        recorder = start_recorder(store, "--interval", "1", env={"DOCKER_HOST": engine.url})
        assert wait_for(lambda: store_ticks(store) >= 5, timeout=120), "the recorder wrote nothing"
        log("recording; traffic starts")
        drive(entry, fds, args.seconds)
        time.sleep(3)
        lit = [entry.counters(fd) for fd in fds[:3]]
        log("counters in the first namespaces: " + "; ".join(
            f"ListenOverflows {c.get('TcpExt.ListenOverflows')} TCPSynRetrans {c.get('TcpExt.TCPSynRetrans')} "
            f"DelayedACKs {c.get('TcpExt.DelayedACKs')}" for c in lit))
        ok = True
    finally:
        if recorder is not None:
            _, err = stop(recorder)
            print(err.strip()[-2000:], file=sys.stderr)
        entry.close()
        for fd in fds:
            os.close(fd)
        try:
            remove_containers_and_stop(engine)
        finally:
            for name in reversed(names):
                ip("netns", "del", name, check=False)
            if not ok:
                engine.cleanup_dirs()
                shutil.rmtree(work, ignore_errors=True)
    try:
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        from tui.core.store.dump import write_recording
        from tui.core.store.reader import Store

        s = Store(store)
        ours = [r for r in s.namespaces() if r.netns.kind in ("host", "pod") or r.netns.name.startswith(tag)]
        size = write_recording(s, ours, args.output)
        first, last = s.span()
        log(f"wrote {args.output}: {size // 1024} KB, {len(ours)} namespaces, {last - first:.0f} s")
        s.close()
        return 0
    finally:
        engine.cleanup_dirs()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
