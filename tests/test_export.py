"""The exposition text: node_exporter's names and the kernel's values, types, fields, labels,
and the series' lifecycle, on the real kernel (the host and namespaces the test makes)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from nethelpers import NetnsLab, require, require_root, wait_for
from promhelpers import REPO, free_port, require_promtool, stop

from tui.core import counters
from tui.core.catalog import CATALOG, Group
from tui.core.export import DEFAULT_FIELDS, Exporter, FieldSelector, Renderer, metric_name
from tui.core.history import History
from tui.core.monitor import Monitor
from tui.core.namespaces import Discovery, NetNS, ns_inode_of_path

# node_exporter reads netstat, snmp AND snmp6; synscope reads the first two
SNMP6_SECTIONS = ("Ip6", "Icmp6", "Udp6", "UdpLite6")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def samples(text: str) -> list[tuple[str, str, str]]:
    out = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            out.append((m.group(1), m.group(2) or "", m.group(3)))
    return out


def types(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M)}


def once(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "tui", "exporter", "--once", *args], cwd=REPO, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def node_exporter_netstat(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def test_host_row_has_node_exporters_netstat_names_and_the_kernels_own_totals():
    require_root()
    binary = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    require("prometheus-node-exporter (apt-get install --no-install-recommends prometheus-node-exporter)", binary is not None)
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                             "--collector.netstat", "--collector.netstat.fields=.*"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        def ready():
            try:
                return node_exporter_netstat(port)
            except OSError:
                return None

        assert wait_for(ready, timeout=20), "node_exporter did not answer"
        before = {n: float(v) for n, _, v in samples(node_exporter_netstat(port)) if n.startswith("node_netstat_")}
        ours_text = once("--fields", ".*")
        after = {n: float(v) for n, _, v in samples(node_exporter_netstat(port)) if n.startswith("node_netstat_")}
    finally:
        stop(proc)
    ours = {n: int(v) for n, lab, v in samples(ours_text) if 'kind="host"' in lab and n.startswith("synscope_netstat_")}
    ours_types = types(ours_text)
    theirs = {n for n in before if not n.startswith(tuple(f"node_netstat_{s}_" for s in SNMP6_SECTIONS))}
    assert len(theirs) > 150  # TcpExt alone has ~130 columns on 6.x
    checked = 0
    for name in sorted(theirs):
        mine = "synscope_" + name[len("node_"):]
        assert mine in ours, f"node_exporter has {name}, synscope has no {mine}"
        key = name[len("node_netstat_"):].replace("_", ".", 1)
        assert ours_types[mine] == ("gauge" if counters.is_gauge(key) else "counter"), mine
        if not counters.is_gauge(key):
            # read between node_exporter's two reads: a kernel counter only goes up
            assert before[name] <= ours[mine] <= after[name], (mine, before[name], ours[mine], after[name])
            checked += 1
    assert checked > 150


def test_default_fields_are_the_triage_groups_and_the_context():
    sel = FieldSelector()
    for key, c in CATALOG.items():
        if key.startswith("Conntrack."):
            continue  # a curated subset of its group (below), not the whole group
        assert sel.selects(key) == (c.group is not Group.OTHER) or key.startswith("Tcp."), key
    for key in ("TcpExt.ListenDrops", "TcpExt.TCPSynRetrans", "TcpExt.PAWSTimewait", "TcpExt.DelayedACKs",
                "Tcp.RetransSegs", "Tcp.OutSegs", "Tcp.PassiveOpens", "Tcp.CurrEstab"):
        assert sel.selects(key), key
    for key in ("TcpExt.TCPHPHits", "TcpExt.TCPPureAcks", "Ip.InReceives", "IcmpMsg.InType3", "Udp.InDatagrams"):
        assert not sel.selects(key), key
    # conntrack: the columns that still move on 6.x and the count, not the rest of its catalog group
    for key in ("Conntrack.insert_failed", "Conntrack.drop", "Conntrack.early_drop", "Conntrack.entries",
                "Conntrack.chainlength", "Conntrack.invalid", "Conntrack.icmp_error"):
        assert sel.selects(key), key
    for key in ("Conntrack.found", "Conntrack.new", "Conntrack.insert", "Conntrack.delete", "Conntrack.expect_new"):
        assert not sel.selects(key), key  # stay 0 on 6.x: not worth a series
    # node_exporter's own default --collector.netstat.fields works as it does there
    theirs = FieldSelector(r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
                           r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue)"
                           r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
                           r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$")
    assert theirs.selects("TcpExt.ListenOverflows") and theirs.selects("Tcp.InErrs")
    assert not theirs.selects("TcpExt.DelayedACKs")
    assert DEFAULT_FIELDS.startswith("^(") and DEFAULT_FIELDS.endswith(")$")


def _history_of(inode: int, *files: bytes) -> History:
    h = History(2)
    h.ingest(inode, 1.0, files)
    return h


def test_a_new_section_is_exported_by_name_and_typed_by_is_gauge(monkeypatch):
    """A ``Conntrack`` section in the history is exported with node_exporter's conntrack
    names, its gauge as a gauge, and only the columns that still move."""
    monkeypatch.setattr(counters, "_layouts", {})
    snmp = b"Tcp: RtoAlgorithm CurrEstab RetransSegs\nTcp: 1 3 17\n"
    conntrack = b"Conntrack: entries found insert_failed drop\nConntrack: 12 0 4 1\n"
    ns = NetNS(4026532001, "pod", "shop/web-1", pids=(1,), pod="web-1", k8s_namespace="shop")
    h = _history_of(ns.inode, snmp, conntrack)
    text, series = Renderer(FieldSelector()).render([(ns, h.get(ns.inode).file_values())])
    t = types(text)
    assert t == {"synscope_netstat_Tcp_CurrEstab": "gauge", "synscope_netstat_Tcp_RetransSegs": "counter",
                 "synscope_nf_conntrack_entries": "gauge", "synscope_nf_conntrack_stat_insert_failed": "counter",
                 "synscope_nf_conntrack_stat_drop": "counter"}, t
    got = {n: v for n, _, v in samples(text)}
    assert got["synscope_nf_conntrack_stat_insert_failed"] == "4" and got["synscope_nf_conntrack_entries"] == "12"
    assert series == 5
    assert metric_name("TcpExt.ListenDrops") == "synscope_netstat_TcpExt_ListenDrops"


def test_conntrack_is_exported_for_a_namespace_that_uses_it_and_not_for_one_that_does_not(lab):
    from tui.core.sampler import Sampler

    used, plain = lab.add("ctu"), lab.add("ctp")
    # a MASQUERADE rule and one UDP flow: conntrack is in use in `used` only (one entry)
    subprocess.run(["ip", "netns", "exec", used, "iptables", "-t", "nat", "-A", "POSTROUTING", "!", "-o", "lo",
                    "-j", "MASQUERADE"], check=True, timeout=10)
    lab.python(used, "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9))"
               ).wait(timeout=10)
    nss = [NetNS(ns_inode_of_path(f"/run/netns/{n}") or 0, "netns", n, path=f"/run/netns/{n}") for n in (used, plain)]
    sampler = Sampler()
    try:
        sampler.set_namespaces(nss)
        sampler.sample()
        text, _ = Renderer(FieldSelector()).render([(ns, sampler.history.get(ns.inode).file_values()) for ns in nss])
    finally:
        sampler.close()
    got = {(n, lab_): v for n, lab_, v in samples(text)}
    ct = {(n, lab_): v for (n, lab_), v in got.items() if "conntrack" in n}
    assert ct, text
    assert all(f'netns="{nss[0].inode}"' in lab_ for _, lab_ in ct), ct  # none for the namespace without it
    entries = [v for (n, _), v in ct.items() if n == "synscope_nf_conntrack_entries"]
    assert entries == ["1"], ct
    assert types(text)["synscope_nf_conntrack_entries"] == "gauge"
    assert types(text)["synscope_nf_conntrack_stat_invalid"] == "counter"
    assert not any(n == "synscope_nf_conntrack_stat_found" for n, _ in ct)


def test_labels_are_the_six_escaped_and_parse_back():
    from prometheus_client.parser import text_string_to_metric_families

    weird = 'we"b\\1\nx'
    ns = NetNS(4026532002, "container", weird, pids=(1,))
    h = _history_of(ns.inode, b"Tcp: RetransSegs\nTcp: 5\n")
    text, _ = Renderer(FieldSelector()).render([(ns, h.get(ns.inode).file_values())])
    fams = list(text_string_to_metric_families(text))
    assert [f.name for f in fams] == ["synscope_netstat_Tcp_RetransSegs"]
    (sample,) = fams[0].samples
    # empty labels (pod, k8s_namespace of a plain container) are left out; the rest round-trip
    assert sample.labels == {"netns": "4026532002", "kind": "container", "name": weird, "container": weird}
    assert sample.value == 5


def test_promtool_finds_only_node_exporters_naming_style_in_the_text():
    require_root()
    require_promtool()
    text = once()
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    problems = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert problems, "promtool said nothing: it did not read the text?"
    style = re.compile(r'counter metrics should have "_total" suffix|should be written in \'snake_case\'')
    assert [p for p in problems if not style.search(p)] == [], problems  # no parse error, no other lint


def test_a_namespace_that_goes_takes_its_series_and_a_new_one_starts_new_ones():
    require_root()
    with NetnsLab("x") as lab:
        name = lab.add("gone")
        pidless = lab.add("still")  # no process: read through setns
        sleeper = lab.spawn(name, ["sleep", "60"])
        inode = wait_for(lambda: ns_inode_of_path(f"/run/netns/{name}"))
        monitor = Monitor(Discovery(), capacity=2, background=False)
        exporter = Exporter(monitor, min_age=0, process_metrics=False)
        try:
            def rows(text: str) -> dict[str, str]:
                return {lab_: v for n, lab_, v in samples(text) if n == "synscope_netstat_Tcp_RetransSegs"}

            first = rows(exporter.scrape().text.decode())
            assert any(f'netns="{inode}"' in lab_ for lab_ in first), first
            assert any(f'name="{pidless}"' in lab_ and 'kind="netns"' in lab_ for lab_ in first), first

            os.killpg(sleeper.pid, signal.SIGKILL)
            sleeper.wait(timeout=10)
            subprocess.run(["ip", "netns", "del", name], check=True, timeout=30)
            lab.names.remove(name)
            # no rediscovery yet: the sampler finds the namespace gone on its own
            second = exporter.scrape().text.decode()
            assert f'netns="{inode}"' not in second and f'name="{name}"' not in second

            again = lab.add("gone")
            assert again == name
            lab.spawn(name, ["sleep", "60"])
            new_inode = wait_for(lambda: ns_inode_of_path(f"/run/netns/{name}"))
            monitor.rediscover()
            time.sleep(0.05)
            third = rows(exporter.scrape().text.decode())
            mine = [lab_ for lab_ in third if f'name="{name}"' in lab_]
            assert mine == [f'{{netns="{new_inode}",kind="netns",name="{name}"}}'], third
        finally:
            monitor.close()


@pytest.mark.parametrize("fields", ["TcpExt_Listen", "^Tcp_RetransSegs$"])
def test_fields_picks_counters_like_node_exporter(fields):
    require_root()
    names = {n for n, _, _ in samples(once("--fields", fields)) if not n.startswith(("synscope_up", "synscope_disc",
                                                                                     "synscope_namespaces", "synscope_series",
                                                                                     "synscope_scrape", "process_"))}
    want = {"TcpExt_Listen": {"synscope_netstat_TcpExt_ListenDrops", "synscope_netstat_TcpExt_ListenOverflows"},
            "^Tcp_RetransSegs$": {"synscope_netstat_Tcp_RetransSegs"}}[fields]
    assert names == want
