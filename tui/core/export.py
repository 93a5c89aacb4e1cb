"""Prometheus exposition of every namespace's counters, with node_exporter's names.

``TcpExt.ListenDrops`` of a namespace becomes::

    synscope_netstat_TcpExt_ListenDrops{netns="4026532184",kind="pod",name="shop/web-1",pod="web-1",k8s_namespace="shop"} 72

* **Names** follow node_exporter's netstat collector (``node_netstat_<Section>_<Name>``), so
  its dashboards and alerts port over by changing the prefix; the conntrack statistics follow
  its conntrack collector (``node_nf_conntrack_stat_<name>``, ``node_nf_conntrack_entries``).
* **Types**: counters are ``counter`` and gauges (:func:`tui.core.counters.is_gauge`) are
  ``gauge``. The values are the kernel's absolute totals, never deltas, so ``increase()`` and
  ``rate()`` work across exporter restarts and a counter going down is a real reset.
* **The text is rendered here**, in the 0.0.4 text format, not by prometheus_client's
  encoder: that one names every counter ``<name>_total`` (OpenMetrics' rule), which would
  break the node_exporter names. prometheus_client still renders the health and process
  metrics (:class:`HealthCollector`), which have no such constraint.
* **Labels**: ``netns`` (the inode), ``kind``, ``name``, ``pod``, ``k8s_namespace``,
  ``container``; an empty one is left out (Prometheus reads a missing label as empty). Never
  the namespace's whole label set: cardinality stays one series per namespace and field.
* **Fields**: a regex over ``<Section>_<Name>`` like node_exporter's
  ``--collector.netstat.fields``. The default is built from the catalog's triage groups (every
  group but "other"), plus :data:`EXTRA_DEFAULT_FIELDS`: a counter the sampler starts reading
  (the conntrack statistics, a new catalog group) is exported by name, with no code change here.
* **Series lifecycle**: every scrape yields the namespaces the latest sample read, nothing
  kept from earlier scrapes: a namespace that is gone has no series, a new one (a new inode)
  starts new ones.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .catalog import CATALOG, Group, info
from .counters import Layout, is_gauge
from .monitor import Monitor, Tick
from .namespaces import NetNS

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_FIELDS",
    "EXTRA_DEFAULT_FIELDS",
    "Exporter",
    "FieldSelector",
    "HealthCollector",
    "Renderer",
    "Scrape",
    "default_fields",
    "field_name",
    "metric_name",
    "namespace_labels",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "synscope"

# Context beside the triage groups: what the alerts divide by (OutSegs for a retransmit
# ratio, PassiveOpens for a drop ratio) and the connection level.
_CONTEXT_FIELDS = r"Tcp_(ActiveOpens|PassiveOpens|CurrEstab|InSegs|OutSegs|InErrs)"
# Conntrack (/proc/net/stat/nf_conntrack per namespace, keys "Conntrack.<column>", only for a
# namespace that uses conntrack): not the whole catalog group, only the columns that still
# move on Linux 6.x, and the count. found/new/insert/delete stay 0 there: series for nothing.
_CONNTRACK_FIELDS = r"Conntrack_(entries|insert_failed|drop|early_drop|chainlength|invalid|clashres|search_restart|icmp_error)"
EXTRA_DEFAULT_FIELDS: tuple[str, ...] = (_CONTEXT_FIELDS, _CONNTRACK_FIELDS)
# sections whose default is the curated pattern above, not their catalog group
_CURATED_SECTIONS = frozenset({"Conntrack"})

# How a key's section turns into a metric name, where it differs from the netstat rule.
# Data, not code: a new section that needs its own prefix is one line here.
_SECTION_PREFIX: dict[str, str] = {"Conntrack": f"{PREFIX}_nf_conntrack_stat_"}
_METRIC_NAME: dict[str, str] = {"Conntrack.entries": f"{PREFIX}_nf_conntrack_entries"}
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")


def field_name(key: str) -> str:
    """``TcpExt.ListenDrops`` -> ``TcpExt_ListenDrops``: what ``--fields`` is matched against."""
    return key.replace(".", "_", 1)


def metric_name(key: str) -> str:
    """The metric a counter key is exported as (node_exporter's spelling, our prefix)."""
    name = _METRIC_NAME.get(key)
    if name is not None:
        return name
    section, _, column = key.partition(".")
    prefix = _SECTION_PREFIX.get(section)
    name = f"{prefix}{column}" if prefix else f"{PREFIX}_netstat_{section}_{column}"
    return _NOT_NAME.sub("_", name)


def default_fields() -> str:
    """The default ``--fields``: the catalog's triage groups, grouped by section, and the extras."""
    by_section: dict[str, list[str]] = {}
    for key, c in CATALOG.items():
        section, _, column = key.partition(".")
        if c.group is Group.OTHER or section in _CURATED_SECTIONS:
            continue
        by_section.setdefault(section, []).append(re.escape(column))
    parts = [f"{section}_({'|'.join(cols)})" for section, cols in by_section.items()]
    return "^(" + "|".join([*parts, *EXTRA_DEFAULT_FIELDS]) + ")$"


DEFAULT_FIELDS = default_fields()


class FieldSelector:
    """Which counters are exported: ``re.search`` on ``Section_Name``, as node_exporter does."""

    def __init__(self, pattern: str = DEFAULT_FIELDS) -> None:
        self.pattern = pattern
        self._re = re.compile(pattern)  # re.error for a bad one: the CLI refuses it at parse time
        self._memo: dict[str, bool] = {}

    def selects(self, key: str) -> bool:
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._re.search(field_name(key)) is not None
        return hit


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def namespace_labels(ns: NetNS) -> dict[str, str]:
    """The labels of a namespace's series (empty ones included; the renderer drops them).

    ``container`` is the container that owns a container's namespace. A pod's containers
    share the pod's namespace, so its counters are the pod's and ``container`` stays empty
    (as on cAdvisor's network metrics): naming one of them would change the series each time
    a container is added, e.g. an ephemeral debug container.
    """
    return {
        "netns": str(ns.inode),
        "kind": ns.kind,
        "name": ns.name,
        "pod": ns.pod,
        "k8s_namespace": ns.k8s_namespace,
        "container": ns.name if ns.kind == "container" else "",
    }


def _label_text(ns: NetNS) -> str:
    pairs = [f'{k}="{_escape_label(v)}"' for k, v in namespace_labels(ns).items() if v]
    return "{" + ",".join(pairs) + "}"


@dataclass(frozen=True, slots=True)
class _Family:
    name: str
    header: str  # "# HELP ...\n# TYPE ...\n"


def _family_for(key: str) -> _Family:
    name = metric_name(key)
    c = info(key)
    words = c.wording or c.note
    source = "/proc/net/stat/nf_conntrack" if key.startswith("Conntrack.") else "/proc/net/netstat or snmp"
    text = f"{key.replace('.', '')}" + (f": {words}" if words else "") + f" ({source}, per network namespace)"
    kind = "gauge" if is_gauge(key) else "counter"
    return _Family(name, f"# HELP {name} {_escape_help(text)}\n# TYPE {name} {kind}\n")


class Renderer:
    """The counter families of a sample as text, walking each file's values by position.

    A :class:`~tui.core.counters.Layout` is shared by every namespace with the same kernel
    columns, so which positions are exported is worked out once per layout. A section's
    lines are kept from the last scrape while its values are the same list object: the
    history reuses a section's list when its line did not change, so an idle namespace costs
    no formatting at all, only putting its lines in their families.
    """

    def __init__(self, selector: FieldSelector) -> None:
        self.selector = selector
        self._families: list[_Family] = []
        self._index: dict[str, int] = {}  # metric name -> index in _families
        # id(layout) -> (layout, ((section index, ((family index, column index), ...)), ...))
        self._plans: dict[int, tuple[Layout, tuple[tuple[int, tuple[tuple[int, int], ...]], ...]]] = {}
        # (inode, file, section) -> (the values list, label text, its lines): last scrape's
        self._lines: dict[tuple[int, int, int], tuple[list[int], str, tuple[str, ...]]] = {}

    def _plan(self, layout: Layout) -> tuple[tuple[int, tuple[tuple[int, int], ...]], ...]:
        got = self._plans.get(id(layout))
        if got is not None and got[0] is layout:
            return got[1]
        plan = []
        for si, keys in enumerate(layout.keys):
            items = []
            for ci, key in enumerate(keys):
                if not self.selector.selects(key):
                    continue
                fam = _family_for(key)
                fi = self._index.get(fam.name)
                if fi is None:
                    fi = self._index[fam.name] = len(self._families)
                    self._families.append(fam)
                items.append((fi, ci))
            if items:
                plan.append((si, tuple(items)))
        if len(self._plans) > 256:  # as the layout cache itself: bounded
            self._plans.clear()
        self._plans[id(layout)] = (layout, tuple(plan))
        return tuple(plan)

    def render(self, rows: Iterable[tuple[NetNS, list[tuple[Layout, tuple[list[int], ...]]]]]) -> tuple[str, int]:
        """(text, number of series) for these namespaces' latest values.

        The files of one namespace have distinct sections (netstat: TcpExt, IpExt...; snmp:
        Ip, Tcp...), so no metric is written twice for one namespace.
        """
        buckets: list[list[str]] = [[] for _ in self._families]
        old, new = self._lines, {}
        series = 0
        for ns, files in rows:
            labels = _label_text(ns)
            for fidx, (layout, values) in enumerate(files):
                plan = self._plan(layout)
                while len(buckets) < len(self._families):  # the plan met new families
                    buckets.append([])
                for si, items in plan:
                    vals = values[si]
                    key = (ns.inode, fidx, si)
                    cached = old.get(key)
                    if cached is not None and cached[0] is vals and cached[1] == labels:
                        lines = cached[2]
                    else:
                        fams = self._families
                        lines = tuple(f"{fams[fi].name}{labels} {vals[ci]}\n" for fi, ci in items)
                    new[key] = (vals, labels, lines)
                    for (fi, _), line in zip(items, lines):
                        buckets[fi].append(line)
                    series += len(items)
        self._lines = new  # namespaces that are gone take their lines with them
        out: list[str] = []
        for fi in sorted(range(len(buckets)), key=lambda i: self._families[i].name):
            if buckets[fi]:
                out.append(self._families[fi].header)
                out.extend(buckets[fi])
        return "".join(out), series


@dataclass
class Scrape:
    """One scrape's result: the exposition text and what went into it."""

    text: bytes
    up: bool
    namespaces: int
    series: int
    duration: float  # seconds spent reading and rendering
    sampled: bool  # this scrape read the kernel (False: it reused a sample younger than --interval)
    error: str = ""
    at: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)  # what this sample could not see (vanished, out of reach)


class HealthCollector:
    """synscope's own health, for prometheus_client: up, each discovery source, the scrape."""

    def __init__(self) -> None:
        self.tick: Tick | None = None
        self.up = False
        self.duration = 0.0
        self.series = 0

    def collect(self) -> Iterator[object]:
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily(f"{PREFIX}_up", "1 when this scrape read the kernel's counters, 0 when sampling failed",
                                value=1 if self.up else 0)
        src_up = GaugeMetricFamily(f"{PREFIX}_discovery_source_up",
                                   "1 when a discovery source (docker, kubelet) answered in the latest discovery",
                                   labels=["source"])
        src_absent = GaugeMetricFamily(f"{PREFIX}_discovery_source_absent",
                                       "1 when this node simply has no such source (no Docker socket, no kubelet)",
                                       labels=["source"])
        kinds = GaugeMetricFamily(f"{PREFIX}_namespaces", "network namespaces exported, by kind", labels=["kind"])
        tick = self.tick
        if tick is not None:
            for st in tick.statuses:
                src_up.add_metric([st.name], 1 if st.available else 0)
                src_absent.add_metric([st.name], 1 if st.absent else 0)
            counts: dict[str, int] = {}
            for ns in tick.namespaces:
                counts[ns.kind] = counts.get(ns.kind, 0) + 1
            for kind, n in sorted(counts.items()):
                kinds.add_metric([kind], n)
        yield src_up
        yield src_absent
        yield kinds
        yield GaugeMetricFamily(f"{PREFIX}_namespaces_unreachable",
                                "named namespaces with no process that synscope may not enter (setns needs CAP_SYS_ADMIN)",
                                value=len(tick.sample.unreachable) if tick is not None else 0)
        yield GaugeMetricFamily(f"{PREFIX}_series", "counter series in this scrape", value=self.series)
        yield GaugeMetricFamily(f"{PREFIX}_scrape_duration_seconds",
                                "seconds this scrape spent reading the namespaces' counters and rendering them",
                                value=self.duration)


class Exporter:
    """Scrapes for the HTTP server and ``--once``: a fresh sample, unless one is younger than
    ``min_age`` seconds (then that one is served again, so a pair of HA Prometheus servers or a
    curl loop read the kernel at most once per ``min_age``)."""

    def __init__(self, monitor: Monitor, selector: FieldSelector | None = None, *, min_age: float = 1.0,
                 process_metrics: bool = True) -> None:
        from prometheus_client import CollectorRegistry, ProcessCollector

        self.monitor = monitor
        self.selector = selector or FieldSelector()
        self.min_age = min_age
        self._renderer = Renderer(self.selector)
        self._health = HealthCollector()
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self._health)  # type: ignore[arg-type]
        if process_metrics:  # process_cpu_seconds_total, _resident_memory_bytes: what the exporter costs
            ProcessCollector(registry=self._registry)
        self._lock = threading.Lock()  # scrapes are served on threads; one sample at a time
        self._last: Scrape | None = None

    def scrape(self) -> Scrape:
        with self._lock:
            last = self._last
            if last is not None and time.monotonic() - last.at < self.min_age:
                return Scrape(last.text, last.up, last.namespaces, last.series, last.duration, False, last.error, last.at,
                              last.notes)
            self._last = self._scrape()
            return self._last

    def _scrape(self) -> Scrape:
        from prometheus_client.exposition import generate_latest

        start = time.monotonic()
        error = ""
        try:
            tick: Tick | None = self.monitor.tick()
        except Exception as exc:  # a failed sample is synscope_up 0, not a failed scrape
            tick, error = None, f"{type(exc).__name__}: {exc}"
        text, series, shown = "", 0, 0
        if tick is not None:
            history = self.monitor.history
            rows = []
            for ns in tick.namespaces:
                h = history.get(ns.inode)
                if h is not None:
                    rows.append((ns, h.file_values()))
            shown = len(rows)
            text, series = self._renderer.render(rows)
        health = self._health
        health.tick, health.up, health.series = tick, tick is not None, series
        health.duration = time.monotonic() - start
        body = text.encode() + generate_latest(self._registry)
        notes = list(dict.fromkeys(tick.notes + tick.sample.notes)) if tick is not None else []
        if tick is not None and any(ns.kind == "host" for ns in tick.namespaces):
            # the DaemonSet's pod network: pid 1's namespace is read all the same (hostPID),
            # so "run it on the host to see the node" would send the reader the wrong way
            notes = [n for n in notes if not n.startswith("synscope runs in net:[")]
        return Scrape(body, tick is not None, shown, series, health.duration, True, error, start, notes)
