"""core.versions.constraint: Masterminds' constraint semantics.

Two kinds of evidence: Masterminds' own test tables, and properties that
tie every operator to plain version comparison, written independently of
the implementation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_image.core.versions.constraint import Constraint, ConstraintError, Constraints
from registry_image.core.versions.semver import SemVer

from tests.check.masterminds_table import FULL, PARSE, SINGLE

small = st.integers(min_value=0, max_value=4)
releases = st.builds(SemVer, major=small, minor=small, patch=small)
pre_identifiers = st.sampled_from(["alpha", "beta", "rc", "0", "1", "2", "alpha.1", "rc.2"])
prereleases = st.builds(SemVer, major=small, minor=small, patch=small, prerelease=pre_identifiers)
any_version = st.one_of(releases, prereleases)


@pytest.mark.parametrize(("constraint", "version", "expected"), SINGLE)
def test_masterminds_single_constraint_table(constraint: str, version: str, expected: bool) -> None:
    parsed = Constraint.parse(constraint)
    assert parsed.allows(SemVer.parse(version), bool(parsed.bound.prerelease)) is expected


@pytest.mark.parametrize(("constraint", "version", "expected"), FULL)
def test_masterminds_constraints_table(constraint: str, version: str, expected: bool) -> None:
    assert Constraints.parse(constraint).allows(SemVer.parse(version)) is expected


@pytest.mark.parametrize(("constraint", "shape"), PARSE)
def test_masterminds_parse_table(constraint: str, shape: tuple[int, int] | None) -> None:
    if shape is None:
        with pytest.raises(ConstraintError, match="improper constraint"):
            Constraints.parse(constraint)
        return
    parsed = Constraints.parse(constraint)
    assert (len(parsed.alternatives), len(parsed.alternatives[0].constraints)) == shape


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'improper constraint: ""'),
        (">= 1.2 ||", 'improper constraint: ""'),
        ("1x", 'improper constraint: "1x"'),
        ("~> latest", 'improper constraint: "~> latest"'),
    ],
)
def test_errors_quote_the_offending_part(text: str, message: str) -> None:
    with pytest.raises(ConstraintError) as raised:
        Constraints.parse(text)
    assert str(raised.value) == message


COMPARISONS = {
    ">": lambda v, c: v > c,
    ">=": lambda v, c: v >= c,
    "=>": lambda v, c: v >= c,
    "<": lambda v, c: v < c,
    "<=": lambda v, c: v <= c,
    "=<": lambda v, c: v <= c,
    "=": lambda v, c: v == c,
    "": lambda v, c: v == c,
    "!=": lambda v, c: v != c,
}


@given(st.sampled_from(sorted(COMPARISONS)), releases, releases)
def test_full_versions_compare_plainly(operator: str, version: SemVer, bound: SemVer) -> None:
    allowed = Constraints.parse(f"{operator}{bound}").allows(version)
    assert allowed is COMPARISONS[operator](version, bound)


@given(
    st.sampled_from(sorted(COMPARISONS)),
    any_version,
    prereleases.filter(lambda version: bool(version.prerelease)),
)
def test_prerelease_bounds_include_prereleases(
    operator: str, version: SemVer, bound: SemVer
) -> None:
    """With a pre-release in the constraint, versions compare by plain SemVer
    precedence, pre-releases included."""
    allowed = Constraints.parse(f"{operator} {bound}").allows(version)
    assert allowed is COMPARISONS[operator](version, bound)


@given(st.sampled_from(sorted(COMPARISONS)), prereleases, releases)
def test_prereleases_excluded_unless_named(operator: str, version: SemVer, bound: SemVer) -> None:
    assert not Constraints.parse(f"{operator}{bound}").allows(version)


@given(releases, releases, releases)
def test_comma_and_space_mean_and(version: SemVer, low: SemVer, high: SemVer) -> None:
    both = version >= low and version < high
    assert Constraints.parse(f">= {low}, < {high}").allows(version) is both
    assert Constraints.parse(f">={low} <{high}").allows(version) is both


@given(releases, releases, releases)
def test_double_bar_means_or(version: SemVer, a: SemVer, b: SemVer) -> None:
    either = version in (a, b)
    assert Constraints.parse(f"{a} || {b}").allows(version) is either


@given(releases, releases, releases)
def test_hyphen_range_is_inclusive(version: SemVer, low: SemVer, high: SemVer) -> None:
    inside = low <= version <= high
    assert Constraints.parse(f"{low} - {high}").allows(version) is inside


@given(releases, releases)
def test_tilde_allows_patch_updates(version: SemVer, bound: SemVer) -> None:
    ceiling = SemVer(bound.major, bound.minor + 1, 0)
    expected = bound <= version < ceiling
    if (bound.major, bound.minor, bound.patch) == (0, 0, 0):
        expected = True  # ~0.0.0 is "anything"
    assert Constraints.parse(f"~{bound}").allows(version) is expected
    assert Constraints.parse(f"~>{bound}").allows(version) is expected


@given(releases, releases)
def test_tilde_major_only_allows_minor_updates(version: SemVer, bound: SemVer) -> None:
    expected = SemVer(bound.major, 0, 0) <= version < SemVer(bound.major + 1, 0, 0)
    assert Constraints.parse(f"~{bound.major}").allows(version) is expected


@given(releases, releases)
def test_caret_keeps_the_leftmost_non_zero_part(version: SemVer, bound: SemVer) -> None:
    if bound.major > 0:
        ceiling = SemVer(bound.major + 1, 0, 0)
    elif bound.minor > 0:
        ceiling = SemVer(0, bound.minor + 1, 0)
    else:
        ceiling = SemVer(0, 0, bound.patch + 1)
    assert Constraints.parse(f"^{bound}").allows(version) is (bound <= version < ceiling)


@given(releases, small, small)
def test_wildcards_and_missing_parts(version: SemVer, major: int, minor: int) -> None:
    same_major = version.major == major
    same_minor = same_major and version.minor == minor
    for text in (f"{major}", f"{major}.x", f"{major}.*", f"{major}.X.x", f"={major}.x"):
        assert Constraints.parse(text).allows(version) is same_major, text
    for text in (f"{major}.{minor}", f"{major}.{minor}.x", f"{major}.{minor}.*"):
        assert Constraints.parse(text).allows(version) is same_minor, text
    assert Constraints.parse("*").allows(version)
    # ">1" is "2.0.0 or later"; ">1.1" is "1.2.0 or later"
    assert Constraints.parse(f">{major}").allows(version) is (version.major > major)
    assert Constraints.parse(f">{major}.{minor}").allows(version) is (
        version >= SemVer(major, minor + 1, 0)
    )
    assert Constraints.parse(f"<={major}.{minor}").allows(version) is (
        version < SemVer(major, minor + 1, 0)
    )


@given(releases, releases)
def test_leading_v_and_build_metadata_are_ignored(version: SemVer, bound: SemVer) -> None:
    plain = Constraints.parse(f">= {bound}").allows(version)
    assert Constraints.parse(f">= v{bound}+build.7").allows(version) is plain


@given(st.text(alphabet=" ,|<>=!~^*xX-+.v0123456789abrc", max_size=30))
def test_parsing_fails_only_with_constraint_error(text: str) -> None:
    try:
        parsed = Constraints.parse(text)
    except ConstraintError:
        return
    parsed.allows(SemVer(1, 2, 3))  # whatever parses can be evaluated
