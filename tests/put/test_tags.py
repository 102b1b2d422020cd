"""core.versions.tags: which tags ``out`` pushes, and the errors for bad combinations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_image.core.errors import ConfigError
from registry_image.core.versions.semver import SemVer
from registry_image.core.versions.tags import aliases_to_bump, parse_version, plan_tags

from .alias_table import MORE_CASES, UPSTREAM_CASES, AliasCase


def tags_for(case: AliasCase, source_tag: str | None = None) -> list[str]:
    version = parse_version(case.version) if case.version else None
    plan = plan_tags(
        source_tag=source_tag,
        version=version,
        variant=case.variant,
        bump_aliases=case.bump_aliases,
        additional_tags=(),
        tag_prefix=None,
    )
    return plan.tags(case.existing or ())


def test_the_upstream_table_is_complete() -> None:
    assert len(UPSTREAM_CASES) >= 20


@pytest.mark.parametrize("case", UPSTREAM_CASES + MORE_CASES, ids=lambda case: case.name)
def test_alias_table(case: AliasCase) -> None:
    if case.error:
        with pytest.raises(ConfigError) as caught:
            tags_for(case)
        assert case.error in str(caught.value)
    else:
        assert sorted(tags_for(case)) == sorted(case.pushed)


def test_order_is_source_tag_version_aliases_then_additional() -> None:
    plan = plan_tags(
        source_tag="edge",
        version=SemVer.parse("1.2.3"),
        variant=None,
        bump_aliases=True,
        additional_tags=("a", "b"),
        tag_prefix="x-",
    )
    assert plan.tags(()) == ["edge", "1.2.3", "latest", "1", "1.2", "x-a", "x-b"]


def test_a_tag_named_twice_is_listed_twice_as_upstream_reports_it() -> None:
    plan = plan_tags(
        source_tag="latest",
        version=SemVer.parse("1.0.0"),
        variant=None,
        bump_aliases=True,
        additional_tags=("1.0.0", "other"),
        tag_prefix=None,
    )
    assert plan.tags(()) == ["latest", "1.0.0", "latest", "1", "1.0", "1.0.0", "other"]


def test_variant_is_appended_to_prereleases_too() -> None:
    plan = plan_tags(
        source_tag=None,
        version=SemVer.parse("1.2.3-rc.1"),
        variant="lts",
        bump_aliases=True,
        additional_tags=(),
        tag_prefix=None,
    )
    assert not plan.needs_existing_tags
    assert plan.tags() == ["1.2.3-rc.1-lts"]


def test_additional_tags_alone_are_enough() -> None:
    plan = plan_tags(
        source_tag=None,
        version=None,
        variant=None,
        bump_aliases=False,
        additional_tags=("one",),
        tag_prefix=None,
    )
    assert plan.tags() == ["one"]


def test_tag_prefix_without_additional_tags() -> None:
    with pytest.raises(
        ConfigError, match=r"^tag_prefix can only be used when additional_tags are specified$"
    ):
        plan_tags(
            source_tag="t",
            version=None,
            variant=None,
            bump_aliases=False,
            additional_tags=(),
            tag_prefix="p-",
        )


def test_no_tag_at_all() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^no tag specified - need either 'version:' in params or 'tag:' in source$",
    ):
        plan_tags(
            source_tag=None,
            version=None,
            variant="lts",
            bump_aliases=True,
            additional_tags=(),
            tag_prefix=None,
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hoogily-boogily", 'invalid semantic version: "hoogily-boogily"'),
        ("1.2.3.4", 'invalid semantic version: "1.2.3.4"'),
        ("1.2.3-01", "failed to parse version: version segment starts with 0"),
    ],
)
def test_bad_versions(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_version(text)
    assert str(caught.value) == message


def test_a_version_that_is_no_valid_tag_is_refused_before_pushing() -> None:
    plan = plan_tags(
        source_tag=None,
        version=SemVer.parse("1.2.3+build.7"),
        variant=None,
        bump_aliases=False,
        additional_tags=(),
        tag_prefix=None,
    )
    with pytest.raises(ConfigError, match=r"invalid tag '1\.2\.3\+build\.7'"):
        plan.tags()


finals = st.builds(
    SemVer,
    major=st.integers(0, 4),
    minor=st.integers(0, 4),
    patch=st.integers(0, 4),
)


@st.composite
def ignored_tags(draw: st.DrawFn, variant: str | None) -> str:
    """An existing tag newer than anything in ``finals`` that must not hold
    an alias back: a prerelease, not a version, another variant, or (with a
    variant) a tag without it."""
    suffix = f"-{variant}" if variant else ""
    choices = ["9.9.9-rc.1" + suffix, "banana" + suffix, "9.9.9-other"]
    if variant:
        choices.append("9.9.9")
    return draw(st.sampled_from(choices))


@given(finals, st.lists(finals, max_size=6), st.sampled_from([None, "lts"]), st.data())
def test_aliases_agree_with_their_definition(
    version: SemVer, existing: list[SemVer], variant: str | None, data: st.DataObject
) -> None:
    """The aliases, exactly and in order: ``latest`` (or the variant) unless a
    newer release exists, ``MAJOR`` unless a newer one shares the major,
    ``MAJOR.MINOR`` unless a newer one shares both; only final releases of
    the same variant count."""
    suffix = f"-{variant}" if variant else ""
    noise = data.draw(st.lists(ignored_tags(variant), max_size=3))
    tags = data.draw(st.permutations([f"{v}{suffix}" for v in existing] + noise))
    newer = [v for v in existing if v > version]
    expected = []
    if not newer:
        expected.append(variant or "latest")
    if not [v for v in newer if v.major == version.major]:
        expected.append(f"{version.major}{suffix}")
    if not [v for v in newer if (v.major, v.minor) == (version.major, version.minor)]:
        expected.append(f"{version.major}.{version.minor}{suffix}")
    assert aliases_to_bump(version, variant, tags) == expected
