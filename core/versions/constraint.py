"""Version constraints (``semver_constraint``) as Masterminds/semver v3 reads them.

The Go resource checks ``source.semver_constraint`` with
``github.com/Masterminds/semver/v3`` ``NewConstraint(...).Check(...)``; a
pipeline that works there must select the same tags here. The grammar:

- ``||`` separates alternatives (OR); within one, constraints separated by
  a comma or whitespace must all hold (AND);
- ``A - B`` is the range ``>= A, <= B``;
- operators ``=`` (or none), ``!=``, ``>``, ``<``, ``>=``/``=>``,
  ``<=``/``=<``, ``~``/``~>``, ``^``;
- ``x``, ``X`` or ``*`` for a number, or a missing minor or patch, make the
  constraint a wildcard: ``1.2.x``, ``1.2``, ``~1``, ``>1.1`` (which means
  "from 1.2 on", not "after 1.1.0");
- a pre-release version satisfies an alternative only when one of that
  alternative's constraints names a pre-release itself (``>= 1.0.0-0``).

Versions are :class:`~.semver.SemVer` (lenient: ``v1``, ``1.2``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from .semver import SemVer, SemVerError
from .tags import go_quote

# Go's RE2 ``\s``, exactly: no vertical tab, no Unicode spaces.
_WS = r"[\t\n\f\r ]"
# Longest operators are found by backtracking: `>` then a version fails at
# `=`, so `>=` is tried. The empty alternative is "no operator".
_OPERATORS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"


def _version(capture: bool) -> str:
    """A version in a constraint: numbers may be ``x``, ``X`` or ``*`` (and,
    as in Go's expression, ``|``, which then fails to parse). Capturing
    groups: whole, major, ``.minor``, ``.patch``, ``-prerelease``."""
    group = "(" if capture else "(?:"
    return (
        f"{group}v?{group}[0-9|xX*]+){group}\\.[0-9|xX*]+)?{group}\\.[0-9|xX*]+)?"
        f"{group}-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?"
        r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)"
    )


_ONE = re.compile(rf"{_WS}*({_OPERATORS}){_WS}*{_version(True)}{_WS}*")
_FIND = re.compile(rf"(?:{_OPERATORS}){_WS}*{_version(False)}")
_VALID = re.compile(
    rf"{_WS}*(?:{_OPERATORS}){_WS}*{_version(False)}{_WS}*"
    rf"(?:(?:{_WS}+|,{_WS}*)(?:{_OPERATORS}){_WS}*{_version(False)}{_WS}*)*"
)
_RANGE = re.compile(rf"{_WS}*({_version(False)}){_WS}+-{_WS}+({_version(False)}){_WS}*")
_WILDCARDS = frozenset({"x", "X", "*"})


class ConstraintError(ValueError):
    """A constraint that does not parse; ``str()`` says which part."""


def _rewrite_ranges(text: str) -> str:
    return _RANGE.sub(lambda m: f">= {m.group(1)}, <= {m.group(2)} ", text)


@attrs.frozen
class Constraint:
    """One comparison, e.g. ``>= 1.2`` or ``~1.2.x``.

    ``bound`` is the version compared against, with wildcards and missing
    parts as zero; ``minor_wild``/``patch_wild`` say which part was a
    wildcard and ``wild`` that any was (a wild major makes ``bound`` 0.0.0
    with neither of the other two set)."""

    operator: str
    text: str
    bound: SemVer
    wild: bool = False
    minor_wild: bool = False
    patch_wild: bool = False

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _ONE.fullmatch(text)
        if match is None:
            raise ConstraintError(f"improper constraint: {go_quote(text)}")
        operator, whole, major, minor, patch, prerelease = match.groups()
        prerelease = prerelease or ""
        wild = minor_wild = patch_wild = False
        if major in _WILDCARDS:
            bound, wild = f"0.0.0{prerelease}", True
        elif minor is None or minor[1:] in _WILDCARDS:
            bound, wild, minor_wild = f"{major}.0.0{prerelease}", True, True
        elif patch is None or patch[1:] in _WILDCARDS:
            bound, wild, patch_wild = f"{major}{minor}.0{prerelease}", True, True
        else:
            bound = whole
        try:
            version = SemVer.parse(bound)
        except SemVerError:
            raise ConstraintError(f"improper constraint: {go_quote(text.strip())}") from None
        return cls(operator, whole, version, wild, minor_wild, patch_wild)

    def allows(self, version: SemVer, include_prereleases: bool) -> bool:
        """Whether ``version`` satisfies this constraint. Pre-releases never
        do unless ``include_prereleases``."""
        if version.prerelease and not include_prereleases:
            return False
        return _OPERATIONS[self.operator](self, version)

    def _equal(self, v: SemVer) -> bool:
        return self._tilde(v) if self.wild else v.compare(self.bound) == 0

    def _not_equal(self, v: SemVer) -> bool:
        bound = self.bound
        if self.wild:
            if v.major != bound.major:
                return True
            if self.minor_wild:
                return False
            if v.minor != bound.minor:
                return True
            if self.patch_wild:
                # Pre-release strings that differ never compare equal: a
                # numeric identifier cannot have leading zeros.
                return v.prerelease != bound.prerelease
            if v.patch != bound.patch:
                return True
        return v.compare(bound) != 0

    def _greater(self, v: SemVer) -> bool:
        bound = self.bound
        if not self.wild:
            return v.compare(bound) > 0
        if v.major != bound.major:
            return v.major > bound.major
        if self.minor_wild:  # >1 means 2.0.0 or later
            return False
        if self.patch_wild:  # >1.1 means 1.2.0 or later
            return v.minor > bound.minor
        return v.compare(bound) > 0

    def _less(self, v: SemVer) -> bool:
        return v.compare(self.bound) < 0

    def _greater_equal(self, v: SemVer) -> bool:
        return v.compare(self.bound) >= 0

    def _less_equal(self, v: SemVer) -> bool:
        bound = self.bound
        if not self.wild:
            return v.compare(bound) <= 0
        if v.major > bound.major:
            return False
        return not (v.major == bound.major and v.minor > bound.minor and not self.minor_wild)

    def _tilde(self, v: SemVer) -> bool:
        bound = self.bound
        if v.compare(bound) < 0:
            return False
        if (bound.major, bound.minor, bound.patch) == (0, 0, 0) and not (
            self.minor_wild or self.patch_wild
        ):
            return True  # ~0.0.0 and ~* accept everything
        if v.major != bound.major:
            return False
        return self.minor_wild or v.minor == bound.minor

    def _caret(self, v: SemVer) -> bool:
        bound = self.bound
        if v.compare(bound) < 0:
            return False
        if bound.major > 0 or self.minor_wild:
            return v.major == bound.major
        if v.major > 0:
            return False
        if bound.minor > 0 or self.patch_wild:
            return v.minor == bound.minor
        if v.minor > 0:
            return False
        return v.patch == bound.patch

    def __str__(self) -> str:
        return f"{self.operator}{self.text}"


_OPERATIONS: dict[str, Callable[[Constraint, SemVer], bool]] = {
    "": Constraint._equal,
    "=": Constraint._equal,
    "!=": Constraint._not_equal,
    ">": Constraint._greater,
    "<": Constraint._less,
    ">=": Constraint._greater_equal,
    "=>": Constraint._greater_equal,
    "<=": Constraint._less_equal,
    "=<": Constraint._less_equal,
    "~": Constraint._tilde,
    "~>": Constraint._tilde,
    "^": Constraint._caret,
}


@attrs.frozen
class Alternative:
    """Constraints that must all hold (one side of ``||``)."""

    constraints: tuple[Constraint, ...]

    @property
    def includes_prereleases(self) -> bool:
        """Pre-releases are considered only when a constraint names one."""
        return any(c.bound.prerelease for c in self.constraints)

    def allows(self, version: SemVer) -> bool:
        include = self.includes_prereleases
        return all(c.allows(version, include) for c in self.constraints)


@attrs.frozen
class Constraints:
    """A parsed ``semver_constraint``: alternatives, any of which may hold."""

    alternatives: tuple[Alternative, ...]
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Constraints:
        """Parse ``text``; ``ConstraintError`` names the part that does not."""
        alternatives = []
        for part in _rewrite_ranges(text).split("||"):
            if not _VALID.fullmatch(part):
                raise ConstraintError(f"improper constraint: {go_quote(part)}")
            found = [m.group(0) for m in _FIND.finditer(part)] or [part]
            alternatives.append(Alternative(tuple(Constraint.parse(each) for each in found)))
        return cls(tuple(alternatives), text)

    def allows(self, version: SemVer) -> bool:
        """Whether ``version`` satisfies any alternative."""
        return any(alternative.allows(version) for alternative in self.alternatives)

    def __str__(self) -> str:
        return " || ".join(" ".join(map(str, a.constraints)) for a in self.alternatives)
