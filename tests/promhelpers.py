"""A real Prometheus (the Debian package) and a real synscope exporter, for the tests.

Prometheus listens on 127.0.0.1 only, scrapes the exporter every second, keeps its data in a
temp dir; both processes are killed by the pid we started and the dir is removed, pass or fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from nethelpers import require

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def require_prometheus() -> None:
    require("prometheus (apt-get install --no-install-recommends prometheus)", shutil.which("prometheus") is not None)


def require_promtool() -> None:
    require("promtool (apt-get install --no-install-recommends prometheus)", shutil.which("promtool") is not None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL, the process group we started (by its pid)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


class Exporter:
    """``python -m tui exporter`` as a subprocess, on a port it picks (``--listen 127.0.0.1:0``
    unless given); its stderr goes to a file, read for the line that names the URL."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = (),
                 timeout: float = 60) -> None:
        if not any(a.startswith("--listen") for a in args):
            args = ("--listen", "127.0.0.1:0", *args)
        self.log = tempfile.NamedTemporaryFile(prefix="synscope-exporter-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "tui", "exporter", *args], cwd=REPO,
                                     env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=self.log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(r"serving (\S+/metrics)", self.stderr())
            if m:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError(f"the exporter did not start (exit {self.proc.returncode}): {self.stderr()}")
            time.sleep(0.05)
        self.url = m.group(1)
        self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    def stderr(self) -> str:
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def metrics(self, timeout: float = 10) -> str:
        with urllib.request.urlopen(self.url, timeout=timeout) as r:
            return r.read().decode()

    def close(self) -> None:
        stop(self.proc)
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


class Prometheus:
    def __init__(self, root: str, port: int, proc: subprocess.Popen) -> None:
        self.root, self.port, self.proc = root, port, proc

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 20) -> str:
        try:
            with open(os.path.join(self.root, "prometheus.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def query(self, expr: str) -> list[dict]:
        url = f"{self.base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def targets_up(self) -> bool:
        with urllib.request.urlopen(f"{self.base}/api/v1/targets", timeout=10) as r:
            active = json.load(r)["data"]["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)


@contextmanager
def prometheus(scrape_port: int, interval: str = "1s", rule_files: tuple[str, ...] = ()) -> Iterator[Prometheus]:
    """A Prometheus on 127.0.0.1 scraping 127.0.0.1:scrape_port every ``interval``, evaluating
    ``rule_files`` at the same interval."""
    require_prometheus()
    root = tempfile.mkdtemp(prefix="synscope-prom-")
    proc = None
    try:
        config = os.path.join(root, "prometheus.yml")
        with open(config, "w") as f:
            f.write(
                "global:\n"
                f"  scrape_interval: {interval}\n"
                f"  scrape_timeout: {interval}\n"
                f"  evaluation_interval: {interval}\n"
                + ("rule_files:\n" + "".join(f"  - {path}\n" for path in rule_files) if rule_files else "")
                + "scrape_configs:\n"
                "  - job_name: synscope\n"
                "    static_configs:\n"
                f"      - targets: ['127.0.0.1:{scrape_port}']\n"
            )
        port = free_port()
        with open(os.path.join(root, "prometheus.log"), "wb") as log:
            proc = subprocess.Popen(
                ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={root}/data",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, cwd=root)
        prom = Prometheus(root, port, proc)
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"prometheus exited with {proc.returncode}:\n{prom.log_tail()}")
            try:
                with urllib.request.urlopen(f"{prom.base}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus not ready in 60 s:\n{prom.log_tail()}")
            time.sleep(0.2)
        yield prom
    finally:
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)
