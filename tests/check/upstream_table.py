"""The Go resource's check test table for semver and regex modes.

Transcribed from ``check_test.go`` of concourse/registry-image-resource
("tracking semver tags"): each case lists tags in the order the registry
lists them, each naming an image (tags naming the same image share a
digest), the source settings, an optional cursor (its tag and the image
whose digest it carries, or a bogus digest), and the tags expected back, in
order.
"""

from __future__ import annotations

from typing import Literal

import attrs

MirrorSetup = Literal["none", "unreachable", "working"]


@attrs.frozen
class Case:
    id: str
    tags: tuple[tuple[str, str], ...]
    expected: tuple[str, ...]
    tag_regex: str | None = None
    created_at_sort: bool = False
    created: tuple[tuple[str, str], ...] = ()
    """(image, RFC 3339 time) pairs for the image configs' ``created``."""
    semver_constraint: str | None = None
    pre_releases: bool = False
    pre_release_prefixes: tuple[str, ...] = ()
    variant: str | None = None
    cursor: tuple[str, str] | None = None
    """(tag, image name or a bogus digest)."""
    no_head_digest: bool = False
    """HEAD answers carry no ``Docker-Content-Digest`` (GET fallback)."""
    mirror: MirrorSetup = "none"
    """``unreachable``: a mirror that refuses connections, repository on an
    explicit host (the mirror is never used). ``working``: a Docker Hub
    repository whose origin is unreachable and the registry as mirror."""


def _tags(*pairs: str) -> tuple[tuple[str, str], ...]:
    """``"tag=image"`` strings to pairs."""
    return tuple(tuple(p.split("=", 1)) for p in pairs)  # type: ignore[misc]


ORDERING = _tags("1.0.0=random-1", "1.2.1=random-3", "2.0.0=random-5")
PRE_RELEASES = _tags(
    "1.0.0-alpha.1=random-0",
    "1.0.0=random-1",
    "1.2.1-beta.1=random-2",
    "1.2.1=random-3",
    "2.0.0-rc.1=random-4",
    "2.0.0=random-5",
)
VARIANT_PRE_RELEASES = (
    "1.0.0-rc.1-foo=random-2",
    "1.0.0-alpha.1-foo=random-3",
    "1.0.0-beta.1-foo=random-4",
    "1.0.0-bar-foo=random-5",
    "1.0.0-rc.1-bar-foo=random-6",
    "1.0.0-alpha.1-bar-foo=random-7",
    "1.0.0-beta.1-bar-foo=random-8",
)

CASES = (
    Case("no semver tags", _tags("non-semver-tag=random-1"), ()),
    Case(
        "no matching regex tags",
        _tags("non-matching-regex-tag=random-1"),
        (),
        tag_regex="foo.*",
    ),
    Case("latest tag", _tags("non-semver-tag=random-1", "latest=random-2"), ("latest",)),
    Case(
        "HEAD with GET fallback",
        _tags("non-semver-tag=random-1", "latest=random-2"),
        ("latest",),
        no_head_digest=True,
    ),
    Case(
        "simple tag regex",
        _tags("1.0.0=random-1", "non-semver-tag=random-2", "gray=random-3", "grey=random-4"),
        ("gray", "grey"),
        tag_regex="gr(a|e)y",
    ),
    Case(
        "simple tag regex where sorted is true",
        _tags(
            "1.0.0=random-1",
            "non-semver-tag=random-2",
            "gem-1338-git-4bd8a5e1a244=random-3",
            "gem-182-git-6bd8a5e1a2b3=random-4",
            "gem-1337-git-4bd8a5e1a244=random-5",
        ),
        ("gem-182-git-6bd8a5e1a2b3", "gem-1337-git-4bd8a5e1a244", "gem-1338-git-4bd8a5e1a244"),
        tag_regex=r"gem-(\d+)-git-([a-f0-9]{12})",
        created_at_sort=True,
        created=(
            ("random-3", "2024-01-04T05:00:00Z"),
            ("random-4", "2024-01-04T00:00:00Z"),
            ("random-5", "2024-01-04T04:00:00Z"),
        ),
    ),
    Case(
        "regex override semver constraint",
        _tags(
            "1.0.0=random-1",
            "1.2.1=random-3",
            "1.2.2=random-4",
            "2.0.0=random-5",
            "latest=random-6",
            "gray=random-7",
            "grey=random-8",
        ),
        ("gray", "grey"),
        tag_regex="gr(a|e)y",
        semver_constraint="1.2.x",
    ),
    Case(
        "semver and non-semver tags", _tags("1.0.0=random-1", "non-semver-tag=random-2"), ("1.0.0",)
    ),
    Case(
        "regex maintain ordering",
        _tags(
            "1.0.0=random-1",
            "3bd8a5e-dev=random-2",
            "3bd8a5e-stage=random-3",
            "non-matching-regex-tag=random-4",
            "67e3c33-dev=random-5",
        ),
        ("3bd8a5e-dev", "67e3c33-dev"),
        tag_regex="^[0-9a-f]{7}-dev$",
    ),
    Case("semver tag ordering", ORDERING, ("1.0.0", "1.2.1", "2.0.0")),
    Case(
        "semver tag ordering with cursor",
        ORDERING,
        ("1.2.1", "2.0.0"),
        cursor=("1.2.1", "random-3"),
    ),
    Case(
        "semver tag ordering with cursor with different digest",
        ORDERING,
        ("1.0.0", "1.2.1", "2.0.0"),
        cursor=("1.2.1", "bogus"),
    ),
    Case(
        "semver constraint",
        _tags(
            "1.0.0=random-1",
            "1.2.1=random-3",
            "1.2.2=random-4",
            "v1.2.3=random-9",
            "2.0.0=random-5",
            "latest=random-6",
        ),
        ("1.2.1", "1.2.2", "v1.2.3"),
        semver_constraint="1.2.x",
    ),
    Case("prereleases ignored by default", PRE_RELEASES, ("1.0.0", "1.2.1", "2.0.0")),
    Case(
        "prereleases opted in",
        PRE_RELEASES,
        ("1.0.0-alpha.1", "1.0.0", "1.2.1-beta.1", "1.2.1", "2.0.0-rc.1", "2.0.0"),
        pre_releases=True,
    ),
    Case(
        "prerelease prefixes opted in",
        (*PRE_RELEASES, ("2.0.0-build.1", "random-6")),
        (
            "1.0.0-alpha.1",
            "1.0.0",
            "1.2.1-beta.1",
            "1.2.1",
            "2.0.0-build.1",
            "2.0.0-rc.1",
            "2.0.0",
        ),
        pre_releases=True,
        pre_release_prefixes=("build",),
    ),
    Case(
        "prereleases do not include 'variants'",
        _tags(
            "1.0.0-alpha.1=random-0",
            "1.0.0-beta.1=random-1",
            "1.0.0-rc.1=random-2",
            "1.0.0-foo.1=random-3",
        ),
        ("1.0.0-alpha.1", "1.0.0-beta.1", "1.0.0-rc.1"),
        pre_releases=True,
    ),
    Case(
        "prereleases do not require dot",
        _tags(
            "1.0.0-alpha1=random-0",
            "1.0.0-alpha2=random-1",
            "1.0.0-beta1=random-2",
            "1.0.0-beta2=random-3",
            "1.0.0-rc1=random-4",
            "1.0.0-rc2=random-5",
            "1.0.0-foo1=random-6",
            "1.0.0-foo2=random-7",
        ),
        ("1.0.0-alpha1", "1.0.0-alpha2", "1.0.0-beta1", "1.0.0-beta2", "1.0.0-rc1", "1.0.0-rc2"),
        pre_releases=True,
    ),
    Case(
        "prereleases do not require number",
        _tags(
            "1.0.0-alpha=random-0",
            "1.0.0-beta=random-1",
            "1.0.0-rc=random-2",
            "1.0.0-foo=random-3",
        ),
        ("1.0.0-alpha", "1.0.0-beta", "1.0.0-rc"),
        pre_releases=True,
    ),
    Case(
        "final versions take priority over rcs",
        _tags("1.0.0-rc.1=random-2", "1.0.0-rc1=random-2", "1.0.0-rc=random-2", "1.0.0=random-2"),
        ("1.0.0",),
        pre_releases=True,
    ),
    Case(
        "mixed specificity semver tags",
        _tags(
            "1=random-1",
            "2=random-2",
            "2.1=random-2",
            "latest=random-3",
            "3=random-3",
            "3.2=random-3",
            "3.2.1=random-3",
            "3.1=random-4",
            "3.1.0=random-4",
            "3.0=random-5",
            "3.0.0=random-5",
        ),
        ("1", "2.1", "3.0.0", "3.1.0", "3.2.1"),
    ),
    Case(
        "semver tags with latest tag having unique digest",
        _tags("1.0.0=random-1", "non-semver-tag=random-2", "latest=random-3"),
        ("1.0.0", "latest"),
    ),
    Case(
        "latest tag pointing to latest version",
        _tags("1=random-1", "2=random-2", "3=random-3", "latest=random-3"),
        ("1", "2", "3"),
    ),
    Case(
        "latest tag pointing to older version",
        _tags("1=random-1", "2=random-2", "latest=random-2", "3=random-3"),
        ("1", "2", "3"),
    ),
    Case(
        "variants",
        _tags(
            "latest=random-1",
            "1.0.0=random-1",
            "0.9.0=random-2",
            "foo=random-3",
            "1.0.0-foo=random-3",
            "0.9.0-foo=random-4",
            "bar=random-5",
            "1.0.0-bar=random-5",
            "0.9.0-bar=random-6",
        ),
        ("0.9.0-foo", "1.0.0-foo"),
        variant="foo",
    ),
    Case(
        "variant with bare variant tag pointing to unique digest",
        _tags(
            "latest=random-1",
            "1.0.0=random-1",
            "0.9.0=random-2",
            "foo=random-3",
            "0.8.0-foo=random-4",
            "bar=random-5",
            "1.0.0-bar=random-5",
            "0.9.0-bar=random-6",
        ),
        ("0.8.0-foo", "foo"),
        variant="foo",
    ),
    Case(
        "distinguishing additional variants from prereleases",
        _tags("1.0.0-foo=random-1", *VARIANT_PRE_RELEASES),
        ("1.0.0-alpha.1-foo", "1.0.0-beta.1-foo", "1.0.0-rc.1-foo", "1.0.0-foo"),
        variant="foo",
        pre_releases=True,
    ),
    Case(
        "opting in to prereleases allows additional '-' suffixes before variant",
        _tags("1.0.0-build-foo=random-1", *VARIANT_PRE_RELEASES),
        (
            "1.0.0-alpha.1-foo",
            "1.0.0-alpha.1-bar-foo",
            "1.0.0-beta.1-foo",
            "1.0.0-beta.1-bar-foo",
            "1.0.0-build-foo",
            "1.0.0-rc.1-foo",
            "1.0.0-rc.1-bar-foo",
        ),
        variant="foo",
        pre_releases=True,
        pre_release_prefixes=("build",),
    ),
    Case(
        "tries mirror and falls back on original repository",
        ORDERING,
        ("1.0.0", "1.2.1", "2.0.0"),
        mirror="unreachable",
    ),
    Case(
        "uses mirror and ignores failing repository",
        ORDERING,
        ("1.0.0", "1.2.1", "2.0.0"),
        mirror="working",
    ),
)
