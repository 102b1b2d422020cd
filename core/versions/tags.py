"""Which tags ``out`` pushes, computed exactly as the Go resource does.

In order: ``source.tag``; ``params.version`` normalised (``v1.2`` ->
``1.2.0``) plus ``-<variant>``; with ``bump_aliases`` and a final (not
pre-release) version, the aliases ``latest`` (or the bare variant),
``MAJOR`` and ``MAJOR.MINOR`` (each plus ``-<variant>``) that no newer final
release of the same variant already owns; then every additional tag with
``tag_prefix`` in front. A tag named twice stays twice in this list (the Go
resource reports it so in the ``tags`` metadata); it is pushed once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import attrs

from ..errors import ConfigError
from ..reference import validate_tag
from .semver import InvalidSemVer, SemVer, SemVerError, parse_or_none


def go_quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` shows it (close enough for messages)."""
    return json.dumps(text, ensure_ascii=False)


def parse_version(text: str) -> SemVer:
    """``params.version`` as a version; the Go resource's errors otherwise."""
    try:
        return SemVer.parse(text)
    except InvalidSemVer:
        raise ConfigError(f"invalid semantic version: {go_quote(text)}") from None
    except SemVerError as exc:
        raise ConfigError(f"failed to parse version: {exc}") from None


def _with_variant(tag: str, variant: str | None) -> str:
    return f"{tag}-{variant}" if variant else tag


def aliases_to_bump(version: SemVer, variant: str | None, existing: Iterable[str]) -> list[str]:
    """The aliases of a final ``version`` that no newer release owns.

    Only existing tags of the same variant that parse as final versions
    count: ``latest`` (or the variant) moves unless a newer version exists;
    ``MAJOR`` unless a newer minor or patch of the same major exists;
    ``MAJOR.MINOR`` unless a newer patch of the same minor exists."""
    bump_latest = bump_major = bump_minor = True
    suffix = f"-{variant}" if variant else ""
    for tag in existing:
        if suffix:
            if not tag.endswith(suffix):
                continue  # never compare across variants
            tag = tag.removesuffix(suffix)
        other = parse_or_none(tag)
        if other is None or other.is_prerelease:
            continue
        if other > version:
            bump_latest = False
        if other.major == version.major and other.minor > version.minor:
            bump_major = False
        if (other.major, other.minor) == (version.major, version.minor) and (
            other.patch > version.patch
        ):
            bump_minor = bump_major = False
    aliases = []
    if bump_latest:
        aliases.append(variant or "latest")
    if bump_major:
        aliases.append(_with_variant(str(version.major), variant))
    if bump_minor:
        aliases.append(_with_variant(f"{version.major}.{version.minor}", variant))
    return aliases


@attrs.frozen
class TagPlan:
    """The tags of one ``out``, before the registry is asked about aliases."""

    source_tag: str | None
    version: SemVer | None
    variant: str | None
    bump_aliases: bool
    additional: tuple[str, ...]

    @property
    def needs_existing_tags(self) -> bool:
        """Whether the aliases depend on the tags already in the repository."""
        return self.bump_aliases and self.version is not None and not self.version.is_prerelease

    def tags(self, existing: Iterable[str] = ()) -> list[str]:
        """Every tag to push, in order, first the one the version reports;
        duplicates kept (``dict.fromkeys`` them before pushing)."""
        tags: list[str] = []
        if self.source_tag:
            tags.append(self.source_tag)
        if self.version is not None:
            tags.append(_with_variant(str(self.version), self.variant))
            if self.needs_existing_tags:
                tags.extend(aliases_to_bump(self.version, self.variant, existing))
        tags.extend(self.additional)
        for tag in tags:
            validate_tag(tag, "tag to push")
        return tags


def plan_tags(
    *,
    source_tag: str | None,
    version: SemVer | None,
    variant: str | None,
    bump_aliases: bool,
    additional_tags: Sequence[str],
    tag_prefix: str | None,
) -> TagPlan:
    """Check the tag parameters as the Go resource does, in its order."""
    if not additional_tags and tag_prefix:
        raise ConfigError("tag_prefix can only be used when additional_tags are specified")
    if not source_tag and version is None and not additional_tags:
        raise ConfigError("no tag specified - need either 'version:' in params or 'tag:' in source")
    return TagPlan(
        source_tag=source_tag or None,
        version=version,
        variant=variant or None,
        bump_aliases=bump_aliases,
        additional=tuple(f"{tag_prefix or ''}{tag}" for tag in additional_tags),
    )
