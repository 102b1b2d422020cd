"""Large, deterministic images for the benchmarks, written as OCI layouts.

The harness's ``oci_builder`` builds layers in memory, byte-exact, for
tests; a benchmark image has hundreds of megabytes, so this writes each
layer as a stream: tar -> gzip -> file, hashing the tar (diff id) and the
blob (digest) on the way. The same ``ImageShape`` always gives the same
bytes (the same zlib), so a layout is built once and reused from the cache
directory.

Each layer holds ``files`` small files and one large file of
``layer_mib`` MiB whose 64 KiB blocks are half pseudo-random, half zeros:
gzip halves it, about as it does binaries.
"""

from __future__ import annotations

import hashlib
import json
import random
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

import attrs

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
TAG = "latest"
"""The ref name of the image in its layout."""
BLOCK = 64 * 1024
SMALL_FILE = 4 * 1024
MTIME = 1_700_000_000
GZIP_LEVEL = 1


@attrs.frozen
class ImageShape:
    """What the benchmark image is made of."""

    layers: int = 6
    layer_mib: int = 80
    """Uncompressed MiB in each layer's large file (about half that gzipped)."""
    files: int = 200
    """Small files per layer."""
    seed: int = 1

    @property
    def name(self) -> str:
        return f"image-{self.layers}x{self.layer_mib}mib-{self.files}f-s{self.seed}"


@attrs.frozen
class LayoutImage:
    """A layout written by :func:`write_layout`."""

    layout: Path
    manifest_digest: str
    blob_bytes: int
    """The compressed size of all layers."""


class _Pseudo:
    """A readable stream of ``size`` deterministic bytes: half random, half zeros."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self._left = size
        self._rng = rng
        self._buffer = b""

    def read(self, n: int = -1) -> bytes:
        wanted = self._left if n < 0 else min(n, self._left)
        while len(self._buffer) < wanted:
            self._buffer += self._rng.randbytes(BLOCK // 2) + bytes(BLOCK // 2)
        data, self._buffer = self._buffer[:wanted], self._buffer[wanted:]
        self._left -= len(data)
        return data


class _GzipBlobWriter:
    """A write-only stream: hashes the tar, gzips it, hashes and writes the blob."""

    def __init__(self, out: BinaryIO, level: int = GZIP_LEVEL) -> None:
        self._out = out
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self.diff_id = hashlib.sha256()
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.diff_id.update(data)
        self._emit(self._deflate.compress(data))
        return len(data)

    def close(self) -> None:
        self._emit(self._deflate.flush())

    def _emit(self, blob: bytes) -> None:
        self.digest.update(blob)
        self.size += len(blob)
        self._out.write(blob)


def write_gzip_layer(
    blobs: Path, number: int, fill: Callable[[tarfile.TarFile], None], *, level: int = GZIP_LEVEL
) -> tuple[dict[str, Any], str]:
    """Write layer ``number`` (gzip ``level``) with what ``fill`` adds to its
    tar into ``blobs``; its descriptor and diff id."""
    partial = blobs / f".layer-{number}.partial"
    with partial.open("wb") as out:
        writer = _GzipBlobWriter(out, level)
        with tarfile.open(
            fileobj=cast(BinaryIO, writer), mode="w|", format=tarfile.PAX_FORMAT
        ) as tar:
            fill(tar)
        writer.close()
    digest = writer.digest.hexdigest()
    partial.rename(blobs / digest)
    descriptor = {"mediaType": GZIP_LAYER, "digest": f"sha256:{digest}", "size": writer.size}
    return descriptor, f"sha256:{writer.diff_id.hexdigest()}"


def _layer(blobs: Path, shape: ImageShape, number: int) -> tuple[dict[str, Any], str]:
    """Write layer ``number``; its descriptor and diff id."""
    rng = random.Random(shape.seed * 1_000_003 + number)

    def fill(tar: tarfile.TarFile) -> None:
        for index in range(shape.files):
            info = tarfile.TarInfo(f"layer{number}/small/{index // 100}/file{index}")
            info.size, info.mtime, info.mode = SMALL_FILE, MTIME, 0o644
            tar.addfile(info, cast(BinaryIO, _Pseudo(SMALL_FILE, rng)))
        info = tarfile.TarInfo(f"layer{number}/large.bin")
        info.size, info.mtime, info.mode = shape.layer_mib * 1024 * 1024, MTIME, 0o644
        tar.addfile(info, cast(BinaryIO, _Pseudo(info.size, rng)))

    return write_gzip_layer(blobs, number, fill)


def _json_blob(blobs: Path, value: Any) -> tuple[str, int]:
    data = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def write_layout(cache: Path, shape: ImageShape) -> LayoutImage:
    """The layout of ``shape`` under ``cache``, its image tagged ``TAG``
    (built unless a previous run left it there)."""
    return cached_layout(
        cache,
        shape.name,
        lambda blobs: [_layer(blobs, shape, number) for number in range(1, shape.layers + 1)],
    )


def cached_layout(
    cache: Path,
    name: str,
    write_layers: Callable[[Path], list[tuple[dict[str, Any], str]]],
) -> LayoutImage:
    """The layout ``name`` under ``cache``, its image tagged ``TAG``, its
    layers written by ``write_layers`` into the blobs directory it is given
    (descriptor and diff id each), unless a previous run left it there."""
    layout = cache / name
    stamp = cache / f"{name}.json"
    if stamp.exists() and layout.is_dir():
        info = json.loads(stamp.read_text())
        return LayoutImage(layout, info["manifest_digest"], info["blob_bytes"])
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    layers = write_layers(blobs)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
    }
    config_digest, config_size = _json_blob(blobs, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [descriptor for descriptor, _ in layers],
    }
    manifest_digest, manifest_size = _json_blob(blobs, manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {REF_NAME: TAG},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    blob_bytes = sum(int(descriptor["size"]) for descriptor, _ in layers)
    stamp.write_text(json.dumps({"manifest_digest": manifest_digest, "blob_bytes": blob_bytes}))
    return LayoutImage(layout, manifest_digest, blob_bytes)
