"""deploy/Dockerfile, built from its recipe and run the way the README says.

All in the suite's private Docker engine (tests/dockerd.py), which has no registry to pull
from: the base is a rootfs made offline with mmdebstrap (scripts/build-base-rootfs.sh, cached
between runs: tests/buildcache.py), imported under the name the Dockerfile builds FROM. The
Dockerfile is used as it is: its RUN apt-get reaches the Debian mirror the way it does on any
build machine, through the host's network (``network_mode=host``), because the test engine
runs with ``--bridge=none``. The executable inside is the cached dist/synscope.

The README's ``docker run`` line is run as written, with three changes a test needs: the test
engine's socket is mounted where ``/var/run/docker.sock`` is, ``-it`` is dropped (no terminal
here), and, on a machine whose root lacks CAP_SYS_RESOURCE (this one: ``--privileged`` asks
for every capability and fails there), ``--privileged`` becomes what it means minus that one
capability: every other capability, no seccomp, no AppArmor, no masked /proc paths.

The kubectl shape is what ``kubectl debug node --profile=sysadmin`` builds: privileged,
host pid/network/ipc, and the node's / at /host, nothing else. A kubelet is not available
here, so Docker builds that shape; the test engine's socket is reached through /host.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import threading

import buildcache
import pytest
from dockerd import docker_engine  # noqa: F401  (a fixture)
from nethelpers import NetnsLab, require_root
from nodehelpers import ROOT, SCRUBBED_ENV, pcap_records, pyproject_version, syn_to_closed_port

pytestmark = [pytest.mark.root, pytest.mark.docker, pytest.mark.timeout(900)]

CAP_SYS_RESOURCE = 24
PRIVILEGED_WITHOUT_SYS_RESOURCE = ["--cap-add=ALL", "--cap-drop=SYS_RESOURCE", "--security-opt", "seccomp=unconfined",
                                   "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined"]
POD_LABELS = {"io.kubernetes.pod.name": "web-7d9f", "io.kubernetes.pod.namespace": "shop",
              "io.kubernetes.container.name": "web"}


def dockerfile_base() -> str:
    """The image deploy/Dockerfile builds FROM by default (its ARG BASE)."""
    m = re.search(r"^ARG BASE=(\S+)$", (ROOT / "deploy" / "Dockerfile").read_text(), re.MULTILINE)
    assert m, "deploy/Dockerfile has no ARG BASE=..."
    return m.group(1)


def readme_docker_run() -> list[str]:
    """The README's `docker run` line (continuations joined), as argv."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"^(docker run .*?)(?<!\\)$", text, re.MULTILINE | re.DOTALL)
    assert m, "the README has no `docker run` line"
    return shlex.split(m.group(1).replace("\\\n", " "))


def has_cap(cap: int) -> bool:
    with open("/proc/self/status") as f:
        bounding = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd:"))
    return bool(bounding >> cap & 1)


@pytest.fixture(scope="module")
def image(docker_engine, tmp_path_factory) -> str:  # noqa: F811
    """The image, built from deploy/Dockerfile on the mmdebstrap base; its tag."""
    exe = buildcache.onefile()
    rootfs = buildcache.base_rootfs()
    repo, _, tag = dockerfile_base().partition(":")
    docker_engine.client.api.import_image(src=str(rootfs), repository=repo, tag=tag or "latest")
    ctx = tmp_path_factory.mktemp("context")  # the checkout's layout, with only what the build sends
    (ctx / "deploy").mkdir()
    (ctx / "dist").mkdir()
    shutil.copy(ROOT / "deploy" / "Dockerfile", ctx / "deploy" / "Dockerfile")
    shutil.copy(ROOT / ".dockerignore", ctx / ".dockerignore")
    shutil.copy2(exe, ctx / "dist" / "synscope")
    (ctx / "README.md").write_text("not sent: .dockerignore keeps the context to dist/synscope\n")
    name = f"synscope:{pyproject_version()}"
    built, _logs = docker_engine.client.images.build(path=str(ctx), dockerfile="deploy/Dockerfile", tag=name,
                                                     network_mode="host", rm=True, forcerm=True)
    print(f"\nimage {name}: {built.attrs['Size'] / 1e6:.0f} MB, {len(built.attrs['RootFS']['Layers'])} layers")
    return name


def docker(engine, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "-H", engine.url, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def readme_run_argv(engine, image: str) -> list[str]:
    """The README's line, for this engine: test socket, no -it, --privileged where it can run."""
    argv = readme_docker_run()
    assert argv[:2] == ["docker", "run"] and "-it" in argv, argv
    assert argv[-1] == image, f"the README runs {argv[-1]}, the version is {image}"
    out: list[str] = []
    for arg in argv[2:-1]:
        if arg == "-it":
            continue
        if arg == "--privileged" and not has_cap(CAP_SYS_RESOURCE):
            out += PRIVILEGED_WITHOUT_SYS_RESOURCE
            continue
        out.append(arg.replace("/var/run/docker.sock:", f"{engine.sock}:", 1) if arg.startswith("/var/run/docker.sock:") else arg)
    assert f"{engine.sock}:/var/run/docker.sock:ro" in out, "the README line does not mount the Docker socket"
    return out


def privileged_args() -> list[str]:
    return ["--privileged"] if has_cap(CAP_SYS_RESOURCE) else PRIVILEGED_WITHOUT_SYS_RESOURCE


def snapshot_records(stdout: str) -> dict[str, dict]:
    return {r["name"]: r for r in map(json.loads, stdout.splitlines())}


@pytest.fixture
def host_lab():
    require_root()
    with NetnsLab("img") as lab:
        yield lab


@pytest.fixture
def pod(docker_engine):  # noqa: F811
    ct = docker_engine.run("k8s_web_web-7d9f_shop", labels=POD_LABELS)
    yield ct
    ct.remove(force=True)


def test_the_image_carries_the_same_executable_and_version(docker_engine, image):  # noqa: F811
    exe = buildcache.onefile()
    # one container for the file's hash and the tools (each container is a full copy on vfs)
    inside = docker(docker_engine, "run", "--rm", "--entrypoint", "sh", image, "-c",
                    "sha256sum /usr/local/bin/synscope && command -v tcpdump && command -v ip")
    assert inside.returncode == 0, inside.stderr
    digest, tcpdump, ip = inside.stdout.split()[0], *inside.stdout.split()[2:]
    assert digest == hashlib.sha256(exe.read_bytes()).hexdigest()
    assert tcpdump.endswith("/tcpdump") and ip.endswith("/ip")
    version = docker(docker_engine, "run", "--rm", image, "--version")  # the entrypoint is synscope
    assert version.returncode == 0, version.stderr
    local = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, env=SCRUBBED_ENV)
    assert version.stdout == local.stdout and f"synscope {pyproject_version()} " in version.stdout


def test_readme_docker_run_sees_host_namespaces_and_the_pod_by_name(docker_engine, image, host_lab, pod):  # noqa: F811
    early = host_lab.add("early")  # pid-less: found only through /run/netns
    argv = readme_run_argv(docker_engine, image)
    out = docker(docker_engine, "run", *argv, image, "snapshot", "--json", "--interval", "0.5")
    assert out.returncode == 0, out.stderr
    seen = snapshot_records(out.stdout)
    assert early in seen and seen[early]["kind"] == "netns", sorted(seen)
    row = seen.get("shop/web-7d9f")
    assert row is not None, sorted(seen)
    assert row["kind"] == "pod" and row["k8s_namespace"] == "shop" and row["pod"] == "web-7d9f"
    assert [c["name"] for c in row["containers"]] == ["k8s_web_web-7d9f_shop"]
    assert seen["host"]["pid"] is not None  # host /proc: the node's own processes


def test_a_namespace_made_after_the_start_needs_rslave(docker_engine, image, host_lab):  # noqa: F811
    """The README's :ro,rslave sees a namespace made after the container started; plain :ro does not."""
    argv = readme_run_argv(docker_engine, image)
    assert "/run/netns:/run/netns:ro,rslave" in argv
    plain = [a.replace(":ro,rslave", ":ro") for a in argv]
    ids = {}
    try:
        for name, args in (("rslave", argv), ("plain", plain)):
            started = docker(docker_engine, "run", "-d", *[a for a in args if a != "--rm"], "--entrypoint", "sleep",
                             image, "300")
            assert started.returncode == 0, started.stderr
            ids[name] = started.stdout.strip()
        late = host_lab.add("late")
        for name, cid in ids.items():
            # no --ns filter: where the late namespace is unreadable, nothing else would match
            out = docker(docker_engine, "exec", cid, "synscope", "snapshot", "--json", "--interval", "0.3")
            assert out.returncode == 0, out.stderr
            if name == "rslave":
                assert late in snapshot_records(out.stdout), out.stdout
            else:
                assert late not in snapshot_records(out.stdout), "plain :ro saw it too: the README's rslave advice is moot"
    finally:
        for cid in ids.values():
            docker(docker_engine, "rm", "-f", cid)


def test_kubectl_debug_shape_sees_through_the_host_mount(docker_engine, image, host_lab, pod):  # noqa: F811
    """Privileged, host pid/net/ipc, the node's / at /host: the image's links find /run/netns."""
    ns = host_lab.add("kdbg")
    out = docker(docker_engine, "run", "--rm", *privileged_args(), "--pid=host", "--net=host", "--ipc=host",
                 "-v", "/:/host:ro",  # kubectl mounts it read-write; synscope writes nothing, nor does this test
                 "-e", f"DOCKER_HOST=unix:///host{docker_engine.sock}",
                 image, "snapshot", "--json", "--interval", "0.5")
    assert out.returncode == 0, out.stderr
    seen = snapshot_records(out.stdout)
    assert ns in seen and seen[ns]["path"] == f"/run/netns/{ns}", sorted(seen)
    assert "shop/web-7d9f" in seen, sorted(seen)


def test_capture_inside_the_image_writes_a_pcap_on_the_node(docker_engine, image, host_lab, tmp_path):  # noqa: F811
    ns = host_lab.add("cap")
    keep = tmp_path / "captures"  # the node directory the README mounts at /captures
    keep.mkdir()
    argv = readme_run_argv(docker_engine, image)
    out_path = tmp_path / "stdout"
    with open(out_path, "w") as out_file:
        proc = subprocess.Popen(["docker", "-H", docker_engine.url, "run", *argv, "-v", f"{keep}:/captures", image,
                                 "capture", ns, "--preset", "syn", "--duration", "8", "-w", "/captures/web.pcap"],
                                stdin=subprocess.DEVNULL, stdout=out_file, stderr=subprocess.PIPE, text=True)
    err_lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # synscope's progress lines, through the docker CLI
            err_lines.append(line)
            if "listening" in line:
                break
        assert any("listening" in ln for ln in err_lines), "".join(err_lines)
        reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
        reader.start()
        syn_to_closed_port(host_lab, ns)
        proc.wait(timeout=60)  # the capture ends by its --duration
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, "".join(err_lines)
    assert "Flags [S]" in out_path.read_text()
    assert pcap_records(keep / "web.pcap") >= 1
    assert os.stat(keep / "web.pcap").st_mode & 0o077 == 0  # 0600, as synscope writes them
