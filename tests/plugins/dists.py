"""Installing plugin distributions from their folders, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest


def pip_install(
    folders: Sequence[Path], tmp_path_factory: pytest.TempPathFactory, name: str
) -> Path:
    """Install the distributions in ``folders`` with pip (no index, no
    dependencies: ours is installed already) into a new directory, for
    ``PYTHONPATH``."""
    target = tmp_path_factory.mktemp(f"{name}-site")
    build = tmp_path_factory.mktemp(f"{name}-build")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            *map(str, folders),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "TMPDIR": str(build)},
    )
    return target
