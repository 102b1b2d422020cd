"""The requests Concourse sends on stdin and the responses we print on stdout.

Field names are exactly those of the Go registry-image resource, so every
pipeline written for it works unchanged. All models are frozen; defaults and
environment are applied to the plain dict before structuring (see
``converter.py``), never by mutating an instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NewType, TypeVar

import attrs

from .oci import Platform

__all__ = ["Platform"]  # re-exported: source.platform and params.platform

T = TypeVar("T")

# A tag may be given as a JSON number (``tag: 42.1`` means ``"42.1"``); the
# converter has a hook for this type that accepts numbers and keeps their text.
Tag = NewType("Tag", str)


def _secret() -> str | None:
    return attrs.field(default=None, repr=False)  # type: ignore[no-any-return]


@attrs.frozen
class RegistryMirror:
    """A pull-through mirror for Docker Hub repositories."""

    host: str
    username: str | None = None
    password: str | None = _secret()


@attrs.frozen
class ContentTrust:
    """Notary v1 signing settings. Accepted so pipelines parse; Notary v1 is
    dead upstream, so ``out`` pushes unsigned and says so (the Go resource
    also treats a signing failure as a warning, not an error)."""

    server: str | None = None
    repository_key_id: str | None = None
    repository_key: str | None = _secret()
    repository_passphrase: str | None = _secret()
    tls_key: str | None = _secret()
    tls_cert: str | None = None
    scopes: str | None = None
    username: str | None = None
    password: str | None = _secret()


@attrs.frozen
class Source:
    """``source:`` of the resource."""

    repository: str
    tag: Tag | None = None
    username: str | None = None
    password: str | None = _secret()
    insecure: bool = False
    ca_certs: tuple[str, ...] = ()
    registry_mirror: RegistryMirror | None = None
    platform: Platform | None = None
    tag_regex: str | None = None
    created_at_sort: bool = False
    semver_constraint: str | None = None
    variant: str | None = None
    pre_releases: bool = False
    pre_release_prefixes: tuple[str, ...] = ()
    label_regex: str | None = None
    annotation_regex: str | None = None
    content_trust: ContentTrust | None = None
    debug: bool = False
    extensions: Mapping[type, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """The values of keys plugins own, by their declaring class (never read
    from JSON under this name; see ``extension``)."""

    def extension(self, fields_class: type[T]) -> T:
        """The values of the ``source`` keys declared by ``fields_class`` (a
        plugin's ``registry_image_source_fields``); its defaults when the
        class was not registered."""
        found = self.extensions.get(fields_class)
        return found if found is not None else fields_class()


@attrs.frozen
class Version:
    """One version of the resource: a tag and the manifest digest it named.

    A version with only a digest (how a task's ``image:`` pins an image) has
    the tag ``""``, as in the Go resource."""

    tag: Tag = Tag("")
    digest: str = attrs.field(kw_only=True)
    """Any text in a ``check`` cursor (as upstream); ``in`` refuses one that
    is not a digest."""


@attrs.frozen
class CheckRequest:
    source: Source
    version: Version | None = None


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
    format_params: Any = attrs.field(default=None, eq=False)
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
