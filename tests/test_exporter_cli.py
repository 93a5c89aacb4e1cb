"""``synscope exporter`` as run: where it listens, what it refuses, TLS, client certificates,
basic auth. Real processes, real sockets: loopback, or namespaces the test makes."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import pytest
from nethelpers import NetnsLab, require, require_root, wait_for
from promhelpers import REPO, Exporter, free_port

from tui.core.metrics_http import is_loopback, parse_listen


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", "exporter", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def nothing_listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("listen", ["0.0.0.0:{port}", ":{port}", "[::]:{port}"])
def test_a_non_loopback_address_is_refused_without_allow_remote(listen):
    port = free_port()
    r = run_cli("--listen", listen.format(port=port))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "refusing to listen on" in r.stderr and "--allow-remote" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr  # one line
    assert nothing_listens(port)


def test_listen_addresses_parse_and_loopback_is_decided_by_every_address():
    assert str(parse_listen("127.0.0.1:9808")) == "127.0.0.1:9808"
    assert str(parse_listen("[::1]:9808")) == "[::1]:9808"
    assert parse_listen(":9808").host == ""
    for bad in ("9808", "127.0.0.1:http", "::1:9808", "127.0.0.1:70000"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    assert is_loopback("127.0.0.1") and is_loopback("127.5.6.7") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("") and not is_loopback("0.0.0.0") and not is_loopback("::")
    assert not is_loopback("198.51.100.1") and not is_loopback("no-such-host.invalid")


def test_bad_command_lines_are_one_line_and_exit_2():
    for args, words in ((("--fields", "(TcpExt"), "not a regular expression"),
                        (("--listen", "localhost"), "is not HOST:PORT"),
                        (("--tls-cert", "/nonexistent.pem"), "--tls-cert and --tls-key go together"),
                        (("--interval", "0"), "must be more than 0")):
        r = run_cli(*args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def test_once_prints_the_exposition_text():
    require_root()
    r = run_cli("--once")
    assert r.returncode == 0, r.stderr
    assert "# TYPE synscope_netstat_TcpExt_ListenDrops counter\n" in r.stdout
    assert 'synscope_netstat_TcpExt_ListenDrops{netns="' in r.stdout and 'kind="host",name="host"}' in r.stdout
    assert "\nsynscope_up 1.0\n" in r.stdout
    r = run_cli("--once", "--fields", "^NoSuch_Counter$")
    assert r.returncode == 0 and "matches none of this kernel's counters" in r.stderr
    assert "synscope_netstat_" not in r.stdout and "synscope_up 1.0" in r.stdout


def test_allow_remote_serves_on_every_address_inside_a_test_namespace():
    require_root()
    with NetnsLab("r") as lab:
        a, b = lab.add("srv"), lab.add("cli")
        lab.veth(a, "198.51.100.1/24", b, "198.51.100.2/24")
        exporter = Exporter("--listen", "0.0.0.0:9808", "--allow-remote", prefix=("ip", "netns", "exec", a))
        try:
            assert exporter.url == "http://0.0.0.0:9808/metrics"
            fetch = ("import urllib.request,sys; "
                     "sys.stdout.write(urllib.request.urlopen('http://198.51.100.1:9808/metrics', timeout=10).read().decode())")
            r = subprocess.run(["ip", "netns", "exec", b, sys.executable, "-c", fetch], capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 0, r.stderr
            assert 'synscope_netstat_TcpExt_ListenDrops{netns="' in r.stdout
        finally:
            exporter.close()


@pytest.fixture(scope="module")
def cert_dir():
    require("openssl (apt-get install openssl)", subprocess.run(["which", "openssl"], capture_output=True).returncode == 0)
    with tempfile.TemporaryDirectory(prefix="synscope-tls-") as d:
        for who in ("server", "client"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            f"/CN={who}", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", f"{d}/{who}.key",
                            "-out", f"{d}/{who}.pem"], check=True, capture_output=True, timeout=60)
        yield d


def _get(url: str, ctx: ssl.SSLContext | None = None, auth: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_tls_and_client_certificates(cert_dir):
    require_root()
    d = cert_dir
    exporter = Exporter("--tls-cert", f"{d}/server.pem", "--tls-key", f"{d}/server.key", "--tls-client-ca", f"{d}/client.pem")
    try:
        url = exporter.url
        assert url.startswith("https://127.0.0.1:")
        ctx = ssl.create_default_context(cafile=f"{d}/server.pem")
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            _get(url, ctx)  # no client certificate: the handshake fails
        ctx.load_cert_chain(f"{d}/client.pem", f"{d}/client.key")
        status, body = _get(url, ctx)
        assert status == 200 and "synscope_netstat_TcpExt_ListenDrops" in body
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _get(url.replace("https://", "http://"))  # plain HTTP on the TLS port gets nothing
        # a client that connects and says nothing holds only its own thread
        with socket.create_connection(("127.0.0.1", exporter.port)):
            assert _get(url, ctx)[0] == 200
    finally:
        exporter.close()


def test_basic_auth(cert_dir):
    require_root()
    d = cert_dir
    secret = os.path.join(d, "auth")
    with open(secret, "w") as f:
        f.write("prometheus:s3cret pass\n")
    exporter = Exporter("--tls-cert", f"{d}/server.pem", "--tls-key", f"{d}/server.key", "--basic-auth-file", secret)
    try:
        ctx = ssl.create_default_context(cafile=f"{d}/server.pem")
        assert _get(exporter.url, ctx)[0] == 401
        assert _get(exporter.url.replace("/metrics", "/nothing"), ctx)[0] == 401  # nothing says what exists
        assert _get(exporter.url.replace("/metrics", "/"), ctx)[0] == 200  # the liveness probe's page
        assert _get(exporter.url, ctx, "prometheus:wrong")[0] == 401
        status, body = _get(exporter.url, ctx, "prometheus:s3cret pass")
        assert status == 200 and "synscope_up 1.0" in body
        assert wait_for(lambda: "warning" not in exporter.stderr(), timeout=1)  # TLS on: no clear-text warning
    finally:
        exporter.close()
