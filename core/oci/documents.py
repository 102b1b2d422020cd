"""OCI documents, typed: descriptors, image manifests, indexes and configs.

Read through a private cattrs converter: unknown keys are allowed (the specs
allow extensions), but every field we use is type-checked, sizes are bounded,
digests validated, and an error names the field path, e.g. ``manifest
sha256:0123…: layers[2].size: expected a non-negative integer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

import attrs
import cattrs
from cattrs.errors import IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ..errors import ImageError
from . import MAX_SIZE, Digest, MediaType, Platform, parse_json

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
    # Built on first use: its structure functions are generated code.
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


def parse_config(content: bytes, digest: str) -> ImageConfig:
    """An image config blob, typed; ``ImageError`` naming the bad field."""
    document = parse_json(content, f"image config {digest}")
    config: ImageConfig = structure(document, ImageConfig, f"image config {digest}")
    return config
