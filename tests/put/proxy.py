"""A reverse proxy on 127.0.0.1 in front of a real registry, for ``out`` tests.

It forwards every request (the ``Host`` header unchanged, so the registry
builds its ``Location`` URLs for the proxy), records each one with the
number of body bytes it carried, and injects faults on request:

- ``status``: answer with a status (e.g. 429 + ``Retry-After``) without
  forwarding;
- ``status_after_forward``: forward, then discard the registry's answer and
  send the status instead (the registry applied the request, the client
  thinks it failed);
- ``reset``: close the connection without an answer, before forwarding.

Hooks can rewrite the ``Location`` of answers (relative, or to another
host) and the proxy can demand Basic credentials itself.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

import attrs

LOOPBACK = "127.0.0.1"
FaultAction = Literal["status", "status_after_forward", "reset"]
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
)


@attrs.frozen
class Record:
    """One request the proxy received."""

    method: str
    path: str
    """The path with its query string."""
    body_bytes: int
    status: int
    """What the client was answered; 0 for a reset."""
    headers: dict[str, str]
    at: float
    """``time.monotonic()`` when the request arrived."""

    @property
    def route(self) -> str:
        return self.path.split("?", 1)[0]


@attrs.define
class Fault:
    """Answer matching requests with a failure, ``times`` times."""

    method: str
    path: str
    """A regular expression searched in the path with its query."""
    action: FaultAction
    status: int = 500
    headers: dict[str, str] = attrs.field(factory=dict)
    times: int = 1
    skip: int = 0
    """Let this many matching requests through first."""

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.search(self.path, path) is not None


LocationRewrite = Callable[[str, str], str]
"""(method, location) -> the Location to send the client."""


class Proxy:
    """Forwards to ``upstream`` (``host:port``); use as a context manager."""

    def __init__(
        self,
        upstream: str,
        *,
        host: str = LOOPBACK,
        require_basic: str | None = None,
        rewrite_location: LocationRewrite | None = None,
    ) -> None:
        self.upstream = upstream
        self.require_basic = require_basic
        self.rewrite_location = rewrite_location
        self.records: list[Record] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = _Server((host, 0), _Handler, self)
        self.host = f"{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Proxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    return fault
        return None

    def record(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)

    # -- what tests ask -----------------------------------------------------

    def requests(self, method: str | None = None, path: str = "") -> list[Record]:
        """Records with ``method`` whose path matches the expression ``path``."""
        with self._lock:
            return [
                r
                for r in self.records
                if (method is None or r.method == method) and re.search(path, r.path)
            ]

    def blob_bytes_uploaded(self) -> int:
        """Body bytes of every blob upload request (PATCH/PUT/POST under blobs/uploads)."""
        return sum(r.body_bytes for r in self.requests(path=r"/blobs/uploads/"))

    def clear(self) -> None:
        with self._lock:
            self.records.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], proxy: Proxy) -> None:
        self.proxy = proxy
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
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
        body = self._body()
        headers = {k: v for k, v in self.headers.items()}

        def record(status: int) -> None:
            proxy.record(Record(self.command, self.path, len(body), status, headers, arrived))

        if proxy.require_basic is not None and self.headers.get("Authorization") != (
            proxy.require_basic
        ):
            record(401)
            self._reply(401, {"WWW-Authenticate": 'Basic realm="proxy"'}, b"")
            return
        fault = proxy.take_fault(self.command, self.path)
        if fault is not None and fault.action == "reset":
            record(0)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.action == "status":
            record(fault.status)
            self._reply(fault.status, fault.headers, b"")
            return
        status, answer_headers, answer = self._forward(body)
        if fault is not None:  # status_after_forward
            record(fault.status)
            self._reply(fault.status, fault.headers, b"")
            return
        location = answer_headers.get("Location")
        if location and proxy.rewrite_location is not None:
            answer_headers["Location"] = proxy.rewrite_location(self.command, location)
        record(status)
        self._reply(status, answer_headers, answer)

    def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.server.proxy.upstream, timeout=60)
        try:
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            forwarded["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body, headers=forwarded)
            response = connection.getresponse()
            answer = response.read()
            headers = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            return response.status, headers, answer
        finally:
            connection.close()

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        length = str(len(body))
        for key, value in headers.items():
            if key.lower() == "content-length":
                length = value if self.command == "HEAD" else length
            else:
                self.send_header(key, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def relative_location(method: str, location: str) -> str:
    """A ``Location`` rewrite hook: drop scheme and host."""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def redirect_uploads_to(other_host: str) -> LocationRewrite:
    """A hook sending upload sessions (the answer to POST) to another host."""

    def rewrite(method: str, location: str) -> str:
        if method != "POST" or "/blobs/uploads/" not in location:
            return location
        parts = urlsplit(location)
        query = f"?{parts.query}" if parts.query else ""
        return f"http://{other_host}{parts.path}{query}"

    return rewrite
