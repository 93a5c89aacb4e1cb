"""The exporter's HTTP endpoint: ``/metrics`` on a listen address, optionally TLS and basic auth.

The server is prometheus_client's own (``ThreadingWSGIServer``: a thread per request, daemon
threads), and TLS takes the options prometheus_client's ``start_http_server`` takes in
0.2x (a certificate and key, and a client CA that makes client certificates required). Its
``make_wsgi_app`` is not used: it renders a registry with prometheus_client's encoder, which
renames counters ``*_total`` (see :mod:`tui.core.export`). prometheus_client has no server-side
basic auth; the small check here compares one ``user:password`` line in constant time.

Where the address may be: :func:`parse_listen` and :func:`is_loopback` decide, the CLI refuses
a non-loopback address unless told twice (``--allow-remote``).
"""

from __future__ import annotations

import base64
import gzip
import hmac
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler, make_server

__all__ = ["BasicAuth", "ListenAddress", "MetricsServer", "TLSFiles", "is_loopback", "parse_listen"]

REQUEST_TIMEOUT = 30.0  # seconds a client may take to send its request (Prometheus' scrape timeout is 10 s)
GZIP_LEVEL = 1  # Prometheus asks for gzip; level 1 is ~5x faster than 9 for ~10 % more bytes


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str  # "" means every address
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_listen(text: str) -> ListenAddress:
    """``HOST:PORT``, ``[IPV6]:PORT`` or ``:PORT`` (every address); ValueError says what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9808)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, [::1]:9808")
    try:
        n = int(port)
    except ValueError:
        raise ValueError(f"{text!r}: the port {port!r} is not a number") from None
    if not 0 <= n < 65536:  # 0: any free port (the start line names the one taken)
        raise ValueError(f"{text!r}: the port must be 0 to 65535")
    return ListenAddress(host, n)


def is_loopback(host: str) -> bool:
    """True only if every address ``host`` names is a loopback one (127.0.0.0/8, ::1).

    "" (every address), 0.0.0.0 and :: are not; a name such as ``localhost`` is resolved, and
    one that resolves to anything else is not either.
    """
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addrs = {info[4][0] for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


@dataclass(frozen=True, slots=True)
class TLSFiles:
    cert: str
    key: str
    client_ca: str | None = None  # set: a client certificate signed by it is required

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot load the TLS certificate {self.cert} with key {self.key}: {exc}") from None
        if self.client_ca:
            try:
                ctx.load_verify_locations(self.client_ca)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load the client CA {self.client_ca}: {exc}") from None
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


class BasicAuth:
    """One ``user:password`` line from a file (a Kubernetes Secret, mode 0400)."""

    def __init__(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                line = f.read().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the basic auth file {path}: {exc.strerror}") from None
        if b":" not in line or line.startswith(b":") or b"\n" in line:
            raise ValueError(f"{path}: expected one line user:password")
        self._expected = b"Basic " + base64.b64encode(line)

    def allows(self, header: str | None) -> bool:
        return hmac.compare_digest((header or "").encode(), self._expected)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Prometheus scrapes every few seconds: no line per request on stderr."""


def _app(scrape: Callable[[], bytes], content_type: str, auth: BasicAuth | None):  # type: ignore[no-untyped-def]
    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        if path == "/":  # names nothing: open to the kubelet's liveness probe, auth or not
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [b'<html><body><h1>synscope exporter</h1><p><a href="/metrics">/metrics</a></p></body></html>\n']
        if auth is not None and not auth.allows(environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="synscope"'),
                                                ("Content-Type", "text/plain")])
            return [b"unauthorized\n"]
        if path != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: the metrics are at /metrics\n"]
        body = scrape()
        headers = [("Content-Type", content_type)]
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]

    return app


class MetricsServer:
    """``/metrics`` served on its own thread until :meth:`close`."""

    def __init__(self, listen: ListenAddress, scrape: Callable[[], bytes], content_type: str, *,
                 tls: TLSFiles | None = None, auth: BasicAuth | None = None) -> None:
        from prometheus_client.exposition import ThreadingWSGIServer

        infos = socket.getaddrinfo(listen.host or None, listen.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, sockaddr = infos[0]

        context = tls.context() if tls else None  # a bad certificate fails before the port is taken

        class Server(ThreadingWSGIServer):
            address_family = family

            def finish_request(self, request, client_address):  # type: ignore[no-untyped-def]
                # On the request's own thread, with a deadline: a client that connects and
                # says nothing (or never finishes a TLS handshake) holds only its thread,
                # never the accept loop (wrapping the listening socket would do the
                # handshake in accept(), for every client in turn).
                request.settimeout(REQUEST_TIMEOUT)
                if context is not None:
                    request = context.wrap_socket(request, server_side=True)
                super().finish_request(request, client_address)

            def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
                """A client that hung up, timed out or failed the handshake: not our error."""

        self.httpd = make_server(sockaddr[0], listen.port, _app(scrape, content_type, auth), Server,
                                 handler_class=_QuietHandler)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="synscope-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
