"""Hostile and broken images from a real registry: ``in`` fails with one
clear line, leaves nothing in DEST that looks complete, and never changes
anything outside DEST."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import BuiltImage, Entry, compress, layer_tar, sha256_digest
from registry_image.testing.trees import full_snapshot

from tests.get.registry_helpers import push_image, push_raw_layer, run_in
from tests.harness.registry import RunningRegistry, start_registry


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    """A registry of this test alone: its storage is tampered with."""
    with start_registry(tmp_path / "registry", "anonymous") as registry:
        yield registry


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    """A directory holding DEST and a sentinel tree beside it that must not change."""
    base = tmp_path / "work"
    sentinel = base / "sentinel"
    sentinel.mkdir(parents=True)
    (sentinel / "keep").write_bytes(b"keep")
    before = full_snapshot(sentinel)
    yield base
    assert full_snapshot(sentinel) == before
    assert {p.name for p in base.iterdir()} <= {"dest", "dest2", "sentinel"}


def _blob_data(registry: RunningRegistry, digest: str) -> Path:
    hex_ = digest.removeprefix("sha256:")
    storage = registry.log_path.parent / "storage/docker/registry/v2/blobs/sha256"
    return storage / hex_[:2] / hex_ / "data"


def _assert_nothing_written(dest: Path) -> None:
    assert not dest.exists() or list(dest.iterdir()) == []


def _short(image: BuiltImage, number: int) -> str:
    return image.layer_digests[number - 1][:19]


def test_traversal_entry_fails_naming_layer_and_entry(
    registry_anonymous: RunningRegistry, tmp_path: Path, workspace: Path
) -> None:
    layers = [
        [Entry.file("ok", b"fine")],
        [Entry.file("fine"), Entry.file("../../sentinel/keep", b"pwned")],
    ]
    repo, image = push_image(registry_anonymous, tmp_path, layers)
    dest = workspace / "dest"
    run = run_in(registry_anonymous, repo, image.manifest_digest, dest)
    assert run.returncode == 1
    assert run.error_line == (
        f"error: layer 2/2 ({_short(image, 2)}): entry '../../sentinel/keep': "
        "name climbs out of the root with '..'"
    )
    _assert_nothing_written(dest)


def test_symlink_and_hardlink_escapes(
    registry_anonymous: RunningRegistry, tmp_path: Path, workspace: Path
) -> None:
    confined = [
        [Entry.symlink("up", "../../sentinel"), Entry.symlink("root", "/")],
        [Entry.file("up/keep", b"pwned"), Entry.file("root/etc/x", b"x"), Entry.opaque("up")],
    ]
    repo, image = push_image(registry_anonymous, tmp_path / "a", confined)
    dest = workspace / "dest"
    assert run_in(registry_anonymous, repo, image.manifest_digest, dest).returncode == 0
    assert (dest / "rootfs/sentinel/keep").read_bytes() == b"pwned"  # landed inside
    assert (dest / "rootfs/etc/x").read_bytes() == b"x"

    refused = [
        [Entry.symlink("up", "../../sentinel"), Entry.hardlink("stolen", "../../sentinel/keep")]
    ]
    repo, image = push_image(registry_anonymous, tmp_path / "b", refused)
    run = run_in(registry_anonymous, repo, image.manifest_digest, workspace / "dest2")
    assert run.returncode == 1
    assert run.error_line.startswith(f"error: layer 1/1 ({_short(image, 1)}): entry 'stolen': ")
    _assert_nothing_written(workspace / "dest2")
    (workspace / "dest2").rmdir()


@pytest.mark.parametrize(
    ("compression", "message"),
    [
        ("gzip", "corrupt gzip data"),  # a flipped byte: the CRC catches it
        ("zstd", "truncated zstd stream"),  # cut inside a frame
        ("none", "corrupt tar header"),
    ],
)
def test_layer_whose_content_is_broken(
    registry_anonymous: RunningRegistry,
    tmp_path: Path,
    workspace: Path,
    compression: str,
    message: str,
) -> None:
    """The blob matches its digest, but what it holds is damaged."""
    tar = layer_tar([Entry.file("f", os.urandom(100_000))])
    blob = bytearray(compress(tar, compression))  # type: ignore[arg-type]
    if compression == "gzip":
        blob[len(blob) // 2] ^= 0xFF
    elif compression == "zstd":
        blob = blob[: len(blob) // 2]
    else:
        blob[:512] = b"\xff" * 512  # a header that is no header
    repo, digest = push_raw_layer(
        registry_anonymous, tmp_path, bytes(blob), "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    dest = workspace / "dest"
    run = run_in(registry_anonymous, repo, digest, dest)
    assert run.returncode == 1
    assert run.error_line.startswith(f"error: layer 1/1 ({sha256_digest(bytes(blob))[:19]}): ")
    assert message in run.error_line
    _assert_nothing_written(dest)


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
def test_blob_that_does_not_match_its_digest(
    own_registry: RunningRegistry, tmp_path: Path, workspace: Path, damage: str
) -> None:
    layers = [[Entry.file("a", b"first")], [Entry.file("big", os.urandom(300_000))]]
    repo, image = push_image(own_registry, tmp_path, layers)
    data = _blob_data(own_registry, image.layer_digests[1])
    blob = bytearray(data.read_bytes())
    size = len(blob)
    if damage == "flip":
        blob[-100] ^= 0x01
    elif damage == "truncate":
        blob = blob[: size // 2]
    else:
        blob += b"\0" * 10
    data.write_bytes(bytes(blob))
    for fmt in ("rootfs", "oci", "oci-layout"):
        dest = workspace / "dest"
        run = run_in(own_registry, repo, image.manifest_digest, dest, format=fmt)
        assert run.returncode == 1, fmt
        what = f"error: blob {image.layer_digests[1]}: "
        if damage == "flip":
            assert run.error_line.startswith(what + "content hashes to sha256:"), run.error_line
        elif damage == "truncate":
            assert run.error_line == what + f"expected {size} bytes, got {len(blob)}"
        else:  # refused the moment a byte past the descriptor's size arrives
            assert run.error_line == (
                f"error: {own_registry.host}: blob {image.layer_digests[1]} "
                f"is longer than its {size} bytes"
            )
        _assert_nothing_written(dest)


def test_wrong_config_blob(own_registry: RunningRegistry, tmp_path: Path, workspace: Path) -> None:
    repo, image = push_image(own_registry, tmp_path, [[Entry.file("f")]], config={"User": "x"})
    data = _blob_data(own_registry, image.config_digest)
    data.write_bytes(data.read_bytes().replace(b'"x"', b'"y"'))
    run = run_in(own_registry, repo, image.manifest_digest, workspace / "dest")
    assert run.returncode == 1
    assert run.error_line.startswith(f"error: blob {image.config_digest}: content hashes to")
    _assert_nothing_written(workspace / "dest")


def _device(name: str, kind: bytes, major: int, minor: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o666
    info.devmajor, info.devminor = major, minor
    return info


def test_device_nodes_are_never_created(
    registry_anonymous: RunningRegistry, tmp_path: Path, workspace: Path
) -> None:
    """``/dev/mem`` and ``sda`` (mode 0666) in a layer: skipped as the Go
    resource does, root or not, with one log line counting them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_device("dev/mem", tarfile.CHRTYPE, 1, 1))
        tar.addfile(_device("dev/sda", tarfile.BLKTYPE, 8, 0))
        fifo = tarfile.TarInfo("dev/pipe")
        fifo.type = tarfile.FIFOTYPE
        tar.addfile(fifo)
    blob = compress(buffer.getvalue(), "gzip")
    repo, digest = push_raw_layer(
        registry_anonymous, tmp_path, blob, "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    dest = workspace / "dest"
    run = run_in(registry_anonymous, repo, digest, dest)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (dest / "rootfs/dev").iterdir()) == ["pipe"]
    # Once, with the count (a progress bar may share its line on stderr).
    assert run.stderr.count("device nodes skipped") == 1
    assert (
        f"layer 1/1 ({sha256_digest(blob)[:19]}): 2 device nodes skipped "
        "(never created, as the Go resource does)\n"
    ) in run.stderr


def test_trusted_xattrs_never_reach_the_rootfs(
    registry_anonymous: RunningRegistry, tmp_path: Path, workspace: Path
) -> None:
    """``trusted.overlay.*`` would change what an overlay on the rootfs shows."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("hidden")
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        directory.pax_headers = {
            "SCHILY.xattr.trusted.overlay.opaque": "y",
            "SCHILY.xattr.user.note": "kept",
        }
        tar.addfile(directory)
    blob = compress(buffer.getvalue(), "gzip")
    repo, digest = push_raw_layer(
        registry_anonymous, tmp_path, blob, "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    dest = workspace / "dest"
    run = run_in(registry_anonymous, repo, digest, dest, source={"debug": True})
    assert run.returncode == 0, run.stderr
    hidden = dest / "rootfs/hidden"
    assert os.listxattr(hidden) == ["user.note"]
    assert "xattr trusted.overlay.opaque dropped" in run.stderr
