"""The OCI model: digests, media types, platforms, and manifests as stored.

Every manifest, index and config the resource reads (from a registry, an OCI
layout or a docker-save tarball) goes through here: ``Manifest`` keeps the
exact bytes its digest was computed over, and ``Manifest.parse()`` gives the
typed document (``documents``: descriptors, image manifests, indexes and
configs, read through a strict cattrs converter).

``documents`` is imported on first use: its attrs classes and generated
structure functions cost a fresh process milliseconds, and a tag-mode
``check``, which only HEADs a manifest, never reads a document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import attrs

from ..errors import ImageError

if TYPE_CHECKING:
    from .documents import ImageIndex, ImageManifest

# -- digests ---------------------------------------------------------------------

_HEX_LENGTH: Final = {"sha256": 64, "sha512": 128}
_DIGEST = re.compile(r"(sha256|sha512):([a-f0-9]+)")


class Digest(str):
    """A validated ``algorithm:hex`` digest (sha256 or sha512). A ``str``, so
    it compares, hashes and formats as the text it is; the hex part is safe as
    a file name (``blobs/sha256/<hex>``)."""

    __slots__ = ()

    def __new__(cls, text: str) -> Digest:
        if isinstance(text, Digest):
            return text
        match = _DIGEST.fullmatch(text) if isinstance(text, str) else None
        if not match or len(match.group(2)) != _HEX_LENGTH[match.group(1)]:
            raise ImageError(f"invalid digest {text!r}: expected sha256:<64 hex digits>")
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, text: str) -> Digest:
        """``Digest(text)``: ``ImageError`` unless ``text`` is a valid digest."""
        return cls(text)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data``."""
        return cls(f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}")

    @property
    def algorithm(self) -> str:
        return self.partition(":")[0]

    @property
    def hex(self) -> str:
        return self.partition(":")[2]

    @property
    def short(self) -> str:
        """The algorithm and 12 hex digits, for messages."""
        return self[: len(self.algorithm) + 13]

    def hasher(self) -> hashlib._Hash:
        """A new hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)


def is_digest(text: str) -> bool:
    """Whether ``text`` is a valid digest (a tag never is: tags have no ``:``)."""
    try:
        Digest(text)
    except ImageError:
        return False
    return True


# -- media types ------------------------------------------------------------------


class MediaType(str):
    """A media type, with what the resource needs to know about it."""

    __slots__ = ()

    DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
    DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_CONFIG: Final = "application/vnd.docker.container.image.v1+json"
    DOCKER_LAYER_GZIP: Final = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    DOCKER_FOREIGN_LAYER: Final = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
    OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
    OCI_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
    OCI_LAYER: Final = "application/vnd.oci.image.layer.v1.tar"
    OCI_LAYER_GZIP: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
    OCI_LAYER_ZSTD: Final = "application/vnd.oci.image.layer.v1.tar+zstd"

    @property
    def is_index(self) -> bool:
        """An OCI image index or a Docker manifest list."""
        return self in (MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST)

    @property
    def is_manifest(self) -> bool:
        """An OCI or Docker schema 2 image manifest."""
        return self in (MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST)

    @property
    def is_layer(self) -> bool:
        """A filesystem layer (any compression, distributable or not)."""
        return self.startswith(
            ("application/vnd.oci.image.layer.", "application/vnd.docker.image.rootfs.")
        )

    @property
    def is_foreign(self) -> bool:
        """A non-distributable layer, never uploaded."""
        return self == MediaType.DOCKER_FOREIGN_LAYER or self.startswith(
            "application/vnd.oci.image.layer.nondistributable."
        )

    @property
    def compression(self) -> str | None:
        """``"gzip"``, ``"zstd"`` or None (plain tar) for a layer, from its
        suffix; callers sniff the bytes when the type says nothing."""
        if self.endswith(("+gzip", ".tar.gzip")):
            return "gzip"
        if self.endswith("+zstd"):
            return "zstd"
        return None


IMAGE_MANIFESTS: Final = frozenset({MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST})
INDEXES: Final = frozenset({MediaType.DOCKER_MANIFEST_LIST, MediaType.OCI_INDEX})
MANIFESTS: Final = IMAGE_MANIFESTS | INDEXES
#: Sent on every manifest request: we understand all four, preferring none.
MANIFEST_ACCEPT: Final = ", ".join(
    [MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST, MediaType.OCI_MANIFEST,
     MediaType.DOCKER_MANIFEST]
)  # fmt: skip

#: Sizes above this are refused when parsed (Go's int64; no blob is that big).
MAX_SIZE: Final = 2**63 - 1


# -- platforms ------------------------------------------------------------------------


def _normal_variant(architecture: str | None, variant: str | None) -> str | None:
    """Variants that mean the same: arm64 is v8, arm is v7 unless it says."""
    if architecture == "arm64" and variant in (None, "", "v8"):
        return "v8"
    if architecture == "arm" and not variant:
        return "v7"
    return variant or None


@attrs.frozen
class Platform:
    """An image's platform (in an index entry or a config), or the platform
    ``source``/``params`` ask for."""

    os: str | None = None
    architecture: str | None = None
    variant: str | None = None

    def matches(self, wanted: Platform) -> bool:
        """Same os and architecture; same variant when ``wanted`` names one."""
        if self.os != wanted.os or self.architecture != wanted.architecture:
            return False
        if not wanted.variant:
            return True
        return _normal_variant(self.architecture, self.variant) == _normal_variant(
            wanted.architecture, wanted.variant
        )

    def __str__(self) -> str:
        """``os/architecture[/variant]``, e.g. ``linux/arm/v7``."""
        parts = [self.os or "unknown", self.architecture or "unknown"]
        if self.variant:
            parts.append(self.variant)
        return "/".join(parts)


def parse_json(content: bytes, what: str) -> dict[str, Any]:
    """A JSON object from bytes; ``ImageError`` naming ``what`` otherwise."""
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        raise ImageError(f"{what} is not valid JSON") from None
    if not isinstance(document, dict):
        raise ImageError(f"{what} is not a JSON object")
    return document


# -- manifests as bytes -----------------------------------------------------------------


def media_type_of(document: Mapping[str, Any], declared: str | None = None) -> MediaType:
    """A manifest's media type: its own ``mediaType``, else the one it was
    declared with (a header, a descriptor), else guessed from its shape."""
    own = document.get("mediaType")
    if isinstance(own, str) and own:
        return MediaType(own)
    if declared:
        return MediaType(declared)
    return MediaType(MediaType.OCI_INDEX if "manifests" in document else MediaType.OCI_MANIFEST)


@attrs.frozen
class Manifest:
    """A manifest or index as stored: its exact bytes, the digest they hash
    to, and its media type. ``parse()`` gives the typed document."""

    media_type: MediaType = attrs.field(converter=MediaType)
    digest: Digest = attrs.field(converter=Digest)
    content: bytes = attrs.field(repr=False)

    @classmethod
    def of(cls, content: bytes, media_type: str | None = None) -> Manifest:
        """A manifest from its bytes; the media type is read from the
        document when not given."""
        if not media_type:
            media_type = media_type_of(parse_json(content, "manifest"))
        return cls(MediaType(media_type), Digest.of(content), content)

    @property
    def is_index(self) -> bool:
        return self.media_type.is_index

    @property
    def document(self) -> dict[str, Any]:
        """The JSON object."""
        return self._document

    @cached_property
    def _document(self) -> dict[str, Any]:
        return parse_json(self.content, f"manifest {self.digest}")

    def parse(self) -> ImageManifest | ImageIndex:
        """The typed document: an index for index media types, else an image
        manifest (``ImageError`` when the media type is neither)."""
        if self.is_index:
            return self.index()
        return self.image()

    def index(self) -> ImageIndex:
        """The document as an index; ``ImageError`` when it is not one."""
        if not self.is_index:
            raise ImageError(f"manifest {self.digest} ({self.media_type}) is not an index")
        from .documents import ImageIndex, structure

        index: ImageIndex = structure(self.document, ImageIndex, f"index {self.digest}")
        return index

    def image(self) -> ImageManifest:
        """The document as an image manifest; ``ImageError`` otherwise."""
        if not self.media_type.is_manifest:
            raise ImageError(
                f"manifest {self.digest} has the unsupported media type "
                f"{self.media_type!r} (expected an OCI or Docker schema 2 image)"
            )
        from .documents import ImageManifest, structure

        image: ImageManifest = structure(self.document, ImageManifest, f"manifest {self.digest}")
        return image
