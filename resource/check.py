"""``check``: report the versions of the image at or after the cursor."""

from __future__ import annotations

from registry_image.core.connect import open_registry
from registry_image.core.errors import ConfigError
from registry_image.core.models import CheckRequest, Tag, Version
from registry_image.core.plugins import Plugins
from registry_image.core.reference import validate_tag
from registry_image.core.registry import Registry


def check(request: CheckRequest, plugins: Plugins) -> list[Version]:
    source = request.source
    with open_registry(source, plugins) as registry:
        if source.tag:
            return check_tag(registry, validate_tag(source.tag, "source.tag"), request.version)
        raise ConfigError(
            "check without source.tag (semver and tag_regex modes) is not implemented yet"
        )


def check_tag(registry: Registry, tag: str, cursor: Version | None) -> list[Version]:
    """Tag mode, with the Go resource's cursor rules:

    - the tag does not exist: no versions;
    - no cursor, or the cursor is the current digest: the current version;
    - otherwise the cursor too, first, if its digest is still in the repository.
    """
    current = registry.head_manifest(tag)
    if current is None:
        return []
    latest = Version(tag=Tag(tag), digest=current.digest)
    if cursor is None or cursor.digest == current.digest:
        return [latest]
    if registry.head_manifest(cursor.digest) is not None:
        return [cursor, latest]
    return [latest]
