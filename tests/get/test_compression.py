"""Compression sniffing and bounded, checked decompression."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest
import zstandard
from isal import isal_zlib
from registry_image.core.unpack.compression import (
    OUTPUT_CHUNK,
    GzipReader,
    LayerFormatError,
    decompressed,
)

DATA = os.urandom(200_000) + b"\0" * 3_000_000 + b"tail" * 10_000
SKIPPABLE = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"skip"


class CountingSource(io.BytesIO):
    """A source that records the largest read asked of it."""

    largest = 0

    def read(self, n: int | None = -1, /) -> bytes:
        self.largest = max(self.largest, n if n is not None and n >= 0 else 1 << 62)
        return super().read(n)


def read_all(blob: bytes, step: int = 10_240) -> tuple[str, bytes]:
    kind, reader = decompressed(io.BytesIO(blob))
    parts = []
    while chunk := reader.read(step):
        assert len(chunk) <= step
        parts.append(chunk)
    return kind, b"".join(parts)


def test_sniffed_by_magic_bytes_not_media_type() -> None:
    assert read_all(gzip.compress(DATA)) == ("gzip", DATA)
    assert read_all(zstandard.ZstdCompressor().compress(DATA)) == ("zstd", DATA)
    assert read_all(DATA) == ("none", DATA)
    assert read_all(b"") == ("none", b"")


def test_multi_member_gzip_with_zero_padding() -> None:
    blob = gzip.compress(DATA) + gzip.compress(b"more") + b"\0" * 4096
    assert read_all(blob)[1] == DATA + b"more"


def test_multi_frame_zstd_with_skippable_frames_and_no_content_size() -> None:
    streaming = zstandard.ZstdCompressor().compressobj()
    frame = streaming.compress(DATA) + streaming.flush()
    blob = zstandard.ZstdCompressor(write_checksum=True).compress(b"first") + SKIPPABLE + frame
    assert read_all(blob)[1] == b"first" + DATA


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (gzip.compress(DATA)[:-3], "truncated gzip stream"),
        (gzip.compress(DATA)[:5000], "truncated gzip stream"),
        (gzip.compress(DATA) + b"junk", "unexpected data after the end of the gzip stream"),
        (zstandard.ZstdCompressor().compress(DATA)[:-1], "truncated zstd stream"),
        (zstandard.ZstdCompressor().compress(DATA)[:3000], "truncated zstd stream"),
        (zstandard.ZstdCompressor().compress(b"x") + SKIPPABLE[:10], "truncated zstd stream"),
    ],
)
def test_truncation_and_trailing_data_are_errors(blob: bytes, message: str) -> None:
    with pytest.raises(LayerFormatError, match=message):
        read_all(blob)


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_corruption_is_an_error(kind: str) -> None:
    if kind == "gzip":
        blob = bytearray(gzip.compress(DATA))
    else:
        blob = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(DATA))
    blob[len(blob) // 3] ^= 0x55
    with pytest.raises(LayerFormatError, match=f"corrupt {kind} data"):
        read_all(bytes(blob))


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_output_is_bounded_however_well_data_compresses(kind: str) -> None:
    zeros = b"\0" * (256 * 1024 * 1024)  # compresses ~1000:1 (gzip) to ~30000:1 (zstd)
    blob = gzip.compress(zeros, 1) if kind == "gzip" else zstandard.ZstdCompressor().compress(zeros)
    source = CountingSource(blob)
    _, reader = decompressed(source)
    largest = total = 0
    while chunk := reader.read(1 << 30):  # a huge read is still served in bounded pieces
        largest = max(largest, len(chunk))
        total += len(chunk)
    assert total == len(zeros)
    assert largest <= OUTPUT_CHUNK
    assert source.largest <= 1 << 20


@pytest.mark.parametrize("backend", [zlib, isal_zlib], ids=["zlib", "isal"])
def test_both_inflate_backends_agree_and_check_crcs(backend: object) -> None:
    blob = gzip.compress(DATA) + gzip.compress(b"second member")
    reader = GzipReader(io.BytesIO(blob), backend=backend)  # type: ignore[arg-type]
    assert reader.read() == DATA + b"second member"
    damaged = bytearray(blob)
    damaged[len(damaged) // 4] ^= 0x10
    with pytest.raises(LayerFormatError, match="corrupt gzip data"):
        GzipReader(io.BytesIO(bytes(damaged)), backend=backend).read()  # type: ignore[arg-type]
    with pytest.raises(LayerFormatError, match="truncated gzip stream"):
        GzipReader(io.BytesIO(blob[:-9]), backend=backend).read()  # type: ignore[arg-type]
