"""What the unpacker refuses to make (devices, trusted xattrs), how it writes
sparse files, and the per-get caps on entries and apparent bytes."""

from __future__ import annotations

import io
import logging
import os
import struct
import tarfile
from pathlib import Path

import pytest
from registry_image.core.errors import LimitError
from registry_image.core.unpack import Unpacker, apply_layer
from registry_image.core.unpack.limits import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_UNPACKED_BYTES,
    UnpackLimits,
    active_limits,
    limits_in_force,
)
from registry_image.testing.oci_builder import Entry, layer_tar

from tests.get.helpers import PRIVILEGED, unpack
from tests.get.sparse import sparse_tar

GIB = 1024**3
FORMATS = {"gnu": "gnu", "pax": "posix"}
# security.capability, version 2, CAP_NET_BIND_SERVICE permitted and effective.
CAP_NET_BIND = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)


def _tar_with_xattrs(name: str, xattrs: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = 1
        info.pax_headers = {f"SCHILY.xattr.{key}": value for key, value in xattrs.items()}
        tar.addfile(info, io.BytesIO(b"x"))
    return buffer.getvalue()


def _apply(root: Path, blob: bytes, **kwargs: object) -> None:
    with Unpacker(root, **kwargs) as unpacker:  # type: ignore[arg-type]
        apply_layer(unpacker, io.BytesIO(blob), "layer 1")
        unpacker.finish()


# -- devices ---------------------------------------------------------------------


@pytest.mark.parametrize("privileged", [True, False] if PRIVILEGED else [False])
def test_device_nodes_are_skipped_and_counted_once_per_layer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, privileged: bool
) -> None:
    layer = [
        Entry.chardev("dev/mem", 1, 1, 0o666),
        Entry.chardev("dev/null", 1, 3, 0o666),
        Entry.fifo("dev/pipe"),
        Entry.file("dev/keep", b"k"),
    ]
    root = tmp_path / "root"
    root.mkdir()
    with (
        caplog.at_level(logging.INFO, logger="registry_image"),
        Unpacker(root, privileged=privileged) as unpacker,
    ):
        stats = apply_layer(unpacker, io.BytesIO(layer_tar(layer)), "layer 1/1 (sha256:x)")
    assert stats.skipped_devices == 2
    assert sorted(p.name for p in (root / "dev").iterdir()) == ["keep", "pipe"]
    device_lines = [r.getMessage() for r in caplog.records if "device" in r.getMessage()]
    assert [line for line in device_lines if r"skipped" in line] == [
        "layer 1/1 (sha256:x): 2 device nodes skipped (never created, as the Go resource does)"
    ]


def test_a_device_does_not_replace_a_lower_file(tmp_path: Path) -> None:
    unpack(tmp_path, [[Entry.file("dev/sda", b"lower")], [Entry.chardev("dev/sda", 8, 0)]])
    assert (tmp_path / "dev/sda").read_bytes() == b"lower"


# -- xattrs ----------------------------------------------------------------------


def test_trusted_xattrs_are_dropped_user_ones_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blob = _tar_with_xattrs(
        "f", {"trusted.overlay.opaque": "y", "trusted.other": "z", "user.comment": "kept"}
    )
    with caplog.at_level(logging.DEBUG, logger="registry_image"):
        _apply(tmp_path, blob)
    names = os.listxattr(tmp_path / "f")
    assert not [name for name in names if name.startswith("trusted.")]
    assert os.getxattr(tmp_path / "f", "user.comment") == b"kept"
    dropped = [r for r in caplog.records if "trusted.overlay.opaque dropped" in r.getMessage()]
    assert [r.levelno for r in dropped] == [logging.DEBUG]


@pytest.mark.skipif(not PRIVILEGED, reason="only root may set security.capability")
def test_security_capability_is_kept(tmp_path: Path) -> None:
    # The raw capability bytes as a PAX value (tarfile reads them back as
    # UTF-8 with surrogate escapes, as the applier expects).
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("ping")
        info.pax_headers = {
            "SCHILY.xattr.security.capability": CAP_NET_BIND.decode("utf-8", "surrogateescape")
        }
        tar.addfile(info, io.BytesIO(b""))
    blob = buffer.getvalue()
    _apply(tmp_path, blob)
    assert os.getxattr(tmp_path / "ping", "security.capability") == CAP_NET_BIND


def test_an_xattr_the_process_may_not_set_is_dropped_not_an_error(tmp_path: Path) -> None:
    # No namespace prefix: every kernel refuses it (EOPNOTSUPP).
    _apply(tmp_path, _tar_with_xattrs("f", {"nonamespace": "v", "user.ok": "1"}))
    assert (tmp_path / "f").read_bytes() == b"x"
    assert os.getxattr(tmp_path / "f", "user.ok") == b"1"


# -- sparse files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sparse_tars(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """GNU tar's sparse archives (old GNU and PAX 1.0) of an 8 GiB file."""
    work = tmp_path_factory.mktemp("sparse")
    return {kind: sparse_tar(work, 8 * GIB, tar_format) for kind, tar_format in FORMATS.items()}


@pytest.mark.parametrize("kind", ["gnu", "pax"])
def test_sparse_entries_are_written_sparse(
    tmp_path: Path, sparse_tars: dict[str, bytes], kind: str
) -> None:
    assert len(sparse_tars[kind]) < 64 * 1024  # the archive really is sparse
    _apply(tmp_path, sparse_tars[kind])
    big = tmp_path / "big"
    info = big.stat()
    assert info.st_size == 8 * GIB
    assert info.st_blocks * 512 < 1024 * 1024  # holes, not 8 GiB of zeros
    with big.open("rb") as data:
        data.seek(4090)
        assert data.read(12) == bytes(6) + b"hello" + bytes(1)
        data.seek(8 * GIB - 8)
        assert data.read() == bytes(4) + b"tail"


def test_sparse_entries_count_their_apparent_size(
    tmp_path: Path, sparse_tars: dict[str, bytes]
) -> None:
    with pytest.raises(LimitError, match=r"unpacks to more than 4 GiB"):
        _apply(tmp_path, sparse_tars["gnu"], limits=UnpackLimits(unpacked_bytes=4 * GIB))
    assert not (tmp_path / "big").exists()


# -- caps --------------------------------------------------------------------------


def test_the_defaults_are_generous() -> None:
    assert active_limits() == UnpackLimits(DEFAULT_MAX_UNPACKED_BYTES, DEFAULT_MAX_ENTRIES)
    assert (DEFAULT_MAX_UNPACKED_BYTES, DEFAULT_MAX_ENTRIES) == (64 * GIB, 10_000_000)


def test_entry_cap_counts_every_entry_over_all_layers(tmp_path: Path) -> None:
    first = [Entry.dir("d"), Entry.file("d/a"), Entry.file("d/b")]
    second = [Entry.whiteout("d/a"), Entry.file("c")]
    with (
        limits_in_force(UnpackLimits(entries=4)),
        pytest.raises(LimitError) as caught,
    ):
        unpack(tmp_path, [first, second])
    assert str(caught.value) == (
        "layer 2: entry 'c': the image has more than 4 entries "
        "(params.limits.entries; raise it on the get step to allow more)"
    )
    assert not (tmp_path / "c").exists()


def test_byte_cap_is_checked_before_writing(tmp_path: Path) -> None:
    layers = [[Entry.file("a", bytes(600))], [Entry.file("b", bytes(500))]]
    with (
        pytest.raises(LimitError) as caught,
        Unpacker(tmp_path, limits=UnpackLimits(unpacked_bytes=1000)) as unpacker,
    ):
        for number, entries in enumerate(layers, start=1):
            apply_layer(unpacker, io.BytesIO(layer_tar(entries)), f"layer {number}")
    assert str(caught.value) == (
        "layer 2: entry 'b': the image unpacks to more than 1000 bytes "
        "(params.limits.unpacked_bytes; raise it on the get step to allow more)"
    )
    assert (tmp_path / "a").stat().st_size == 600
    assert not (tmp_path / "b").exists()


def test_exactly_at_the_caps_is_fine(tmp_path: Path) -> None:
    layer = [Entry.file("a", bytes(600)), Entry.file("b", bytes(400))]
    with Unpacker(tmp_path, limits=UnpackLimits(unpacked_bytes=1000, entries=2)) as unpacker:
        apply_layer(unpacker, io.BytesIO(layer_tar(layer)), "layer 1")
    assert (tmp_path / "b").stat().st_size == 400
