"""The ``oci`` format: ``image.tar`` as ``docker save`` writes it, which
``docker load`` and ``skopeo ... docker-archive:`` read, plus ``labels.json``.

Members, in the order and with the names the Go resource (go-containerregistry)
uses: the config as ``sha256:<hex>``; each layer blob exactly as pushed
(still compressed), once, as ``<hex>.tar.gz`` (``.tar.zst`` for zstd,
``.tar`` for uncompressed media types); ``manifest.json`` last, naming the
fully qualified ``registry/repository:tag``. Blobs are streamed from the
registry into the tar and verified on the way: nothing is held in memory or
copied twice.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import ClassVar

from registry_image.core import hookimpl
from registry_image.core.fetch import BlobDescriptor, FetchedImage
from registry_image.core.formats import ImageFormat
from registry_image.core.reference import parse_repository
from registry_image.core.unpack import LayerFormatError

from .files import write_labels

ARCHIVE_NAME = "image.tar"


def layer_file_name(layer: BlobDescriptor) -> str:
    """``<hex>.tar.zst`` / ``.tar`` / ``.tar.gz`` by the layer's media type."""
    media_type = layer.media_type
    if media_type.endswith("zstd"):
        suffix = ".tar.zst"
    elif media_type.endswith(".tar"):
        suffix = ".tar"
    else:
        suffix = ".tar.gz"
    return layer.hex + suffix


def repo_tag(image: FetchedImage) -> str:
    """``registry/repository:tag``, fully qualified as ``docker load`` shows it."""
    return f"{parse_repository(image.repository).name}:{image.tag}"


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    return info


class OciFormat:
    """Writes ``image.tar`` (docker-save form) and ``labels.json``."""

    name: ClassVar[str] = "oci"

    def write(self, image: FetchedImage, dest: Path) -> None:
        config_name = image.config.digest
        layer_names = [layer_file_name(layer) for layer in image.layers]
        manifest = [
            {
                "Config": config_name,
                "RepoTags": [repo_tag(image)],
                "Layers": layer_names,
            }
        ]
        with tarfile.open(dest / ARCHIVE_NAME, "w", format=tarfile.PAX_FORMAT) as archive:
            archive.addfile(
                _member(config_name, len(image.config_bytes)), io.BytesIO(image.config_bytes)
            )
            written: set[str] = set()
            for (layer, opened), name in zip(image.layer_streams(), layer_names, strict=True):
                if name in written:  # the same blob twice in one image
                    continue
                written.add(name)
                with opened as stream:
                    try:
                        archive.addfile(_member(name, layer.descriptor.size), stream)
                    except OSError:  # tarfile: the stream ended before ``size`` bytes
                        raise LayerFormatError(f"{layer.label}: the blob ends early") from None
            manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
            archive.addfile(
                _member("manifest.json", len(manifest_bytes)), io.BytesIO(manifest_bytes)
            )
        write_labels(image, dest)


@hookimpl
def registry_image_register_formats() -> list[type[ImageFormat]]:
    return [OciFormat]
