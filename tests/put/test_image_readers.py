"""Reading what ``out`` pushes: OCI layouts (directory or tar) and
``docker save`` tarballs, into manifests and lazily opened blobs."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_image.core.errors import ImageError
from registry_image.core.localimage.image import LocalImage
from registry_image.core.localimage.loader import open_image
from registry_image.core.oci import MediaType
from registry_image.testing.oci_builder import (
    BuiltImage,
    Entry,
    ImageSpec,
    build_image,
    build_index,
    compress,
    docker_save_tar,
    layer_tar,
    read_blob,
    sha256_digest,
)

LAYERS = [
    [Entry.dir("etc"), Entry.file("etc/hostname", b"box\n")],
    [Entry.file("big.bin", bytes(range(256)) * 4096)],
]


def blob_content(image: LocalImage, digest: str, offset: int = 0) -> bytes:
    blob = next(b for b in image.blobs if b.digest == digest)
    with blob.open(offset) as stream:
        return stream.read()


def tar_directory(directory: Path, tar_path: Path) -> None:
    with tarfile.open(tar_path, "w") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)


def write_blob(layout: Path, data: bytes) -> str:
    digest = sha256_digest(data)
    (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    return digest


def set_index_json(layout: Path, manifests: list[dict[str, object]]) -> None:
    index = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": manifests}
    (layout / "index.json").write_text(json.dumps(index))


# -- OCI layout directories -----------------------------------------------------


def test_single_image_layout_pushes_the_image(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    with open_image(tmp_path / "layout") as image:
        assert image.root.digest == built.manifest_digest
        assert image.root.content == built.manifest_bytes
        assert image.root.media_type == MediaType.OCI_MANIFEST
        assert image.manifests == (image.root,)
        assert {b.digest for b in image.blobs} == {built.config_digest, *built.layer_digests}
        for digest in built.layer_digests:
            assert blob_content(image, digest) == read_blob(built.layout_dir, digest)


def test_multi_arch_layout_pushes_the_index_and_its_children_first(tmp_path: Path) -> None:
    built = build_index(
        tmp_path / "layout",
        [ImageSpec(LAYERS[:1]), ImageSpec(LAYERS[1:], architecture="arm64", variant="v8")],
    )
    with open_image(tmp_path / "layout") as image:
        assert image.root.digest == built.index_digest
        assert image.root.media_type == MediaType.OCI_INDEX
        assert [m.digest for m in image.manifests] == [
            *(child.manifest_digest for child in built.manifests),
            built.index_digest,
        ]
        expected_blobs = {d for child in built.manifests for d in child.layer_digests}
        expected_blobs |= {child.config_digest for child in built.manifests}
        assert {b.digest for b in image.blobs} == expected_blobs


def test_docker_manifest_list_keeps_its_media_types(tmp_path: Path) -> None:
    built = build_index(
        tmp_path / "layout",
        [ImageSpec(LAYERS[:1]), ImageSpec(LAYERS[:1], architecture="arm64")],
        media_types="docker",
    )
    with open_image(tmp_path / "layout") as image:
        assert image.root.media_type == MediaType.DOCKER_MANIFEST_LIST
        assert {m.media_type for m in image.manifests[:-1]} == {MediaType.DOCKER_MANIFEST}
        assert image.root.digest == built.index_digest


def test_index_json_with_several_images_is_pushed_byte_for_byte(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    amd = build_image(layout, LAYERS[:1], ref_name="amd64")
    arm = build_image(layout, LAYERS[1:], architecture="arm64", ref_name="arm64")
    index_json = (layout / "index.json").read_bytes()
    with open_image(layout) as image:
        assert image.root.content == index_json
        assert image.root.digest == sha256_digest(index_json)
        assert image.root.media_type == MediaType.OCI_INDEX
        assert [m.digest for m in image.manifests] == [
            amd.manifest_digest,
            arm.manifest_digest,
            image.root.digest,
        ]


def test_nested_one_entry_indexes_are_unwrapped(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    built = build_index(layout, [ImageSpec(LAYERS[:1]), ImageSpec(LAYERS[1:], os="windows")])
    wrapper = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MediaType.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": MediaType.OCI_INDEX,
                    "digest": built.index_digest,
                    "size": len(built.index_bytes),
                }
            ],
        }
    ).encode()
    wrapper_digest = write_blob(layout, wrapper)
    set_index_json(
        layout,
        [{"mediaType": MediaType.OCI_INDEX, "digest": wrapper_digest, "size": len(wrapper)}],
    )
    with open_image(layout) as image:
        assert image.root.digest == built.index_digest
        assert wrapper_digest not in [m.digest for m in image.manifests]


def test_single_image_digest_picks_the_image(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    build_image(layout, LAYERS[:1], ref_name="one")
    second = build_image(layout, LAYERS[1:], ref_name="two")
    (layout / "single-image-digest").write_text(second.manifest_digest)
    with open_image(layout) as image:
        assert image.root.digest == second.manifest_digest
        assert image.root.media_type == MediaType.OCI_MANIFEST
        assert image.manifests == (image.root,)
        assert {b.digest for b in image.blobs} == {second.config_digest, *second.layer_digests}


def test_single_image_digest_inside_a_nested_index(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    built = build_index(
        layout, [ImageSpec(LAYERS[:1]), ImageSpec(LAYERS[1:], architecture="arm64")]
    )
    chosen = built.manifests[1]
    (layout / "single-image-digest").write_text(chosen.manifest_digest + "\n")
    with open_image(layout) as image:
        assert image.root.digest == chosen.manifest_digest


def test_oci_layout_as_a_tar_file(tmp_path: Path) -> None:
    built = build_index(
        tmp_path / "layout", [ImageSpec(LAYERS), ImageSpec(LAYERS[:1], architecture="arm64")]
    )
    tar_directory(tmp_path / "layout", tmp_path / "image.tar")
    with open_image(tmp_path / "image.tar") as image:
        assert image.root.digest == built.index_digest
        big = built.manifests[0].layer_digests[1]
        expected = read_blob(built.layout_dir, big)
        assert blob_content(image, big) == expected
        assert blob_content(image, big, 1000) == expected[1000:]


@settings(max_examples=25, deadline=None)
@given(offset=st.integers(min_value=0))
def test_blobs_open_at_any_offset(tmp_path_factory: pytest.TempPathFactory, offset: int) -> None:
    directory = tmp_path_factory.mktemp("offsets")
    built = build_image(directory / "layout", LAYERS)
    tar_directory(directory / "layout", directory / "image.tar")
    digest = built.layer_digests[1]
    expected = read_blob(built.layout_dir, digest)
    offset %= len(expected) + 1
    with open_image(directory / "image.tar") as image:
        assert blob_content(image, digest, offset) == expected[offset:]


def test_missing_blob_is_named(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    missing = built.layer_digests[0]
    (tmp_path / "layout" / "blobs" / "sha256" / missing.removeprefix("sha256:")).unlink()
    with pytest.raises(ImageError, match=f"layer 0 {missing} of manifest .* is missing"):
        open_image(tmp_path / "layout")


def test_blob_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    digest = built.layer_digests[0]
    path = tmp_path / "layout" / "blobs" / "sha256" / digest.removeprefix("sha256:")
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ImageError, match=f"blob {digest} has .* bytes, manifest .* says"):
        open_image(tmp_path / "layout")


def test_corrupt_manifest_is_refused(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    path = tmp_path / "layout" / "blobs" / "sha256" / built.manifest_digest.removeprefix("sha256:")
    path.write_bytes(path.read_bytes().replace(b"schemaVersion", b"schemaVersioN"))
    with pytest.raises(ImageError, match=r"does not hash to its digest"):
        open_image(tmp_path / "layout")


def test_directory_without_index_json(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError, match=r"is not an OCI image layout: it has no index.json"):
        open_image(tmp_path / "empty")


def test_empty_index_json(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    set_index_json(layout, [])
    with pytest.raises(ImageError, match=r"lists no manifests"):
        open_image(layout)


def test_invalid_single_image_digest(tmp_path: Path) -> None:
    build_image(tmp_path / "layout", LAYERS)
    (tmp_path / "layout" / "single-image-digest").write_text("latest")
    with pytest.raises(ImageError, match=r"single-image-digest: invalid digest 'latest'"):
        open_image(tmp_path / "layout")


def test_base_name_annotation_is_an_origin(tmp_path: Path) -> None:
    build_image(
        tmp_path / "layout",
        LAYERS,
        annotations={"org.opencontainers.image.base.name": "registry.example:5000/base/img:1.0"},
    )
    with open_image(tmp_path / "layout") as image:
        assert image.origins == ("registry.example:5000/base/img",)


# -- docker save ------------------------------------------------------------------


def go_manifest(config: bytes, layers: list[tuple[str, int, str]]) -> bytes:
    """The manifest go-containerregistry serialises for a tarball image, written
    out by hand: fields in Go struct order, no spaces."""
    parts = [
        f'{{"mediaType":"{media_type}","size":{size},"digest":"{digest}"}}'
        for media_type, size, digest in layers
    ]
    return (
        '{"schemaVersion":2,'
        '"mediaType":"application/vnd.docker.distribution.manifest.v2+json",'
        '"config":{"mediaType":"application/vnd.docker.container.image.v1+json",'
        f'"size":{len(config)},"digest":"{sha256_digest(config)}"}},'
        f'"layers":[{",".join(parts)}]}}'
    ).encode()


def test_docker_save_with_uncompressed_layers_gzips_them(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    docker_save_tar(tmp_path / "image.tar", built, "example.com/app:1")
    with open_image(tmp_path / "image.tar") as image:
        assert image.root.media_type == MediaType.DOCKER_MANIFEST
        manifest = json.loads(image.root.content)
        config = next(b for b in image.blobs if b.digest == manifest["config"]["digest"])
        assert config.media_type == MediaType.DOCKER_CONFIG
        assert blob_content(image, config.digest) == built.config_bytes
        layers = manifest["layers"]
        assert [layer["mediaType"] for layer in layers] == [MediaType.DOCKER_LAYER_GZIP] * 2
        for layer, entries in zip(layers, LAYERS, strict=True):
            content = blob_content(image, layer["digest"])
            assert content[:2] == b"\x1f\x8b"
            assert sha256_digest(content) == layer["digest"]
            assert len(content) == layer["size"]
            assert gzip.decompress(content) == layer_tar(entries)
        assert image.root.content == go_manifest(
            built.config_bytes,
            [(layer["mediaType"], layer["size"], layer["digest"]) for layer in layers],
        )
        assert image.origins == ("example.com/app",)
        spooled = {
            p for b in image.blobs if b.opener is not None for p in _spool_files(image, b.digest)
        }
    assert spooled and not any(path.exists() for path in spooled)


def _spool_files(image: LocalImage, digest: str) -> list[Path]:
    blob = next(b for b in image.blobs if b.digest == digest)
    owner = getattr(blob.opener, "__self__", None)
    path = getattr(owner, "path", None)
    return [path] if isinstance(path, Path) and "registry-image-out-" in str(path) else []


def test_docker_save_digest_is_stable(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    docker_save_tar(tmp_path / "image.tar", built, None)
    with open_image(tmp_path / "image.tar") as first, open_image(tmp_path / "image.tar") as again:
        assert first.digest == again.digest


def ggcr_style_tarball(path: Path, built: BuiltImage, repo_tag: str) -> None:
    """What go-containerregistry's ``tarball.Write`` writes: compressed layers."""
    files = [(f"{built.config_digest}", built.config_bytes)]
    layer_names = []
    for digest in built.layer_digests:
        name = f"{digest.removeprefix('sha256:')}.tar.gz"
        files.append((name, read_blob(built.layout_dir, digest)))
        layer_names.append(name)
    manifest = [{"Config": built.config_digest, "RepoTags": [repo_tag], "Layers": layer_names}]
    files.insert(0, ("manifest.json", json.dumps(manifest).encode()))
    path.write_bytes(layer_tar([Entry.file(name, content) for name, content in files]))


def test_docker_save_with_compressed_layers_matches_go_containerregistry(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS, media_types="docker")
    ggcr_style_tarball(tmp_path / "image.tar", built, "example.com/app:1")
    expected = go_manifest(
        built.config_bytes,
        [
            (
                MediaType.DOCKER_LAYER_GZIP,
                len(read_blob(built.layout_dir, d)),
                d,
            )
            for d in built.layer_digests
        ],
    )
    with open_image(tmp_path / "image.tar") as image:
        assert image.root.content == expected
        assert image.digest == sha256_digest(expected)
        for digest in built.layer_digests:
            assert blob_content(image, digest) == read_blob(built.layout_dir, digest)


def test_docker_save_zstd_layers_are_labelled_zstd(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS[:1], compression="zstd")
    ggcr_style_tarball(tmp_path / "image.tar", built, "example.com/app:1")
    with open_image(tmp_path / "image.tar") as image:
        layer = json.loads(image.root.content)["layers"][0]
        assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
        assert layer["digest"] == built.layer_digests[0]


def test_docker_25_save_is_read_through_manifest_json(tmp_path: Path) -> None:
    """Docker 25+ writes an OCI layout and manifest.json in one tar;
    manifest.json wins, as for the Go resource."""
    layout = tmp_path / "layout"
    built = build_image(layout, LAYERS, compression="none")
    blobs = [f"blobs/sha256/{d.removeprefix('sha256:')}" for d in built.layer_digests]
    manifest = [
        {
            "Config": f"blobs/sha256/{built.config_digest.removeprefix('sha256:')}",
            "RepoTags": ["app:latest"],
            "Layers": blobs,
            "LayerSources": {
                diff_id: {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "size": len(read_blob(layout, digest)),
                    "digest": digest,
                }
                for diff_id, digest in zip(built.diff_ids, built.layer_digests, strict=True)
            },
        }
    ]
    (layout / "manifest.json").write_text(json.dumps(manifest))
    tar_directory(layout, tmp_path / "image.tar")
    with open_image(tmp_path / "image.tar") as image:
        assert image.root.media_type == MediaType.DOCKER_MANIFEST
        types = {layer["mediaType"] for layer in json.loads(image.root.content)["layers"]}
        assert types == {MediaType.DOCKER_LAYER_GZIP}


def test_docker_save_foreign_layer_is_described_not_uploaded(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "size": 12345,
        "digest": "sha256:" + "ab" * 32,
        "urls": ["https://example.com/base.tar.gz"],
    }
    docker_save_tar(tmp_path / "image.tar", built, None)
    _edit_manifest_json(
        tmp_path / "image.tar", lambda m: m[0].update(LayerSources={built.diff_ids[0]: foreign})
    )
    with open_image(tmp_path / "image.tar") as image:
        assert json.loads(image.root.content)["layers"][0] == foreign
        blob = next(b for b in image.blobs if b.digest == foreign["digest"])
        assert blob.foreign and blob.opener is None


def _edit_manifest_json(tar_path: Path, change: object) -> None:
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(tar_path) as tar:
        for info in tar:
            data = tar.extractfile(info).read() if info.isreg() else b""  # type: ignore[union-attr]
            if info.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)  # type: ignore[operator]
                data = json.dumps(manifest).encode()
                info.size = len(data)
            members.append((info, data))
    with tarfile.open(tar_path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda m: m[0]["Layers"].reverse(),
            r"does not match its diff_id",
            id="layer_not_matching_diff_id",
        ),
        pytest.param(
            lambda m: m.append(m[0]),
            r"tarball must contain only a single image",
            id="two_images",
        ),
        pytest.param(
            lambda m: m[0]["Layers"].pop(),
            r"lists 1 layer\(s\) but the config has 2",
            id="layers_and_diff_ids_disagree",
        ),
    ],
)
def test_docker_save_with_a_bad_manifest_json(tmp_path: Path, change: object, message: str) -> None:
    built = build_image(tmp_path / "layout", LAYERS)
    docker_save_tar(tmp_path / "image.tar", built, None)
    _edit_manifest_json(tmp_path / "image.tar", change)
    with pytest.raises(ImageError, match=message):
        open_image(tmp_path / "image.tar")


def test_links_between_tar_members_are_followed(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS[:1])
    docker_save_tar(tmp_path / "plain.tar", built, None)
    with tarfile.open(tmp_path / "plain.tar") as tar:
        layer_name = next(m.name for m in tar if m.name.endswith("layer.tar"))
    _edit_manifest_json(tmp_path / "plain.tar", lambda m: m[0].update(Layers=["link.tar"]))
    with tarfile.open(tmp_path / "plain.tar", "a") as tar:
        link = tarfile.TarInfo("link.tar")
        link.type = tarfile.SYMTYPE
        link.linkname = layer_name
        tar.addfile(link)
    with open_image(tmp_path / "plain.tar") as image:
        layer = json.loads(image.root.content)["layers"][0]
        assert gzip.decompress(blob_content(image, layer["digest"])) == layer_tar(LAYERS[0])


def test_gzip_compressed_tarball_is_explained(tmp_path: Path) -> None:
    built = build_image(tmp_path / "layout", LAYERS[:1])
    docker_save_tar(tmp_path / "image.tar", built, None)
    (tmp_path / "image.tar.gz").write_bytes(compress((tmp_path / "image.tar").read_bytes(), "gzip"))
    with pytest.raises(ImageError, match=r"gzip-compressed; give the uncompressed tar"):
        open_image(tmp_path / "image.tar.gz")


def test_tar_that_is_no_image(tmp_path: Path) -> None:
    (tmp_path / "other.tar").write_bytes(layer_tar([Entry.file("hello.txt", b"hi")]))
    with pytest.raises(ImageError, match=r"neither a docker save tarball .* nor an OCI layout"):
        open_image(tmp_path / "other.tar")


def test_docker_save_is_read_in_flat_memory(tmp_path: Path) -> None:
    """Hashing and compressing a 24 MiB layer holds a few MiB at a time."""
    big = [[Entry.file("big.bin", bytes(range(256)) * (96 * 1024))]]
    built = build_image(tmp_path / "layout", big)
    docker_save_tar(tmp_path / "image.tar", built, None)
    tracemalloc.start()
    try:
        with open_image(tmp_path / "image.tar"):
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
