"""Unpack OCI layouts with umoci, the reference unpacker.

Tests compare what the resource unpacks with what ``umoci raw unpack``
produces, by value, via :func:`registry_image.testing.trees.tree_snapshot`.

Behaviour of umoci 0.4.7 (verified): whiteouts (``.wh.NAME``) delete NAME
from lower layers and opaque markers (``.wh..wh..opq``) empty the directory
first; neither marker appears in the rootfs. Hard links become real hard
links (one inode, see :func:`registry_image.testing.trees.hardlink_groups`).
Modes including setuid, mtimes of files, symlinks and directories (restored
after their contents are written) are as in the tar; the rootfs directory
itself gets mtime 0.
As root, owners are as in the tar and devices are created; ``--rootless``
makes everything owned by the caller and turns devices into empty files.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

UMOCI_BINARY = "umoci"
TIMEOUT_SECONDS = 120.0


class UmociError(RuntimeError):
    """umoci exited non-zero; the message has the command and its stderr."""


def raw_unpack(layout_dir: Path, tag_or_ref: str, rootfs_dir: Path) -> None:
    """``umoci raw unpack`` the image tagged ``tag_or_ref`` into ``rootfs_dir``.

    Runs ``--rootless`` unless this process is root.
    """
    _umoci(["raw", "unpack"], layout_dir, tag_or_ref, rootfs_dir)


def unpack_bundle(layout_dir: Path, tag_or_ref: str, bundle_dir: Path) -> None:
    """``umoci unpack`` the image tagged ``tag_or_ref`` into the runtime bundle
    ``bundle_dir`` (``rootfs/`` and a ``config.json`` made from the image
    config). Runs ``--rootless`` unless this process is root."""
    _umoci(["unpack"], layout_dir, tag_or_ref, bundle_dir)


def _umoci(subcommand: list[str], layout_dir: Path, tag_or_ref: str, target: Path) -> None:
    command = [UMOCI_BINARY, *subcommand]
    if os.geteuid() != 0:
        command.append("--rootless")
    command += ["--image", f"{layout_dir}:{tag_or_ref}", str(target)]
    completed = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    if completed.returncode != 0:
        raise UmociError(
            f"{' '.join(command)} exited {completed.returncode}:\n"
            f"{completed.stderr.decode(errors='replace')}"
        )
