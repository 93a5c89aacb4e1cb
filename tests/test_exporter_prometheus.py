"""The exporter against a real Prometheus (Debian's package) and a real Docker engine.

A pod-labelled container (labelled as the kubelet labels a pod's sandbox on Docker) gets a
listen overflow made inside its namespace; Prometheus, scraping the real exporter every
second, must answer ``increase(synscope_netstat_TcpExt_ListenDrops{pod=...}[30s]) > 0`` with
the pod's k8s_namespace. When the container is removed its series leave /metrics, and
Prometheus, seeing them gone from a scrape, stops returning them (no stale series).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
from dockerd import docker_engine, pid_of  # noqa: F401  (docker_engine is a fixture)
from nethelpers import CLIENT, SERVER, require_root, wait_for
from promhelpers import REPO, Exporter, prometheus
from test_docker import in_netns, kill, pod_labels

pytestmark = pytest.mark.docker

RULES = os.path.join(REPO, "deploy", "prometheus", "synscope.rules.yml")
DASHBOARD = os.path.join(REPO, "deploy", "grafana", "synscope.json")


def dashboard_queries() -> list[tuple[str, str]]:
    """Every panel's PromQL, with the dashboard's variables as "All" and a 10 s rate window."""
    with open(DASHBOARD) as f:
        panels = json.load(f)["panels"]
    subst = {"$__rate_interval": "10s", "$node": ".*", "$k8s_namespace": ".*"}
    out = []
    for p in panels:
        for t in p["targets"]:
            expr = t["expr"]
            for k, v in subst.items():
                expr = expr.replace(k, v)
            assert "$" not in expr, expr
            out.append((p["title"], expr))
    return out


def test_prometheus_sees_a_pods_listen_drops_and_forgets_the_pod_when_it_goes(docker_engine):  # noqa: F811
    require_root()
    tag = uuid.uuid4().hex[:6]
    pod, k8s_ns = f"web-{tag}", f"shop-{tag}"
    sandbox = docker_engine.run(f"k8s_POD_{pod}_{k8s_ns}_0", labels=pod_labels(pod, k8s_ns, "POD"))
    server = client = None
    exporter = None
    try:
        pid = pid_of(sandbox)
        exporter = Exporter("--interval", "0.5", env={"DOCKER_HOST": docker_engine.url})
        with prometheus(exporter.port, rule_files=(RULES,)) as prom:
            series = f'synscope_netstat_TcpExt_ListenDrops{{pod="{pod}"}}'
            # the pod is found by discovery (every 5 s) and scraped: its series exists, at 0
            got = wait_for(lambda: prom.query(series), timeout=30, interval=0.5)
            assert got, f"Prometheus never had {series}:\n{prom.log_tail()}\n{exporter.stderr()}"
            labels = got[0]["metric"]
            assert labels["k8s_namespace"] == k8s_ns and labels["kind"] == "pod", labels
            assert labels["name"] == f"{k8s_ns}/{pod}" and "container" not in labels, labels
            assert set(labels) == {"__name__", "instance", "job", "netns", "kind", "name", "pod", "k8s_namespace"}, labels
            assert got[0]["value"][1] == "0"  # a fresh namespace: the kernel's own total

            # a backlog-1 server that never accepts, and 20 connects, inside the pod's namespace
            server = in_netns(pid, SERVER, "127.0.0.1", "8080", "60", stdout=subprocess.PIPE, text=True)
            assert server.stdout is not None and server.stdout.readline().strip() == "listening"
            client = in_netns(pid, CLIENT, "127.0.0.1", "8080", "20", "2.5", stdout=subprocess.PIPE, text=True)
            expr = f"increase({series}[30s]) > 0"
            hits = wait_for(lambda: prom.query(expr), timeout=30, interval=0.5)
            assert hits, f"{expr} stayed empty; now: {prom.query(series)}"
            assert [h["metric"]["k8s_namespace"] for h in hits] == [k8s_ns], hits
            assert float(hits[0]["value"][1]) > 0
            # nothing else on the node dropped those SYNs: only the pod's series moved
            others = prom.query(f'increase(synscope_netstat_TcpExt_ListenDrops{{netns="{labels["netns"]}"}}[30s]) > 0')
            assert [o["metric"].get("pod") for o in others] == [pod], others
            # the alert rule sees it too (pending: its for: is 5 minutes)
            alert = f'ALERTS{{alertname="SynscopeAcceptQueueOverflow",pod="{pod}"}}'
            assert wait_for(lambda: prom.query(alert), timeout=20, interval=0.5), prom.query("ALERTS")
            # and each dashboard panel's query runs on the real Prometheus; the SYN one shows the pod
            for title, expr in dashboard_queries():
                result = prom.query(expr)  # a PromQL error fails here
                if title.startswith("SYN trouble"):
                    mine = [r for r in result if r["metric"].get("pod") == pod]
                    assert mine and float(mine[0]["value"][1]) > 0, (title, result)
            assert prom.query('synscope_up{job="synscope"} == 1')
            assert prom.query('synscope_discovery_source_up{source="docker"} == 1')

            kill(server, client)
            server = client = None
            sandbox.remove(force=True)
            gone = wait_for(lambda: f'pod="{pod}"' not in exporter.metrics(), timeout=20, interval=0.5)
            assert gone, "the removed pod's series are still on /metrics"
            # Prometheus marks series that left a scrape stale: the instant query is empty
            assert wait_for(lambda: not prom.query(series), timeout=15, interval=0.5), prom.query(series)
            assert prom.targets_up()
    finally:
        kill(*(p for p in (server, client) if p is not None))
        if exporter is not None:
            exporter.close()
        try:
            sandbox.remove(force=True)
        except Exception:
            pass
