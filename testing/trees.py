"""Directory trees as values, to compare and to prove nothing changed.

- :func:`tree_snapshot` records what an unpacked tree holds (:class:`Node`
  per path), to compare with an expected one or another unpacker's;
- :func:`hardlink_groups` says which paths share an inode;
- :func:`full_snapshot` records everything ``lstat`` says, inode included,
  to prove a tree did not change at all;
- :func:`sandbox` surrounds a directory with a tree that must not change.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

OUTSIDE = "outside"


class Node(NamedTuple):
    """What a snapshot records about one path; compares by value."""

    kind: str
    """``file``, ``dir``, ``symlink``, ``fifo``, ``chardev``, ``blockdev`` or ``socket``."""
    mode: int
    """Permission bits including setuid/setgid/sticky (``st_mode & 0o7777``)."""
    uid: int | None
    gid: int | None
    size: int | None
    """Bytes, for regular files only."""
    sha256: str | None
    """Hex digest of the content, for regular files only."""
    link: str | None
    """Target, for symlinks only."""
    mtime: int
    device: tuple[int, int] | None
    """``(major, minor)``, for devices only."""


def read_content(path: Path) -> bytes:
    """The bytes of the regular file ``path``, even when its mode forbids
    reading (an unprivileged owner may still chmod it: the mode is restored,
    the mtime is untouched)."""
    try:
        return path.read_bytes()
    except PermissionError:
        mode = stat.S_IMODE(path.lstat().st_mode)
        os.chmod(path, mode | stat.S_IRUSR)
        try:
            return path.read_bytes()
        finally:
            os.chmod(path, mode)


def tree_snapshot(root: Path, *, with_owner: bool) -> dict[str, Node]:
    """Every path under ``root`` (relative, ``/``-separated, root excluded) -> :class:`Node`.

    ``with_owner=False`` leaves uid and gid as None, for unpacks that could
    not preserve ownership.
    """
    snapshot: dict[str, Node] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(directory) / name
            snapshot[path.relative_to(root).as_posix()] = _node(path, with_owner)
    return snapshot


def hardlink_groups(root: Path) -> set[frozenset[str]]:
    """Sets of relative paths under ``root`` that share one inode (two or more each)."""
    by_inode: dict[tuple[int, int], set[str]] = {}
    for directory, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(directory) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                key = (info.st_dev, info.st_ino)
                by_inode.setdefault(key, set()).add(path.relative_to(root).as_posix())
    return {frozenset(paths) for paths in by_inode.values() if len(paths) > 1}


def full_snapshot(base: Path) -> dict[str, tuple[object, ...]]:
    """Everything about every path under ``base`` (root included), to prove
    nothing changed: type, mode, owner, size, content, link, mtime, inode."""
    result: dict[str, tuple[object, ...]] = {}
    for directory, dirnames, filenames in os.walk(base):
        for name in [".", *dirnames, *filenames]:
            path = Path(directory) / name
            info = path.lstat()
            content = read_content(path) if stat.S_ISREG(info.st_mode) else None
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


@contextmanager
def sandbox(base: Path, inside: str) -> Iterator[Path]:
    """Make ``base/inside`` (yielded) and beside it ``base/outside``, a small
    tree (``secret``, ``dir/file``) that hostile content likes to aim at.

    Afterwards, ``outside`` must be exactly as it was and ``base`` must hold
    nothing else: an ``AssertionError`` says which promise broke.
    """
    outside = base / OUTSIDE
    (outside / "dir").mkdir(parents=True)
    (outside / "secret").write_bytes(b"secret")
    (outside / "dir" / "file").write_bytes(b"file")
    os.utime(outside / "secret", (1000, 1000))
    (base / inside).mkdir()
    before = full_snapshot(outside)
    yield base / inside
    assert full_snapshot(outside) == before, f"something outside {inside} changed"
    beside = sorted(set(os.listdir(base)) - {OUTSIDE, inside})
    assert not beside, f"written beside {inside}: {beside}"
    assert (base / inside).is_dir(), f"{inside} is gone"


_KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "fifo",
    stat.S_IFCHR: "chardev",
    stat.S_IFBLK: "blockdev",
    stat.S_IFSOCK: "socket",
}


def _node(path: Path, with_owner: bool) -> Node:
    info = path.lstat()
    kind = _KINDS[stat.S_IFMT(info.st_mode)]
    content = read_content(path) if kind == "file" else None
    return Node(
        kind=kind,
        mode=stat.S_IMODE(info.st_mode),
        uid=info.st_uid if with_owner else None,
        gid=info.st_gid if with_owner else None,
        size=None if content is None else len(content),
        sha256=None if content is None else hashlib.sha256(content).hexdigest(),
        link=os.readlink(path) if kind == "symlink" else None,
        mtime=int(info.st_mtime),
        device=(os.major(info.st_rdev), os.minor(info.st_rdev))
        if kind in ("chardev", "blockdev")
        else None,
    )
