"""Real network namespaces for tests: named netns, veth pairs, bounded traffic.

Everything a lab creates is removed when the lab closes, pass or fail; processes are killed
by the pid we started, never by name. Addresses come from TEST-NET-2 (198.51.100.0/24) and
TEST-NET-3 (203.0.113.0/24); traffic never leaves the namespaces the lab made.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

_seq = itertools.count()


def require(what: str, ok: bool) -> None:
    """Skip on a laptop, fail under CI=true: CI must run every real test."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {what} is not available: this test must run in CI")
    pytest.skip(f"needs {what}")


def require_root() -> None:
    require("root (network namespaces)", os.geteuid() == 0)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=30)


class NetnsLab:
    """A set of named namespaces that vanish with the lab."""

    def __init__(self, tag: str = "t") -> None:
        self.prefix = f"ss{os.getpid() % 100000}{tag}{next(_seq)}"
        self.names: list[str] = []
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> NetnsLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, short: str) -> str:
        name = f"{self.prefix}{short}"
        ip("netns", "add", name)
        self.names.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def veth(self, a: str, addr_a: str, b: str, addr_b: str) -> None:
        """Join two of our namespaces with a veth pair; addr like 198.51.100.1/24."""
        n = len(self.names) + next(_seq)
        ea, eb = f"va{os.getpid() % 10000}{n}"[:15], f"vb{os.getpid() % 10000}{n}"[:15]
        ip("link", "add", ea, "netns", a, "type", "veth", "peer", "name", eb, "netns", b)
        ip("-n", a, "addr", "add", addr_a, "dev", ea)
        ip("-n", b, "addr", "add", addr_b, "dev", eb)
        ip("-n", a, "link", "set", ea, "up")
        ip("-n", b, "link", "set", eb, "up")

    def spawn(self, ns: str, argv: list[str], **kw) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def python(self, ns: str, code: str, **kw) -> subprocess.Popen:
        return self.spawn(ns, [sys.executable, "-c", textwrap.dedent(code)], **kw)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)  # the session we started, by its pid
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for name in reversed(self.names):
            ip("netns", "del", name, check=False)
        self.names.clear()


SERVER = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)          # backlog 1, never accept: the accept queue overflows
print("listening", flush=True)
time.sleep(float(sys.argv[3]))
"""

CLIENT = """
import socket, sys, time
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks = []
for _ in range(n):                      # bounded: n connections, no retries
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect_ex((host, port))
    except OSError:
        pass
    socks.append(c)
time.sleep(hold)                       # let SYN retransmits happen, then give up
for c in socks:
    c.close()
print("done", flush=True)
"""


def listen_overflow(lab: NetnsLab, server_ns: str, client_ns: str, addr: str, port: int = 8080,
                    n: int = 20, hold: float = 3.0, server_life: float = 30.0) -> tuple[subprocess.Popen, subprocess.Popen]:
    """Start a backlog-1 server that never accepts and a client opening n connections.

    Returns (server, client); the client exits by itself after `hold` seconds.
    """
    server = lab.spawn(server_ns, [sys.executable, "-c", SERVER, addr, str(port), str(server_life)],
                       stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.strip() == "listening", f"server did not start: {line!r}"
    client = lab.spawn(client_ns, [sys.executable, "-c", CLIENT, addr, str(port), str(n), str(hold)],
                       stdout=subprocess.PIPE, text=True)
    return server, client


def wire_sized(ns: str) -> None:
    """Make every packet leaving ns one MSS-sized segment, as on a real wire.

    A veth passes TSO/GSO super-packets of up to 64 KB whole: 4 MiB crosses as ~125 packets,
    and iptables' random drop then loses 45 segments at a time, or none. With gso_max_segs 1
    a 4 MiB transfer is ~2900 packets, so "10 % loss" means 10 % of the segments.
    """
    import json

    for link in json.loads(ip("-j", "-n", ns, "link", "show").stdout):
        if link["ifname"] != "lo":
            ip("-n", ns, "link", "set", "dev", link["ifname"], "gso_max_segs", "1")


def wait_for(pred, timeout: float = 10.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll pred() until truthy or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def _import_every_command() -> None:
    """tui.cli imports each command's module when it builds its parser, and those import more
    of the stdlib (gzip, ssl, sqlite3...). Where Python itself lives under /root, uid 65534
    cannot read it: so every command is imported here, before the fork, whatever the test
    imported by itself (a test passing only after another had imported gzip was order-bound)."""
    import importlib
    import pkgutil

    import tui.commands

    for mod in pkgutil.iter_modules(tui.commands.__path__):
        importlib.import_module(f"tui.commands.{mod.name}")


def as_nobody(fn, *args) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """Run ``fn(*args)`` (returning an exit code) in a forked child that dropped root to uid
    65534; returns (exit code, stdout, stderr).

    A fork, not ``setpriv python``: everything the child needs is imported by the caller
    before the fork, so whether uid 65534 may read the checkout or the venv does not matter.
    """
    _import_every_command()
    rd_out, wr_out = os.pipe()
    rd_err, wr_err = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 70
        try:
            os.close(rd_out)
            os.close(rd_err)
            os.dup2(wr_out, 1)
            os.dup2(wr_err, 2)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (the child exits right after)
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            code = fn(*args)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    os.close(wr_out)
    os.close(wr_err)
    import threading

    err: list[str] = []
    with os.fdopen(rd_out) as f_out, os.fdopen(rd_err) as f_err:
        reader = threading.Thread(target=lambda: err.append(f_err.read()), daemon=True)  # both pipes drain
        reader.start()
        stdout = f_out.read()
        reader.join(timeout=60)
    stderr = "".join(err)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), stdout, stderr


def nat_path(lab: NetnsLab, tag: str = "") -> tuple[str, str, str]:
    """client -> router (MASQUERADE) -> server; returns their namespace names.

    The client is 203.0.113.1/30 with the router (203.0.113.2) as its default route; the
    router masquerades what it forwards out of 198.51.100.1/24 to the server, 198.51.100.2.
    Only the router has a rule that needs conntrack, so only its conntrack is in use.
    """
    router, server, client = lab.add(f"{tag}rt"), lab.add(f"{tag}sv"), lab.add(f"{tag}cl")
    lab.veth(router, "198.51.100.1/24", server, "198.51.100.2/24")
    lab.veth(client, "203.0.113.1/30", router, "203.0.113.2/30")
    ip("-n", client, "route", "add", "default", "via", "203.0.113.2")
    subprocess.run(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True, timeout=10)
    subprocess.run(["ip", "netns", "exec", router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "203.0.113.0/24",
                    "-j", "MASQUERADE"], check=True, timeout=10)
    return client, router, server


SYN_FIN = """
import random, socket, struct, sys, time
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def csum(b):
    t = sum(struct.unpack(f"!{len(b) // 2}H", b))
    t = (t >> 16) + (t & 0xFFFF)
    return ~(t + (t >> 16)) & 0xFFFF
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(n):                     # bounded: n segments, 5 ms apart
    # a TCP header with SYN|FIN (0x03), a flag combination no connection state accepts
    h = struct.pack("!HHIIBBHHH", 41000 + i, port, random.getrandbits(32), 0, 5 << 4, 0x03, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(h))
    h = h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]
    s.sendto(h, (dst, 0))
    time.sleep(0.005)
print("sent", flush=True)
"""


def send_syn_fin(lab: NetnsLab, ns: str, src: str, dst: str, port: int, n: int) -> None:
    """n crafted TCP segments with SYN and FIN set, from a raw socket in ns (bounded)."""
    p = lab.spawn(ns, [sys.executable, "-c", textwrap.dedent(SYN_FIN), src, dst, str(port), str(n)],
                  stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=30)
    assert out.strip() == "sent", out
