"""``in`` with the oci and oci-layout formats, multi-arch images,
skip_download and format selection, against a real registry; outputs are
re-read by skopeo."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import BuiltIndex, Entry, ImageSpec, build_index, read_blob

from tests.get.registry_helpers import TAG, push_image, run_in
from tests.harness.fixtures import unique_repo
from tests.harness.registry import RunningRegistry
from tests.harness.skopeo import (
    inspect_archive,
    inspect_layout,
    inspect_layout_raw,
    inspect_raw,
    push_layout,
)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _push_index(registry: RunningRegistry, workdir: Path) -> tuple[str, BuiltIndex]:
    layout = workdir / "index-layout"
    index = build_index(
        layout,
        [
            ImageSpec(
                [[Entry.file("arch", b"amd64")]],
                architecture="amd64",
                config={"Labels": {"p": "amd"}},
            ),
            ImageSpec(
                [[Entry.file("arch", b"arm64")], [Entry.file("two", b"2")]], architecture="arm64"
            ),
            ImageSpec([[Entry.file("arch", b"armv7")]], architecture="arm", variant="v7"),
        ],
    )
    repo = unique_repo("multi")
    push_layout(layout, registry, repo, TAG)
    return repo, index


def test_oci_format_is_a_docker_save_tar_skopeo_reads(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    layers = [
        [Entry.file("a", b"a" * 5000)],
        [Entry.file("b", b"b")],
        [Entry.file("a", b"a" * 5000)],
    ]
    repo, image = push_image(registry_anonymous, tmp_path, layers, config={"Labels": {"k": "v"}})
    dest = tmp_path / "dest"
    run = run_in(registry_anonymous, repo, image.manifest_digest, dest, format="oci")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in dest.iterdir()) == [
        "digest",
        "image.tar",
        "labels.json",
        "repository",
        "tag",
    ]
    assert (dest / "labels.json").read_text() == '{"k":"v"}\n'

    inspected = inspect_archive(dest / "image.tar")
    assert inspected["Layers"] == list(image.diff_ids)
    assert inspected["Labels"] == {"k": "v"}

    with tarfile.open(dest / "image.tar") as archive:
        names = archive.getnames()
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        members = {name: archive.extractfile(name).read() for name in names}  # type: ignore[union-attr]
    layer_names = [digest.removeprefix("sha256:") + ".tar.gz" for digest in image.layer_digests]
    assert manifest == [
        {
            "Config": image.config_digest,
            "RepoTags": [f"{registry_anonymous.host}/{repo}:{TAG}"],
            "Layers": layer_names,
        }
    ]
    # the pushed blobs, byte for byte; the repeated layer stored once; manifest.json last
    assert names == [image.config_digest, *dict.fromkeys(layer_names), "manifest.json"]
    for digest, name in zip(image.layer_digests, layer_names, strict=True):
        assert _sha256(members[name]) == digest
    assert _sha256(members[image.config_digest]) == image.config_digest


def test_oci_layout_of_a_single_image(registry_anonymous: RunningRegistry, tmp_path: Path) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, [[Entry.file("f", b"f")]])
    dest = tmp_path / "dest"
    run = run_in(registry_anonymous, repo, image.manifest_digest, dest, format="oci-layout")
    assert run.returncode == 0, run.stderr
    layout = dest / "oci"
    assert sorted(p.name for p in dest.iterdir()) == ["digest", "oci", "repository", "tag"]
    assert (layout / "single-image-digest").read_text() == image.manifest_digest
    index = json.loads((layout / "index.json").read_text())
    [entry] = index["manifests"]
    assert entry["digest"] == image.manifest_digest
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == TAG
    for digest in (image.manifest_digest, image.config_digest, *image.layer_digests):
        assert _sha256(read_blob(layout, digest)) == digest
    inspected = inspect_layout(layout)
    assert inspected["Digest"] == image.manifest_digest
    assert inspected["Layers"] == list(image.layer_digests)


def test_oci_layout_of_a_multi_arch_index_holds_every_platform(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, index = _push_index(registry_anonymous, tmp_path)
    dest = tmp_path / "dest"
    run = run_in(registry_anonymous, repo, index.index_digest, dest, format="oci-layout")
    assert run.returncode == 0, run.stderr
    layout = dest / "oci"
    assert not (layout / "single-image-digest").exists()
    [entry] = json.loads((layout / "index.json").read_text())["manifests"]
    # index.json points at the index blob, which is the version's digest byte for byte
    assert entry["digest"] == index.index_digest
    assert entry["size"] == len(index.index_bytes)
    assert read_blob(layout, entry["digest"]) == index.index_bytes
    assert _sha256(read_blob(layout, entry["digest"])) == index.index_digest
    for image in index.manifests:  # every platform, not only this machine's
        for digest in (image.manifest_digest, image.config_digest, *image.layer_digests):
            assert _sha256(read_blob(layout, digest)) == digest
    assert inspect_layout(layout)["Digest"] == index.index_digest
    assert json.loads(inspect_layout_raw(layout, TAG)) == json.loads(index.index_bytes)
    # and it can be pushed again, to the very same digest
    copy = unique_repo("copy")
    push_layout(layout, registry_anonymous, copy, TAG)
    assert inspect_raw(registry_anonymous, f"{copy}:{TAG}") == index.index_bytes


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ({}, b"amd64"),
        ({"architecture": "arm64"}, b"arm64"),
        ({"architecture": "arm", "variant": "v7"}, b"armv7"),
    ],
)
def test_rootfs_of_an_index_picks_the_platform(
    registry_anonymous: RunningRegistry, tmp_path: Path, platform: dict[str, str], expected: bytes
) -> None:
    repo, index = _push_index(registry_anonymous, tmp_path)
    dest = tmp_path / "dest"
    params = {"platform": platform} if platform else {}
    run = run_in(registry_anonymous, repo, index.index_digest, dest, **params)
    assert run.returncode == 0, run.stderr
    assert (dest / "rootfs/arch").read_bytes() == expected
    assert (dest / "digest").read_text() == index.index_digest


def test_params_platform_replaces_source_platform(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, index = _push_index(registry_anonymous, tmp_path)
    dest = tmp_path / "dest"
    run = run_in(
        registry_anonymous,
        repo,
        index.index_digest,
        dest,
        source={"platform": {"architecture": "arm64"}},
        platform={"os": "linux"},
    )
    assert run.returncode == 0, run.stderr
    assert (dest / "rootfs/arch").read_bytes() == b"amd64"


def test_no_matching_platform_lists_what_the_index_has(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, index = _push_index(registry_anonymous, tmp_path)
    dest = tmp_path / "dest"
    run = run_in(
        registry_anonymous, repo, index.index_digest, dest, platform={"architecture": "s390x"}
    )
    assert run.returncode == 1
    assert run.error_line == (
        f"error: the image index {index.index_digest} has no image for platform linux/s390x; "
        "it has: linux/amd64, linux/arm/v7, linux/arm64"
    )
    assert list(dest.iterdir()) == []


def test_skip_download_writes_only_the_version_files(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, [[Entry.file("f", b"f")]])
    dest = tmp_path / "dest"
    run = run_in(
        registry_anonymous, repo, image.manifest_digest, dest, skip_download=True, format="whatever"
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["digest", "repository", "tag"]
    assert (dest / "digest").read_bytes() == image.manifest_digest.encode()
    missing = "sha256:" + "0" * 64
    failed = run_in(registry_anonymous, repo, missing, tmp_path / "gone", skip_download=True)
    assert failed.returncode == 1 and "not found" in failed.error_line


def test_unknown_format_lists_the_installed_ones(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, [[Entry.file("f", b"f")]])
    run = run_in(
        registry_anonymous, repo, image.manifest_digest, tmp_path / "dest", format="tarball"
    )
    assert run.returncode == 1
    assert run.error_line == (
        "error: params.format: unknown format 'tarball' (installed: oci, oci-layout, rootfs)"
    )


def test_version_digest_that_does_not_exist(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, _ = push_image(registry_anonymous, tmp_path, [[Entry.file("f", b"f")]])
    run = run_in(registry_anonymous, repo, "sha256:" + "1" * 64, tmp_path / "dest")
    assert run.returncode == 1 and "not found" in run.error_line
    bad = run_in(registry_anonymous, repo, "sha256:nothex", tmp_path / "dest2")
    assert bad.returncode == 1 and bad.error_line.startswith(
        "error: version.digest: invalid digest"
    )


@pytest.mark.parametrize("skip_download", [False, True])
def test_labels_and_annotations_matching_the_regexes_become_metadata(
    registry_anonymous: RunningRegistry, tmp_path: Path, skip_download: bool
) -> None:
    repo, image = push_image(
        registry_anonymous,
        tmp_path,
        [[Entry.file("f", b"f")]],
        config={"Labels": {"org.vendor.b": "2", "org.vendor.a": "1", "other": "x"}},
        annotations={"org.opencontainers.image.revision": "abc", "unrelated": "y"},
    )
    run = run_in(
        registry_anonymous,
        repo,
        image.manifest_digest,
        tmp_path / "dest",
        source={"label_regex": "vendor", "annotation_regex": "^org\\.opencontainers"},
        skip_download=skip_download,
    )
    assert run.json()["metadata"] == [
        {"name": "repository", "value": f"{registry_anonymous.host}/{repo}"},
        {"name": "tag", "value": TAG},
        {"name": "org.vendor.a", "value": "1"},
        {"name": "org.vendor.b", "value": "2"},
        {"name": "org.opencontainers.image.revision", "value": "abc"},
    ]
