"""A real, private Docker engine for the tests.

``dockerd`` (from the docker.io package) is started with the vfs storage driver on a socket
under a temp dir, with its own data root, exec root, pid file and an empty config file, so
it never touches the node's Docker, and with ``--iptables=false --ip6tables=false
--bridge=none`` so it touches no firewall or bridge either: containers still get a network
namespace of their own, with only ``lo`` in it. There is no registry: the image is made
offline by ``docker import`` of a tarball holding the static busybox of busybox-static.

One engine serves the whole session (vfs makes every container a full copy, and starting
dockerd takes seconds). On teardown every container is removed, dockerd is stopped by the
pid we started (its containerd too, by the pid file it wrote), whatever is still mounted
under the temp dir is unmounted, and the dir is removed — also when a test failed.

Use: ``from dockerd import docker_engine  # noqa: F401`` in a test module, then take
``docker_engine`` as a fixture argument.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from nethelpers import require

IMAGE = "synscope-busybox:test"
BUSYBOX_APPLETS = ("sh", "sleep", "cat", "ls", "ip", "nc", "true")


def _busybox() -> str | None:
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(path):
            return path
    return shutil.which("busybox")


def busybox_tarball(busybox: str) -> bytes:
    """A root filesystem with only /bin/busybox and its applet links."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        d = tarfile.TarInfo("bin")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(d)
        for extra in ("tmp", "proc", "sys", "dev", "etc"):
            e = tarfile.TarInfo(extra)
            e.type, e.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(e)
        with open(busybox, "rb") as f:
            data = f.read()
        b = tarfile.TarInfo("bin/busybox")
        b.size, b.mode = len(data), 0o755
        tar.addfile(b, io.BytesIO(data))
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buf.getvalue()


@dataclass
class DockerEngine:
    root: str
    proc: subprocess.Popen | None = None
    client: Any = None  # docker.DockerClient
    started: list[str] = field(default_factory=list)  # ids of containers we created

    @property
    def sock(self) -> str:
        return os.path.join(self.root, "docker.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.sock}"

    @property
    def log_path(self) -> str:
        return os.path.join(self.root, "dockerd.log")

    def argv(self) -> list[str]:
        return [
            shutil.which("dockerd") or "dockerd",
            "--storage-driver=vfs",
            f"--data-root={self.root}/data",
            f"--exec-root={self.root}/exec",
            f"--pidfile={self.root}/dockerd.pid",
            f"--config-file={self.root}/daemon.json",
            f"-H=unix://{self.sock}",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--shutdown-timeout=1",  # busybox sleep as pid 1 ignores SIGTERM: don't wait 15 s
            "--log-level=warn",
        ]

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        """Start dockerd (again, on the same socket) and wait until it answers."""
        import docker

        assert self.proc is None or self.proc.poll() is not None, "dockerd already running"
        with open(self.log_path, "ab") as log:  # dockerd keeps its own copy of the fd
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if os.path.exists(self.sock):
                try:
                    client = docker.DockerClient(base_url=self.url, timeout=10)
                    client.ping()
                    self.client = client
                    return
                except Exception as exc:  # not ready yet
                    last = exc
            time.sleep(0.2)
        raise RuntimeError(f"dockerd did not answer within {timeout} s ({last}):\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop dockerd by the pid we started; SIGKILL it (and its containerd) if it hangs."""
        if self.client is not None:
            try:
                self.client.close()
            except Exception:
                pass
            self.client = None
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        self._kill_pidfile(os.path.join(self.root, "exec", "containerd", "containerd.pid"))

    @staticmethod
    def _kill_pidfile(path: str) -> None:
        """containerd is dockerd's child: normally it stops with it; if not, end it by its pid."""
        try:
            with open(path) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"containerd" not in f.read():
                    return  # the pid was reused by something that is not ours
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    def log_tail(self, n: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def import_image(self) -> None:
        busybox = _busybox()
        assert busybox, "busybox-static is not installed"
        self.client.api.import_image(src=busybox_tarball(busybox), repository=IMAGE.split(":")[0], tag=IMAGE.split(":")[1])

    # -- containers -------------------------------------------------------------------------
    def run(self, name: str, *, labels: dict[str, str] | None = None, network_mode: str | None = None,
            command: list[str] | None = None) -> Any:
        """Start a container that sleeps (bounded: an hour at most) and return it, reloaded."""
        kw: dict[str, Any] = {}
        if network_mode:
            kw["network_mode"] = network_mode
        ct = self.client.containers.run(IMAGE, command or ["sleep", "3600"], name=name, labels=labels or {},
                                        detach=True, **kw)
        self.started.append(ct.id)
        ct.reload()
        return ct

    def remove_all(self) -> None:
        if self.client is None:
            return
        for ct in self.client.containers.list(all=True):
            try:
                ct.remove(force=True)
            except Exception:
                pass
        self.started.clear()

    def cleanup_dirs(self) -> None:
        """Unmount what dockerd left mounted under our root (deepest first), then remove it."""
        prefix = self.root.rstrip("/") + "/"
        try:
            with open("/proc/self/mounts") as f:
                points = [line.split()[1].replace("\\040", " ") for line in f]
        except OSError:
            points = []
        for point in sorted((p for p in points if p.startswith(prefix) or p == self.root), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def private_engine(root: str) -> DockerEngine:
    """An engine of its own in ``root`` (created), blind to the node's /etc/docker/daemon.json."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "daemon.json"), "w") as f:
        f.write("{}\n")
    return DockerEngine(root)


def remove_containers_and_stop(engine: DockerEngine) -> None:
    """Our containers removed (a dockerd that already stopped has stopped them), the engine stopped."""
    try:
        if engine.proc is not None and engine.proc.poll() is None:
            engine.remove_all()
    finally:
        engine.stop()


def pid_of(ct: Any) -> int:
    ct.reload()
    return int(ct.attrs["State"]["Pid"])


@pytest.fixture(scope="session")
def docker_engine():
    require("root (Docker needs it)", os.geteuid() == 0)
    require("dockerd (apt-get install docker.io)", shutil.which("dockerd") is not None)
    require("busybox (apt-get install busybox-static)", _busybox() is not None)
    try:
        import docker  # noqa: F401
    except ImportError:
        require("the docker Python SDK", False)
    root = tempfile.mkdtemp(prefix="synscope-dockerd-", dir="/tmp")  # short: the socket path has a 108-byte limit
    engine = private_engine(root)
    try:
        engine.start()
        engine.import_image()
        yield engine
    finally:
        try:
            remove_containers_and_stop(engine)
        finally:
            engine.cleanup_dirs()
