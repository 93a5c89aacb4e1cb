"""After a change to deploy/prometheus/synscope.rules.yml, from the checkout:
    python scripts/make_alert_files.py && (cd deploy/prometheus && promtool test rules synscope.rules.test.yml)

Writes deploy/prometheus/synscope.rules.test.yml (promtool's unit tests: the expected alerts,
their annotations made from the rules' own templates with the values each test expects) and
deploy/kubernetes/prometheusrule.yaml (the same groups for the Prometheus Operator).
"""
import re

import yaml

RULES_FILE = "deploy/prometheus/synscope.rules.yml"
with open(RULES_FILE) as f:
    rules = yaml.safe_load(f)
rule_by_alert = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}


def series_labels(**kw: str | None) -> dict[str, str]:
    """The labels the exporter gives a namespace's series (a pod row unless told otherwise)."""
    base = dict(netns="4026532184", kind="pod", name="shop/web-1", pod="web-1", k8s_namespace="shop", node="node-a",
                instance="198.51.100.7:9808", job="synscope")
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def sel(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def render(text: str, labels: dict[str, str], value: str) -> str:
    """An annotation template as Prometheus fills it in, for the values a test expects."""
    text = text.replace("{{ $value | humanize }}", value)
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)


def alert(name: str, labels: dict[str, str], value: str, drop: tuple[str, ...] = ()) -> dict:
    """The alert promtool must see: the rule's own labels and its annotations filled in."""
    r = rule_by_alert[name]
    lab = {k: v for k, v in labels.items() if k not in drop}
    lab.update(r["labels"])
    return {"exp_labels": lab, "exp_annotations": {k: render(v, labels, value) for k, v in r["annotations"].items()}}


web = series_labels()
db = series_labels(netns="4026532185", name="shop/db-1", pod="db-1")
slow = series_labels(netns="4026532186", name="shop/slow-1", pod="slow-1")
old = series_labels(netns="4026532190", name="legacy/api-1", pod="api-1", k8s_namespace="legacy", node="centos7-node")
host = series_labels(netns="4026531840", kind="host", name="host", pod=None, k8s_namespace=None)
tests = []
# 1 accept queue
tests.append({"name": "accept queue overflow: the busy pod fires after 5m, the quiet and the slow one never",
  "interval": "1m",
  "input_series": [
    {"series": sel("synscope_netstat_TcpExt_ListenOverflows", web), "values": "0+30x20"},
    {"series": sel("synscope_netstat_TcpExt_ListenOverflows", db), "values": "0+0x20"},
    {"series": sel("synscope_netstat_TcpExt_ListenOverflows", slow), "values": "0+1x20"}],
  "alert_rule_test": [
    {"eval_time": "4m", "alertname": "SynscopeAcceptQueueOverflow", "exp_alerts": []},
    {"eval_time": "12m", "alertname": "SynscopeAcceptQueueOverflow", "exp_alerts": [alert("SynscopeAcceptQueueOverflow", web, "500m")]}]})
# 2 syn queue: drops and cookies add up
tests.append({"name": "SYN queue full: drops and cookies add up; neither alone is over the line here",
  "interval": "1m",
  "input_series": [
    {"series": sel("synscope_netstat_TcpExt_TCPReqQFullDrop", web), "values": "0+2x20"},
    {"series": sel("synscope_netstat_TcpExt_TCPReqQFullDoCookies", web), "values": "0+2x20"},
    {"series": sel("synscope_netstat_TcpExt_TCPReqQFullDrop", db), "values": "0+2x20"}],
  "alert_rule_test": [
    {"eval_time": "12m", "alertname": "SynscopeSynQueueFull", "exp_alerts": [alert("SynscopeSynQueueFull", web, "66.67m")]}]})
# 3 PAWS on a modern kernel (PAWSTimewait) and an old one (PAWSPassive)
tests.append({"name": "timestamp rejects: PAWSTimewait (Linux >= 4.12) and PAWSPassive (older) both fire",
  "interval": "1m",
  "input_series": [
    {"series": sel("synscope_netstat_TcpExt_PAWSTimewait", web), "values": "0+12x20"},
    {"series": sel("synscope_netstat_TcpExt_TSEcrRejected", web), "values": "0+0x20"},
    {"series": sel("synscope_netstat_TcpExt_PAWSPassive", old), "values": "0+60x20"},
    {"series": sel("synscope_netstat_TcpExt_PAWSTimewait", db), "values": "0+3x20"}],
  "alert_rule_test": [
    {"eval_time": "12m", "alertname": "SynscopeTimestampRejects", "exp_alerts": [
        alert("SynscopeTimestampRejects", old, "1"), alert("SynscopeTimestampRejects", web, "200m")]}]})
# 4 SYN retransmits: for 10m
tests.append({"name": "SYN retransmits: fire only after 10 minutes",
  "interval": "1m",
  "input_series": [{"series": sel("synscope_netstat_TcpExt_TCPSynRetrans", host), "values": "0+30x30"}],
  "alert_rule_test": [
    {"eval_time": "8m", "alertname": "SynscopeSynRetransmits", "exp_alerts": []},
    {"eval_time": "15m", "alertname": "SynscopeSynRetransmits", "exp_alerts": [alert("SynscopeSynRetransmits", host, "500m")]}]})
# 5 conntrack
tests.append({"name": "conntrack drops: insert_failed alone fires; INVALID packets are not drops",
  "interval": "1m",
  "input_series": [
    {"series": sel("synscope_nf_conntrack_stat_insert_failed", host), "values": "0+6x20"},
    {"series": sel("synscope_nf_conntrack_stat_drop", host), "values": "0+0x20"},
    {"series": sel("synscope_nf_conntrack_stat_early_drop", host), "values": "0+0x20"},
    {"series": sel("synscope_nf_conntrack_stat_invalid", web), "values": "0+600x20"}],
  "alert_rule_test": [
    {"eval_time": "12m", "alertname": "SynscopeConntrackDrops", "exp_alerts": [alert("SynscopeConntrackDrops", host, "100m")]}]})
# 6 health
health = {"node": "node-a", "instance": "198.51.100.7:9808", "job": "synscope"}
tests.append({"name": "exporter health: sampling failed; docker down where there is one, not where there is none",
  "interval": "1m",
  "input_series": [
    {"series": sel("synscope_up", health), "values": "1 1 0x20"},
    {"series": sel("synscope_discovery_source_up", {**health, "source": "docker"}), "values": "0x30"},
    {"series": sel("synscope_discovery_source_absent", {**health, "source": "docker"}), "values": "0x30"},
    {"series": sel("synscope_discovery_source_up", {**health, "source": "kubelet"}), "values": "0x30"},
    {"series": sel("synscope_discovery_source_absent", {**health, "source": "kubelet"}), "values": "1x30"}],
  "alert_rule_test": [
    {"eval_time": "10m", "alertname": "SynscopeExporterCannotSample", "exp_alerts": [alert("SynscopeExporterCannotSample", health, "0")]},
    {"eval_time": "20m", "alertname": "SynscopeDiscoverySourceDown",
     "exp_alerts": [alert("SynscopeDiscoverySourceDown", {**health, "source": "docker"}, "0")]}]})
doc = {"rule_files": ["synscope.rules.yml"], "evaluation_interval": "1m", "tests": tests}
with open("deploy/prometheus/synscope.rules.test.yml", "w") as f:
    f.write("# promtool test rules synscope.rules.test.yml: each alert fires where it must and nowhere else.\n"
            "# Made by scripts/make_alert_files.py from the rules' own templates and the expected values.\n")
    yaml.safe_dump(doc, f, sort_keys=False, width=200, allow_unicode=True)

operator = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "synscope", "namespace": "synscope", "labels": {"app.kubernetes.io/name": "synscope-exporter"}},
            "spec": rules}
with open("deploy/kubernetes/prometheusrule.yaml", "w") as f:
    f.write("# The alerts of deploy/prometheus/synscope.rules.yml for the Prometheus Operator, the same groups\n"
            "# (scripts/make_alert_files.py writes this file; tests/test_deploy.py checks they are equal).\n"
            "# Your Operator may select rules by a label (ruleSelector): add it to the metadata.\n")
    yaml.safe_dump(operator, f, sort_keys=False, width=120, allow_unicode=True)
