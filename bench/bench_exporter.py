#!/usr/bin/env python3
"""What one Prometheus scrape of ``synscope exporter`` costs, as ratios measured in one run.

    sudo python bench/bench_exporter.py [-n 110 -n 1000] [--repeat 30]

For each N it creates N named network namespaces with one sleeping process in each (on top
of whatever the machine already has: every namespace found is exported and counted), then,
interleaved, medians of:

  (a) one sample     Monitor.tick(): read every namespace's netstat + snmp, ingest
  (b) one scrape     Exporter.scrape(): a fresh sample + the exposition text (+ health)
  (b') worst case    the same with no line kept from the last scrape, as if every section of
                     every namespace had changed (busy pods): everything formatted again
  (c) HTTP scrape    GET /metrics of a real `synscope exporter` process, gzip as Prometheus
                     asks: wall time at the client, and the exporter's CPU time per scrape
                     (utime + stime from /proc/PID/stat over all the scrapes)

and node_exporter's netstat collector (Debian's prometheus-node-exporter, on loopback, only
that collector, its default fields) scraping the host alone the same way: our CPU per
namespace against theirs per node. Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_sample import delete_namespaces, kill, make_namespaces, park_processes  # noqa: E402

from tui.core.export import Exporter  # noqa: E402
from tui.core.monitor import Monitor  # noqa: E402
from tui.core.namespaces import Discovery  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def get(url: str) -> tuple[float, int]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
    return time.perf_counter() - t, len(body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            get(url)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer (exit {proc.returncode})") from None
            time.sleep(0.1)


def http_cost(url: str, pid: int, repeat: int) -> tuple[float, float, int]:
    """(median wall s, CPU s per scrape of the server, gzip bytes) over ``repeat`` scrapes."""
    get(url)  # warm
    walls = []
    size = 0
    cpu0 = cpu_seconds(pid)
    for _ in range(repeat):
        w, size = get(url)
        walls.append(w)
    return statistics.median(walls), (cpu_seconds(pid) - cpu0) / repeat, size


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(n: int, repeat: int) -> dict:
    names = make_namespaces(f"bx{os.getpid() % 10000}n", n)
    pids = park_processes(names)
    proc = None
    monitor = Monitor(Discovery(), capacity=2, background=False)
    try:
        exporter = Exporter(monitor, min_age=0)
        exporter.scrape()
        samples, scrapes, worst = [], [], []
        for _ in range(repeat):  # interleaved: the machine's load hits both alike
            t = time.perf_counter()
            tick = monitor.tick()
            samples.append(time.perf_counter() - t)
            t = time.perf_counter()
            s = exporter.scrape()
            scrapes.append(time.perf_counter() - t)
            exporter._renderer._lines.clear()  # the bench's view inside: forget every line
            t = time.perf_counter()
            exporter.scrape()
            worst.append(time.perf_counter() - t)
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "tui", "exporter", "--listen", f"127.0.0.1:{port}",
                                 "--interval", "0.001"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/metrics"
        wait_http(url, proc)
        wall, cpu, size = http_cost(url, proc.pid, repeat)
        return {"n": n, "namespaces": len(tick.namespaces), "series": s.series, "sample": statistics.median(samples),
                "scrape": statistics.median(scrapes), "worst": statistics.median(worst), "http_wall": wall, "http_cpu": cpu, "gzip_bytes": size,
                "text_bytes": len(s.text)}
    finally:
        if proc is not None:
            stop(proc)
        monitor.close()
        kill(pids)
        delete_namespaces(names)


def node_exporter(repeat: int) -> dict | None:
    binary = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if binary is None:
        print("node_exporter: not installed (apt-get install --no-install-recommends prometheus-node-exporter)")
        return None
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                                 "--collector.netstat", "--web.disable-exporter-metrics"], cwd=d,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            wait_http(url, proc)
            with urllib.request.urlopen(url, timeout=10) as r:
                series = sum(1 for ln in r.read().decode().splitlines() if ln.startswith("node_netstat_"))
            wall, cpu, size = http_cost(url, proc.pid, repeat)
        finally:
            stop(proc)
    return {"series": series, "http_wall": wall, "http_cpu": cpu, "gzip_bytes": size}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, action="append", help="namespaces to create (repeatable; default 110 and 1000)")
    ap.add_argument("--repeat", type=int, default=30)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (it creates network namespaces)", file=sys.stderr)
        return 1
    ns_counts = a.n or [110, 1000]
    rows = [measure(n, a.repeat) for n in ns_counts]
    theirs = node_exporter(a.repeat)
    print(f"\nrepeat {a.repeat}, medians; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| namespaces (created + the machine's) | series | (a) one sample | (b) one scrape | (b)/(a) "
          "| (b') all changed | (b')/(a) | (c) HTTP scrape, wall | (c) exporter CPU / scrape | CPU per namespace | gzip / text |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']} + {r['namespaces'] - r['n']} | {r['series']} | {r['sample'] * 1e3:.1f} ms "
              f"| {r['scrape'] * 1e3:.1f} ms | {r['scrape'] / r['sample']:.2f}x | {r['worst'] * 1e3:.1f} ms "
              f"| {r['worst'] / r['sample']:.2f}x | {r['http_wall'] * 1e3:.1f} ms "
              f"| {r['http_cpu'] * 1e3:.1f} ms | {r['http_cpu'] / r['namespaces'] * 1e6:.0f} µs "
              f"| {r['gzip_bytes'] / 1e3:.0f} KB / {r['text_bytes'] / 1e3:.0f} KB |")
    if theirs:
        print(f"| node_exporter netstat, the host alone | {theirs['series']} | — | — | — | — | — "
              f"| {theirs['http_wall'] * 1e3:.1f} ms | {theirs['http_cpu'] * 1e3:.1f} ms | {theirs['http_cpu'] * 1e6:.0f} µs per node "
              f"| {theirs['gzip_bytes'] / 1e3:.1f} KB |")
        for r in rows:
            per_ns = r["http_cpu"] / r["namespaces"]
            per_series = r["http_cpu"] / r["series"]
            print(f"at {r['namespaces']} namespaces: synscope's CPU per namespace is {per_ns / theirs['http_cpu']:.2f}x "
                  f"node_exporter's per node; per series {per_series / (theirs['http_cpu'] / theirs['series']):.2f}x "
                  f"(synscope {r['series'] / r['namespaces']:.0f} series per namespace, node_exporter {theirs['series']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
