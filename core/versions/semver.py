"""Lenient semantic versions, parsed and ordered exactly as the Go resource does.

The Go resource uses ``github.com/Masterminds/semver/v3`` ``NewVersion``, which
accepts more than SemVer 2.0: a leading ``v`` and missing minor or patch
(``v1``, ``1.2``, ``v1.2.3``) and leading zeros in the numbers (``01.2.3`` is
``1.2.3``). A pre-release identifier that is a number must not start with
``0``. ``str()`` is the normalised form (``v1.2`` -> ``1.2.0``); the original
text is kept in ``original``.

Ordering follows SemVer precedence: build metadata is ignored; a release is
newer than its pre-releases; pre-release identifiers compare numerically when
both are numbers, a number is older than a word, words compare as bytes, and
fewer identifiers are older when all shared ones are equal.
"""

from __future__ import annotations

import functools
import re

import attrs

_UINT64_MAX = 2**64 - 1
_IDENTIFIER_CHARS = re.compile(r"[0-9A-Za-z-]+\Z")
# Masterminds' "loose" expression: numbers may have leading zeros, minor and
# patch may be missing. `[0-9]`, not `\d`: only ASCII digits are digits.
_LOOSE = re.compile(
    r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)


class SemVerError(ValueError):
    """A version that does not parse; ``str()`` is Masterminds' message."""


class InvalidSemVer(SemVerError):
    """The text does not have the shape of a version at all."""

    def __init__(self) -> None:
        super().__init__("invalid semantic version")


def _number(text: str) -> int:
    value = int(text)
    if value > _UINT64_MAX:
        raise SemVerError(
            f'error parsing version segment: strconv.ParseUint: parsing "{text}": '
            "value out of range"
        )
    return value


def _validate_prerelease(prerelease: str) -> None:
    for part in prerelease.split("."):
        if part.isdigit() and len(part) > 1 and part.startswith("0"):
            raise SemVerError("version segment starts with 0")
        if not _IDENTIFIER_CHARS.match(part):  # pragma: no cover - the expression ensures it
            raise SemVerError("invalid prerelease string")


def _is_number(identifier: str) -> bool:
    # Go's ParseUint decides: a numeric identifier beyond uint64 is a word.
    return identifier.isdigit() and int(identifier) <= _UINT64_MAX


def _compare_identifier(mine: str, theirs: str) -> int:
    if mine == theirs:
        return 0
    if not mine or not theirs:  # the shorter list runs out first: older
        return -1 if not mine else 1
    mine_numeric, theirs_numeric = _is_number(mine), _is_number(theirs)
    if mine_numeric and theirs_numeric:
        return -1 if int(mine) < int(theirs) else 1
    if mine_numeric != theirs_numeric:
        return -1 if mine_numeric else 1
    return -1 if mine < theirs else 1


def _compare_prerelease(mine: str, theirs: str) -> int:
    mine_parts, theirs_parts = mine.split("."), theirs.split(".")
    for index in range(max(len(mine_parts), len(theirs_parts))):
        result = _compare_identifier(
            mine_parts[index] if index < len(mine_parts) else "",
            theirs_parts[index] if index < len(theirs_parts) else "",
        )
        if result:
            return result
    return 0


@functools.total_ordering
@attrs.frozen(eq=False)
class SemVer:
    """A parsed version. Equal versions differ at most in build metadata."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    metadata: str = ""
    original: str = attrs.field(default="", repr=False)

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse leniently; ``SemVerError`` (``InvalidSemVer`` when the text
        is not version-shaped) otherwise."""
        match = _LOOSE.fullmatch(text)
        if match is None:
            raise InvalidSemVer()
        major, minor, patch, prerelease, metadata = match.groups()
        version = cls(
            major=_number(major),
            minor=_number(minor) if minor else 0,
            patch=_number(patch) if patch else 0,
            prerelease=prerelease or "",
            metadata=metadata or "",
            original=text,
        )
        if version.prerelease:
            _validate_prerelease(version.prerelease)
        return version

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def compare(self, other: SemVer) -> int:
        """-1, 0 or 1 as ``self`` is older than, as new as, or newer than ``other``."""
        mine = (self.major, self.minor, self.patch)
        theirs = (other.major, other.minor, other.patch)
        if mine != theirs:
            return -1 if mine < theirs else 1
        if self.prerelease == other.prerelease:
            return 0
        if not self.prerelease or not other.prerelease:
            return 1 if not self.prerelease else -1
        return _compare_prerelease(self.prerelease, other.prerelease)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.compare(other) == 0

    def __lt__(self, other: SemVer) -> bool:
        return self.compare(other) < 0

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, self.prerelease))

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.metadata:
            text += f"+{self.metadata}"
        return text


def parse_or_none(text: str) -> SemVer | None:
    """The version ``text`` names, or None when it is not a version."""
    try:
        return SemVer.parse(text)
    except SemVerError:
        return None
