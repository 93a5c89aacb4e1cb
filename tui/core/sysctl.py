"""Per-namespace sysctls: read, preview a change as exact commands, and (only if allowed) apply.

Reading: ``/proc/sys/net/...`` shows the *reading thread's* namespace, so values are read on
the setns thread (:func:`tui.core.netns.run_in_namespace`), the host's the same way.

Scope is checked on the running kernel, not assumed: inside a non-host namespace a key that
is absent (``net.core.netdev_max_backlog``) or read-only (``net.core.rmem_max``,
``net.netfilter.nf_conntrack_max`` on 6.18) is global — it can only be set on the host and
then affects every namespace. A key present and writable there is the namespace's own.

Writing is off by default. :func:`apply_sysctl` refuses unless it is handed an
:class:`ApplyPermit`, and the only way to make one is :func:`permit_from_flag` with the
``--allow-apply`` flag's value. A write happens in the chosen namespace only (the setns
thread verifies the namespace inode before touching anything), is read back, and is logged
to ``apply.log`` in the private synscope directory with what it replaced, so it can be
reverted.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .namespaces import NetNS, ns_inode_of_pid
from .netns import NamespaceGone, NetnsReader, run_in_namespace

__all__ = [
    "ApplyPermit",
    "ApplyRefused",
    "Change",
    "Commands",
    "KNOWN",
    "K8S_SAFE",
    "Proposal",
    "SysctlInfo",
    "SysctlState",
    "WATCHED",
    "apply_sysctl",
    "commands_for",
    "host_netns",
    "nsenter_prefix",
    "permit_from_flag",
    "preview_text",
    "private_dir",
    "read_sysctls",
    "revert_change",
    "save_private",
]


@dataclass(frozen=True, slots=True)
class SysctlInfo:
    key: str
    doc: str
    removed_in: str = ""  # kernel release that removed it, if any


KNOWN: dict[str, SysctlInfo] = {
    i.key: i
    for i in (
        SysctlInfo("net.core.somaxconn", "upper limit for every listen() backlog (the accept queue)"),
        SysctlInfo("net.ipv4.tcp_max_syn_backlog", "with syncookies off, SYNs from unproven peers are dropped once a listener's SYN queue passes 3/4 of it"),
        SysctlInfo("net.ipv4.tcp_syncookies", "answer SYNs with cookies when the SYN queue is full (1 = when needed)"),
        SysctlInfo("net.ipv4.tcp_timestamps", "TCP timestamps (RFC 7323): RTT measurement and PAWS"),
        SysctlInfo("net.ipv4.tcp_tw_recycle", "fast TIME_WAIT recycling with per-host timestamp checks; breaks NAT", "4.12"),
        SysctlInfo("net.ipv4.tcp_tw_reuse", "reuse TIME_WAIT sockets for new *outgoing* connections"),
        SysctlInfo("net.ipv4.ip_local_port_range", "source ports for outgoing connections"),
        SysctlInfo("net.ipv4.tcp_max_tw_buckets", "TIME_WAIT sockets kept at most"),
        SysctlInfo("net.ipv4.tcp_fin_timeout", "FIN_WAIT_2 timeout (not TIME_WAIT's 60 s)"),
        SysctlInfo("net.ipv4.tcp_abort_on_overflow", "reset instead of drop when the accept queue is full"),
        SysctlInfo("net.core.netdev_max_backlog", "packets queued per CPU before the stack (global)"),
        SysctlInfo("net.netfilter.nf_conntrack_max", "conntrack entries a namespace may hold (global on 6.18: set on the host)"),
        SysctlInfo("net.netfilter.nf_conntrack_buckets", "size of conntrack's hash table, shared by every namespace (host only)"),
        SysctlInfo("net.netfilter.nf_conntrack_tcp_be_liberal", "conntrack accepts out-of-window TCP segments instead of marking them INVALID"),
    )
}
WATCHED: tuple[str, ...] = tuple(KNOWN)

# Kubernetes "safe" sysctls (allowed in every pod without kubelet flags), as of 1.32. All
# others need kubelet --allowed-unsafe-sysctls and must be namespaced.
K8S_SAFE = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)

_VALUE_RE = re.compile(r"^-?[0-9]+( -?[0-9]+)*$")


def _path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def _norm(value: str) -> str:
    # the kernel prints vectors tab-separated; compare and show them space-separated
    return " ".join(value.split())


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class SysctlState:
    """One namespace's sysctls next to the host's, as read on this kernel."""

    ns_inode: int
    is_host: bool
    values: Mapping[str, str]  # keys present in the namespace -> value
    writable: frozenset[str]  # keys writable in the namespace (per-namespace on this kernel)
    host_values: Mapping[str, str] = field(default_factory=dict)
    kernel: str = ""

    def value(self, key: str) -> str | None:
        return self.values.get(key)

    def host(self, key: str) -> str | None:
        return self.host_values.get(key)

    def has(self, key: str) -> bool:
        """The running kernel has this key (in the namespace or on the host)."""
        return key in self.values or key in self.host_values

    def scope(self, key: str) -> str:
        """"host" | "namespace" (its own copy) | "global" (set on the host, affects all) | "absent"."""
        if self.is_host:
            return "host" if key in self.values else "absent"
        if key in self.writable:
            return "namespace"
        return "global" if self.has(key) else "absent"

    def int_value(self, key: str) -> int | None:
        v = self.values.get(key)
        try:
            return int(v.split()[0]) if v else None
        except ValueError:
            return None


def _read_here(keys: tuple[str, ...]) -> tuple[dict[str, str], frozenset[str]]:
    values: dict[str, str] = {}
    writable: set[str] = set()
    for key in keys:
        path = _path(key)
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                values[key] = _norm(f.read())
            if os.stat(path).st_mode & stat.S_IWUSR:
                writable.add(key)
        except OSError:
            continue  # absent on this kernel or in this namespace
    return values, frozenset(writable)


def host_netns() -> NetNS:
    """The node's namespace, entered through pid 1 (or ourselves if pid 1 is unreadable)."""
    for pid in (1, os.getpid()):
        inode = ns_inode_of_pid(pid)
        if inode:
            return NetNS(inode, "host", "host", pids=(pid,))
    raise NamespaceGone("cannot read the host namespace (/proc/1/ns/net and /proc/self/ns/net)")


def read_sysctls(
    ns: NetNS,
    keys: Iterable[str] = WATCHED,
    reader: NetnsReader | None = None,
    host: NetNS | None = None,
) -> SysctlState:
    """The namespace's values (read inside it) and the host's. Raises NamespaceGone."""
    keys = tuple(keys)
    own = reader is None
    rd = reader if reader is not None else NetnsReader()
    try:
        values, writable = run_in_namespace(ns, _read_here, keys, reader=rd)
        host = host or host_netns()
        if host.inode == ns.inode:
            host_values = values
        else:
            host_values, _ = run_in_namespace(host, _read_here, keys, reader=rd)
    finally:
        if own:
            rd.close()
    return SysctlState(ns.inode, ns.inode == host.inode, values, writable, host_values, os.uname().release)


# --------------------------------------------------------------------------- proposals


@dataclass(frozen=True, slots=True)
class Proposal:
    """One sysctl change a finding suggests, with the values it was based on."""

    key: str
    value: str  # proposed
    current: str | None  # in the namespace; None if the namespace does not have it
    host: str | None  # the host's, for comparison
    scope: str  # see SysctlState.scope
    why: str  # the evidence, in words and numbers
    risk: str
    finding: str = ""  # id of the finding that proposed it
    optional: bool = False  # one of several options with trade-offs, not "the fix"


@dataclass(frozen=True, slots=True)
class Commands:
    temporary: str
    temporary_note: str
    persistent_file: str  # /etc/sysctl.d/... path
    persistent_content: str
    persistent_note: str
    runtime: str = ""  # docker/compose form, for containers
    k8s_yaml: str = ""  # for pods
    k8s_note: str = ""


def _kv(key: str, value: str) -> str:
    return shlex.quote(f"{key}={value}")


def nsenter_prefix(ns: NetNS) -> str:
    """The `nsenter` that enters ``ns`` from the node, for commands a user pastes."""
    if ns.path:
        return f"nsenter --net={shlex.quote(ns.path)}"
    if ns.pid:
        return f"nsenter --net=/proc/{ns.pid}/ns/net"
    return f"nsenter --net=<path of {ns.label}>"


def commands_for(p: Proposal, ns: NetNS) -> Commands:
    """The exact commands for one proposal in one namespace."""
    kv = _kv(p.key, p.value)
    sysctl_d = "/etc/sysctl.d/90-synscope.conf"
    content = f"# synscope: {p.why}\n{p.key} = {p.value}\n"
    if p.scope in ("host", "global"):
        temporary = f"sysctl -w {kv}"
        tnote = "on the node; lasts until reboot"
        if p.scope == "global" and ns.kind != "host":
            tnote = f"global on this kernel: {p.key} cannot be set inside {ns.name}; this changes the node and every namespace"
        pnote = f"then: sysctl -p {sysctl_d}"
        return Commands(temporary, tnote, sysctl_d, content, pnote)
    temporary = f"{nsenter_prefix(ns)} sysctl -w {kv}"
    tnote = f"only {ns.name} ({ns.label}); lasts until the namespace goes away"
    runtime = k8s_yaml = k8s_note = ""
    if ns.kind == "pod" or ns.pod:
        pnote = (
            f"{sysctl_d} on the node does NOT reach a pod's namespace: set it in the pod spec "
            "(securityContext.sysctls, below); the runtime applies it when the pod starts"
        )
        k8s_yaml = (
            "spec:\n"
            "  securityContext:\n"
            "    sysctls:\n"
            f"    - name: {p.key}\n"
            f'      value: "{p.value}"\n'
        )
        if p.key in K8S_SAFE:
            k8s_note = f"{p.key} is a Kubernetes safe sysctl: allowed in any pod"
        else:
            k8s_note = (
                f"{p.key} is an unsafe sysctl for Kubernetes: the pod is rejected (SysctlForbidden) unless the "
                f"node's kubelet runs with --allowed-unsafe-sysctls='{p.key}' "
                "(KubeletConfiguration allowedUnsafeSysctls); schedule the pod onto such nodes"
            )
    elif ns.kind == "container" or ns.containers:
        pnote = (
            f"{sysctl_d} on the node does NOT reach a container's namespace: the runtime must set it "
            "when the container starts (below)"
        )
        names = [c.name for c in ns.containers] or [ns.name]
        runtime = (
            f"docker run --sysctl {kv} ...   # container {names[0]}\n"
            f"compose:  sysctls:\n            - {p.key}={p.value}"
        )
    elif ns.kind == "netns" and ns.path:
        name = os.path.basename(ns.path)
        pnote = (
            f"{sysctl_d} on the node does NOT reach {name}: an ip netns has no persistence of its own; "
            f"add `ip netns exec {name} sysctl -w {kv}` to whatever creates it"
        )
    else:
        pnote = (
            f"{sysctl_d} on the node does NOT reach this namespace: set it where its process "
            f"({', '.join(ns.processes[:2]) or ns.name}) is started (its runtime or unit)"
        )
    return Commands(temporary, tnote, sysctl_d, content, pnote, runtime, k8s_yaml, k8s_note)


def _show(v: str | None) -> str:
    return "(absent)" if v is None else v


def preview_text(ns: NetNS, proposals: Iterable[Proposal], kernel: str = "", header: Iterable[str] = ()) -> str:
    """The whole preview as plain text: what the screen shows, copies and saves."""
    lines = [_comment(f"synscope sysctl preview for {ns.name} ({ns.kind}, {ns.label})")]
    if kernel:
        lines.append(_comment(f"kernel {kernel}"))
    lines += [_comment(h) for h in header]
    props = list(proposals)
    if not props:
        lines.append("# no sysctl change proposed")
    for p in props:
        c = commands_for(p, ns)
        lines += [
            "",
            f"## {p.key}: {_show(p.current)} -> {p.value}   (host: {_show(p.host)}; scope: {p.scope})"
            + ("   [one option among several]" if p.optional else ""),
            _comment(f"why:  {p.why}"),
            _comment(f"risk: {p.risk}"),
            _comment(f"temporary ({c.temporary_note}):"),
            c.temporary,
            f"# persistent: {c.persistent_file}",
        ]
        lines += [f"#   {ln}" for ln in c.persistent_content.rstrip("\n").splitlines()]
        lines.append(_comment(c.persistent_note))
        if c.runtime:
            lines += c.runtime.splitlines()
        if c.k8s_yaml:
            lines.append("# Kubernetes pod spec:")
            lines += c.k8s_yaml.rstrip("\n").splitlines()
            lines.append(_comment(c.k8s_note))
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """Text as shell comment lines, every line of it: a name with a newline in it (it should
    not have one: discovery cleans names) can never become a command when this is pasted."""
    return "\n".join(f"# {ln}" for ln in (str(text).splitlines() or [""]))


# --------------------------------------------------------------------------- private files


def private_dir() -> str:
    """``$SYNSCOPE_DIR`` or ``$XDG_STATE_HOME/synscope`` or ``~/.local/state/synscope``, mode 0700."""
    d = os.environ.get("SYNSCOPE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "synscope"
    )
    os.makedirs(d, mode=0o700, exist_ok=True)
    os.chmod(d, 0o700)
    return d


def save_private(text: str, path: str | None = None, default_name: str = "sysctl-preview.txt") -> str:
    """Write text to path (default: the private dir) with mode 0600; never through a symlink."""
    if not path:
        path = os.path.join(private_dir(), default_name)
    path = os.path.abspath(os.path.expanduser(path))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    return path


def _log(entry: dict, log_dir: str | None) -> str:
    d = log_dir or private_dir()
    path = os.path.join(d, "apply.log")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
    finally:
        os.close(fd)
    return path


# --------------------------------------------------------------------------- guarded apply


class ApplyRefused(PermissionError):
    """A write was refused: no permit, unknown key, bad value, or a global key."""


_TOKEN = object()


class ApplyPermit:
    """Proof that the user started synscope with --allow-apply. Make it with permit_from_flag."""

    __slots__ = ("origin",)

    def __init__(self, token: object, origin: str) -> None:
        if token is not _TOKEN:
            raise ApplyRefused("an ApplyPermit is made only by permit_from_flag(--allow-apply)")
        self.origin = origin

    def __repr__(self) -> str:
        return f"ApplyPermit({self.origin!r})"


def permit_from_flag(allow_apply: bool, origin: str = "--allow-apply") -> ApplyPermit | None:
    """The single door to writing: returns a permit only when the flag was given."""
    return ApplyPermit(_TOKEN, origin) if allow_apply is True else None


def _check_permit(permit: object) -> None:
    if not isinstance(permit, ApplyPermit):
        raise ApplyRefused("applying sysctls is off: start synscope with --allow-apply to enable it")


@dataclass(frozen=True, slots=True)
class Change:
    """One write that happened (or was attempted), as logged."""

    ns_inode: int
    ns_name: str
    key: str
    before: str
    requested: str
    after: str
    verified: bool  # read back equals requested
    action: str  # "apply" | "revert"
    time: float
    log_path: str = ""

    def describe(self) -> str:
        ok = "verified" if self.verified else f"NOT verified (read back {self.after!r})"
        return f"{self.action}: {self.key} {self.before} -> {self.after} in {self.ns_name} (net:[{self.ns_inode}]), {ok}"


def _write_here(key: str, value: str, host_write_ok: bool) -> tuple[str, str]:
    path = _path(key)
    try:
        with open(path, encoding="ascii") as f:
            before = _norm(f.read())
    except FileNotFoundError:
        raise ApplyRefused(f"{key} does not exist on this kernel or in this namespace: nothing written") from None
    if not host_write_ok and not os.stat(path).st_mode & stat.S_IWUSR:
        raise ApplyRefused(f"{key} is global on this kernel (read-only inside this namespace): set it on the host")
    with open(path, "w", encoding="ascii") as f:
        f.write(value + "\n")
    with open(path, encoding="ascii") as f:
        after = _norm(f.read())
    return before, after


def apply_sysctl(
    ns: NetNS,
    key: str,
    value: str,
    permit: ApplyPermit | None,
    *,
    reader: NetnsReader | None = None,
    log_dir: str | None = None,
    action: str = "apply",
) -> Change:
    """Write key=value in ``ns`` only, read it back, log it. Refuses without a permit."""
    _check_permit(permit)
    if key not in KNOWN:
        raise ApplyRefused(f"{key} is not a sysctl synscope proposes; refusing to write it")
    value = _norm(str(value))
    if not _VALUE_RE.match(value):
        raise ApplyRefused(f"{value!r} is not a number (or numbers) for {key}")
    before, after = run_in_namespace(ns, _write_here, key, value, ns.kind == "host", reader=reader)
    change = Change(ns.inode, ns.name, key, before, value, after, after == value, action, time.time())
    log_path = _log(
        {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(change.time)),
            "action": action,
            "namespace": ns.name,
            "inode": ns.inode,
            "kind": ns.kind,
            "key": key,
            "before": before,
            "requested": value,
            "after": after,
            "verified": change.verified,
            "permit": permit.origin if permit else "",
        },
        log_dir,
    )
    return Change(**{**_asdict(change), "log_path": log_path})


def _asdict(c: Change) -> dict:
    return {f: getattr(c, f) for f in Change.__slots__}


def revert_change(
    change: Change, ns: NetNS, permit: ApplyPermit | None, *, reader: NetnsReader | None = None, log_dir: str | None = None
) -> Change:
    """Write back the value a change replaced, in the same namespace (checked by inode)."""
    _check_permit(permit)
    if ns.inode != change.ns_inode:
        raise ApplyRefused(f"{ns.label} is not the namespace that was changed (net:[{change.ns_inode}])")
    return apply_sysctl(ns, change.key, change.before, permit, reader=reader, log_dir=log_dir, action="revert")
