"""The Go resource's ``pushing semver tags`` table (out_test.go), case by case.

Each case: the tags already in the repository (None: the repository does
not exist), ``source.variant``, ``params.version``, ``bump_aliases``, and
either the tags pushed (order-free, as upstream compares) or the error.
Used by the unit test of ``core.versions.tags`` and the end-to-end test
against the real registry.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class AliasCase:
    name: str
    existing: tuple[str, ...] | None
    variant: str
    version: str
    bump_aliases: bool = False
    pushed: tuple[str, ...] = ()
    error: str = ""


NO_IMAGE = None

UPSTREAM_CASES = (
    AliasCase("semver tag with no variant", (), "", "1.2.3", pushed=("1.2.3",)),
    AliasCase("semver tag with variant", (), "ubuntu", "1.2.3", pushed=("1.2.3-ubuntu",)),
    AliasCase(
        "non-semver tag",
        (),
        "",
        "hoogily-boogily",
        error='invalid semantic version: "hoogily-boogily"',
    ),
    AliasCase("no version provided", (), "", "", error="no tag specified"),
    AliasCase(
        "bumping aliases with no existing image",
        NO_IMAGE,
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1", "latest"),
    ),
    AliasCase(
        "bumping aliases with no existing tags",
        (),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1", "latest"),
    ),
    AliasCase(
        "not bumping aliases if a prerelease is given",
        (),
        "",
        "1.2.3-alpha.1",
        True,
        ("1.2.3-alpha.1",),
    ),
    AliasCase(
        "bumping aliases if only older versions exist",
        ("1.2.2",),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1", "latest"),
    ),
    AliasCase(
        "not bumping anything if a newer patch already exists",
        ("1.2.4",),
        "",
        "1.2.3",
        True,
        ("1.2.3",),
    ),
    AliasCase(
        "not bumping major if a newer minor already exists",
        ("1.3.0",),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2"),
    ),
    AliasCase(
        "bumping minor and major, but not latest, if a newer major version exists",
        ("2.0.0",),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1"),
    ),
    AliasCase(
        "bumping everything even if a newer non-variant minor exists",
        ("1.3.0",),
        "lts",
        "1.2.3",
        True,
        ("1.2.3-lts", "1.2-lts", "1-lts", "lts"),
    ),
    AliasCase(
        "bumping everything if the only available version is a prerelease",
        ("2.0.0-rc.1",),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1", "latest"),
    ),
    AliasCase(
        "bumping everything if the only available version is a different variant",
        ("2.0.0-goodbye",),
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello", "1.2-hello", "1-hello", "hello"),
    ),
    AliasCase(
        "bumping variant aliases with no existing image",
        NO_IMAGE,
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello", "1.2-hello", "1-hello", "hello"),
    ),
    AliasCase(
        "bumping variant aliases with no existing tags",
        (),
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello", "1.2-hello", "1-hello", "hello"),
    ),
    AliasCase(
        "bumping minor and major, but not latest, if a newer major version exists "
        "with the same variant",
        ("2.0.0-hello",),
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello", "1.2-hello", "1-hello"),
    ),
    AliasCase(
        "bumping minor and major, but not latest, if a newer major version exists "
        "with the same variant (upstream lists it twice)",
        ("2.0.0-hello",),
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello", "1.2-hello", "1-hello"),
    ),
    AliasCase(
        "bumping aliases if only older versions exist of the same variant",
        ("1.2.2-hello",),
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello", "1.2-hello", "1-hello", "hello"),
    ),
    AliasCase(
        "not bumping anything if a newer patch already exists of the same variant",
        ("1.2.4-hello",),
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello",),
    ),
    AliasCase(
        "not bumping major if a newer minor already exists of the same variant",
        ("1.3.0-hello",),
        "hello",
        "1.2.3",
        True,
        ("1.2.3-hello", "1.2-hello"),
    ),
)

# Beyond upstream's table: rules its code implies that the table does not show.
MORE_CASES = (
    AliasCase(
        "lenient version is normalised, v prefix dropped",
        (),
        "",
        "v2.1",
        True,
        ("2.1.0", "2.1", "2", "latest"),
    ),
    AliasCase(
        "existing tags are parsed leniently too",
        ("v1.3",),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2"),
    ),
    AliasCase(
        "an equal version elsewhere does not block the aliases",
        ("1.2.3", "latest", "1", "1.2"),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1", "latest"),
    ),
    AliasCase(
        "newer patch of another minor blocks only latest",
        ("1.1.9", "3.0.0"),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1"),
    ),
    AliasCase(
        "non-version tags are ignored",
        ("latest", "main", "sha-abc123"),
        "",
        "1.2.3",
        True,
        ("1.2.3", "1.2", "1", "latest"),
    ),
    AliasCase(
        "no aliases without bump_aliases",
        (),
        "",
        "1.2.3",
        False,
        ("1.2.3",),
    ),
)
