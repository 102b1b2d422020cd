"""Regex mode: every tag ``tag_regex`` finds (an unanchored search).

Versions come in the registry's listing order, or with ``created_at_sort``
oldest first by the image's ``created`` (equal times keep listing order).
Every matching tag is reported on every check, as the Go resource does;
tags that vanish between listing and resolving are skipped.
"""

from __future__ import annotations

import re

import attrs
from registry_image.core.fetch.metadata import compile_regex
from registry_image.core.models import Platform, Source, Tag, Version
from registry_image.core.registry import Registry
from registry_image.core.registry.resolve import bounded_map, resolve_tags

from .created import check_platform, stamp


@attrs.frozen
class RegexMode:
    """``tag_regex`` set (and no ``tag``)."""

    pattern: re.Pattern[str]
    created_at_sort: bool
    platform: Platform
    """Whose image's ``created`` counts, for a multi-platform tag."""

    @classmethod
    def from_source(cls, source: Source) -> RegexMode:
        assert source.tag_regex is not None
        return cls(
            pattern=compile_regex(source.tag_regex, "source.tag_regex"),
            created_at_sort=source.created_at_sort,
            platform=check_platform(source.platform),
        )

    def versions(self, registry: Registry, cursor: Version | None, workers: int) -> list[Version]:
        matched = [tag for tag in registry.list_tags() if self.pattern.search(tag)]
        if not self.created_at_sort:
            found = resolve_tags(registry, matched, workers)
            return [Version(tag=Tag(t), digest=d.digest) for t, d in found.items() if d is not None]
        registry.base_url()  # ping and authenticate before the threads start
        stamps = bounded_map(lambda tag: stamp(registry, tag, self.platform), matched, workers)
        kept = [(tag, s) for tag, s in zip(matched, stamps, strict=True) if s is not None]
        kept.sort(key=lambda pair: pair[1].created)
        return [Version(tag=Tag(tag), digest=s.digest) for tag, s in kept]
