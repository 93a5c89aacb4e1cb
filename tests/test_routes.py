"""The delayed-ACK finding's `ip route change … quickack 1` commands, run for real.

`ip route change` replaces a route whole: an attribute the command leaves out is lost. So each
command synscope prints is run in a lab namespace, and the routes read back must be exactly
what they were, plus quickack. A route with an attribute synscope does not rewrite (a time
metric here) gets no command at all.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess

from nethelpers import ip

from tui.core.namespaces import NetNS, ns_inode_of_path
from tui.core.netns import NetnsReader
from tui.core.routes import Route, quickack_supported, routes_of
from tui.core.sysctl import nsenter_prefix


def _veth_of(ns: str) -> str:
    links = json.loads(ip("-j", "-n", ns, "link", "show").stdout)
    (name,) = [link["ifname"] for link in links if link["ifname"] != "lo"]
    return name


def test_quickack_commands_keep_every_route_whole(lab):
    a, b = lab.add("ra"), lab.add("rb")
    lab.veth(a, "198.51.100.1/24", b, "198.51.100.2/24")
    dev = _veth_of(a)
    ip("-n", a, "-6", "addr", "add", "2001:db8:7::1/64", "dev", dev, "nodad")
    ip("-n", a, "route", "add", "default", "via", "198.51.100.2", "metric", "50")
    ip("-n", a, "route", "add", "203.0.113.0/25", "via", "198.51.100.2", "proto", "static", "mtu", "1400",
       "initcwnd", "10", "advmss", "1300")
    ip("-n", a, "route", "add", "203.0.113.128/25", "dev", dev, "src", "198.51.100.1", "rto_min", "50ms")
    ip("-n", a, "-6", "route", "add", "2001:db8:9::/48", "via", "2001:db8:7::2", "dev", dev, "metric", "1024")
    path = f"/run/netns/{a}"
    ns = NetNS(ns_inode_of_path(path) or 0, "netns", a, path=path)
    reader = NetnsReader()
    try:
        before = routes_of(ns, reader)
        by_dst = {r.dst: r for r in before}
        assert {"default", "198.51.100.0/24", "203.0.113.0/25", "203.0.113.128/25", "2001:db8:7::/64",
                "2001:db8:9::/48"} <= set(by_dst), by_dst
        assert "fe80::/64" not in by_dst  # link-local routes are left out
        assert by_dst["203.0.113.0/25"].metrics == (("mtu", 1400), ("advmss", 1300), ("initcwnd", 10))
        assert by_dst["198.51.100.0/24"].src == "198.51.100.1" and by_dst["198.51.100.0/24"].scope == "link"
        # rto_min is kept in a unit synscope does not rewrite: no command for that route
        assert by_dst["203.0.113.128/25"].quickack_command("x") is None
        assert "RTAX_RTO_MIN" in by_dst["203.0.113.128/25"].unsupported

        prefix = nsenter_prefix(ns)
        ran = []
        for r in before:
            cmd = r.quickack_command(prefix)
            if cmd is None:
                continue
            assert cmd.startswith(f"nsenter --net={path} ip ") and cmd.endswith(" quickack 1")
            subprocess.run(shlex.split(cmd), check=True, capture_output=True, text=True, timeout=10)
            ran.append(r.dst)
        assert len(ran) == len(before) - 1

        after = {r.dst: r for r in routes_of(ns, reader)}
        assert set(after) == set(by_dst)
        for dst, r in by_dst.items():
            want = r if dst not in ran else dataclasses.replace(r, quickack=True)
            assert after[dst] == want, (dst, r, after[dst])
        assert "quickack 1" in ip("-n", a, "route", "show", "default").stdout
        # and `quickack 0` in the same command undoes it, as the finding says
        cmd = after["default"].quickack_command(prefix)
        assert cmd is not None
        subprocess.run(shlex.split(cmd.replace("quickack 1", "quickack 0")), check=True, timeout=10)
        assert not {r.dst: r for r in routes_of(ns, reader)}["default"].quickack
    finally:
        reader.close()


def test_route_spec_and_kernel_check():
    r = Route("ipv6", "default", "eth0", gateway="fe80::1", proto="ra", metric=1024, pref="high")
    assert r.quickack_command("nsenter --net=/proc/7/ns/net") == (
        "nsenter --net=/proc/7/ns/net ip -6 route change default via fe80::1 dev eth0 proto ra scope global "
        "metric 1024 pref high quickack 1")
    assert quickack_supported("6.18.44-fc-v1045") and quickack_supported("3.11.0")
    assert not quickack_supported("3.10.0-1160.el7.x86_64")
