"""Semver mode: every tag that is a version, one per digest, ascending.

The selection rules live in :mod:`registry_image.core.versions.selection`; this
module lists the tags and resolves them concurrently for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
from registry_image.core.models import Version
from registry_image.core.registry import Registry
from registry_image.core.registry.resolve import resolve_tags
from registry_image.core.versions.selection import SemverPolicy, select_versions


@attrs.frozen
class SemverMode:
    """Neither ``tag`` nor ``tag_regex`` set."""

    policy: SemverPolicy

    def versions(self, registry: Registry, cursor: Version | None, workers: int) -> list[Version]:
        tags = registry.list_tags()

        def resolve(batch: Sequence[str]) -> Mapping[str, str | None]:
            found = resolve_tags(registry, batch, workers)
            return {tag: None if d is None else d.digest for tag, d in found.items()}

        return select_versions(tags, self.policy, cursor, resolve)
