"""A third-party plugin, as someone outside the project would write it: a
format that writes the image's digest and manifest, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from registry_image.core import hookimpl


class ManifestOnly:
    name: ClassVar[str] = "manifest-only"

    def write(self, image: Any, dest: Path) -> None:
        (dest / "manifest.json").write_bytes(image.manifest.content)


@hookimpl
def registry_image_register_formats() -> list[type]:
    return [ManifestOnly]
