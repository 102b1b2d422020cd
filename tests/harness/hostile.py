"""A registry that misbehaves on purpose, for the hardening tests.

It listens on 127.0.0.1 only and answers from routes a test gives it:
``(method, path regex) -> handler``. Handlers use the helpers here to send
bodies that never end, inflate, drip, lie about their size or point
elsewhere; everything it sends is bounded (``MAX_SEND_BYTES`` and
``MAX_SEND_SECONDS`` per response), so a client that does not stop costs
the test time, never the machine.

With ``tls=`` it speaks https and plain http on the same port (it peeks at
the first byte of each connection): what a client sends in clear text to an
https registry's port is recorded with ``scheme == "http"``.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs

from .certs import KeyPair, ca_and_server_pair

LOOPBACK = "127.0.0.1"
MAX_SEND_BYTES = 256 * 1024 * 1024
MAX_SEND_SECONDS = 60.0


@attrs.frozen
class Seen:
    """One request the hostile registry received."""

    method: str
    path: str
    headers: dict[str, str]
    scheme: str


Handler = Callable[["HostileHandler", "re.Match[str]"], None]


class HostileRegistry:
    """Start with ``with``; ``host`` is ``127.0.0.1:PORT``. ``ca_pem`` is the
    CA to trust when ``tls`` is on."""

    def __init__(self, *, tls: bool = False) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.ca_pem: str | None = None
        self._context: ssl.SSLContext | None = None
        if tls:
            ca, server = ca_and_server_pair(LOOPBACK)
            self.ca_pem = ca.cert_pem.decode()
            self._context = _server_context(server)
        self._server = _Server((LOOPBACK, 0), HostileHandler, self)
        self.host = f"{LOOPBACK}:{self._server.server_address[1]}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def route(self, method: str, path: str, handler: Handler) -> HostileRegistry:
        """Answer ``method`` requests whose path (with query) fully matches ``path``."""
        self.routes.append((method, re.compile(path), handler))
        return self

    def __enter__(self) -> HostileRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def requests(self, path: str = "") -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if re.search(path, seen.path)]


def _server_context(server: KeyPair) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert.write_bytes(server.cert_pem)
        key.write_bytes(server.key_pem)
        context.load_cert_chain(cert, key)
    return context


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, owner: HostileRegistry) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        context = self.owner._context
        if context is not None:
            request.settimeout(10)
            try:
                first = request.recv(1, socket.MSG_PEEK)
            except OSError:
                return
            if first == b"\x16":  # a TLS handshake record
                try:
                    request = context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
        request.settimeout(MAX_SEND_SECONDS)
        self.RequestHandlerClass(request, client_address, self)


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"

    def _handle(self) -> None:
        owner = self.server.owner
        with owner._lock:
            owner.seen.append(Seen(self.command, self.path, dict(self.headers), self.scheme))
        for method, pattern, handler in owner.routes:
            match = pattern.fullmatch(self.path)
            if method == self.command and match:
                handler(self, match)
                return
        send(self, 404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"no route"}]}')

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    # -- what handlers send -------------------------------------------------

    def head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()


def send(
    handler: HostileHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    """A whole body with its true length."""
    handler.head(status, {"Content-Length": str(len(body)), **(headers or {})})
    if handler.command != "HEAD":
        handler.wfile.write(body)


def send_json(
    handler: HostileHandler, status: int, value: Any, headers: dict[str, str] | None = None
) -> None:
    send(
        handler,
        status,
        json.dumps(value).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def stream(
    handler: HostileHandler,
    status: int,
    chunks: Iterable[bytes],
    headers: dict[str, str] | None = None,
    *,
    interval: float = 0.0,
) -> None:
    """A body sent chunk by chunk (``interval`` seconds apart), with the
    headers given (no ``Content-Length`` unless given: then the body ends
    when the connection closes), until the client goes away or the bounds
    are reached."""
    sent = 0
    started = time.monotonic()
    handler.head(status, {"Connection": "close", **(headers or {})})
    handler.close_connection = True
    try:
        for chunk in chunks:
            if sent >= MAX_SEND_BYTES or time.monotonic() - started > MAX_SEND_SECONDS:
                break
            handler.wfile.write(chunk)
            handler.wfile.flush()
            sent += len(chunk)
            if interval:
                time.sleep(interval)  # the drip itself, not a synchronisation
    except OSError:
        pass  # the client stopped reading: what a bounded client does


def endless(chunk: bytes = b"x" * 65536) -> Iterator[bytes]:
    """The same chunk forever (``stream`` bounds it)."""
    while True:
        yield chunk


def gzip_bomb(decoded_size: int) -> bytes:
    """Gzip data that inflates to ``decoded_size`` zero bytes (about 1000x):
    one member of 64 MiB of zeros, repeated (gzip allows many members)."""
    member_size = 64 * 1024 * 1024
    member = zlib.compress(bytes(member_size), 9, wbits=31)
    return member * max(1, decoded_size // member_size)
