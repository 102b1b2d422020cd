"""What format plugins implement: writing a fetched image into ``DEST``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from .fetch import FetchedImage


class ImageFormat(Protocol):
    """Writes one fetched image, in one on-disk shape, into a directory.

    ``name`` is the value of ``params.format`` that selects it. ``write`` is
    given a staging directory that is renamed into place only when every
    format step succeeded, so it may fail half-way without leaving anything
    that looks complete.

    ``params_type`` (optional) is an attrs class of the ``params`` keys the
    format owns besides the core's (``format``, ``skip_download``,
    ``platform``...); the format is then constructed with the validated
    instance, otherwise with no argument. Unknown keys are still an error.
    """

    name: ClassVar[str]

    def write(self, image: FetchedImage, dest: Path) -> None:
        """Write ``image`` into ``dest`` (an empty staging directory)."""


def format_params_type(format_class: type[ImageFormat]) -> type | None:
    """The format's own params class, if it declares one."""
    declared: type | None = getattr(format_class, "params_type", None)
    return declared


def new_format(format_class: type[ImageFormat], params: Any | None) -> ImageFormat:
    """An instance of ``format_class``, given its params when it declares them."""
    if format_params_type(format_class) is None:
        return format_class()
    return format_class(params)  # type: ignore[call-arg]
