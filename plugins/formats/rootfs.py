"""The ``rootfs`` format (the default): the image's layers applied in order
under ``rootfs/``, plus ``metadata.json`` and ``labels.json``.

``metadata.json`` holds the config's ``cmd``, ``entrypoint`` and ``env``
(null when the config has none) and ``user`` (a string, empty when none), as
the Go resource writes them: what Concourse needs to run a task in the image.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from registry_image.core import hookimpl
from registry_image.core.formats import ImageFormat

from .files import go_json, write_labels

if TYPE_CHECKING:
    from registry_image.core.fetch import FetchedImage

log = logging.getLogger(__name__)


class RootfsFormat:
    """Unpacks the image into ``rootfs/``."""

    name: ClassVar[str] = "rootfs"

    def write(self, image: FetchedImage, dest: Path) -> None:
        # Imported here: every command loads this plugin, only a get unpacks.
        from registry_image.core.unpack import Unpacker, apply_layer

        rootfs = dest / "rootfs"
        rootfs.mkdir()
        with Unpacker(rootfs) as unpacker:
            for layer, opened in image.layer_streams():
                started = time.monotonic()
                with opened as stream:
                    stats = apply_layer(unpacker, stream, layer.label)
                log.debug(
                    "%s: %d entries, %d bytes of files, %d whiteouts in %.2fs",
                    layer.label,
                    stats.entries,
                    stats.bytes_written,
                    stats.whiteouts,
                    time.monotonic() - started,
                )
            unpacker.finish()
        (dest / "metadata.json").write_text(go_json(metadata_of(image)), encoding="utf-8")
        write_labels(image, dest)


def metadata_of(image: FetchedImage) -> dict[str, object]:
    """The ``metadata.json`` document of ``image``."""
    # Here, not at the top: every command loads this plugin, only ``in`` reads documents.
    from registry_image.core.oci.documents import RuntimeConfig

    runtime = image.config_document.config or RuntimeConfig()
    return {
        "cmd": _list_or_none(runtime.cmd),
        "entrypoint": _list_or_none(runtime.entrypoint),
        "env": _list_or_none(runtime.env),
        "user": runtime.user or "",
    }


def _list_or_none(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


@hookimpl
def registry_image_register_formats() -> list[type[ImageFormat]]:
    return [RootfsFormat]
