"""What one ``in`` may cost, from the real CLI: an inflating layer stops at
the byte cap under a memory limit, sparse files stay sparse on a small
tmpfs, the entry cap holds and ``params.limits`` raises it, and a full disk
in any format is one line with nothing left in DEST."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest
from registry_image.testing.oci_builder import Entry, sha256_digest

from tests.get.registry_helpers import TAG, push_image, push_raw_layer, run_in
from tests.get.sandbox import run_in_confined
from tests.get.sparse import sparse_tar
from tests.harness.registry import RunningRegistry
from tests.harness.resource import ResourceRun, source_for

GIB = 1024**3
MIB = 1024**2
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
BYTE_CAP_HINT = "(params.limits.unpacked_bytes; raise it on the get step to allow more)"
ENTRY_CAP_HINT = "(params.limits.entries; raise it on the get step to allow more)"
DISK_FULL = "no space left on device (free space where DEST is, then retry)"


def _request(registry: RunningRegistry, repo: str, digest: str, **params: Any) -> dict[str, Any]:
    return {
        "source": source_for(registry, repo),
        "version": {"tag": TAG, "digest": digest},
        "params": params,
    }


def _assert_one_clear_line(run: ResourceRun, expected: str) -> None:
    assert run.returncode == 1, run.stderr
    assert run.error_line == expected
    assert "Traceback" not in run.stderr


def _zeros_layer(size: int) -> bytes:
    """A gzip layer whose tar holds one file of ``size`` zero bytes: a few
    MiB inflating to ``size`` (members of 64 MiB of zeros, compressed once)."""
    header = tarfile.TarInfo("zeros")
    header.size = size
    block = gzip.compress(bytes(64 * MIB), compresslevel=9, mtime=0)
    assert size % (64 * MIB) == 0
    end = bytes(2 * tarfile.BLOCKSIZE)
    members = [gzip.compress(header.tobuf(tarfile.PAX_FORMAT), mtime=0)]
    members += [block] * (size // (64 * MIB))
    members.append(gzip.compress(end, mtime=0))
    return b"".join(members)


def test_a_layer_inflating_to_2_gib_stops_at_the_cap_in_bounded_memory(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    blob = _zeros_layer(2 * GIB)
    assert len(blob) < 4 * MIB
    repo, digest = push_raw_layer(registry_anonymous, tmp_path, blob, GZIP_LAYER)
    request = _request(registry_anonymous, repo, digest, limits={"unpacked_bytes": GIB})
    confined = run_in_confined(request, tmp_path / "in")
    _assert_one_clear_line(
        confined.run,
        f"error: layer 1/1 ({sha256_digest(blob)[:19]}): entry 'zeros': "
        f"the image unpacks to more than 1 GiB {BYTE_CAP_HINT}",
    )
    assert confined.left_in_dest == []


def test_the_default_byte_cap_refuses_65_gib(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    blob = gzip.compress(sparse_tar(tmp_path / "sparse", 65 * GIB), mtime=0)
    repo, digest = push_raw_layer(registry_anonymous, tmp_path, blob, GZIP_LAYER)
    confined = run_in_confined(_request(registry_anonymous, repo, digest), tmp_path / "in")
    _assert_one_clear_line(
        confined.run,
        f"error: layer 1/1 ({sha256_digest(blob)[:19]}): entry 'big': "
        f"the image unpacks to more than 64 GiB {BYTE_CAP_HINT}",
    )
    assert confined.left_in_dest == []


@pytest.mark.parametrize("tar_format", ["gnu", "posix"])
def test_an_8_gib_sparse_file_fits_a_16_mib_tmpfs(
    registry_anonymous: RunningRegistry, tmp_path: Path, tar_format: str
) -> None:
    blob = gzip.compress(sparse_tar(tmp_path / "sparse", 8 * GIB, tar_format), mtime=0)
    repo, digest = push_raw_layer(registry_anonymous, tmp_path, blob, GZIP_LAYER)
    confined = run_in_confined(
        _request(registry_anonymous, repo, digest), tmp_path / "in", tmpfs_size="16m"
    )
    assert confined.run.returncode == 0, confined.run.stderr
    assert sorted(confined.left_in_dest) == [
        "digest",
        "labels.json",
        "metadata.json",
        "repository",
        "rootfs",
        "tag",
    ]


def test_the_entry_cap_holds_and_params_limits_raises_it(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    entries = [Entry.file(f"f{number}") for number in range(3000)]
    repo, image = push_image(registry_anonymous, tmp_path, [entries])
    digest = image.manifest_digest
    refused = run_in(registry_anonymous, repo, digest, tmp_path / "dest", limits={"entries": 2000})
    _assert_one_clear_line(
        refused,
        f"error: layer 1/1 ({image.layer_digests[0][:19]}): entry 'f2000': "
        f"the image has more than 2000 entries {ENTRY_CAP_HINT}",
    )
    assert list((tmp_path / "dest").iterdir()) == []
    raised = run_in(
        registry_anonymous,
        repo,
        digest,
        tmp_path / "dest",
        limits={"entries": 3000, "unpacked_bytes": 1},
    )
    assert raised.returncode == 0, raised.stderr
    assert len(list((tmp_path / "dest/rootfs").iterdir())) == 3000


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            {"unpacked_bytes": "10G"},
            "params.limits.unpacked_bytes: expected a whole number, got a string",
        ),
        ({"entries": 1.5}, "params.limits.entries: expected a whole number, got a number"),
        ({"entries": True}, "params.limits.entries: expected a whole number, got a boolean"),
        ({"entries": 0}, "params.limits.entries: expected a whole number of at least 1"),
        (
            {"unpacked_bytes": -1},
            "params.limits.unpacked_bytes: expected a whole number of at least 1",
        ),
        ({"bytes": 1}, "params.limits: unknown field(s): bytes"),
    ],
)
def test_params_limits_are_strict(
    registry_anonymous: RunningRegistry, tmp_path: Path, limits: dict[str, Any], message: str
) -> None:
    run = run_in(registry_anonymous, "x/y", "sha256:" + "0" * 64, tmp_path / "dest", limits=limits)
    assert run.returncode == 1
    assert run.error_line.removeprefix("error: ").removeprefix("invalid request: ") == message


# -- a full disk --------------------------------------------------------------------


@pytest.mark.parametrize("format_", ["rootfs", "oci", "oci-layout"])
def test_a_full_disk_is_one_line_and_dest_is_left_clean(
    registry_anonymous: RunningRegistry, tmp_path: Path, format_: str
) -> None:
    # Random bytes do not compress: three layers of 3 MiB cannot fit in 6 MiB.
    layers = [[Entry.file(f"data{n}", os.urandom(3 * MIB))] for n in range(3)]
    repo, image = push_image(registry_anonymous, tmp_path, layers)
    request = _request(registry_anonymous, repo, image.manifest_digest, format=format_)
    confined = run_in_confined(request, tmp_path / "in", tmpfs_size="6m")
    run = confined.run
    assert run.returncode == 1, run.stderr
    assert run.error_line.endswith(DISK_FULL)
    assert "Traceback" not in run.stderr
    assert confined.left_in_dest == []


def test_the_same_image_fits_a_larger_tmpfs(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    """The disk-full test above fails for want of space, not for another reason."""
    layers = [[Entry.file(f"data{n}", os.urandom(3 * MIB))] for n in range(3)]
    repo, image = push_image(registry_anonymous, tmp_path, layers)
    request = _request(registry_anonymous, repo, image.manifest_digest, format="oci")
    confined = run_in_confined(request, tmp_path / "in", tmpfs_size="32m")
    assert confined.run.returncode == 0, confined.run.stderr
    assert "image.tar" in confined.left_in_dest


def test_layer_tar_helper_is_what_the_zeros_layer_claims() -> None:
    """The hand-made inflating layer is a valid tar (headers and end blocks)."""
    small = _zeros_layer(64 * MIB)
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(small))) as tar:
        member = tar.next()
        assert member is not None and (member.name, member.size) == ("zeros", 64 * MIB)
