"""Sparse tar archives, as GNU tar writes them (``--sparse``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def sparse_tar(workdir: Path, size: int, tar_format: str = "gnu", name: str = "big") -> bytes:
    """A tar holding one file ``name`` of ``size`` apparent bytes: ``hello``
    at 4096 and ``tail`` in its last 4 bytes, holes elsewhere."""
    if shutil.which("tar") is None:
        pytest.fail("GNU tar is needed to build sparse archives")
    workdir.mkdir(parents=True, exist_ok=True)
    big = workdir / name
    with big.open("wb") as out:
        out.truncate(size)
        out.seek(4096)
        out.write(b"hello")
        out.seek(size - 4)
        out.write(b"tail")
    archive = workdir / f"{name}-{tar_format}.tar"
    subprocess.run(
        [
            "tar",
            "--sparse",
            f"--format={tar_format}",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-cf",
            archive,
            "-C",
            workdir,
            name,
        ],
        check=True,
    )
    big.unlink()
    return archive.read_bytes()
