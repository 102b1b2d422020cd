"""Tag mode: follow one tag."""

from __future__ import annotations

import attrs
from registry_image.core.models import Tag, Version
from registry_image.core.oci import is_digest
from registry_image.core.registry import Registry


@attrs.frozen
class TagMode:
    """``source.tag`` set."""

    tag: str

    def versions(self, registry: Registry, cursor: Version | None, workers: int) -> list[Version]:
        return check_tag(registry, self.tag, cursor)


def check_tag(registry: Registry, tag: str, cursor: Version | None) -> list[Version]:
    """Tag mode, with the Go resource's cursor rules:

    - the tag does not exist: no versions;
    - no cursor, or the cursor is the current digest: the current version;
    - otherwise the cursor too, first, if its digest is still in the repository.

    Every version carries ``source.tag``, whatever tag the cursor names.
    """
    current = registry.head_manifest(tag)
    if current is None:
        return []
    latest = Version(tag=Tag(tag), digest=current.digest)
    if cursor is None or cursor.digest == current.digest:
        return [latest]
    # A cursor that is no digest (hand-written) names nothing to ask about.
    if is_digest(cursor.digest) and registry.head_manifest(cursor.digest) is not None:
        return [Version(tag=latest.tag, digest=cursor.digest), latest]
    return [latest]
