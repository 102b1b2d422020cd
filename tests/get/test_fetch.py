"""Platform choice and manifest parsing for ``in`` (no registry needed)."""

from __future__ import annotations

import json

import pytest
from registry_image.core.errors import ImageError
from registry_image.core.fetch import select_platform, this_platform, wanted_platform
from registry_image.core.oci import Manifest, MediaType, Platform

DIGEST = "sha256:" + "a" * 64


def _index(*platforms: dict[str, str] | None) -> Manifest:
    manifests = []
    for number, platform in enumerate(platforms):
        entry: dict[str, object] = {
            "mediaType": MediaType.OCI_MANIFEST,
            "digest": f"sha256:{number:064x}",
            "size": 10,
        }
        if platform is not None:
            entry["platform"] = platform
        manifests.append(entry)
    content = json.dumps({"schemaVersion": 2, "manifests": manifests}).encode()
    return Manifest(MediaType.OCI_INDEX, DIGEST, content)


def test_this_platform_names_the_machine_as_indexes_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for machine, expected in [
        ("x86_64", ("amd64", None)),
        ("aarch64", ("arm64", None)),
        ("armv7l", ("arm", "v7")),
        ("ppc64le", ("ppc64le", None)),
    ]:
        monkeypatch.setattr("platform.machine", lambda m=machine: m)
        found = this_platform()
        assert (found.os, found.architecture, found.variant) == ("linux", *expected)


def test_wanted_platform_fills_what_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    assert wanted_platform(None) == Platform("linux", "amd64", None)
    assert wanted_platform(Platform(architecture="arm64")) == Platform("linux", "arm64", None)
    assert wanted_platform(Platform(os="windows")) == Platform("windows", "amd64", None)


def test_first_matching_entry_wins_and_variant_counts_only_when_asked() -> None:
    index = _index(
        {"os": "linux", "architecture": "arm", "variant": "v6"},
        {"os": "linux", "architecture": "arm", "variant": "v7"},
        {"os": "linux", "architecture": "arm64"},
    )
    assert select_platform(index, Platform("linux", "arm", None)).digest.endswith("0")
    assert select_platform(index, Platform("linux", "arm", "v7")).digest.endswith("1")
    assert select_platform(index, Platform("linux", "arm64", "v8")).digest.endswith("2")
    assert Platform("linux", "arm", None).matches(Platform("linux", "arm", "v7"))


def test_entry_without_platform_counts_as_linux_amd64() -> None:
    assert select_platform(_index(None), Platform("linux", "amd64")).digest.endswith("0")


def test_no_match_lists_the_platforms_the_index_has() -> None:
    index = _index(
        {"os": "linux", "architecture": "arm64"},
        {"os": "linux", "architecture": "arm", "variant": "v7"},
        {"os": "unknown", "architecture": "unknown"},
    )
    with pytest.raises(ImageError) as caught:
        select_platform(index, Platform("linux", "s390x"))
    assert str(caught.value) == (
        f"the image index {DIGEST} has no image for platform linux/s390x; "
        "it has: linux/arm/v7, linux/arm64, unknown/unknown"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"config": {"digest": DIGEST, "size": 1}}, "layers: required field missing"),
        ({"config": {"digest": DIGEST, "size": 1}, "layers": {}}, "layers: expected a list"),
        (
            {"config": {"digest": DIGEST, "size": -1}, "layers": []},
            r"config.size: expected a non-negative",
        ),
        (
            {"config": {"digest": "sha256:../../etc", "size": 1}, "layers": []},
            "config.digest: expected sha256:<64 hex digits>",
        ),
        (
            {"config": {"digest": DIGEST, "size": 1}, "layers": [{"digest": DIGEST, "size": True}]},
            r"layers\[0\].size",
        ),
    ],
)
def test_malformed_manifests_are_refused(document: dict[str, object], message: str) -> None:
    manifest = Manifest(MediaType.OCI_MANIFEST, DIGEST, json.dumps(document).encode())
    with pytest.raises(ImageError, match=message):
        manifest.image()


def test_schema1_is_refused_by_media_type() -> None:
    manifest = Manifest("application/vnd.docker.distribution.manifest.v1+prettyjws", DIGEST, b"{}")
    with pytest.raises(ImageError, match="unsupported media type"):
        manifest.image()
