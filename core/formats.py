"""What format plugins implement: writing a fetched image into ``DEST``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from .fetch import FetchedImage


class ImageFormat(Protocol):
    """Writes one fetched image, in one on-disk shape, into a directory.

    ``name`` is the value of ``params.format`` that selects it. ``write`` is
    given a staging directory that is renamed into place only when every
    format step succeeded, so it may fail half-way without leaving anything
    that looks complete.
    """

    name: ClassVar[str]

    def write(self, image: FetchedImage, dest: Path) -> None:
        """Write ``image`` into ``dest`` (an empty staging directory)."""
