"""``check``: report the versions of the image at or after the cursor.

Three modes, chosen as the Go resource chooses them:

- ``tag`` set: follow that tag (:mod:`.tag`);
- else ``tag_regex`` set: every matching tag (:mod:`.regex`);
- else semver: every version tag (:mod:`.semver`).

The configuration is checked before any request. With a
``registry_mirror`` and a Docker Hub repository the mirror is asked first,
the origin when the mirror fails or reports nothing (:mod:`~registry_image.core.registry.mirror`).
Tags are resolved concurrently, ``workers`` at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry_image.core.models import CheckRequest, Source, Version
from registry_image.core.plugins import Plugins
from registry_image.core.reference import Repository, validate_tag
from registry_image.core.registry.connect import open_registry
from registry_image.core.registry.mirror import mirror_first
from registry_image.core.transport import DEFAULT_CONNECTIONS

from .tag import TagMode, check_tag

if TYPE_CHECKING:
    from .mode import Mode

__all__ = ["DEFAULT_WORKERS", "check", "check_tag", "mode_of"]

DEFAULT_WORKERS = DEFAULT_CONNECTIONS
"""Tags resolved at once (the same as ``core.registry.resolve``'s default)."""


def mode_of(source: Source) -> Mode:
    """The check mode ``source`` asks for, its settings validated.

    The regex and semver modes are imported only when chosen: most checks
    follow a tag, and each runs in a fresh process.
    """
    if source.tag:
        return TagMode(validate_tag(source.tag, "source.tag"))
    if source.tag_regex:
        from .regex import RegexMode

        return RegexMode.from_source(source)
    from registry_image.core.versions.selection import SemverPolicy

    from .semver import SemverMode

    return SemverMode(SemverPolicy.from_source(source))


def check(
    request: CheckRequest, plugins: Plugins, *, workers: int = DEFAULT_WORKERS
) -> list[Version]:
    """The versions to report for ``request``, oldest first."""
    mode = mode_of(request.source)

    def attempt(source: Source, repository: Repository | None) -> list[Version]:
        with open_registry(source, plugins, repository=repository) as registry:
            return mode.versions(registry, request.version, workers)

    return mirror_first(request.source, attempt, found=bool)
