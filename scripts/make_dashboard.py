"""Write deploy/grafana/synscope.json, the Grafana dashboard of the exporter's metrics:
    python scripts/make_dashboard.py
One row per pod/namespace in each panel (legend: its name and node); variables pick the
Prometheus data source, the nodes and the Kubernetes namespaces.
"""

import json

SEL = 'node=~"$node", k8s_namespace=~"$k8s_namespace"'
BY = "k8s_namespace, pod, name, node"
LEGEND = "{{name}} ({{node}})"


def rate(metric: str) -> str:
    return f"rate({metric}{{{SEL}}}[$__rate_interval])"


def summed(*metrics: str) -> str:
    # each rate summed by the same labels first, so one name missing on a kernel (PAWSPassive
    # after 4.12, TSEcrRejected before) drops only its own term: `or` keeps the other ones
    terms = [f"sum by ({BY}) ({rate(m)})" for m in metrics]
    return " + ".join(f"({t} or {' or '.join(f'0 * {o}' for o in terms if o is not t)})" if len(terms) > 1 else t
                      for t in terms)


PANELS = [
    ("SYN trouble per pod: SYNs dropped or rejected /s",
     "ListenDrops (accept queue full, SYN queue full without cookies), PAWS/timestamp rejects, TSEcrRejected, SYN "
     "challenges. ListenOverflows and TCPReqQFullDrop are in ListenDrops already: not added again.",
     [(summed("synscope_netstat_TcpExt_ListenDrops", "synscope_netstat_TcpExt_PAWSPassive",
              "synscope_netstat_TcpExt_PAWSTimewait", "synscope_netstat_TcpExt_TSEcrRejected",
              "synscope_netstat_TcpExt_TCPSYNChallenge"), LEGEND)], "ops"),
    ("SYN retransmits per pod /s",
     "TCPSynRetrans: SYNs (client) and SYN-ACKs (server) sent again because no answer came.",
     [(f"sum by ({BY}) ({rate('synscope_netstat_TcpExt_TCPSynRetrans')}) > 0", LEGEND)], "ops"),
    ("Accept and SYN queue overflows per pod /s",
     "ListenOverflows: accept queue full. TCPReqQFullDrop / DoCookies: SYN queue full, dropped / answered with a cookie.",
     [(f"sum by ({BY}) ({rate('synscope_netstat_TcpExt_ListenOverflows')}) > 0", "accept queue: " + LEGEND),
      (f"sum by ({BY}) ({rate('synscope_netstat_TcpExt_TCPReqQFullDrop')}) > 0", "SYN queue drop: " + LEGEND),
      (f"sum by ({BY}) ({rate('synscope_netstat_TcpExt_TCPReqQFullDoCookies')}) > 0", "SYN cookies: " + LEGEND)], "ops"),
    ("Delayed ACKs per pod /s",
     "DelayedACKs: the delayed-ACK timer fired. With small writes, Nagle plus delayed ACKs stalls ~40 ms.",
     [(f"sum by ({BY}) ({rate('synscope_netstat_TcpExt_DelayedACKs')})", LEGEND)], "ops"),
    ("Retransmitted segments per pod /s",
     "Tcp RetransSegs: segments sent again, of every kind.",
     [(f"sum by ({BY}) ({rate('synscope_netstat_Tcp_RetransSegs')}) > 0", LEGEND)], "ops"),
    ("Retransmit ratio per pod",
     "RetransSegs / OutSegs over the window; pods sending fewer than 1 segment/s are left out.",
     [(f"sum by ({BY}) ({rate('synscope_netstat_Tcp_RetransSegs')}) / (sum by ({BY}) "
       f"({rate('synscope_netstat_Tcp_OutSegs')}) > 1)", LEGEND)], "percentunit"),
    ("Conntrack drops per namespace /s",
     "drop + early_drop: table full; insert_failed: the SNAT source-port race. Empty until the exporter has them.",
     [(f"sum by ({BY}) ({rate('synscope_nf_conntrack_stat_drop')} + {rate('synscope_nf_conntrack_stat_early_drop')} + "
       f"{rate('synscope_nf_conntrack_stat_insert_failed')})", LEGEND)], "ops"),
    ("Exporter: scrape duration and series per node",
     "What each scrape cost (reading every namespace and rendering), and how many counter series it served.",
     [('synscope_scrape_duration_seconds{node=~"$node"}', "seconds {{node}}"),
      ('synscope_series{node=~"$node"}', "series {{node}}")], "short"),
]


def panel(i: int, title: str, description: str, targets: list[tuple[str, str]], unit: str) -> dict:
    return {
        "id": i + 1,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit, "min": 0}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["max", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [{"refId": chr(ord("A") + j), "expr": expr, "legendFormat": legend,
                     "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                    for j, (expr, legend) in enumerate(targets)],
    }


def variable(name: str, label: str, query: str) -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": query, "refId": name}, "definition": query, "includeAll": True, "multi": True,
            "allValue": ".*", "current": {"text": "All", "value": "$__all"}, "refresh": 2, "sort": 1}


dashboard = {
    "title": "synscope: TCP trouble per pod",
    "uid": "synscope-tcp",
    "description": "Per-namespace kernel TCP counters from synscope exporter (README 'Many nodes').",
    "tags": ["synscope", "tcp", "kubernetes"],
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "time": {"from": "now-3h", "to": "now"},
    "refresh": "30s",
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0},
        variable("node", "Node", "label_values(synscope_up, node)"),
        variable("k8s_namespace", "Namespace", "label_values(synscope_netstat_Tcp_RetransSegs, k8s_namespace)"),
    ]},
    "panels": [panel(i, *p) for i, p in enumerate(PANELS)],
}

if __name__ == "__main__":
    with open("deploy/grafana/synscope.json", "w") as f:
        json.dump(dashboard, f, indent=2)
        f.write("\n")
