"""core.versions.selection: the semver-mode rules, without a registry.

``select_versions`` resolves in phases (the cursor's tag, then only newer
versions, then the skipped ones only if the bare tag needs them). A
reference written the way the Go resource's loop reads (every tag in order,
cursor first) must give the same answer for any repository.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from registry_image.core.errors import ConfigError
from registry_image.core.models import Source, Tag, Version
from registry_image.core.versions.constraint import Constraints
from registry_image.core.versions.selection import SemverPolicy, select_versions
from registry_image.core.versions.semver import SemVer

TAG_POOL = [
    "1", "1.0", "1.0.0", "v1.0.0", "1.2", "1.2.3", "2", "2.0.0", "2.0.0-rc.1", "2.0.0-rc1",
    "2.0.0-beta", "2.0.0-alpha.1", "2.0.0-foo", "2.0.0-build.3", "1.0.0-foo", "3.0.0-foo",
    "2.0.0-rc.1-foo", "2.0.0-rc.1-bar", "latest", "foo", "3", "3.1", "junk", "1.0.0+meta",
]  # fmt: skip
DIGESTS = [f"sha256:{c * 64}" for c in "abcde"]


def policy_of(
    variant: str | None, constraint: str | None, pre: bool, prefixes: tuple[str, ...]
) -> SemverPolicy:
    return SemverPolicy(
        variant=variant,
        constraint=Constraints.parse(constraint) if constraint else None,
        pre_releases=pre,
        pre_release_prefixes=prefixes,
    )


policies = st.builds(
    policy_of,
    st.sampled_from([None, "foo"]),
    st.sampled_from([None, ">= 1.1", "~1.0", ">= 2.0.0-0", "1.x || 3"]),
    st.booleans(),
    st.sampled_from([(), ("build",)]),
)
repositories = st.dictionaries(
    st.sampled_from(TAG_POOL), st.one_of(st.none(), st.sampled_from(DIGESTS)), max_size=14
)


def replaces(new: SemVer, old: SemVer) -> bool:
    """Upstream's rule for which tag stands for a digest."""
    if not old.is_prerelease and new.is_prerelease:
        return False
    if old.is_prerelease and not new.is_prerelease:
        return True
    return new.original.count(".") > old.original.count(".")


def reference(
    tags: Sequence[str],
    digests: Mapping[str, str | None],
    policy: SemverPolicy,
    cursor: Version | None,
) -> list[Version]:
    """One pass over every tag, the cursor's first, as upstream's loop."""
    order = list(tags)
    if cursor is not None and cursor.tag in order:
        order.remove(cursor.tag)
        order.insert(0, cursor.tag)
    floor: SemVer | None = None
    chosen: dict[str, tuple[str, SemVer, int]] = {}
    every_version_digest = set()
    bare_digest = None
    for position, tag in enumerate(order):
        digest = digests[tag]
        if tag == policy.bare_tag:
            bare_digest = digest
            continue
        version = policy.version_of(tag)
        if version is None or digest is None:
            continue
        every_version_digest.add(digest)
        if floor is not None and version <= floor:
            continue
        if digest not in chosen or replaces(version, chosen[digest][1]):
            chosen[digest] = (tag, version, position)
        if cursor is not None and tag == cursor.tag and digest == cursor.digest:
            floor = version
    ranked = sorted(chosen.items(), key=lambda item: (item[1][1], item[1][2]))
    result = [Version(tag=Tag(tag), digest=digest) for digest, (tag, _, _) in ranked]
    if (
        bare_digest is not None
        and policy.constraint is None
        and bare_digest not in every_version_digest
    ):
        result.append(Version(tag=Tag(policy.bare_tag), digest=bare_digest))
    return result


class CountingResolver:
    def __init__(self, digests: Mapping[str, str | None]) -> None:
        self.digests = digests
        self.calls: list[list[str]] = []

    def __call__(self, tags: Sequence[str]) -> dict[str, str | None]:
        self.calls.append(list(tags))
        return {tag: self.digests[tag] for tag in tags}

    @property
    def resolved(self) -> list[str]:
        return [tag for call in self.calls for tag in call]


@st.composite
def cursors(draw: st.DrawFn, digests: Mapping[str, str | None]) -> Version | None:
    if not digests or draw(st.booleans()):
        return None
    tag = draw(st.sampled_from(sorted(digests)))
    digest = draw(st.sampled_from([digests[tag] or DIGESTS[0], "sha256:" + "f" * 64]))
    return Version(tag=Tag(tag), digest=digest)


@given(repositories, policies, st.data())
def test_same_answer_as_a_single_pass_over_every_tag(
    digests: dict[str, str | None], policy: SemverPolicy, data: st.DataObject
) -> None:
    tags = list(digests)
    cursor = data.draw(cursors(digests))
    resolver = CountingResolver(digests)
    assert select_versions(tags, policy, cursor, resolver) == reference(
        tags, digests, policy, cursor
    )
    assert len(resolver.calls) <= 3
    assert len(resolver.resolved) == len(set(resolver.resolved)), "a tag resolved twice"


@given(repositories, policies, st.data())
def test_versions_at_or_below_the_cursor_are_not_resolved(
    digests: dict[str, str | None], policy: SemverPolicy, data: st.DataObject
) -> None:
    tags = list(digests)
    without = select_versions(tags, policy, None, CountingResolver(digests))
    plain = [v for v in without if v.tag != policy.bare_tag]
    assume(plain)  # a cursor needs a version to sit on
    cursor = data.draw(st.sampled_from(plain))
    resolver = CountingResolver(digests)
    result = select_versions(tags, policy, cursor, resolver)
    floor = policy.version_of(cursor.tag)
    assert floor is not None
    assert result[0] == cursor
    for found in result[1:]:
        newer = policy.version_of(found.tag)
        assert found.tag == policy.bare_tag or (newer is not None and newer > floor)
    assert resolver.calls[0] == [cursor.tag]
    for tag in resolver.calls[1]:
        newer = policy.version_of(tag)
        assert tag == policy.bare_tag or (newer is not None and newer > floor)
    if len(resolver.calls) == 3:  # only to decide whether the bare tag is a version
        reported = {v.digest for v in result if v.tag != policy.bare_tag}
        assert digests.get(policy.bare_tag) not in reported | {None}


def version(tag: str, digest: str) -> Version:
    return Version(tag=Tag(tag), digest=digest)


A, B, C, D = DIGESTS[:4]


def test_latest_naming_an_old_release_is_not_reported_after_a_cursor() -> None:
    """Upstream reports ``latest`` here (it only compares with versions above
    the cursor); we resolve the skipped versions to find it is ``1``."""
    digests = {"1": A, "2": B, "latest": A, "3": C}
    resolver = CountingResolver(digests)
    result = select_versions(list(digests), SemverPolicy(), version("2", B), resolver)
    assert result == [version("2", B), version("3", C)]
    assert resolver.calls == [["2"], ["3", "latest"], ["1"]]


def test_latest_with_its_own_digest_costs_no_extra_resolution_when_newest() -> None:
    digests = {"1": A, "2": B, "latest": B}
    resolver = CountingResolver(digests)
    assert select_versions(list(digests), SemverPolicy(), version("1", A), resolver) == [
        version("1", A),
        version("2", B),
    ]
    assert resolver.calls == [["1"], ["2", "latest"]]


def test_vanished_tags_are_skipped() -> None:
    digests: dict[str, str | None] = {"1.0.0": A, "1.1.0": None, "latest": None, "2.0.0": B}
    assert select_versions(list(digests), SemverPolicy(), None, CountingResolver(digests)) == [
        version("1.0.0", A),
        version("2.0.0", B),
    ]


def test_equal_versions_keep_listing_order() -> None:
    digests = {"1.2.0": A, "1.2": B, "v1.2.0": C}
    assert select_versions(list(digests), SemverPolicy(), None, CountingResolver(digests)) == [
        version("1.2.0", A),
        version("1.2", B),
        version("v1.2.0", C),
    ]


def test_constraint_set_means_the_bare_tag_is_not_even_resolved() -> None:
    digests = {"1.0.0": A, "latest": D}
    resolver = CountingResolver(digests)
    policy = SemverPolicy(constraint=Constraints.parse(">= 1"))
    assert select_versions(list(digests), policy, None, resolver) == [version("1.0.0", A)]
    assert resolver.resolved == ["1.0.0"]


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (">= bar", 'source.semver_constraint: improper constraint: ">= bar"'),
        ("1.2.3.4", 'source.semver_constraint: improper constraint: "1.2.3.4"'),
    ],
)
def test_bad_constraint_is_a_config_error(constraint: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        SemverPolicy.from_source(Source(repository="x", semver_constraint=constraint))
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("tag", "variant", "pre", "prefixes", "expected"),
    [
        ("v1.2", None, False, (), "1.2.0"),
        ("1", None, False, (), "1.0.0"),
        ("latest", None, False, (), None),
        ("1.0.0-rc.1", None, False, (), None),
        ("1.0.0-rc.1", None, True, (), "1.0.0-rc.1"),
        ("1.0.0-rc.1-x", None, True, (), None),
        ("1.0.0-rc.1-x", None, True, ("nightly",), "1.0.0-rc.1-x"),
        ("1.0.0-nightly.5", None, True, ("nightly",), "1.0.0-nightly.5"),
        ("1.0.0-foo", "foo", False, (), "1.0.0"),
        ("1.0.0", "foo", False, (), None),
        ("foo", "foo", False, (), None),
        ("1.0.0-beta2-foo", "foo", True, (), "1.0.0-beta2"),
    ],
)
def test_version_of(
    tag: str, variant: str | None, pre: bool, prefixes: tuple[str, ...], expected: str | None
) -> None:
    found = SemverPolicy(variant, None, pre, prefixes).version_of(tag)
    assert (None if found is None else str(found)) == expected
