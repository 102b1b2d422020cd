"""From ``source`` to a ready ``Registry``: reference, credentials, TLS."""

from __future__ import annotations

import os
import threading

from ..auth import Scope
from ..errors import ConfigError
from ..models import Source
from ..plugins import Plugins
from ..reference import Repository, parse_repository
from ..transport import RetryPolicy, TransportSettings
from .client import Registry
from .mirror import api_repository

DEFAULT_RETRY = RetryPolicy()
"""The retry policy of every command (see ``RetryPolicy`` for its bounds)."""
STALL_TIMEOUT_ENV = "REGISTRY_IMAGE_STALL_TIMEOUT"
DEFAULT_STALL_TIMEOUT = 60.0


def stall_timeout() -> float:
    """Seconds without progress after which a read is abandoned:
    ``$REGISTRY_IMAGE_STALL_TIMEOUT``, else 60."""
    value = os.environ.get(STALL_TIMEOUT_ENV)
    if value is None:
        return DEFAULT_STALL_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise ConfigError(f"{STALL_TIMEOUT_ENV}: expected seconds between 0 and 3600")
    return seconds


def open_registry(
    source: Source,
    plugins: Plugins,
    *,
    actions: tuple[str, ...] = ("pull",),
    extra_scopes: tuple[Scope, ...] = (),
    repository: Repository | None = None,
    retry: RetryPolicy | None = None,
    stop: threading.Event | None = None,
) -> Registry:
    """The registry client for ``source.repository``, with the credentials
    the credentials plugins find for its host. ``extra_scopes`` are further
    token scopes (e.g. pull on a repository to mount blobs from);
    ``repository`` replaces ``source.repository`` (a mirror's, say)."""
    if repository is None:
        repository = api_repository(parse_repository(source.repository))
    settings = TransportSettings(
        insecure=source.insecure,
        ca_certs=source.ca_certs,
        retry=retry or DEFAULT_RETRY,
        stall_timeout=stall_timeout(),
        debug=source.debug,
    )
    return Registry(
        repository,
        plugins,
        credentials=plugins.credentials(repository.host, source, settings),
        settings=settings,
        actions=actions,
        extra_scopes=extra_scopes,
        stop=stop,
    )
