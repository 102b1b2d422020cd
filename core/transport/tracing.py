"""Core wrappers that add to every request: the user agent, and with
``debug: true`` a trace line per request.

A trace line says the method, the URL without its query (signed URLs carry
secrets there), the status, the body bytes read and the time taken; never a
header value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

from ..errors import TransportError
from .contract import Body, ClosingResponse, Response, Transport, WrappingTransport

log = logging.getLogger(__name__)


def url_without_query(url: str) -> str:
    """``url`` without query and fragment, for logs."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]  # never userinfo
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class UserAgentTransport(WrappingTransport):
    """Sends ``User-Agent: <agent>`` unless the caller set one."""

    def __init__(self, inner: Transport, agent: str) -> None:
        super().__init__(inner)
        self.agent = agent

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        sent = dict(headers or {})
        if not any(name.lower() == "user-agent" for name in sent):
            sent["User-Agent"] = self.agent
        return self.inner.request(
            method, url, headers=sent, body=body, allow_redirects=allow_redirects
        )


class _TracedResponse(ClosingResponse):
    def __init__(self, inner: Response, line: str, started: float) -> None:
        self._inner = inner
        self._line = line
        self._started = started
        self._bytes = 0
        self._logged = False
        self.status = inner.status
        self.headers = inner.headers
        self.url = inner.url

    def iter_bytes(self, chunk_size: int) -> Iterator[bytes]:
        for chunk in self._inner.iter_bytes(chunk_size):
            self._bytes += len(chunk)
            yield chunk

    def close(self) -> None:
        if not self._logged:
            self._logged = True
            log.debug(
                "%s -> %d, %d bytes read, %.3fs",
                self._line,
                self.status,
                self._bytes,
                time.monotonic() - self._started,
            )
        self._inner.close()


class TracingTransport(WrappingTransport):
    """Logs each request at debug level when its response is closed."""

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        line = f"{method} {url_without_query(url)}"
        started = time.monotonic()
        try:
            response = self.inner.request(
                method, url, headers=headers, body=body, allow_redirects=allow_redirects
            )
        except TransportError as exc:
            log.debug("%s -> failed after %.3fs: %s", line, time.monotonic() - started, exc)
            raise
        return _TracedResponse(response, line, started)
