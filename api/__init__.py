"""The public API for plugin authors: everything a plugin needs, and the only
module a plugin should import (as pytest plugins import ``pytest``, never
``_pytest``). Everything under ``registry_image.core`` is internal and may
change without notice; the names here change only with a major version.

What is here, by kind of plugin:

- all: ``hookimpl``; the errors (``ResourceError`` and its subclasses);
  ``Source`` (``source.extension(YourFields)`` reads the keys you declared).
- credentials and challenge answerers: ``Credentials``, ``Challenge``,
  ``Scope``, ``Authenticator``, ``find_challenge``, ``may_send_credentials``.
- transports and wrappers: ``Transport``, ``Response``, ``TransportSettings``,
  ``RetryPolicy``, ``Body``, ``TransportWrapper``, ``TransportError``,
  ``StreamError``, ``read_bounded``; ``WrappingTransport`` and
  ``ClosingResponse``, bases that spare a wrapper the boilerplate.
- formats: ``ImageFormat``, ``FetchedImage``, ``BlobFile``, ``LayerRef``,
  ``Readable``, and the OCI model: ``Digest``, ``MediaType``,
  ``Descriptor``, ``Manifest``, ``ImageManifest``, ``ImageIndex``,
  ``ImageConfig``, ``Platform``.

The hooks themselves are documented in ``registry_image.api.hookspecs``.
Names needed only by formats are imported on first use, so a credentials or
transport plugin loads nothing of the fetch machinery or the typed OCI
documents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registry_image.core import hookspecs
from registry_image.core.auth import (
    Authenticator,
    Challenge,
    Credentials,
    Scope,
    find_challenge,
    may_send_credentials,
)
from registry_image.core.errors import (
    AuthError,
    ConfigError,
    DigestMismatchError,
    ImageError,
    NotFoundError,
    PluginError,
    RegistryError,
    ResourceError,
    StreamError,
    TransportError,
    UnsafeLayerError,
)
from registry_image.core.formats import ImageFormat
from registry_image.core.markers import hookimpl
from registry_image.core.models import Source
from registry_image.core.oci import Digest, Manifest, MediaType, Platform
from registry_image.core.transport import (
    Body,
    ClosingResponse,
    Response,
    RetryPolicy,
    Transport,
    TransportSettings,
    TransportWrapper,
    WrappingTransport,
)
from registry_image.core.transport.body import read_bounded

if TYPE_CHECKING:
    from registry_image.core.fetch import BlobFile, FetchedImage, LayerRef, Readable
    from registry_image.core.oci.documents import (
        Descriptor,
        ImageConfig,
        ImageIndex,
        ImageManifest,
    )

_FROM_FETCH = frozenset({"BlobFile", "FetchedImage", "LayerRef", "Readable"})
_FROM_DOCUMENTS = frozenset({"Descriptor", "ImageConfig", "ImageIndex", "ImageManifest"})


def __getattr__(name: str) -> Any:
    if name in _FROM_FETCH:
        from registry_image.core import fetch

        return getattr(fetch, name)
    if name in _FROM_DOCUMENTS:
        from registry_image.core.oci import documents

        return getattr(documents, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AuthError",
    "Authenticator",
    "BlobFile",
    "Body",
    "Challenge",
    "ClosingResponse",
    "ConfigError",
    "Credentials",
    "Descriptor",
    "Digest",
    "DigestMismatchError",
    "FetchedImage",
    "ImageConfig",
    "ImageError",
    "ImageFormat",
    "ImageIndex",
    "ImageManifest",
    "LayerRef",
    "Manifest",
    "MediaType",
    "NotFoundError",
    "Platform",
    "PluginError",
    "Readable",
    "RegistryError",
    "ResourceError",
    "Response",
    "RetryPolicy",
    "Scope",
    "Source",
    "StreamError",
    "Transport",
    "TransportError",
    "TransportSettings",
    "TransportWrapper",
    "UnsafeLayerError",
    "WrappingTransport",
    "find_challenge",
    "hookimpl",
    "hookspecs",
    "may_send_credentials",
    "read_bounded",
]
