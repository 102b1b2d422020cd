"""Read a ``docker save`` tarball for ``out``, as go-containerregistry's
``tarball.Image`` (which the Go resource uses) reads it.

``manifest.json`` must describe exactly one image. The config file is pushed
byte for byte. The manifest is built: a Docker schema 2 manifest (Docker
media types), serialised as go-containerregistry does, so for a tarball with
compressed layers (``tarball.Write``, ``crane``, kaniko) the digest is the
one the Go resource pushes.

Layers:

- gzip or zstd layers are pushed as they are (media type
  ``...rootfs.diff.tar.gzip``; zstd gets the OCI zstd layer type, where
  go-containerregistry would mislabel it gzip);
- uncompressed layers (what ``docker save`` writes) are gzip-compressed at
  level 1 (go-containerregistry's ``BestSpeed``) into a temporary file, and
  their content is checked against the config's ``diff_ids`` on the way.
  The compressed bytes come from zlib, not Go's compressor, so the digest
  differs from the Go resource's for the same tarball; it is stable run to
  run on one machine;
- a layer ``LayerSources`` describes with a foreign (non-distributable)
  media type keeps that descriptor and is not uploaded; other
  ``LayerSources`` entries (Docker 25 lists every layer there, uncompressed)
  change nothing.

Layers are prepared in parallel; none is held in memory whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import attrs

from ..digest import sha256_of
from ..errors import ImageError
from ..oci import Manifest, MediaType
from ..oci.documents import Descriptor, structure
from ..transport.body import MAX_CONFIG_BYTES
from .filetree import Member, TarTree
from .image import Blob, LocalImage
from .ocilayout import repository_of_reference

GZIP_LEVEL = 1
CHUNK = 1024 * 1024
PREPARE_WORKERS = 4


@attrs.frozen
class _Layer:
    descriptor: dict[str, Any]
    blob: Blob


def _parse_json(member: Member, limit: int, what: str) -> Any:
    try:
        return json.loads(member.read(limit))
    except ValueError as exc:
        raise ImageError(f"{what} is not valid JSON ({exc})") from None


def _go_descriptor(source: dict[str, Any]) -> dict[str, Any]:
    """A descriptor with its fields in go-containerregistry's order."""
    ordered: dict[str, Any] = {
        key: source[key] for key in ("mediaType", "size", "digest") if key in source
    }
    for key in ("urls", "annotations", "platform"):
        if source.get(key):
            ordered[key] = source[key]
    return ordered


def _manifest_bytes(config: bytes, layers: list[dict[str, Any]]) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": MediaType.DOCKER_MANIFEST,
        "config": {
            "mediaType": MediaType.DOCKER_CONFIG,
            "size": len(config),
            "digest": sha256_of(config),
        },
        "layers": layers,
    }
    return json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode()


class _Preparer:
    """Turns each ``Layers`` entry into a blob, spooling what it compresses."""

    def __init__(self, tree: TarTree, spool: Path) -> None:
        self.tree = tree
        self.spool = spool

    def layer(self, path: str, diff_id: str, foreign: dict[str, Any] | None) -> _Layer:
        if foreign is not None:
            descriptor: Descriptor = structure(
                foreign, Descriptor, f"{self.tree.description}: LayerSources entry for {diff_id}"
            )
            blob = Blob(descriptor.digest, descriptor.size, descriptor.media_type)
            return _Layer(_go_descriptor(foreign), blob)
        member = self.tree.find(path)
        if member is None:
            raise ImageError(f"{self.tree.description}: layer {path} not found in the tarball")
        with member.open() as stream:
            magic = stream.read(4)
        if magic.startswith(b"\x1f\x8b"):
            return self._as_is(member, MediaType.DOCKER_LAYER_GZIP)
        if magic == b"\x28\xb5\x2f\xfd":
            return self._as_is(member, MediaType.OCI_LAYER_ZSTD)
        return self._gzipped(member, diff_id)

    def _as_is(self, member: Member, media_type: str) -> _Layer:
        digest = hashlib.sha256()
        with member.open() as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        blob = Blob(f"sha256:{digest.hexdigest()}", member.size, media_type, member.open)
        return _Layer(_descriptor_of(blob), blob)

    def _gzipped(self, member: Member, diff_id: str) -> _Layer:
        uncompressed = hashlib.sha256()
        compressed = hashlib.sha256()
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip wrapper, mtime 0
        handle, name = tempfile.mkstemp(dir=self.spool, suffix=".tar.gz")
        size = 0
        with os.fdopen(handle, "wb") as out, member.open() as stream:
            while chunk := stream.read(CHUNK):
                uncompressed.update(chunk)
                data = compressor.compress(chunk)
                compressed.update(data)
                size += len(data)
                out.write(data)
            tail = compressor.flush()
            compressed.update(tail)
            size += len(tail)
            out.write(tail)
        if f"sha256:{uncompressed.hexdigest()}" != diff_id:
            raise ImageError(
                f"{self.tree.description}: layer {member.name} does not match its diff_id {diff_id}"
            )
        spooled = Member(member.name, size, Path(name))
        blob = Blob(
            f"sha256:{compressed.hexdigest()}", size, MediaType.DOCKER_LAYER_GZIP, spooled.open
        )
        return _Layer(_descriptor_of(blob), blob)


def _descriptor_of(blob: Blob) -> dict[str, Any]:
    return {"mediaType": blob.media_type, "size": blob.size, "digest": blob.digest}


def _single_image(tree: TarTree) -> dict[str, Any]:
    member = tree.find("manifest.json")
    if member is None:
        raise ImageError(f"{tree.description} has no manifest.json")
    images = _parse_json(member, MAX_CONFIG_BYTES, f"{tree.description}: manifest.json")
    if not isinstance(images, list) or not all(isinstance(i, dict) for i in images):
        raise ImageError(f"{tree.description}: no valid manifest.json in tarball")
    if len(images) != 1:
        raise ImageError(
            f"{tree.description}: tarball must contain only a single image "
            f"(its manifest.json describes {len(images)})"
        )
    image: dict[str, Any] = images[0]
    return image


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImageError(f"{what} is not a list of strings")
    return value


def read_docker_save(tree: TarTree) -> LocalImage:
    """The image of a ``docker save`` tarball; ``ImageError`` when malformed."""
    where = tree.description
    image = _single_image(tree)
    config_name = image.get("Config")
    if not isinstance(config_name, str):
        raise ImageError(f"{where}: manifest.json names no Config")
    config_member = tree.find(config_name)
    if config_member is None:
        raise ImageError(f"{where}: config {config_name} not found in the tarball")
    config = config_member.read(MAX_CONFIG_BYTES)
    try:
        diff_ids = _strings(json.loads(config)["rootfs"]["diff_ids"], f"{where}: config diff_ids")
    except (ValueError, KeyError, TypeError):
        raise ImageError(f"{where}: config {config_name} has no rootfs.diff_ids") from None
    layer_paths = _strings(image.get("Layers") or [], f"{where}: manifest.json Layers")
    if len(layer_paths) != len(diff_ids):
        raise ImageError(
            f"{where}: manifest.json lists {len(layer_paths)} layer(s) but the config has "
            f"{len(diff_ids)} rootfs.diff_ids; the config may not describe a runnable image"
        )
    sources = image.get("LayerSources") or {}
    if not isinstance(sources, dict):
        raise ImageError(f"{where}: manifest.json LayerSources is not an object")

    def foreign(diff_id: str) -> dict[str, Any] | None:
        source = sources.get(diff_id)
        if isinstance(source, dict) and MediaType(str(source.get("mediaType"))).is_foreign:
            return source
        return None

    resources = ExitStack()
    try:
        spool = Path(tempfile.mkdtemp(prefix="registry-image-out-"))
        resources.callback(shutil.rmtree, spool, ignore_errors=True)
        preparer = _Preparer(tree, spool)
        with ThreadPoolExecutor(max_workers=PREPARE_WORKERS) as pool:
            layers = list(
                pool.map(
                    lambda path, diff_id: preparer.layer(path, diff_id, foreign(diff_id)),
                    layer_paths,
                    diff_ids,
                )
            )
    except BaseException:
        resources.close()
        raise

    manifest_bytes = _manifest_bytes(config, [layer.descriptor for layer in layers])
    config_blob = Blob(sha256_of(config), len(config), MediaType.DOCKER_CONFIG, config_member.open)
    blobs = {config_blob.digest: config_blob}
    for layer in layers:
        blobs.setdefault(layer.blob.digest, layer.blob)
    root = Manifest(MediaType.DOCKER_MANIFEST, sha256_of(manifest_bytes), manifest_bytes)
    origins = []
    for repo_tag in image.get("RepoTags") or []:
        name = repository_of_reference(repo_tag) if isinstance(repo_tag, str) else None
        if name and name not in origins:
            origins.append(name)
    return LocalImage(
        root=root,
        manifests=(root,),
        blobs=tuple(blobs.values()),
        origins=tuple(origins),
        resources=resources,
    )
