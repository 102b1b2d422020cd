"""Helpers for the unpacker tests: apply harness-built layers, snapshot trees."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from registry_image.core.unpack import Unpacker, apply_layer
from registry_image.testing.oci_builder import Compression, Entry, compress, layer_tar
from registry_image.testing.trees import Node, hardlink_groups, tree_snapshot

PRIVILEGED = os.geteuid() == 0


def unpack(
    root: Path,
    layers: Sequence[Sequence[Entry]],
    *,
    compression: Compression = "gzip",
    privileged: bool | None = None,
) -> None:
    """Apply ``layers`` (lists of entries) to ``root`` in order, as ``in`` does."""
    with Unpacker(root, privileged=privileged) as unpacker:
        for number, entries in enumerate(layers, start=1):
            blob = compress(layer_tar(entries), compression)
            apply_layer(unpacker, io.BytesIO(blob), f"layer {number}")
        unpacker.finish()


def snapshot(root: Path, *, with_owner: bool = PRIVILEGED) -> dict[str, Node]:
    """Every path under ``root`` with type, mode, owner, size, content hash,
    link target and mtime."""
    return tree_snapshot(root, with_owner=with_owner)


def assert_same_rootfs_output(one: Path, other: Path) -> None:
    """Two ``rootfs``-format destinations hold the same image: the same tree
    under rootfs/ and the same files beside it. Those files (and rootfs/
    itself) carry the wall-clock time they were written at, so their mtimes
    are left out."""
    assert snapshot(one / "rootfs") == snapshot(other / "rootfs")
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in other.iterdir())
    for path in other.iterdir():
        if path.name != "rootfs":
            assert (one / path.name).read_bytes() == path.read_bytes(), path.name


def links(root: Path) -> set[frozenset[str]]:
    """Groups of paths sharing an inode."""
    return hardlink_groups(root)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)
