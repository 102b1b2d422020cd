"""Semver mode of ``check``: which tags are versions and which to report.

The rules are the Go resource's (``checkRepository``):

- a tag is a version when it parses leniently (``1``, ``1.2``, ``v1.2.3``);
  with ``variant`` it must end in ``-<variant>``, stripped before parsing;
- ``semver_constraint`` must allow it (Masterminds semantics, see
  :mod:`.constraint`);
- a pre-release needs ``pre_releases: true`` and an identifier starting
  with ``alpha``, ``beta``, ``rc`` or one of ``pre_release_prefixes``;
  without custom prefixes a ``-`` in the pre-release marks another variant,
  not a pre-release, and the tag is skipped;
- one version per digest: a final release beats a pre-release, otherwise
  the tag with more dots wins (``3.2.1`` over ``3.2``), otherwise the first
  listed;
- with a cursor whose tag still has the cursor's digest, versions at or
  below it are not even resolved; the cursor itself is reported first;
- versions are sorted ascending (equal versions keep listing order);
- the bare tag (``latest``, or the variant's name) is appended last when no
  constraint is set and its digest is no version's digest.

One deliberate difference: upstream compares the bare tag's digest only with
the versions above the cursor, so ``latest`` pointing at an older release is
reported as newest after a cursor. Here the skipped versions are resolved
(only in that case) so the answer does not depend on the cursor.

Digests come from a ``resolve`` callable, so this module does no I/O and
the caller decides how tags are resolved (concurrently, in practice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs

from ..errors import ConfigError
from ..models import Source, Tag, Version
from .constraint import ConstraintError, Constraints
from .semver import SemVer, parse_or_none

DEFAULT_PRE_RELEASE_PREFIXES = ("alpha", "beta", "rc")

Resolve = Callable[[Sequence[str]], Mapping[str, str | None]]
"""Tags -> the digest each names now, or None for a tag that has vanished."""


@attrs.frozen
class SemverPolicy:
    """The semver-mode settings of a ``source``."""

    variant: str | None = None
    constraint: Constraints | None = None
    pre_releases: bool = False
    pre_release_prefixes: tuple[str, ...] = ()

    @classmethod
    def from_source(cls, source: Source) -> SemverPolicy:
        """The policy of ``source``; ``ConfigError`` for a bad constraint."""
        constraint = None
        if source.semver_constraint:
            try:
                constraint = Constraints.parse(source.semver_constraint)
            except ConstraintError as exc:
                raise ConfigError(f"source.semver_constraint: {exc}") from None
        return cls(
            variant=source.variant or None,
            constraint=constraint,
            pre_releases=source.pre_releases,
            pre_release_prefixes=source.pre_release_prefixes,
        )

    @property
    def bare_tag(self) -> str:
        """The tag that plays ``latest``: the variant's name, or ``latest``."""
        return self.variant or "latest"

    def version_of(self, tag: str) -> SemVer | None:
        """The version ``tag`` stands for, or None when it is not one this
        policy tracks (the bare tag is never a version)."""
        if tag == self.bare_tag:
            return None
        text = tag
        if self.variant:
            suffix = f"-{self.variant}"
            if not tag.endswith(suffix):
                return None
            text = tag.removesuffix(suffix)
        version = parse_or_none(text)
        if version is None:
            return None
        if self.constraint is not None and not self.constraint.allows(version):
            return None
        if version.prerelease and not self._prerelease_allowed(version.prerelease):
            return None
        return version

    def _prerelease_allowed(self, prerelease: str) -> bool:
        if not self.pre_releases:
            return False
        if not self.pre_release_prefixes and "-" in prerelease:
            return False  # another variant, e.g. 1.0.0-alpine
        prefixes = DEFAULT_PRE_RELEASE_PREFIXES + self.pre_release_prefixes
        return prerelease.startswith(prefixes)


@attrs.frozen
class _Candidate:
    tag: str
    version: SemVer
    position: int
    """Where the tag was listed (the cursor's tag counts as first)."""

    def beats(self, other: _Candidate) -> bool:
        """Whether this tag should stand for a digest instead of ``other``."""
        mine, theirs = self.version, other.version
        if mine.is_prerelease != theirs.is_prerelease:
            return not mine.is_prerelease
        return mine.original.count(".") > theirs.original.count(".")


def select_versions(
    tags: Sequence[str], policy: SemverPolicy, cursor: Version | None, resolve: Resolve
) -> list[Version]:
    """The versions to report for the repository's ``tags`` (listing order).

    ``resolve`` is called at most three times: for the cursor's tag, for
    every version newer than the cursor (and the bare tag), and, only when
    the bare tag's digest is still undecided, for the versions skipped."""
    versions = {tag: v for tag in tags if (v := policy.version_of(tag)) is not None}
    ordered = list(versions)
    if cursor is not None and cursor.tag in versions:
        ordered.remove(cursor.tag)
        ordered.insert(0, cursor.tag)
    digests: dict[str, str | None] = {}

    floor: SemVer | None = None
    if cursor is not None and cursor.tag in versions:
        digests.update(resolve([cursor.tag]))
        if digests.get(cursor.tag) == cursor.digest:
            floor = versions[cursor.tag]

    bare = policy.bare_tag if policy.constraint is None and policy.bare_tag in tags else None
    wanted = [t for t in ordered if t not in digests and (floor is None or versions[t] > floor)]
    if bare is not None:
        wanted.append(bare)
    digests.update(resolve(wanted))

    chosen: dict[str, _Candidate] = {}
    for position, tag in enumerate(ordered):
        digest = digests.get(tag)
        if digest is None:
            continue  # skipped below the cursor, or vanished since listing
        candidate = _Candidate(tag, versions[tag], position)
        if digest not in chosen or candidate.beats(chosen[digest]):
            chosen[digest] = candidate
    by_digest = sorted(chosen.items(), key=lambda item: (item[1].version, item[1].position))
    result = [Version(tag=Tag(c.tag), digest=digest) for digest, c in by_digest]

    bare_digest = digests.get(bare) if bare is not None else None
    if bare is not None and bare_digest is not None and bare_digest not in chosen:
        skipped = [t for t in ordered if t not in digests]
        if skipped:
            digests.update(resolve(skipped))
        if bare_digest not in {digests.get(t) for t in skipped}:
            result.append(Version(tag=Tag(bare), digest=bare_digest))
    return result
