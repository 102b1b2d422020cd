"""core.versions.semver: Masterminds' lenient parsing and SemVer precedence."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_image.core.versions.semver import InvalidSemVer, SemVer, SemVerError, parse_or_none

numbers = st.integers(min_value=0, max_value=2**64 - 1)
words = st.from_regex(r"[A-Za-z-][0-9A-Za-z-]{0,6}", fullmatch=True)
numeric_identifiers = st.integers(min_value=0, max_value=10**6).map(str)
identifiers = st.one_of(words, numeric_identifiers)
prereleases = st.lists(identifiers, min_size=1, max_size=4).map(".".join)
metadata = st.lists(st.from_regex(r"[0-9A-Za-z-]{1,6}", fullmatch=True), max_size=3).map(".".join)
versions = st.builds(
    SemVer,
    major=numbers,
    minor=numbers,
    patch=numbers,
    prerelease=st.one_of(st.just(""), prereleases),
    metadata=metadata,
)


def precedence_key(version: SemVer) -> tuple[object, ...]:
    """SemVer 2.0 precedence as a sort key, written independently of compare()."""
    if not version.prerelease:
        release: tuple[object, ...] = (1,)
    else:
        parts = tuple(
            (0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.prerelease.split(".")
        )
        release = (0, parts)
    return (version.major, version.minor, version.patch, release)


@given(versions)
def test_normalised_text_parses_back_to_the_same_version(version: SemVer) -> None:
    parsed = SemVer.parse(str(version))
    assert parsed == version
    assert str(parsed) == str(version)
    assert parsed.metadata == version.metadata


@given(versions, versions)
def test_order_agrees_with_semver_precedence(a: SemVer, b: SemVer) -> None:
    expected = (precedence_key(a) > precedence_key(b)) - (precedence_key(a) < precedence_key(b))
    assert a.compare(b) == expected
    assert b.compare(a) == -expected
    assert (a == b) == (expected == 0)
    if a == b:
        assert hash(a) == hash(b)


@given(st.lists(versions, min_size=3, max_size=3))
def test_order_is_transitive(three: list[SemVer]) -> None:
    for a, b, c in itertools.permutations(three):
        if a <= b and b <= c:
            assert a <= c


def test_semver_spec_precedence_example() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
    ]
    parsed = [SemVer.parse(text) for text in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert [str(v) for v in sorted(reversed(parsed))] == ordered


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("v1.2", "1.2.0"),
        ("1", "1.0.0"),
        ("01.02.03", "1.2.3"),
        ("1.2.3-rc.1", "1.2.3-rc.1"),
        ("1.2.3+build.5", "1.2.3+build.5"),
        ("1.2-beta", "1.2.0-beta"),
        ("0.0.0", "0.0.0"),
    ],
)
def test_lenient_forms(text: str, normalised: str) -> None:
    version = SemVer.parse(text)
    assert str(version) == normalised
    assert version.original == text


@pytest.mark.parametrize(
    "text",
    ["", "hoogily-boogily", "latest", "1.2.3.4", "V1.2.3", "1.2.3-", "1.2.3\n", " 1.2.3", "1..2"],
)
def test_not_a_version(text: str) -> None:
    with pytest.raises(InvalidSemVer, match=r"^invalid semantic version$"):
        SemVer.parse(text)
    assert parse_or_none(text) is None


def test_prerelease_number_with_leading_zero_is_refused() -> None:
    with pytest.raises(SemVerError, match=r"^version segment starts with 0$") as caught:
        SemVer.parse("1.2.3-01")
    assert not isinstance(caught.value, InvalidSemVer)


def test_numbers_beyond_uint64_are_refused() -> None:
    with pytest.raises(SemVerError, match=r"value out of range"):
        SemVer.parse("18446744073709551616.0.0")
    assert SemVer.parse("18446744073709551615.0.0").major == 2**64 - 1


def test_metadata_does_not_count() -> None:
    assert SemVer.parse("1.0.0+a") == SemVer.parse("1.0.0+b")
    assert not SemVer.parse("1.0.0+a") < SemVer.parse("1.0.0+b")


def test_prerelease_is_older_than_release() -> None:
    assert SemVer.parse("2.0.0-rc.1").is_prerelease
    assert SemVer.parse("2.0.0-rc.1") < SemVer.parse("2.0.0")
    assert not SemVer.parse("2.0.0").is_prerelease
