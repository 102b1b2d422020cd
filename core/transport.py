"""What transport plugins implement: moving bytes to and from a URL.

The registry client never talks HTTP itself; it asks the transport registered
for the URL's scheme. Transports own connection reuse, TLS trust, retries with
backoff, and redirects (which must never carry credentials to another host).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar, Protocol

import attrs
import requests


@attrs.frozen
class RetryPolicy:
    """Bounded exponential backoff for 429, 5xx and connection failures.

    ``Retry-After`` is honoured up to ``max_delay``; no retry starts once
    ``total`` seconds have passed since the first attempt.
    """

    attempts: int = 6
    initial_delay: float = 1.0
    max_delay: float = 30.0
    total: float = 300.0


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


Body = bytes | Iterable[bytes] | None


class Transport(Protocol):
    """Moves request and response bytes for the URL ``schemes`` it declares."""

    schemes: ClassVar[tuple[str, ...]]

    def __init__(self, settings: TransportSettings) -> None: ...

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
        allow_redirects: bool = True,
    ) -> requests.Response:
        """Send one request, retrying per the policy when that is safe (the
        body is absent or bytes). ``stream=True`` leaves the body unread.
        Raises ``RegistryError`` when the host cannot be reached."""

    def close(self) -> None:
        """Release connections."""
