"""The requests Concourse sends on stdin and the responses we print on stdout.

Field names are exactly those of the Go registry-image resource, so every
pipeline written for it works unchanged. All models are frozen; defaults and
environment are applied to the plain dict before structuring (see
``converter.py``), never by mutating an instance.

``source`` and versions are here; ``in``'s and ``out``'s own params,
requests and responses are in :mod:`.steps` (also importable from here):
a check, which runs every minute, does not build their classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NewType, TypeVar

import attrs

from .oci import Platform

if TYPE_CHECKING:
    from .steps import (
        GetLimits,
        GetParams,
        InRequest,
        MetadataField,
        OutRequest,
        PutParams,
        VersionResponse,
    )

__all__ = [  # Platform: source.platform and params.platform; the rest: .steps
    "GetLimits",
    "GetParams",
    "InRequest",
    "MetadataField",
    "OutRequest",
    "Platform",
    "PutParams",
    "VersionResponse",
]

_IN_STEPS = frozenset(__all__) - {"Platform"}

NOT_FROM_JSON = "registry_image.not_from_json"
"""Field metadata key: a field filled from plugins' declared keys, never
read from JSON under its own name."""

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
    extensions: Mapping[type, Any] = attrs.field(
        factory=dict, eq=False, repr=False, metadata={NOT_FROM_JSON: True}
    )
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


def __getattr__(name: str) -> Any:
    if name in _IN_STEPS:
        from . import steps

        return getattr(steps, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
