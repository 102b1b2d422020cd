"""Read a format's output back, independently of the code that wrote it.

A format tells the conformance suite how its output is read back: a tree
(:func:`registry_image.testing.conformance.unpacks_rootfs`) or the blobs it
wrote, through one of these readers (or its own), passed to
:func:`registry_image.testing.conformance.keeps_blobs`. A reader takes DEST
and returns a :class:`WrittenImage`; it raises ``ValueError`` naming what is
missing or malformed.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)


@attrs.frozen
class WrittenImage:
    """One image as a format wrote it: blobs exactly as stored."""

    config: bytes | None = None
    """The config blob, when the format keeps it."""
    layers: tuple[bytes, ...] | None = None
    """Each layer blob as stored (compressed, as served), when the format keeps them."""
    manifest: bytes | None = None
    """The manifest bytes, when the format keeps them (an OCI layout does)."""


Reader = Callable[[Path], WrittenImage]


def docker_archive(name: str = "image.tar") -> Reader:
    """A ``docker save`` tarball at ``DEST/name``: ``manifest.json``'s first
    image, its ``Config`` and ``Layers`` members."""

    def read(dest: Path) -> WrittenImage:
        path = dest / name
        if not path.is_file():
            raise ValueError(f"no {name} in DEST")
        with tarfile.open(path) as archive:

            def member(member_name: str) -> bytes:
                try:
                    extracted = archive.extractfile(member_name)
                except KeyError:
                    raise ValueError(f"{name} has no member {member_name}") from None
                if extracted is None:
                    raise ValueError(f"{name}: {member_name} is not a file")
                return extracted.read()

            manifest = _json(member("manifest.json"), f"{name}: manifest.json")
            if not isinstance(manifest, list) or not manifest:
                raise ValueError(f"{name}: manifest.json is not a non-empty list")
            first = manifest[0]
            return WrittenImage(
                config=member(first["Config"]),
                layers=tuple(member(layer) for layer in first["Layers"]),
            )

    return read


def oci_layout(directory: str = "oci") -> Reader:
    """An OCI image layout at ``DEST/directory`` holding one image manifest
    (``index.json``'s first descriptor)."""

    def read(dest: Path) -> WrittenImage:
        root = dest / directory
        if not (root / "oci-layout").is_file():
            raise ValueError(f"{directory}/oci-layout is missing")
        index = _json((root / "index.json").read_bytes(), f"{directory}/index.json")
        descriptor = index["manifests"][0]
        if descriptor.get("mediaType") in INDEX_MEDIA_TYPES:
            raise ValueError(f"{directory}: the first descriptor is an index, not one image")
        manifest_bytes = _blob(root, descriptor["digest"])
        manifest = _json(manifest_bytes, f"manifest {descriptor['digest']}")
        return WrittenImage(
            config=_blob(root, manifest["config"]["digest"]),
            layers=tuple(_blob(root, layer["digest"]) for layer in manifest["layers"]),
            manifest=manifest_bytes,
        )

    return read


def manifest_file(name: str = "manifest.json") -> Reader:
    """A format that keeps only the manifest, at ``DEST/name``."""

    def read(dest: Path) -> WrittenImage:
        path = dest / name
        if not path.is_file():
            raise ValueError(f"no {name} in DEST")
        return WrittenImage(manifest=path.read_bytes())

    return read


def _blob(root: Path, digest: str) -> bytes:
    algorithm, _, hex_ = digest.partition(":")
    path = root / "blobs" / algorithm / hex_
    if not path.is_file():
        raise ValueError(f"blob {digest} is missing from {root.name}/blobs")
    return path.read_bytes()


def _json(content: bytes, what: str) -> Any:
    try:
        return json.loads(content)
    except ValueError as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None
