"""The ``oci-layout`` format: ``oci/``, an OCI image layout.

For a multi-platform digest the layout holds the whole index (every
platform's manifest, config and layers); for a single image, the image and
``oci/single-image-digest`` with its digest. Either way ``index.json`` has one
descriptor, of the manifest the version's digest names, annotated with the
tag as ``org.opencontainers.image.ref.name``; that manifest is stored byte
for byte as a blob, so it hashes to the version's digest.

The Go resource instead writes a multi-platform index itself as
``index.json``; skopeo and umoci cannot read such a layout without a ref
name ("more than one image in oci"), while this one they read as ``oci:DIR``
or ``oci:DIR:TAG``. ``out`` (ours and the Go one) unwraps a one-entry
index, so pushing the layout again gives the same digest either way.

Manifests are walked first; then every blob they name is saved through
``FetchedImage.save_blobs``, several at once, each verified as it lands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from registry_image.api import (
    ImageError,
    ImageFormat,
    Manifest,
    MediaType,
    hookimpl,
)

if TYPE_CHECKING:
    from registry_image.api import BlobFile, Descriptor, FetchedImage

LAYOUT_DIR = "oci"
REF_NAME = "org.opencontainers.image.ref.name"
MAX_DEPTH = 3


class _Layout:
    """The blobs of one layout being written, each once: small ones at
    once, the others queued for ``save_pending``."""

    def __init__(self, root: Path, image: FetchedImage) -> None:
        self.root = root
        self.image = image
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True)
        self._written: set[str] = set()
        self._pending: list[BlobFile] = []

    def _path(self, digest: str) -> Path | None:
        algorithm, _, hex_ = digest.partition(":")
        if algorithm != "sha256":
            raise ImageError(f"blob {digest}: only sha256 digests can be stored in a layout")
        if digest in self._written:
            return None
        self._written.add(digest)
        return self.blobs / hex_

    def add_bytes(self, digest: str, content: bytes) -> None:
        path = self._path(digest)
        if path is not None:
            path.write_bytes(content)

    def add_blob(self, descriptor: Descriptor, label: str | None) -> None:
        # Imported here: every command loads this plugin, only a get fetches.
        from registry_image.api import BlobFile

        path = self._path(descriptor.digest)
        if path is not None:
            self._pending.append(BlobFile(descriptor, path, label))

    def save_pending(self) -> None:
        """Fetch the queued blobs into the layout."""
        self.image.save_blobs(self._pending)
        self._pending = []

    def add_manifest(self, manifest: Manifest, depth: int = 0) -> None:
        """A manifest and everything it references."""
        if depth > MAX_DEPTH:
            raise ImageError(f"image index {self.image.digest} nests indexes too deeply")
        self.add_bytes(manifest.digest, manifest.content)
        if manifest.is_index:
            for entry in manifest.index().manifests:
                self.add_manifest(self.image.get_manifest(entry), depth + 1)
            return
        parsed = manifest.image()
        if parsed.config.digest == self.image.config.digest:
            self.add_bytes(parsed.config.digest, self.image.config_bytes)  # verified already
        else:
            self.add_blob(parsed.config, None)
        count = len(parsed.layers)
        for position, layer in enumerate(parsed.layers, start=1):
            self.add_blob(layer, f"layer {position}/{count} ({layer.short})")


class OciLayoutFormat:
    """Writes ``oci/`` (an OCI image layout)."""

    name: ClassVar[str] = "oci-layout"

    def write(self, image: FetchedImage, dest: Path) -> None:
        root = dest / LAYOUT_DIR
        layout = _Layout(root, image)
        layout.add_manifest(image.manifest)
        layout.save_pending()
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        top = image.manifest
        index = {
            "schemaVersion": 2,
            "mediaType": MediaType.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": top.media_type,
                    "digest": top.digest,
                    "size": len(top.content),
                    # A version pinned by digest alone has no tag to name.
                    "annotations": {REF_NAME: image.tag} if image.tag else {},
                }
            ],
        }
        (root / "index.json").write_text(json.dumps(index, indent=2))
        if not top.is_index:
            (root / "single-image-digest").write_text(top.digest)


@hookimpl
def registry_image_register_formats() -> list[type[ImageFormat]]:
    return [OciLayoutFormat]
