"""The params, requests and responses of ``in`` and ``out`` (``get`` and
``put`` steps), apart from :mod:`.models` so that a check does not build
their classes. Field names are exactly those of the Go resource."""

from __future__ import annotations

from typing import Any

import attrs

from .models import NOT_FROM_JSON, Platform, Source, Version


@attrs.frozen
class GetLimits:
    """``params.limits`` of a ``get`` step: raise the unpack caps (not in the
    Go resource, which has none; the defaults fit every real image)."""

    unpacked_bytes: int | None = None
    entries: int | None = None


@attrs.frozen
class GetParams:
    """``params:`` of a ``get`` step."""

    format: str = "rootfs"
    skip_download: bool = False
    platform: Platform | None = None
    limits: GetLimits | None = None
    format_params: Any = attrs.field(default=None, eq=False, metadata={NOT_FROM_JSON: True})
    """The selected format's own params (its ``params_type`` instance); never
    read from JSON under this name."""


@attrs.frozen
class InRequest:
    source: Source
    version: Version
    params: GetParams = GetParams()


@attrs.frozen
class PutParams:
    """``params:`` of a ``put`` step."""

    image: str
    version: str | None = None
    bump_aliases: bool = False
    additional_tags: str | None = None
    tag_prefix: str | None = None


@attrs.frozen
class OutRequest:
    source: Source
    params: PutParams


@attrs.frozen
class MetadataField:
    name: str
    value: str


@attrs.frozen
class VersionResponse:
    """What ``in`` and ``out`` print: the version and its metadata."""

    version: Version
    metadata: tuple[MetadataField, ...] = ()
