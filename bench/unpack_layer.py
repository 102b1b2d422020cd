"""Unpack one large layer blob, as ``in`` does after the network: sha256 ->
decompress -> tar apply, in one pass. Reports throughput; run it under
``/usr/bin/time -v`` for the peak memory.

    python -m bench.unpack_layer --size-mb 1024 --files 20000 --compression gzip

The blob is generated once (cached under --workdir): one large file of
half-compressible data plus many small files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import zstandard
from registry_image.core.digest import Digest, VerifyingReader
from registry_image.core.unpack import Unpacker, apply_layer

CHUNK = 1024 * 1024


def _big_file_chunks(size: int) -> Iterator[bytes]:
    """Half random, half zeros per 64 KiB: compresses about 2:1, like binaries."""
    block = os.urandom(32 * 1024) + bytes(32 * 1024)
    produced = 0
    while produced < size:
        piece = block[: min(len(block), size - produced)]
        produced += len(piece)
        yield piece
        block = os.urandom(32 * 1024) + bytes(32 * 1024)


class _ChunkReader:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, n: int = -1) -> bytes:
        while len(self._buffer) < n:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data


def make_blob(path: Path, size_mb: int, files: int, compression: str) -> None:
    tar_path = path.with_suffix(".tar")
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for number in range(files):
            info = tarfile.TarInfo(f"usr/share/small/{number // 1000}/file{number}")
            data = os.urandom(512) * 4
            info.size = len(data)
            tar.addfile(info, _ChunkReader(iter([data])))
        info = tarfile.TarInfo("opt/big.bin")
        info.size = size_mb * 1024 * 1024
        tar.addfile(info, _ChunkReader(_big_file_chunks(info.size)))
    with tar_path.open("rb") as source, path.open("wb") as out:
        if compression == "gzip":
            import zlib

            deflate = zlib.compressobj(6, zlib.DEFLATED, 31)
            while chunk := source.read(CHUNK):
                out.write(deflate.compress(chunk))
            out.write(deflate.flush())
        else:
            zstandard.ZstdCompressor(level=3).copy_stream(source, out)
    tar_path.unlink()


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as blob:
        while chunk := blob.read(CHUNK):
            yield chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--compression", choices=["gzip", "zstd"], default="gzip")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/registry-image-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    blob = args.workdir / f"layer-{args.size_mb}mb-{args.files}-{args.compression}.blob"
    if not blob.exists():
        started = time.monotonic()
        make_blob(blob, args.size_mb, args.files, args.compression)
        print(f"made {blob} in {time.monotonic() - started:.1f}s")
    digest = hashlib.sha256()
    for chunk in file_chunks(blob):
        digest.update(chunk)
    expected = Digest.parse(f"sha256:{digest.hexdigest()}")
    root = args.workdir / "rootfs"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    plain_bytes = args.size_mb * 1024 * 1024 + args.files * 2048
    started = time.monotonic()
    reader = VerifyingReader(file_chunks(blob), expected, blob.stat().st_size, "layer")
    with Unpacker(root) as unpacker:
        stats = apply_layer(unpacker, reader, "layer 1/1")
        reader.verify()
        unpacker.finish()
    elapsed = time.monotonic() - started
    print(
        f"{args.compression}: {blob.stat().st_size / 2**20:.0f} MiB blob, "
        f"{plain_bytes / 2**20:.0f} MiB in {stats.entries} entries, "
        f"applied in {elapsed:.2f}s: {plain_bytes / 2**20 / elapsed:.0f} MiB/s uncompressed, "
        f"{stats.entries / elapsed:.0f} entries/s"
    )
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
