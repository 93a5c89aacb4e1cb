"""The incident bundle of a pod-labelled container in the suite's own Docker engine: its
identity names the pod, its labels and image, and the secrets the container holds in its
environment and on its command line are in no member."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import uuid

from dockerd import IMAGE, docker_engine, pid_of  # noqa: F401  (docker_engine is a fixture)
from test_docker import pod_labels

from tui.core.namespaces import ns_inode_of_pid

SECRET_ENV = "dOcKeR-env-secret-5c0e"
SECRET_ARG = "dOcKeR-arg-secret-77b1"


def test_a_pod_bundle_names_the_pod_and_holds_no_env_or_command_line(docker_engine, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    pod, k8s_ns = f"web-{tag}", f"shop-{tag}"
    ct = docker_engine.client.containers.run(
        IMAGE, ["sh", "-c", "sleep 3600; true", f"--password={SECRET_ARG}"], name=f"k8s_POD_{pod}_{k8s_ns}_0",
        labels=pod_labels(pod, k8s_ns, "POD", tier=f"t{tag}"), environment={"DB_PASSWORD": SECRET_ENV}, detach=True)
    docker_engine.started.append(ct.id)
    try:
        pid = pid_of(ct)
        # the secrets are really there, where a careless bundle would find them
        with open(f"/proc/{pid}/environ", "rb") as f:
            assert SECRET_ENV.encode() in f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert SECRET_ARG.encode() in f.read()
        assert SECRET_ENV in json.dumps(ct.attrs) and SECRET_ARG in json.dumps(ct.attrs)  # and in Docker's inspect
        out = tmp_path / "pod.tar.gz"
        r = subprocess.run([sys.executable, "-m", "tui", "bundle", pod, "--sample", "1", "-o", str(out)],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "DOCKER_HOST": docker_engine.url})
        assert r.returncode == 0, r.stderr
        with tarfile.open(out, "r:gz") as tar:
            got = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
        ident = json.loads(got["identity.json"])
        assert ident["inode"] == ns_inode_of_pid(pid) and ident["kind"] == "pod"
        assert ident["name"] == f"{k8s_ns}/{pod}" and ident["pod"] == pod and ident["k8s_namespace"] == k8s_ns
        assert ident["labels"]["tier"] == f"t{tag}"
        assert [(c["name"], c["image"]) for c in ident["containers"]] == [(ct.name, IMAGE)]
        assert "sh" in ident["process_names"] or "sleep" in ident["process_names"]
        for name, body in got.items():
            assert SECRET_ENV.encode() not in body and SECRET_ARG.encode() not in body, name
            assert b"DB_PASSWORD" not in body, name
        assert "ip-addr.txt" in got and "sysctl.json" in got
    finally:
        ct.remove(force=True)
