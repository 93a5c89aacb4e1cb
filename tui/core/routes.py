"""The routes of one namespace, and the exact ``ip route change … quickack 1`` for each.

The delayed-ACK finding offers the per-route ``quickack 1`` option (RTAX_QUICKACK, Linux
3.11+): a receiver whose route to the peer carries it ACKs every segment at once instead of
waiting for the delayed-ACK timer. ``ip route change`` *replaces* the route found by its
destination, tos and metric: every attribute left out is lost (an omitted ``proto`` becomes
``boot``, an omitted ``src`` or ``mtu`` disappears). So the command is rebuilt from the route
as the kernel reports it (rtnetlink through pyroute2, read on a thread inside the namespace),
with every attribute it has. A route with an attribute this module does not know how to
write back (multipath, an encapsulation, a nexthop object, a time metric, a locked metric…)
gets no command: the finding says to start from its ``ip route show`` line instead.
"""

from __future__ import annotations

import shlex
import socket
from dataclasses import dataclass

from .namespaces import NetNS
from .netns import NetnsReader, run_in_namespace

__all__ = ["Route", "quickack_supported", "read_routes_here", "routes_of"]

MAIN_TABLE = 254
RTN_UNICAST = 1
RTNH_F_ONLINK = 4

# rtnetlink numbers -> the words `ip route` reads (it also reads the numbers themselves)
_PROTO = {1: "redirect", 2: "kernel", 3: "boot", 4: "static", 16: "dhcp"}
_SCOPE = {0: "global", 200: "site", 253: "link", 254: "host"}
_PREF = {0: "medium", 1: "high", 3: "low"}
# route metrics `ip route` takes back as plain numbers (RTAX_* -> keyword)
_PLAIN_METRICS = {
    "RTAX_MTU": "mtu",
    "RTAX_WINDOW": "window",
    "RTAX_ADVMSS": "advmss",
    "RTAX_REORDERING": "reordering",
    "RTAX_HOPLIMIT": "hoplimit",
    "RTAX_INITCWND": "initcwnd",
    "RTAX_INITRWND": "initrwnd",
    "RTAX_FASTOPEN_NO_COOKIE": "fastopen_no_cookie",
}
# attributes that say nothing about the route's identity or that `change` must repeat
_IGNORED_ATTRS = {"RTA_TABLE", "RTA_CACHEINFO", "RTA_UNSPEC"}
_KNOWN_ATTRS = {"RTA_DST", "RTA_GATEWAY", "RTA_OIF", "RTA_PREFSRC", "RTA_PRIORITY", "RTA_PREF", "RTA_METRICS"}


@dataclass(frozen=True, slots=True)
class Route:
    """One unicast route of the main table, with what ``ip route change`` needs to keep it whole."""

    family: str  # "ipv4" | "ipv6"
    dst: str  # "default" or "198.51.100.0/24"
    dev: str
    gateway: str = ""
    proto: str = "kernel"
    scope: str = "global"
    src: str = ""
    metric: int | None = None
    tos: int = 0
    pref: str = ""  # IPv6 router preference, when not "medium"
    onlink: bool = False
    metrics: tuple[tuple[str, int], ...] = ()  # ("mtu", 1400), in the kernel's order
    congctl: str = ""
    features_ecn: bool = False
    quickack: bool = False
    unsupported: tuple[str, ...] = ()  # attributes we cannot write back: no command then

    def spec(self) -> list[str]:
        """The route's arguments for ``ip route``: what identifies it, then what it carries."""
        args = [self.dst]
        if self.tos:
            args += ["tos", f"0x{self.tos:x}"]
        if self.gateway:
            args += ["via", self.gateway]
        args += ["dev", self.dev, "proto", self.proto, "scope", self.scope]
        if self.src:
            args += ["src", self.src]
        if self.metric is not None:
            args += ["metric", str(self.metric)]
        if self.pref:
            args += ["pref", self.pref]
        if self.onlink:
            args.append("onlink")
        for word, value in self.metrics:
            args += [word, str(value)]
        if self.features_ecn:
            args += ["features", "ecn"]
        if self.congctl:
            args += ["congctl", self.congctl]
        return args

    def quickack_command(self, nsenter: str) -> str | None:
        """``<nsenter> ip route change <this route, whole> quickack 1``; None if it cannot be rebuilt."""
        if self.unsupported:
            return None
        family = "-6 " if self.family == "ipv6" else ""
        return f"{nsenter} ip {family}route change {shlex.join(self.spec())} quickack 1"

    @property
    def shown(self) -> str:
        """Roughly how ``ip route show`` prints it, for the reader."""
        return " ".join(self.spec())


def quickack_supported(release: str) -> bool:
    """RTAX_QUICKACK (`ip route … quickack`) exists from Linux 3.11 on."""
    try:
        major, minor = (int(x) for x in release.split(".")[:2])
    except ValueError:
        return True  # a release we cannot parse is a modern distribution's string
    return (major, minor) >= (3, 11)


def _route_of(msg, names: dict[int, str]) -> Route | None:  # type: ignore[no-untyped-def]
    if msg["type"] != RTN_UNICAST or msg.get_attr("RTA_TABLE", msg["table"]) != MAIN_TABLE:
        return None
    fam = "ipv6" if msg["family"] == socket.AF_INET6 else "ipv4"
    dst = msg.get_attr("RTA_DST")
    if fam == "ipv6" and dst and dst.lower().startswith("fe80:"):
        return None  # link-local: not what an application's connections use
    unsupported = []
    for name, _value in msg["attrs"]:
        if name not in _KNOWN_ATTRS and name not in _IGNORED_ATTRS:
            unsupported.append(name)
    metrics: list[tuple[str, int]] = []
    congctl, ecn, quickack = "", False, False
    raw_metrics = msg.get_attr("RTA_METRICS")
    for name, value in (raw_metrics["attrs"] if raw_metrics else ()):
        if name == "RTAX_QUICKACK":
            quickack = bool(value)
        elif name in _PLAIN_METRICS:
            metrics.append((_PLAIN_METRICS[name], int(value)))
        elif name == "RTAX_CC_ALGO":
            congctl = str(value)
        elif name == "RTAX_FEATURES" and int(value) in (0, 1):
            ecn = int(value) == 1  # RTAX_FEATURE_ECN; other feature bits are not settable
        else:
            unsupported.append(name)  # lock, rtt, rttvar, rto_min, ssthresh, cwnd…: units we do not rewrite
    oif = msg.get_attr("RTA_OIF")
    if oif is None or oif not in names:
        unsupported.append("no output device")
    pref = msg.get_attr("RTA_PREF")
    return Route(
        family=fam,
        dst="default" if msg["dst_len"] == 0 else f"{dst}/{msg['dst_len']}",
        dev=names.get(oif, "?") if oif is not None else "?",
        gateway=msg.get_attr("RTA_GATEWAY") or "",
        proto=_PROTO.get(msg["proto"], str(msg["proto"])),
        scope=_SCOPE.get(msg["scope"], str(msg["scope"])),
        src=msg.get_attr("RTA_PREFSRC") or "",
        metric=msg.get_attr("RTA_PRIORITY"),
        tos=int(msg["tos"] or 0),
        pref=_PREF.get(pref, str(pref)) if pref not in (None, 0) else "",
        onlink=bool(msg["flags"] & RTNH_F_ONLINK),
        metrics=tuple(metrics),
        congctl=congctl,
        features_ecn=ecn,
        quickack=quickack,
        unsupported=tuple(unsupported),
    )


def read_routes_here() -> list[Route]:
    """Unicast routes of the main table in the calling thread's namespace (IPv4, then IPv6)."""
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    out: list[Route] = []
    try:
        with IPRoute() as ipr:
            names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
            for fam in (socket.AF_INET, socket.AF_INET6):
                for msg in ipr.get_routes(family=fam, table=MAIN_TABLE):
                    r = _route_of(msg, names)
                    if r is not None:
                        out.append(r)
    except NetlinkError as exc:  # one kind of error for the caller: it becomes a note
        raise OSError(exc.code, f"rtnetlink: {exc}") from None
    return out


def routes_of(ns: NetNS, reader: NetnsReader | None = None) -> list[Route]:
    """The routes of ``ns``, read inside it. Raises :class:`NamespaceGone` if it vanished."""
    return run_in_namespace(ns, read_routes_here, reader=reader)
