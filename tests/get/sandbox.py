"""Run ``in`` as Concourse would, but confined: under a memory limit
(RLIMIT_AS, through ``prlimit``) and, for disk cases, with DEST on a small
tmpfs of its own.

The tmpfs is mounted inside ``unshare --user --map-root-user --mount``, which
works for root and for an ordinary user alike (the mount lives and dies
with the namespace). Since it vanishes with the command, the script lists
what DEST holds after ``in`` exits, from inside, into a file outside it.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.harness.resource import ResourceRun

MEMORY_LIMIT = 512 * 1024 * 1024
"""RLIMIT_AS of a confined ``in``: far below what the hostile payloads inflate to."""


@attrs.frozen
class ConfinedRun:
    run: ResourceRun
    left_in_dest: list[str]
    """Names in DEST after ``in`` exited (checked before the tmpfs went away)."""


def _prlimit(memory: int) -> list[str]:
    return ["prlimit", f"--as={memory}", "--"]


@functools.cache
def user_namespaces_work() -> str | None:
    """None when ``unshare --user --map-root-user --mount`` can mount a
    tmpfs here, else why not."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    script = 'dir=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$dir" && umount "$dir"'
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return (
            "user namespaces are not available here, so no tmpfs can be mounted without "
            f"root: {(probe.stderr or probe.stdout).strip()}"
        )
    return None


def run_in_confined(
    request: dict[str, Any],
    workdir: Path,
    *,
    tmpfs_size: str | None = None,
    memory: int = MEMORY_LIMIT,
    timeout: float = 300,
) -> ConfinedRun:
    """``in workdir/mnt/dest`` under ``memory`` bytes of address space; with
    ``tmpfs_size`` (e.g. ``"8m"``), ``workdir/mnt`` is a tmpfs of that size."""
    mount_point = workdir / "mnt"
    mount_point.mkdir(parents=True, exist_ok=True)
    dest = mount_point / "dest"
    listing = workdir / "left-in-dest.txt"
    command = [*_prlimit(memory), sys.executable, "-m", "registry_image.resource", "in", str(dest)]
    script = [
        f"{shlex.join(command)} < {shlex.quote(str(workdir / 'request.json'))}",
        "status=$?",
        f"ls -A {shlex.quote(str(dest))} > {shlex.quote(str(listing))} 2>/dev/null",
        "exit $status",
    ]
    if tmpfs_size is not None:
        reason = user_namespaces_work()
        if reason is not None:
            pytest.skip(reason)
        mount = f"mount -t tmpfs -o size={tmpfs_size} tmpfs {shlex.quote(str(mount_point))}"
        script.insert(0, f"{mount} || exit 99")
        prefix = ["unshare", "--user", "--map-root-user", "--mount"]
    else:
        prefix = []
    (workdir / "request.json").write_text(json.dumps(request))
    completed = subprocess.run(
        [*prefix, "sh", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        check=False,
    )
    assert completed.returncode != 99, f"could not mount the tmpfs: {completed.stderr}"
    left = listing.read_text().split() if listing.exists() else []
    return ConfinedRun(ResourceRun(completed.returncode, completed.stdout, completed.stderr), left)
