"""What a transport is: the protocols between the registry client and the
plugins that move bytes, free of any HTTP library.

A transport plugin registers a class for the URL schemes it serves; the core
builds one per scheme and stacks wrappers on it (see ``stack``). Both speak
``Transport``: one request in, one ``Response`` out, whose body is read as a
stream of byte chunks. Failures to reach a host or to finish reading a body
are the core ``TransportError``s, never a library's own exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import ClassVar, Protocol, Self, runtime_checkable

import attrs

Body = bytes | Iterable[bytes] | None
"""A request body: none, bytes (which a retry may send again), or an
iterable of chunks (sent once: never retried)."""


def replayable(body: Body) -> bool:
    """Whether ``body`` may be sent a second time."""
    return body is None or isinstance(body, bytes)


@runtime_checkable
class Response(Protocol):
    """One HTTP response, its body not yet read.

    ``headers`` look names up case-insensitively. ``url`` is the URL that
    answered (after redirects). ``iter_bytes`` yields the body as it arrives:
    each chunk is at most ``chunk_size`` bytes and is returned as soon as
    some bytes are there (a slow sender never makes a read wait for a full
    chunk), decoded from any ``Content-Encoding``. A body cut short raises
    ``StreamError``. ``close`` releases the connection; responses are
    context managers that close on exit.
    """

    status: int
    headers: Mapping[str, str]
    url: str

    def iter_bytes(self, chunk_size: int) -> Iterator[bytes]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Response: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@attrs.frozen
class RetryPolicy:
    """Bounded exponential backoff for 408, 429, 5xx and connection failures.

    ``Retry-After`` is honoured up to ``max_delay``; no retry starts once
    ``total`` seconds have passed since the first attempt. ``rate_limit_total``
    is the longer patience for 429 answers (Docker Hub's rate limits reset
    hourly; the Go resource waits up to an hour for them).
    """

    attempts: int = 6
    initial_delay: float = 1.0
    max_delay: float = 30.0
    total: float = 300.0
    rate_limit_attempts: int = 130
    rate_limit_total: float = 3600.0


DEFAULT_CONNECTIONS = 16
"""Connections kept open per host: as many as requests run in parallel."""


@attrs.frozen
class TransportSettings:
    """How to reach one registry."""

    insecure: bool = False
    ca_certs: tuple[str, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    user_agent: str = "registry-image-resource"
    max_connections: int = DEFAULT_CONNECTIONS
    """Connections kept per host for reuse; parallel requests beyond this
    number open short-lived extra ones."""
    connect_timeout: float = 15.0
    stall_timeout: float = 60.0
    """Seconds without a single byte after which a read is abandoned."""
    debug: bool = False
    """Trace each request (method, URL without query, status, bytes, time)."""


class Transport(Protocol):
    """Moves one request and its response for the URL ``schemes`` it serves.

    A transport plugin's class is constructed with a ``TransportSettings``;
    wrappers (see ``registry_image_wrap_transport``) take the transport they
    wrap and present the same interface.
    """

    schemes: ClassVar[tuple[str, ...]]

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        """Send one request and return its response with the body unread.

        Raise ``TransportError`` when no response could be had (the host does
        not resolve, refuses, times out, TLS fails). Never retry: retries are
        a wrapper's job. Redirects, when allowed, never carry
        ``Authorization`` to another scheme, host or port."""
        ...

    def close(self) -> None:
        """Release connections and anything else held."""
        ...


class ClosingResponse:
    """A base for ``Response`` implementations: closes on leaving ``with``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class WrappingTransport:
    """A base for transport wrappers: holds the transport it wraps, serves no
    scheme of its own, and closes what it wraps. Subclasses override
    ``request`` (and call ``self.inner.request``)."""

    schemes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        return self.inner.request(
            method, url, headers=headers, body=body, allow_redirects=allow_redirects
        )

    def close(self) -> None:
        self.inner.close()
