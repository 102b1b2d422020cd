"""A fault-injecting reverse proxy in front of a real registry.

Tests put it between the resource and the registry to count what crosses
the wire and to make the registry misbehave on purpose: answer 429 with
``Retry-After``, fail with 5xx, reset connections, drop response headers,
truncate or corrupt bodies, or redirect elsewhere. Rules are plain
functions of the request, so a test states its fault in one line.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import attrs

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 stalls a concurrent client for a second.
    request_queue_size = 128


@attrs.frozen
class Seen:
    """One request that reached the proxy, and what became of it."""

    method: str
    path: str
    has_authorization: bool
    body_bytes: int
    status: int | None
    """The status sent back; None for a reset connection."""


@attrs.frozen
class Respond:
    """Answer with this instead of asking the registry."""

    status: int
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""


@attrs.frozen
class Reset:
    """Close the connection without an answer."""


@attrs.frozen
class Alter:
    """Ask the registry, then change its answer before passing it on."""

    drop_headers: tuple[str, ...] = ()
    set_headers: dict[str, str] = attrs.field(factory=dict)
    truncate_body: int | None = None
    """Send only this many body bytes (keeping Content-Length), then close."""
    replace_body: bytes | None = None


Action = Respond | Reset | Alter
Rule = Callable[[str, str], Action | None]
"""A rule sees (method, path with query) and returns an action or None."""


class RegistryProxy:
    """Forwards to ``upstream`` (``http://127.0.0.1:PORT``) unless a rule
    acts. Rules are tried in order; the first action wins."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.rules: list[Rule] = []
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _Server((LOOPBACK, 0), self._handler_class())
        self.host = f"{LOOPBACK}:{self._server.server_address[1]}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def upload_bytes(self) -> int:
        """Request body bytes sent to blob upload endpoints so far."""
        return sum(s.body_bytes for s in self.seen if "/blobs/uploads/" in s.path)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def _action_for(self, method: str, path: str) -> Action | None:
        for rule in list(self.rules):
            action = rule(method, path)
            if action is not None:
                return action
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

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
                body = self._read_body()
                action = proxy._action_for(self.command, self.path)
                auth = "Authorization" in self.headers
                if isinstance(action, Reset):
                    proxy._record(Seen(self.command, self.path, auth, len(body), None))
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                # Record before answering: a client that has its answer may
                # read ``seen`` at once.
                if isinstance(action, Respond):
                    proxy._record(Seen(self.command, self.path, auth, len(body), action.status))
                    self._send(action.status, action.headers, action.body, None)
                    return
                status, headers, payload = self._forward(body)
                if isinstance(action, Alter):
                    headers = {
                        k: v
                        for k, v in headers.items()
                        if k.lower() not in {h.lower() for h in action.drop_headers}
                    }
                    headers.update(action.set_headers)
                    if action.replace_body is not None:
                        payload = action.replace_body
                        if "Content-Length" in headers:
                            headers["Content-Length"] = str(len(payload))
                proxy._record(Seen(self.command, self.path, auth, len(body), status))
                self._send(
                    status,
                    headers,
                    payload,
                    action.truncate_body if isinstance(action, Alter) else None,
                )

            def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
                connection = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=60
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = b"" if self.command == "HEAD" else response.read()
                    kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP}
                    return response.status, kept, payload
                finally:
                    connection.close()

            def _send(
                self, status: int, headers: dict[str, str], payload: bytes, truncate: int | None
            ) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "server", "date"):
                        self.send_header(key, value)
                length = headers.get("Content-Length", str(len(payload)))
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

        return Handler

    def start(self) -> RegistryProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def proxy_for(upstream_url: str) -> Iterator[RegistryProxy]:
    """A started proxy in front of ``upstream_url``, stopped afterwards."""
    proxy = RegistryProxy(upstream_url).start()
    try:
        yield proxy
    finally:
        proxy.stop()
