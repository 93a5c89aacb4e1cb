"""deploy/: the manifests parse and agree with each other and with the CLI; the DaemonSet's own
command line and capabilities serve /metrics for real; the alerts pass promtool and refer only to
metrics the exporter has."""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from nethelpers import NetnsLab, require_root
from promhelpers import REPO, Exporter, require_promtool

from tui.cli import build_parser
from tui.commands.exporter import refusal
from tui.core.catalog import CATALOG
from tui.core.export import FieldSelector, metric_name

K8S = os.path.join(REPO, "deploy", "kubernetes")
RULES = os.path.join(REPO, "deploy", "prometheus", "synscope.rules.yml")
RULE_TESTS = os.path.join(REPO, "deploy", "prometheus", "synscope.rules.test.yml")
DASHBOARD = os.path.join(REPO, "deploy", "grafana", "synscope.json")
METRIC = re.compile(r"\b(synscope_[A-Za-z0-9_]+)")


def manifests() -> dict[str, dict]:
    docs = {}
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    docs[doc["kind"]] = doc
    return docs


def daemonset_container() -> tuple[dict, dict]:
    ds = manifests()["DaemonSet"]
    pod = ds["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def test_manifests_parse_and_agree():
    docs = manifests()
    assert set(docs) == {"Namespace", "ServiceAccount", "DaemonSet", "Service", "PodMonitor", "NetworkPolicy",
                         "PrometheusRule"}
    ds = docs["DaemonSet"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for kind in ("Service", "PodMonitor", "NetworkPolicy"):
        sel = docs[kind]["spec"].get("selector") or docs[kind]["spec"]["podSelector"]
        sel = sel.get("matchLabels", sel)
        assert sel.items() <= labels.items(), kind
        assert docs[kind]["metadata"]["namespace"] == ds["metadata"]["namespace"], kind
    _, container = daemonset_container()
    (port,) = container["ports"]
    assert docs["Service"]["spec"]["ports"][0]["targetPort"] == port["name"]
    assert docs["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["port"] == port["name"]
    assert docs["NetworkPolicy"]["spec"]["ingress"][0]["ports"][0]["port"] == port["name"]
    # the Operator's own pod/container target labels would rename synscope's: dropped
    relabel = docs["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["relabelings"]
    assert {"action": "labeldrop", "regex": "(pod|container)"} in relabel
    assert any(r.get("targetLabel") == "node" for r in relabel)


def test_the_daemonsets_command_line_is_one_the_cli_accepts_and_its_privileges_are_the_tested_ones():
    pod, c = daemonset_container()
    assert c["args"][0] == "exporter"  # the image's entrypoint is synscope
    args = build_parser().parse_args(c["args"])  # the real parser: exit 2 (SystemExit) on anything it refuses
    assert args.command == "exporter" and args.func.__module__ == "tui.commands.exporter"
    assert refusal(args.listen, args.allow_remote) is None
    assert args.listen.port == c["ports"][0]["containerPort"]
    assert pod["hostPID"] is True and not pod.get("hostNetwork")
    sc = c["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["SYS_PTRACE"]}  # tests/test_exporter_caps.py
    assert sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for path in ("/host/run", "/host/var/log/pods"):
        assert mounts[path]["readOnly"] is True, path
    assert mounts["/host/run"]["mountPropagation"] == "HostToContainer"  # namespaces made after the start
    hostpaths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    assert hostpaths == {"run": "/run", "pod-logs": "/var/log/pods"}
    assert "/tmp" in mounts  # the single file unpacks there; the root filesystem is read-only


def test_the_daemonsets_command_line_and_capabilities_serve_metrics_to_another_namespace():
    """What the pod does, minus Kubernetes: its args as written, root with only its capabilities,
    in a network namespace of its own; scraped from another one over a veth."""
    require_root()
    _, c = daemonset_container()
    caps = ",".join(f"+{cap.lower()}" for cap in c["securityContext"]["capabilities"]["add"])
    with NetnsLab("d") as lab:
        pod_ns, prom_ns = lab.add("pod"), lab.add("prom")
        lab.veth(pod_ns, "198.51.100.1/24", prom_ns, "198.51.100.2/24")
        setpriv = ("setpriv", "--inh-caps=-all", "--ambient-caps=-all", f"--bounding-set=-all,{caps}", "--")
        exporter = Exporter(*c["args"][1:], prefix=("ip", "netns", "exec", pod_ns, *setpriv))
        try:
            fetch = ("import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("
                     f"'http://198.51.100.1:{exporter.port}/metrics', timeout=10).read().decode())")
            r = subprocess.run(["ip", "netns", "exec", prom_ns, sys.executable, "-c", fetch], capture_output=True,
                               text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            # it reads more than its own namespace: the machine's, through the processes outside the pod
            inodes = set(re.findall(r'^synscope_netstat_Tcp_RetransSegs\{netns="(\d+)"', r.stdout, re.M))
            assert len(inodes) >= 2, r.stdout[-2000:]
            assert "synscope_up 1.0" in r.stdout
        finally:
            exporter.close()


def rules() -> dict:
    with open(RULES) as f:
        return yaml.safe_load(f)


def test_the_prometheusrule_carries_the_same_rules_as_the_rules_file():
    assert manifests()["PrometheusRule"]["spec"] == rules()


def test_promtool_checks_the_rules_and_runs_their_unit_tests():
    require_promtool()
    r = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "SUCCESS: 7 rules found" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(["promtool", "test", "rules", os.path.basename(RULE_TESTS)], cwd=os.path.dirname(RULE_TESTS),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    with open(RULE_TESTS) as f:
        tested = {t["alertname"] for case in yaml.safe_load(f)["tests"] for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert tested == {r["alert"] for g in rules()["groups"] for r in g["rules"]}  # each alert fires in a test


def test_every_alert_waits_and_says_how_to_look_on_the_node():
    alerts = [r for g in rules()["groups"] for r in g["rules"]]
    for a in alerts:
        assert re.fullmatch(r"\d+m", a["for"]), a["alert"]
        assert a["labels"]["severity"] in ("info", "warning", "critical"), a["alert"]
        assert {"summary", "description", "runbook"} <= a["annotations"].keys(), a["alert"]
    for a in (a for a in alerts if a["alert"] not in ("SynscopeExporterCannotSample",)):
        assert "kubectl debug node/{{ $labels.node }}" in a["annotations"]["runbook"], a["alert"]
        assert " -- synscope " in a["annotations"]["runbook"], a["alert"]


def _exported_names() -> set[str]:
    """Every metric name the exporter can have with its default fields: what this kernel
    shows, and the catalog's names for other kernels (PAWSPassive before 4.12)."""
    r = subprocess.run([sys.executable, "-m", "tui", "exporter", "--once"], cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    live = {m.group(1) for m in re.finditer(r"^# TYPE (\S+) ", r.stdout, re.M)}
    sel = FieldSelector()
    return live | {metric_name(k) for k in CATALOG if sel.selects(k)}


@pytest.fixture(scope="module")
def exported():
    require_root()
    return _exported_names()


def test_alerts_and_dashboard_use_only_metrics_the_exporter_has(exported):
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    exprs = [r["expr"] for g in rules()["groups"] for r in g["rules"]]
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if isinstance(v.get("query"), dict)]
    used = {m for e in exprs for m in METRIC.findall(e)}
    assert "synscope_netstat_TcpExt_ListenOverflows" in used and "synscope_netstat_TcpExt_DelayedACKs" in used
    missing = {m for m in used - exported if not m.startswith("synscope_nf_conntrack_")}
    assert missing == set(), missing
    # the conntrack ones exist only where conntrack is in use (tests/test_export.py exports them
    # for real): here, they must be the names the exporter gives those counters
    conntrack = {m for m in used if m.startswith("synscope_nf_conntrack_")}
    assert conntrack == {metric_name(f"Conntrack.{c}") for c in ("drop", "early_drop", "insert_failed")}
    for p in dashboard["panels"]:
        assert p["datasource"]["uid"] == "${datasource}" and p["targets"], p["title"]
