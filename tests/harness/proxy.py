"""A recording, fault-injecting reverse proxy in front of a real registry.

Tests put it between the resource and the registry to see what crosses the
wire and to make the registry misbehave on purpose. It forwards every
request with its ``Host`` header unchanged (so the registry builds its
``Location`` URLs for the proxy) and records each one, before answering, as
a :class:`Record` (method, path, request headers, body bytes, the status
the client got, arrival time).

Faults are *rules*: functions of ``(method, path with query)`` returning an
action or None, tried in order, the first action winning:

- :class:`Respond`: answer without asking the registry (e.g. 429 with
  ``Retry-After``), or, with ``after_forward``, let the registry apply the
  request and answer this instead (the client thinks it failed);
- :class:`Reset`: close the connection (RST) without an answer;
- :class:`Alter`: ask the registry, then drop or set response headers,
  replace the body, or truncate it;
- :class:`Drip`: ask the registry, send its headers and the start of the
  body, then one byte per interval, until the proxy stops (bounded).

:class:`Fault` is the common rule: a method, a path expression, an action,
how many times (once by default) and after how many matching requests.
Any other callable works too, e.g. one with a side effect such as deleting
an image as its HEAD arrives.

Two settings act on every request: ``require_basic`` makes the proxy demand
those Basic credentials itself, and ``rewrite_location`` rewrites the
``Location`` of forwarded answers (:func:`relative_location`,
:func:`redirect_uploads_to`). Two more make one host of several servers,
as a cloud registry is: ``routes`` sends paths with a prefix to another
upstream (e.g. ``/oauth2/`` to the token server), and ``tls`` serves HTTPS
with that server key pair.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from .certs import KeyPair
from .ports import LOOPBACK

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
    }
)


@attrs.frozen
class Record:
    """One request that reached the proxy, and what became of it."""

    method: str
    path: str
    """The path with its query string."""
    headers: dict[str, str]
    """The request's headers."""
    body_bytes: int
    status: int | None
    """The status the client was sent; None for a reset connection."""
    at: float
    """``time.monotonic()`` when the request arrived."""

    @property
    def route(self) -> str:
        """The path without its query string."""
        return self.path.split("?", 1)[0]


@attrs.frozen
class Respond:
    """Answer with this instead of the registry's answer."""

    status: int
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    after_forward: bool = False
    """Forward the request first: the registry applies it, the client gets this."""


@attrs.frozen
class Reset:
    """Close the connection (RST) without an answer, without forwarding."""


@attrs.frozen
class Alter:
    """Ask the registry, then change its answer before passing it on."""

    drop_headers: tuple[str, ...] = ()
    set_headers: dict[str, str] = attrs.field(factory=dict)
    replace_body: bytes | None = None
    truncate_body: int | None = None
    """Send only this many body bytes (keeping Content-Length), then close."""


@attrs.frozen
class Drip:
    """Ask the registry, send the headers (the full ``Content-Length``) and
    the first ``after`` body bytes, then one more byte every ``interval``
    seconds, until the proxy stops or ``hold`` seconds have passed; then
    close. ``started`` is released once per response as dripping begins."""

    after: int = 1024
    interval: float = 0.2
    hold: float = 60.0
    started: threading.Semaphore = attrs.field(factory=lambda: threading.Semaphore(0))


Action = Respond | Reset | Alter | Drip
Rule = Callable[[str, str], Action | None]
"""A rule sees (method, path with query) and returns an action or None."""
LocationRewrite = Callable[[str, str], str]
"""(method, Location from the registry) -> the Location to send the client."""


@attrs.define
class Fault:
    """A rule: ``action`` for requests with ``method`` whose path (with its
    query) matches the expression ``path``; the first ``skip`` of them pass,
    then ``times`` of them get the action (None: all of them)."""

    method: str
    path: str
    action: Action
    times: int | None = 1
    skip: int = 0
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def __call__(self, method: str, path: str) -> Action | None:
        if method != self.method or re.search(self.path, path) is None:
            return None
        with self._lock:
            if self.skip > 0:
                self.skip -= 1
                return None
            if self.times is None:
                return self.action
            if self.times > 0:
                self.times -= 1
                return self.action
        return None


class RegistryProxy:
    """Forwards to ``upstream`` (``http://127.0.0.1:PORT``) unless a rule
    acts. Start and stop it with ``with`` (or :meth:`start`, :meth:`stop`)."""

    def __init__(
        self,
        upstream: str,
        *,
        require_basic: str | None = None,
        rewrite_location: LocationRewrite | None = None,
        routes: Mapping[str, str] | None = None,
        tls: KeyPair | None = None,
    ) -> None:
        self.upstream = _address(upstream)
        self.routes = {prefix: _address(url) for prefix, url in (routes or {}).items()}
        """Path prefix -> the upstream answering paths that start with it."""
        self.require_basic = require_basic
        """An ``Authorization`` value every request must carry, else 401."""
        self.rewrite_location = rewrite_location
        self.rules: list[Rule] = []
        self._records: list[Record] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        """Set by :meth:`stop`: dripping answers end."""
        self._server = _Server((LOOPBACK, 0), _Handler, self)
        if tls is not None:
            self._server.socket = _tls_context(tls).wrap_socket(
                self._server.socket, server_side=True
            )
        self.host = f"{LOOPBACK}:{self._server.server_address[1]}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- what tests ask -----------------------------------------------------

    @property
    def records(self) -> list[Record]:
        """Every request so far, in arrival order of their answers."""
        with self._lock:
            return list(self._records)

    def requests(self, method: str | None = None, path: str = "") -> list[Record]:
        """Records with ``method`` (any if None) whose path matches the expression ``path``."""
        return [
            r
            for r in self.records
            if (method is None or r.method == method) and re.search(path, r.path)
        ]

    def blob_bytes_uploaded(self) -> int:
        """Body bytes of every blob upload request (POST/PATCH/PUT under blobs/uploads)."""
        return sum(r.body_bytes for r in self.requests(path=r"/blobs/uploads/"))

    def clear(self) -> None:
        """Forget the records so far."""
        with self._lock:
            self._records.clear()

    # -- running ------------------------------------------------------------

    def start(self) -> RegistryProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> RegistryProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)

    def _action_for(self, method: str, path: str) -> Action | None:
        for rule in list(self.rules):
            action = rule(method, path)
            if action is not None:
                return action
        return None

    def route(self, prefix: str, upstream: str) -> None:
        """Send paths starting with ``prefix`` to ``upstream`` from now on."""
        self.routes[prefix] = _address(upstream)

    def upstream_for(self, path: str) -> tuple[str, int]:
        """Where a request for ``path`` is forwarded."""
        for prefix, address in self.routes.items():
            if path.startswith(prefix):
                return address
        return self.upstream


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or LOOPBACK, parts.port or 80)


def _tls_context(pair: KeyPair) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert.write_bytes(pair.cert_pem)
        key.write_bytes(pair.key_pem)
        context.load_cert_chain(cert, key)
    return context


def relative_location(method: str, location: str) -> str:
    """A ``Location`` rewrite: drop scheme and host."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def redirect_uploads_to(other_host: str) -> LocationRewrite:
    """A ``Location`` rewrite sending upload sessions (the answer to POST) to another host."""

    def rewrite(method: str, location: str) -> str:
        if method != "POST" or "/blobs/uploads/" not in location:
            return location
        return f"http://{other_host}{relative_location(method, location)}"

    return rewrite


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 stalls concurrent clients for a second.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], proxy: RegistryProxy
    ) -> None:
        self.proxy = proxy
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        proxy = self.server.proxy
        arrived = time.monotonic()
        body = self._read_body()
        headers = dict(self.headers.items())

        def record(status: int | None) -> None:
            # Before answering: a client that has its answer may read records at once.
            proxy._record(Record(self.command, self.path, headers, len(body), status, arrived))

        if proxy.require_basic is not None and headers.get("Authorization") != (
            proxy.require_basic
        ):
            record(401)
            self._send(401, {"WWW-Authenticate": 'Basic realm="proxy"'}, b"")
            return
        action = proxy._action_for(self.command, self.path)
        if isinstance(action, Reset):
            record(None)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if isinstance(action, Respond):
            if action.after_forward:
                self._forward(body)
            record(action.status)
            self._send(action.status, action.headers, action.body)
            return
        status, answer_headers, payload = self._forward(body)
        location = answer_headers.get("Location")
        if location and proxy.rewrite_location is not None:
            answer_headers["Location"] = proxy.rewrite_location(self.command, location)
        if isinstance(action, Drip):
            record(status)
            self._drip(status, answer_headers, payload, action)
            return
        truncate = None
        if isinstance(action, Alter):
            dropped = {name.lower() for name in action.drop_headers}
            answer_headers = {k: v for k, v in answer_headers.items() if k.lower() not in dropped}
            answer_headers.update(action.set_headers)
            if action.replace_body is not None:
                payload = action.replace_body
                if "Content-Length" in answer_headers:
                    answer_headers["Content-Length"] = str(len(payload))
            truncate = action.truncate_body
        record(status)
        self._send(status, answer_headers, payload, truncate)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        upstream = self.server.proxy.upstream_for(self.path)
        connection = http.client.HTTPConnection(*upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        if self.server.proxy.url.startswith("https:"):
            # the registry builds its Location URLs for the scheme the client used
            headers["X-Forwarded-Proto"] = "https"
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
            return response.status, kept, payload
        finally:
            connection.close()

    def _drip(self, status: int, headers: dict[str, str], payload: bytes, drip: Drip) -> None:
        self._send(status, headers, payload, truncate=drip.after)
        drip.started.release()
        deadline = time.monotonic() + drip.hold
        stopping = self.server.proxy.stopping
        try:
            for position in range(drip.after, len(payload)):
                if stopping.wait(drip.interval) or time.monotonic() > deadline:
                    break
                self.wfile.write(payload[position : position + 1])
                self.wfile.flush()
        except OSError:
            pass  # the client went away

    def _send(
        self, status: int, headers: dict[str, str], payload: bytes, truncate: int | None = None
    ) -> None:
        """Answer; Content-Length is the payload's, except for HEAD and
        truncated bodies, which keep the registry's."""
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "server", "date"):
                self.send_header(key, value)
        declared = self.command == "HEAD" or truncate is not None
        length = headers.get("Content-Length", "0") if declared else str(len(payload))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate is not None:
            self.wfile.write(payload[:truncate])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
