"""Unpack OCI layouts with umoci, and snapshot directory trees for comparison.

umoci is the reference unpacker: tests compare what the resource unpacks with
what ``umoci raw unpack`` produces, by value, via :func:`tree_snapshot`.

Behaviour of umoci 0.4.7 (verified): whiteouts (``.wh.NAME``) delete NAME
from lower layers and opaque markers (``.wh..wh..opq``) empty the directory
first; neither marker appears in the rootfs. Hard links become real hard
links (one inode, see :func:`hardlink_groups`). Modes including setuid,
mtimes of files, symlinks and directories (restored after their contents
are written) are as in the tar; the rootfs directory itself gets mtime 0.
As root, owners are as in the tar and devices are created; ``--rootless``
makes everything owned by the caller and turns devices into empty files.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path
from typing import NamedTuple

UMOCI_BINARY = "umoci"
TIMEOUT_SECONDS = 120.0


class UmociError(RuntimeError):
    """umoci exited non-zero; the message has the command and its stderr."""


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


def raw_unpack(layout_dir: Path, tag_or_ref: str, rootfs_dir: Path) -> None:
    """``umoci raw unpack`` the image tagged ``tag_or_ref`` into ``rootfs_dir``.

    Runs ``--rootless`` unless this process is root.
    """
    command = [UMOCI_BINARY, "raw", "unpack"]
    if os.geteuid() != 0:
        command.append("--rootless")
    command += ["--image", f"{layout_dir}:{tag_or_ref}", str(rootfs_dir)]
    completed = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    if completed.returncode != 0:
        raise UmociError(
            f"{' '.join(command)} exited {completed.returncode}:\n"
            f"{completed.stderr.decode(errors='replace')}"
        )


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
    content = path.read_bytes() if kind == "file" else None
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
