"""Hostile layers: every one fails clearly or is confined, and nothing
outside the root ever changes."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from registry_image.core.errors import ImageError, UnsafeLayerError
from registry_image.core.unpack import LayerFormatError, Unpacker, apply_layer
from registry_image.testing import trees
from registry_image.testing.oci_builder import Entry, compress, layer_tar

from tests.get.helpers import unpack


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """``(root, outside)``: the unpack root and a sibling tree that must not change."""
    with trees.sandbox(tmp_path, "root") as root:
        yield root, tmp_path / trees.OUTSIDE


def _unpack_failing(root: Path, layers: Sequence[Sequence[Entry]]) -> str:
    with pytest.raises((ImageError, UnsafeLayerError)) as caught:
        unpack(root, layers)
    return str(caught.value)


@pytest.mark.parametrize(
    "name",
    ["../outside/secret", "../../x", "a/../../outside/secret", "./../outside/new", "/../outside/x"],
)
def test_traversal_names_are_refused(sandbox: tuple[Path, Path], name: str) -> None:
    root, _ = sandbox
    message = _unpack_failing(root, [[Entry.file(name, b"pwned")]])
    assert f"layer 1: entry {name!r}: name climbs out of the root" in message


def test_traversal_refusal_is_an_unsafe_layer_error(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    with pytest.raises(UnsafeLayerError):
        unpack(root, [[Entry.file("../evil")]])


@pytest.mark.parametrize("name", ["/etc/passwd", "//abs/x"])
def test_absolute_names_land_inside_the_root(sandbox: tuple[Path, Path], name: str) -> None:
    root, _ = sandbox
    unpack(root, [[Entry.file(name, b"inside")]])
    assert (root / name.lstrip("/")).read_bytes() == b"inside"


@pytest.mark.parametrize(
    "target", ["/", "..", "../..", "../outside", "/../../outside", "../../../../"]
)
def test_writes_through_symlinks_stay_inside(sandbox: tuple[Path, Path], target: str) -> None:
    root, _ = sandbox
    unpack(
        root,
        [
            [Entry.symlink("escape", target)],
            [
                Entry.file("escape/secret", b"pwned"),
                Entry.dir("escape/dir"),
                Entry.file("escape/dir/file"),
            ],
        ],
    )
    written = [p for p in root.rglob("secret") if p.is_file()]
    assert written and all(p.read_bytes() == b"pwned" for p in written)


def test_symlink_created_earlier_in_the_same_layer(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    unpack(root, [[Entry.symlink("l", "../outside"), Entry.file("l/secret", b"pwned")]])
    assert (root / "outside/secret").read_bytes() == b"pwned"
    assert os.readlink(root / "l") == "../outside"


def test_symlink_chains_and_loops(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    unpack(root, [[Entry.symlink("a", "b"), Entry.symlink("b", "/../c"), Entry.file("a/f", b"x")]])
    assert (root / "c/f").read_bytes() == b"x"
    message = _unpack_failing(
        root, [[Entry.symlink("x", "y"), Entry.symlink("y", "x"), Entry.file("x/f")]]
    )
    assert "entry 'x/f': too many levels of symbolic links" in message


@pytest.mark.parametrize("name", [".", "./", "/"])
def test_symlink_named_dot_is_refused(sandbox: tuple[Path, Path], name: str) -> None:
    root, _ = sandbox
    message = _unpack_failing(root, [[Entry.symlink(name, "../outside")]])
    assert "refusing to replace the root directory" in message
    assert os.path.isdir(root) and not os.path.islink(root)


@pytest.mark.parametrize("target", ["../outside/secret", "/../outside/secret"])
def test_hardlinks_never_reach_outside(sandbox: tuple[Path, Path], target: str) -> None:
    root, _ = sandbox
    try:
        unpack(root, [[Entry.hardlink("stolen", target)]])
    except UnsafeLayerError as exc:
        assert "layer 1: entry 'stolen'" in str(exc)
    except ImageError as exc:
        assert "does not exist" in str(exc)
    assert not (root / "stolen").exists()


def test_hardlink_through_a_symlink_stays_inside(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    message = _unpack_failing(
        root, [[Entry.symlink("up", "../outside"), Entry.hardlink("stolen", "up/secret")]]
    )
    assert "hard link target 'up/secret' does not exist" in message


@pytest.mark.parametrize("name", ["../outside/.wh.secret", ".wh...", "x/.wh..", "../.wh.outside"])
def test_hostile_whiteouts_are_refused(sandbox: tuple[Path, Path], name: str) -> None:
    root, _ = sandbox
    (root / "x").mkdir()
    message = _unpack_failing(root, [[Entry.file(name)]])
    assert f"entry {name!r}" in message


def test_whiteouts_through_symlinks_stay_inside(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    unpack(
        root,
        [
            [Entry.symlink("up", "../outside"), Entry.symlink("abs", "/")],
            [Entry.whiteout("up/secret"), Entry.opaque("abs"), Entry.whiteout("up/dir")],
        ],
    )
    assert os.listdir(root) == []  # the opaque root emptied the root itself, and only it


def test_chmod_never_follows_a_symlink_out(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    unpack(root, [[Entry.symlink("s", "../outside/secret")], [Entry.dir("s", 0o777)]])
    assert (root / "s").is_dir() and not (root / "s").is_symlink()


def _tar_with_header_bytes(corrupt_at: int) -> bytes:
    data = bytearray(layer_tar([Entry.file("a", b"A" * 600), Entry.file("b", b"B")]))
    data[corrupt_at] ^= 0xFF
    return bytes(data)


def test_corrupt_header_mid_layer_is_an_error_not_the_end(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    second_header = 512 + 1024  # after a's header and two data blocks
    with (
        Unpacker(root) as unpacker,
        pytest.raises(LayerFormatError, match=r"layer 1: after entry 'a'"),
    ):
        apply_layer(unpacker, io.BytesIO(_tar_with_header_bytes(second_header + 148)), "layer 1")


def test_tar_cut_inside_a_file_is_an_error(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    data = layer_tar([Entry.file("big", b"x" * 100_000)])[:50_000]
    with (
        Unpacker(root) as unpacker,
        pytest.raises(LayerFormatError, match=r"entry 'big': the tar data ends early"),
    ):
        apply_layer(unpacker, io.BytesIO(gzip.compress(data)), "layer 1")


def test_corrupt_and_truncated_gzip(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    blob = bytearray(compress(layer_tar([Entry.file("f", os.urandom(50_000))]), "gzip"))
    blob[len(blob) // 2] ^= 0xFF
    with Unpacker(root) as unpacker, pytest.raises(LayerFormatError, match="corrupt gzip data"):
        apply_layer(unpacker, io.BytesIO(bytes(blob)), "layer 1")
    good = compress(layer_tar([Entry.file("g", b"g")]), "gzip")
    with Unpacker(root) as unpacker, pytest.raises(LayerFormatError, match="truncated gzip stream"):
        apply_layer(unpacker, io.BytesIO(good[:-6]), "layer 1")


def test_trailing_garbage_after_the_tar_is_still_checked(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    blob = compress(layer_tar([Entry.file("f", b"f")]), "zstd")
    with Unpacker(root) as unpacker, pytest.raises(LayerFormatError, match="truncated zstd stream"):
        apply_layer(unpacker, io.BytesIO(blob[:-2]), "layer 7")


def test_not_a_tar_at_all(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    with Unpacker(root) as unpacker, pytest.raises(LayerFormatError, match="layer 1"):
        apply_layer(unpacker, io.BytesIO(b"this is not a tar archive" * 40), "layer 1")


def test_unsupported_entry_types_are_errors_not_skips(sandbox: tuple[Path, Path]) -> None:
    root, _ = sandbox
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(tarfile.TarInfo("first"))
        info = tarfile.TarInfo("weird")
        info.type = b"Z"
        tar.addfile(info)
    with (
        Unpacker(root) as unpacker,
        pytest.raises(ImageError, match=r"layer 1: entry 'weird': unsupported tar entry type b'Z'"),
    ):
        apply_layer(unpacker, io.BytesIO(buffer.getvalue()), "layer 1")
