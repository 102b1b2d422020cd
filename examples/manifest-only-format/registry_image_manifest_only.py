"""A format plugin: ``params.format: manifest-only`` writes the manifest the
version names, byte for byte, and nothing else. ``params.manifest_file``
(its own param) names the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import attrs
from registry_image.api import ConfigError, hookimpl

if TYPE_CHECKING:
    # Only for the annotation: importing FetchedImage loads what ``in``
    # fetches with, which every ``check`` would then pay for too.
    from registry_image.api import FetchedImage


@attrs.frozen
class ManifestOnlyParams:
    manifest_file: str = "manifest.json"


class ManifestOnly:
    name: ClassVar[str] = "manifest-only"
    params_type: ClassVar[type] = ManifestOnlyParams

    def __init__(self, params: ManifestOnlyParams = ManifestOnlyParams()) -> None:
        if "/" in params.manifest_file or params.manifest_file in ("", ".", ".."):
            raise ConfigError("params.manifest_file: expected a plain file name")
        self.params = params

    def write(self, image: FetchedImage, dest: Path) -> None:
        # dest is an empty staging directory, renamed into place on success.
        (dest / self.params.manifest_file).write_bytes(image.manifest.content)


@hookimpl
def registry_image_register_formats() -> list[type]:
    return [ManifestOnly]
