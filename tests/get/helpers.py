"""Helpers for the unpacker tests: apply harness-built layers, snapshot trees."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from registry_image.core.unpack import Unpacker, apply_layer

from tests.harness.oci_builder import Compression, Entry, compress, layer_tar
from tests.harness.umoci import Node, hardlink_groups, tree_snapshot

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
    link target and mtime (the harness's umoci comparison snapshot)."""
    return tree_snapshot(root, with_owner=with_owner)


def links(root: Path) -> set[frozenset[str]]:
    """Groups of paths sharing an inode."""
    return hardlink_groups(root)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def full_snapshot(base: Path) -> dict[str, tuple[object, ...]]:
    """Everything about every path under ``base`` (root included), to prove
    nothing changed: type, mode, owner, size, content, link, mtime, inode."""
    result: dict[str, tuple[object, ...]] = {}
    for directory, dirnames, filenames in os.walk(base):
        for name in [".", *dirnames, *filenames]:
            path = Path(directory) / name
            info = path.lstat()
            content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
            link = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
            key = path.relative_to(base).as_posix()
            result[key] = (
                info.st_mode,
                info.st_uid,
                info.st_gid,
                info.st_size if content is not None else None,
                content,
                link,
                info.st_mtime_ns,
                info.st_ino,
                info.st_nlink,
            )
    return result
