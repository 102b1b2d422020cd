"""Stopping ``in`` while its layers drip in: SIGTERM ends it within 2 s with
DEST clean, whatever the downloads are doing; after a SIGKILL (no clean-up
possible) the next get into the same DEST removes what was left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from registry_image.resource.get import STAGING_PREFIX
from registry_image.testing.oci_builder import BuiltImage, Entry

from tests.get.registry_helpers import TAG, push_image, run_in
from tests.harness.proxy import Drip, Fault, RegistryProxy
from tests.harness.registry import RunningRegistry
from tests.harness.resource import source_for

LAYERS = 3
WAIT_SECONDS = 30.0
"""How long to wait for every layer download to start dripping."""
STOP_SECONDS = 2.0


def _staging(dest: Path) -> list[str]:
    return [p.name for p in dest.iterdir() if p.name.startswith(STAGING_PREFIX)]


@contextmanager
def _dripping_in(
    registry: RunningRegistry, tmp_path: Path, fmt: str
) -> Iterator[tuple[subprocess.Popen[str], Path, BuiltImage, str]]:
    """``in`` as a subprocess whose every layer download drips, once all
    of them are dripping; yields (process, DEST, image, repo)."""
    layers = [[Entry.file(f"f{n}", os.urandom(256 * 1024))] for n in range(LAYERS)]
    repo, image = push_image(registry, tmp_path, layers)
    hexes = "|".join(digest.removeprefix("sha256:") for digest in image.layer_digests)
    drip = Drip(after=1024, interval=0.2)
    dest = tmp_path / "dest"
    with RegistryProxy(registry.url) as proxy:
        proxy.rules.append(Fault("GET", rf"/blobs/sha256:({hexes})", drip, times=None))
        request = {
            "source": {**source_for(registry, repo), "repository": f"{proxy.host}/{repo}"},
            "version": {"tag": TAG, "digest": image.manifest_digest},
            "params": {"format": fmt},
        }
        request_file = tmp_path / "request.json"
        request_file.write_text(json.dumps(request))
        with request_file.open() as stdin:
            process = subprocess.Popen(
                [sys.executable, "-m", "registry_image.resource", "in", str(dest)],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        try:
            for _ in range(LAYERS):  # every layer is in flight, dripping
                assert drip.started.acquire(timeout=WAIT_SECONDS), "a layer never started"
            yield process, dest, image, repo
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.mark.parametrize("fmt", ["rootfs", "oci", "oci-layout"])
def test_sigterm_stops_a_dripping_get_within_2_s_and_leaves_dest_clean(
    registry_anonymous: RunningRegistry, tmp_path: Path, fmt: str
) -> None:
    with _dripping_in(registry_anonymous, tmp_path, fmt) as (process, dest, _, _):
        assert _staging(dest), "the get should be writing into its staging directory"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        took = time.monotonic() - sent
    assert took < STOP_SECONDS, f"SIGTERM took {took:.2f}s"
    assert process.returncode == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: terminated by signal; nothing was written"]
    assert "Traceback" not in stderr
    assert list(dest.iterdir()) == []


def test_after_sigkill_the_next_get_removes_the_leftovers(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    with _dripping_in(registry_anonymous, tmp_path, "rootfs") as (process, dest, image, repo):
        process.kill()
        process.communicate(timeout=30)
    left = _staging(dest)
    assert len(left) == 2  # the format's staging and the spool directory beside it
    (dest / ".digest.tmp").write_text("half")
    run = run_in(registry_anonymous, repo, image.manifest_digest, dest)
    assert run.returncode == 0, run.stderr
    assert "removed 3 leftovers of an interrupted get" in run.stderr
    assert sorted(p.name for p in dest.iterdir()) == [
        "digest",
        "labels.json",
        "metadata.json",
        "repository",
        "rootfs",
        "tag",
    ]
