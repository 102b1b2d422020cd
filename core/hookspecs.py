"""The hook specifications: the whole plugin contract of the resource.

Three kinds of plugin exist, each selected by name or scheme, never by call
order:

- authenticators answer a registry's ``WWW-Authenticate`` challenge;
- transports move manifest and blob bytes for a URL scheme;
- formats write a fetched image into the ``in`` destination.

Built-ins are registered through the ``registry_image`` entry-point group
exactly like third-party plugins. Hook implementations must not give their
arguments default values (pluggy ignores them) and may accept any subset of a
spec's arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .markers import hookspec

if TYPE_CHECKING:
    from .auth import Authenticator, Challenge, Credentials, Scope
    from .formats import ImageFormat
    from .transport import Transport


@hookspec(firstresult=True)
def registry_image_authenticator(
    challenge: Challenge,
    registry: str,
    scope: Scope,
    credentials: Credentials | None,
    transport: Transport,
) -> Authenticator | None:
    """Return an authenticator for ``challenge``, or None to pass.

    Fires when a registry answers ``401`` (or its ``/v2/`` ping does) with a
    ``WWW-Authenticate`` header, and again when a cached authorization stops
    working.

    :param challenge: the parsed challenge; ``challenge.scheme`` is lower case
        (``"basic"``, ``"bearer"``, or anything a registry invents).
    :param registry: the registry host with port, e.g. ``"ghcr.io"``.
    :param scope: the repository and actions the client needs
        (``pull``, or ``pull,push`` for ``out``).
    :param credentials: the username and password configured for this
        registry, or None. Send them only where the challenge says.
    :param transport: the transport of this registry, for token requests.

    The first non-None result wins. The built-in anonymous authenticator is
    ``trylast``, so any plugin that recognises a challenge is asked first.
    Raise ``registry_image.core.errors.AuthError`` (never leaking a secret)
    when the credentials are refused.
    """


@hookspec
def registry_image_register_transports() -> list[type[Transport]]:
    """Return transport classes this plugin provides.

    Fires once when the plugin manager is built. Each class declares the URL
    ``schemes`` it serves (e.g. ``("http", "https")``) and is constructed with
    a ``TransportSettings``. Two transports claiming the same scheme is an
    error naming both.
    """


@hookspec
def registry_image_register_formats() -> list[type[ImageFormat]]:
    """Return image format classes this plugin provides for ``in``.

    Fires once when the plugin manager is built. Each class has a unique
    ``name`` (the value of ``params.format``, e.g. ``"rootfs"``) and writes a
    fetched image into the destination directory (see
    ``registry_image.core.formats.ImageFormat``). A duplicate name is an error;
    an unknown ``params.format`` is an error listing the installed names.
    """
