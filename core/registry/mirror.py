"""``registry_mirror``: ask a pull-through mirror first, for Docker Hub only.

As with the Go resource (and the ``docker`` CLI), a mirror applies only to
repositories on Docker Hub (``alpine``, ``org/app``, ``docker.io/org/app``);
a repository naming another registry host never touches the mirror, so a
mirror can be set as a global default. The mirror is asked for the same
path (``library/alpine``) with the mirror's own credentials; when it fails
or has nothing, the origin is asked with the source's credentials. Each
registry client sends its credentials only to its own host, so mirror
credentials never reach the origin nor origin credentials the mirror.

Docker Hub's API host is ``index.docker.io``. The environment variable
``REGISTRY_IMAGE_TEST_DOCKER_HUB_HOST`` (``host:port``) replaces it: it is a
test seam, so the fallback from a mirror to "Docker Hub" can be exercised
against a local registry without touching the internet. Never set it in a
resource image.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

import attrs

from ..errors import ConfigError, DiskFullError, Interrupted, LimitError, ResourceError
from ..models import Source
from ..reference import Repository, parse_repository, validate_host

log = logging.getLogger(__name__)

DOCKER_HUB_HOST_ENV = "REGISTRY_IMAGE_TEST_DOCKER_HUB_HOST"

T = TypeVar("T")


def api_repository(repository: Repository) -> Repository:
    """``repository`` at the host that serves its API: itself, except that
    Docker Hub's host may be replaced through ``DOCKER_HUB_HOST_ENV``."""
    override = os.environ.get(DOCKER_HUB_HOST_ENV)
    if not override or not repository.is_docker_hub:
        return repository
    return Repository(validate_host(override, DOCKER_HUB_HOST_ENV), repository.path)


@attrs.frozen
class Mirror:
    """Where and how to ask the mirror."""

    repository: Repository
    """The mirror host with the Docker Hub path, e.g. ``mirror:5000/library/alpine``."""
    source: Source
    """The source with the mirror's credentials (and no mirror)."""


def mirror_for(source: Source) -> Mirror | None:
    """The mirror to try first, or None when there is none or the repository
    is not on Docker Hub. ``ConfigError`` for an invalid mirror host."""
    if source.registry_mirror is None:
        return None
    repository = parse_repository(source.repository)
    if not repository.is_docker_hub:
        return None
    mirror = source.registry_mirror
    host = validate_host(mirror.host, "source.registry_mirror.host")
    mirror_source = attrs.evolve(
        source,
        repository=f"{host}/{repository.path}",
        username=mirror.username,
        password=mirror.password,
        registry_mirror=None,
    )
    return Mirror(Repository(host, repository.path), mirror_source)


Attempt = Callable[[Source, Repository | None], T]
"""Runs a command against one registry: the source to use and, for the
mirror, the repository there (None: the source's own)."""


def mirror_first(source: Source, attempt: Attempt[T], found: Callable[[T], bool]) -> T:
    """``attempt`` against the mirror, if one applies; against the origin
    when there is none, the mirror fails, or its answer is not ``found``.

    Configuration errors are not retried elsewhere: they would fail again;
    nor is an interrupted attempt."""
    mirror = mirror_for(source)
    if mirror is not None:
        try:
            result = attempt(mirror.source, mirror.repository)
        except (ConfigError, Interrupted, LimitError, DiskFullError):
            raise
        except ResourceError as exc:
            log.warning("mirror %s failed: %s; asking the origin instead", mirror.repository, exc)
        else:
            if found(result):
                return result
            log.warning(
                "mirror %s has nothing for it; asking the origin instead", mirror.repository
            )
    return attempt(source, None)
