"""The ``oci`` format: ``image.tar`` as ``docker save`` writes it, which
``docker load`` and ``skopeo ... docker-archive:`` read, plus ``labels.json``.

Members, in the order and with the names the Go resource (go-containerregistry)
uses: the config as ``sha256:<hex>``; each layer blob exactly as pushed
(still compressed), once, as ``<hex>.tar.gz`` (``.tar.zst`` for zstd,
``.tar`` for uncompressed media types); ``manifest.json`` last, naming the
fully qualified ``registry/repository:tag``.

Every member's size is known from the manifest, so the archive is laid out
first (headers, the config, ``manifest.json``, the end-of-archive blocks,
each layer's data a region of its exact size) and the layer blobs are then
downloaded straight into their regions, several at once
(``FetchedImage.save_blobs``), each verified as it lands: nothing is held in
memory or copied twice. The bytes are those ``tarfile`` writes, member by
member.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from registry_image.api import ImageFormat, hookimpl
from registry_image.core.reference import parse_repository

from .files import write_labels

if TYPE_CHECKING:
    from registry_image.api import BlobFile, Descriptor, FetchedImage

ARCHIVE_NAME = "image.tar"


def layer_file_name(layer: Descriptor) -> str:
    """``<hex>.tar.zst`` / ``.tar`` / ``.tar.gz`` by the layer's media type."""
    media_type: str = layer.media_type
    if media_type.endswith("zstd"):
        suffix = ".tar.zst"
    elif media_type.endswith(".tar"):
        suffix = ".tar"
    else:
        suffix = ".tar.gz"
    return layer.digest.hex + suffix


def repo_tag(image: FetchedImage) -> str:
    """``registry/repository:tag``, fully qualified as ``docker load`` shows it."""
    return f"{parse_repository(image.repository).name}:{image.tag}"


class OciFormat:
    """Writes ``image.tar`` (docker-save form) and ``labels.json``."""

    name: ClassVar[str] = "oci"

    def write(self, image: FetchedImage, dest: Path) -> None:
        # Imported here: every command loads this plugin, only a get writes.
        from registry_image.api import BlobFile, LayerRef

        from .tarlayout import TarLayout

        config_name = image.config.digest
        layer_names = [layer_file_name(layer) for layer in image.layers]
        manifest = [
            {
                "Config": config_name,
                # A version pinned by digest alone has no tag to name.
                "RepoTags": [repo_tag(image)] if image.tag else [],
                "Layers": layer_names,
            }
        ]
        path = dest / ARCHIVE_NAME
        blobs: list[BlobFile] = []
        with path.open("wb") as out:
            archive = TarLayout(out)
            archive.add(config_name, image.config_bytes)
            written: set[str] = set()
            count = len(image.layers)
            for position, (layer, name) in enumerate(zip(image.layers, layer_names, strict=True)):
                if name in written:  # the same blob twice in one image
                    continue
                written.add(name)
                offset = archive.reserve(name, layer.size)
                label = LayerRef(position + 1, count, layer).label
                blobs.append(BlobFile(layer, path, label, offset=offset))
            archive.add("manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
            archive.close()
        image.save_blobs(blobs)
        write_labels(image, dest)


@hookimpl
def registry_image_register_formats() -> list[type[ImageFormat]]:
    return [OciFormat]
