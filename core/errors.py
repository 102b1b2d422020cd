"""The one exception hierarchy of the resource.

Every expected failure is a ``ResourceError``: the CLI prints its message as one
line on stderr and exits non-zero, without a traceback. Messages never contain
credentials.
"""

from __future__ import annotations


class ResourceError(Exception):
    """An expected failure, reported to the pipeline author as one line."""


class ConfigError(ResourceError):
    """The request on stdin is malformed or names something invalid."""


class PluginError(ResourceError):
    """A plugin could not be loaded, or two plugins claim the same name."""


class AuthError(ResourceError):
    """The registry refused our credentials, or no authenticator could answer."""


class RegistryError(ResourceError):
    """The registry could not be reached or answered something unexpected."""


class NotFoundError(RegistryError):
    """The registry answered 404 for a manifest, blob or repository."""


class DigestMismatchError(ResourceError):
    """Bytes from the registry do not hash to the digest that names them."""


class UnsafeLayerError(ResourceError):
    """A layer tries to write, delete or link outside the destination."""


class ImageError(ResourceError):
    """An image on disk (for ``out``) or in the registry is malformed."""


class Interrupted(ResourceError):
    """The step was stopped (SIGTERM) before it finished; nothing is retried."""


class TransportError(RegistryError):
    """No response could be had from a host, or a body could not be read to
    its end. ``permanent`` failures (a name that does not resolve, a refused
    connection, a TLS error) are not worth retrying. ``reason`` is the short
    cause (``"connection reset"``) for retry logs."""

    def __init__(self, message: str, *, permanent: bool = False, reason: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.reason = reason or message


class StreamError(TransportError):
    """A response body broke off, stalled or ran past its bound mid-read."""


class LimitError(ImageError):
    """An image exceeds a documented cap of a get (``params.limits``)."""


class DiskFullError(ResourceError):
    """Writing the destination failed: no space left, or over quota."""
