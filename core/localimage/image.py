"""An image on disk, described for ``out``: its manifests and its blobs.

Readers (``ocilayout``, ``dockersave``) turn a path into a ``LocalImage``;
``registry.push`` sends it. Manifests are small and held as bytes; blob content is
opened lazily, at any offset, from a file or a tar member, so a layer is
never held in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import BinaryIO

import attrs

from ..oci import Manifest, MediaType

#: Opens a blob's bytes, positioned ``offset`` bytes in; the caller closes it.
Opener = Callable[[int], BinaryIO]


@attrs.frozen
class Blob:
    """A config or layer blob. ``opener`` is None for a foreign
    (non-distributable) layer, which is never uploaded."""

    digest: str
    size: int
    media_type: str
    opener: Opener | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def foreign(self) -> bool:
        return MediaType(self.media_type).is_foreign

    def open(self, offset: int = 0) -> BinaryIO:
        if self.opener is None:
            raise ValueError(f"blob {self.digest} has no local content")
        return self.opener(offset)


@attrs.frozen
class LocalImage:
    """What ``out`` pushes: ``root`` is the manifest or index that is tagged;
    ``manifests`` lists every manifest to upload, children before the index
    naming them and ``root`` last; ``blobs`` every config and layer, once.

    ``origins`` are repositories (``host/path``) the image says it came from
    (``docker save`` repo tags, ``org.opencontainers.image.base.name``):
    candidates for cross-repository mounts. ``resources`` releases temporary
    files (``close()``)."""

    root: Manifest
    manifests: tuple[Manifest, ...]
    blobs: tuple[Blob, ...]
    origins: tuple[str, ...] = ()
    resources: ExitStack = attrs.field(factory=ExitStack, eq=False, repr=False)

    @property
    def digest(self) -> str:
        return self.root.digest

    def close(self) -> None:
        self.resources.close()

    def __enter__(self) -> LocalImage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
