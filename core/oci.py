"""The typed OCI model: digests, media types, descriptors, manifests,
indexes, image configs and platforms.

Every manifest, index and config the resource reads (from a registry, an OCI
layout or a docker-save tarball) goes through here: ``Manifest`` keeps the
exact bytes its digest was computed over, and ``Manifest.parse()`` gives the
typed document. Documents are read through a private cattrs converter:
unknown keys are allowed (the specs allow extensions), but every field we use
is type-checked, sizes are bounded, digests validated, and an error names the
field path, e.g. ``manifest sha256:0123…: layers[2].size: expected a
non-negative integer``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import cache, cached_property
from typing import Any, Final

import attrs
import cattrs
from cattrs.errors import IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import ImageError

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


# -- descriptors and documents ------------------------------------------------------------


def _size(_: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if not 0 <= value <= MAX_SIZE:
        raise ValueError(f"{attribute.name}: expected a non-negative integer")


_NO_MEDIA_TYPE: Final = MediaType("")


@attrs.frozen(kw_only=True)
class Descriptor:
    """A content descriptor: what a manifest or index says about a blob.
    (``mediaType`` is required by the spec; images in the wild leave it out,
    and go-containerregistry reads them, so it defaults to empty.)"""

    media_type: MediaType = _NO_MEDIA_TYPE
    digest: Digest
    size: int = attrs.field(validator=_size)
    platform: Platform | None = None
    annotations: Mapping[str, str] = attrs.field(factory=dict, eq=False, hash=False)
    urls: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        """The digest's algorithm and 12 hex digits, for messages."""
        return self.digest.short


@attrs.frozen
class ImageManifest:
    """An OCI or Docker schema 2 image manifest."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    schema_version: int = 2
    media_type: MediaType | None = None
    annotations: Mapping[str, str] = attrs.field(factory=dict, eq=False, hash=False)
    subject: Descriptor | None = None


@attrs.frozen
class ImageIndex:
    """An OCI image index or a Docker manifest list."""

    manifests: tuple[Descriptor, ...]
    schema_version: int = 2
    media_type: MediaType | None = None
    annotations: Mapping[str, str] = attrs.field(factory=dict, eq=False, hash=False)


@attrs.frozen
class RuntimeConfig:
    """The part of an image config a container starts with; only what the
    resource reads is typed, the rest is kept in the raw bytes."""

    labels: Mapping[str, str] | None = None
    env: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    user: str | None = None


@attrs.frozen
class ImageConfig:
    """An image config blob, as far as the resource reads it."""

    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    created: str | None = None
    config: RuntimeConfig | None = None

    @property
    def labels(self) -> dict[str, str]:
        """The image's labels; empty when it has none."""
        return dict(self.config.labels or {}) if self.config else {}


# -- the converter for OCI JSON ------------------------------------------------------


class _Invalid(ValueError):
    """A value of the wrong type in an OCI document; its message is shown."""


def _strict(kind: type, description: str) -> Any:
    def structure(value: Any, _: type) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _Invalid(f"expected {description}")
        return value

    return structure


def _structure_str_mapping(value: Any, _: type) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _Invalid("expected an object of strings")
    return dict(value)


def _structure_size(value: Any, _: type) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SIZE:
        raise _Invalid("expected a non-negative integer")
    return value


def _structure_digest(value: Any, _: type) -> Digest:
    if not isinstance(value, str):
        raise _Invalid("expected a digest string")
    try:
        return Digest(value)
    except ImageError:
        raise _Invalid("expected sha256:<64 hex digits>") from None


#: Field names that differ from their JSON keys.
_JSON_NAMES: Final = {
    "media_type": "mediaType",
    "schema_version": "schemaVersion",
    "labels": "Labels",
    "env": "Env",
    "cmd": "Cmd",
    "entrypoint": "Entrypoint",
    "user": "User",
}


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(
        MediaType, lambda v, _: MediaType(_strict(str, "a string")(v, _))
    )
    converter.register_structure_hook(Digest, _structure_digest)
    converter.register_structure_hook_func(lambda t: t == Mapping[str, str], _structure_str_mapping)
    converter.register_structure_hook_func(
        lambda t: t == tuple[str, ...],
        lambda v, _: tuple(_strict(str, "a string")(x, _) for x in _strict(list, "a list")(v, _)),
    )

    def descriptors(value: Any, type_: type) -> tuple[Descriptor, ...]:
        found, errors = [], []
        for index, item in enumerate(_strict(list, "a list")(value, type_)):
            try:
                found.append(converter.structure(item, Descriptor))
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"@ index {index}", index, Descriptor),
                ]
                errors.append(exc)
        if errors:
            raise cattrs.IterableValidationError("invalid descriptors", errors, type_)
        return tuple(found)

    converter.register_structure_hook_func(lambda t: t == tuple[Descriptor, ...], descriptors)
    for model in (Descriptor, ImageManifest, ImageIndex, Platform, ImageConfig, RuntimeConfig):
        overrides = {
            field.name: override(rename=_JSON_NAMES[field.name])
            for field in attrs.fields(model)
            if field.name in _JSON_NAMES
        }
        if model is Descriptor:
            overrides["size"] = override(struct_hook=_structure_size)
        converter.register_structure_hook(
            model,
            make_dict_structure_fn(model, converter, **overrides),  # type: ignore[arg-type]
        )
        converter.register_unstructure_hook(
            model,
            make_dict_unstructure_fn(
                model,
                converter,
                _cattrs_omit_if_default=True,
                **overrides,  # type: ignore[arg-type]
            ),
        )
    return converter


@cache
def _converter() -> cattrs.Converter:
    # Built on first use: its structure functions are generated code, and a
    # tag-mode check, which only HEADs a manifest, never needs them.
    return _make_converter()


def _format_error(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, _Invalid):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, AttributeError | TypeError):
        return "expected an object"
    return cattrs.v.format_exception(exc, type_)


def _describe(exc: Exception) -> str:
    lines = cattrs.transform_error(exc, path="$", format_exception=_format_error)
    described = []
    for line in lines:
        message, _, path = line.rpartition(" @ ")
        path = path.removeprefix("$").lstrip(".") or "document"
        path = ".".join(
            _JSON_NAMES.get(name.partition("[")[0], name.partition("[")[0])
            + "".join(name.partition("[")[1:])
            for name in path.split(".")
        )
        described.append(f"{path}: {message}")
    return "; ".join(described)


def structure(data: Any, model: type[Any], what: str) -> Any:
    """``model`` read from parsed JSON; ``ImageError`` naming ``what`` and
    the field path of each problem."""
    if not isinstance(data, dict):
        raise ImageError(f"{what} is not a JSON object")
    try:
        return _converter().structure(data, model)
    except Exception as exc:
        raise ImageError(f"{what}: {_describe(exc)}") from None


def unstructure(instance: Any) -> Any:
    """Plain JSON data for a model (fields left at their defaults omitted)."""
    return _converter().unstructure(instance)


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
        index: ImageIndex = structure(self.document, ImageIndex, f"index {self.digest}")
        return index

    def image(self) -> ImageManifest:
        """The document as an image manifest; ``ImageError`` otherwise."""
        if not self.media_type.is_manifest:
            raise ImageError(
                f"manifest {self.digest} has the unsupported media type "
                f"{self.media_type!r} (expected an OCI or Docker schema 2 image)"
            )
        image: ImageManifest = structure(self.document, ImageManifest, f"manifest {self.digest}")
        return image


def parse_config(content: bytes, digest: str) -> ImageConfig:
    """An image config blob, typed; ``ImageError`` naming the bad field."""
    document = parse_json(content, f"image config {digest}")
    config: ImageConfig = structure(document, ImageConfig, f"image config {digest}")
    return config
