"""The hook specifications: the whole plugin contract of the resource.

Plugins import what they use from ``registry_image.api`` only. The kinds of
plugin, each selected by name, scheme or its own configuration, never by
registration order alone:

- credentials plugins find a username and password for a registry host
  (``registry_image_credentials``), in a written precedence; a plugin whose
  provider decides where the repository lives may rewrite it first
  (``registry_image_resolve_repository``);
- challenge answerers turn a ``401``'s challenges into an ``Authorization``
  header (``registry_image_answer_challenge``);
- transports move bytes for a URL scheme (``registry_image_register_transports``)
  and wrappers stack on them (``registry_image_transport_wrappers``);
- formats write a fetched image into the ``in`` destination
  (``registry_image_register_formats``);
- any plugin may own ``source`` keys (``registry_image_source_fields``).

Built-ins are registered through the ``registry_image`` entry-point group
exactly like third-party plugins. Hook implementations must not give their
arguments default values (pluggy ignores them) and may accept any subset of a
spec's arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .markers import hookspec

if TYPE_CHECKING:
    from .auth import Authenticator, Challenge, Credentials, Scope
    from .formats import ImageFormat
    from .models import Source
    from .transport import Transport, TransportSettings, TransportWrapper


@hookspec
def registry_image_source_fields() -> type | None:
    """Return an attrs class whose fields are ``source`` keys this plugin
    owns, or None.

    Fires once when the plugin manager is built. Each field is a ``source``
    key (matched case-insensitively, as the Go resource's JSON decoding
    does) with a type and a default; the request is validated with the same
    strictness as the core's keys (a wrong type names the field; a key no
    one owns is an error). A key owned by the core or by two plugins is an
    error naming both. Read the values with ``source.extension(YourClass)``.
    Fields holding secrets should be declared ``repr=False``.
    """


@hookspec(firstresult=True)
def registry_image_resolve_repository(repository: str, source: Source) -> str | None:
    """Return the repository to use instead of ``source.repository``, or None.

    Fires once per command, after the request is validated and before any
    registry is contacted or anything is written. ``repository`` is
    ``source.repository`` as configured (e.g. ``app``); a plugin acting on
    its own ``source`` keys may name the registry the repository lives in
    (``registry.example:5000/app``), as a provider whose token says where
    the registry is must. The first non-None result wins; the command then
    runs, reports and asks for credentials with the returned repository,
    exactly as if the pipeline had configured it (it must parse as
    ``source.repository`` does). Return None to pass; raise ``ConfigError``
    or ``AuthError`` (never with a secret) when the plugin's keys are wrong
    or its provider refuses.
    """


@hookspec(firstresult=True)
def registry_image_credentials(
    registry: str, source: Source, connect: Callable[[str], Transport]
) -> Credentials | None:
    """Return the credentials to use for ``registry``, or None to pass.

    Fires once per registry host a command talks to, before the first
    request. ``registry`` is the host with port (``ghcr.io``,
    ``127.0.0.1:5000``); ``source`` is the whole ``source`` (a plugin reads
    its own keys with ``source.extension(...)``; a mirror's credentials are
    in ``source.registry_mirror``). ``connect(scheme)`` gives the transport
    for ``"https"`` or ``"http"`` with the registry's trust (``ca_certs``,
    ``insecure``), retries and trace, for a plugin that must ask the
    registry itself (a token exchange); it is closed when the hook returns.

    The first non-None result wins, so the precedence is the call order:
    the built-in ``source`` plugin (``username``/``password``) is
    ``tryfirst``; plugins that act only when their own ``source`` keys are
    set come next; ambient plugins (credentials another tool keeps on this
    machine) should be ``trylast``. Raise ``AuthError`` or ``ConfigError``
    (never with a secret in the message) when configured credentials cannot
    be had.
    """


@hookspec(firstresult=True)
def registry_image_answer_challenge(
    challenges: Sequence[Challenge],
    registry: str,
    origin: str,
    scope: Scope,
    credentials: Credentials | None,
    transport: Transport,
) -> Authenticator | None:
    """Return an authenticator answering one of ``challenges``, or None.

    Fires when a registry answers ``401`` (its ``/v2/`` ping, or any request
    once a cached authorization stops working).

    :param challenges: every challenge of the ``WWW-Authenticate`` header(s),
        in order; ``scheme`` is lower case (``"basic"``, ``"bearer"``, or
        anything a registry invents).
    :param registry: the registry host with port, e.g. ``"ghcr.io"``.
    :param origin: the registry's base URL, ``scheme://host[:port]``: where
        the credentials belong (see ``may_send_credentials``).
    :param scope: the repository and actions the client needs
        (``pull``, or ``pull,push`` for ``out``).
    :param credentials: what ``registry_image_credentials`` found, or None.
        Send them only where ``may_send_credentials`` allows.
    :param transport: the transport of this registry, for token requests.

    The first non-None result wins: the built-in bearer answerer is
    ``tryfirst`` (a token is preferred when a registry offers both), basic
    comes next, and the anonymous answerer is ``trylast``. Raise
    ``AuthError`` (never leaking a secret) when the credentials are refused.
    """


@hookspec
def registry_image_register_transports() -> list[type[Transport]]:
    """Return transport classes this plugin provides.

    Fires once when the plugin manager is built. Each class declares the URL
    ``schemes`` it serves (e.g. ``("http", "https")``), is constructed with a
    ``TransportSettings`` and returns core ``Response`` objects. Two
    transports claiming the same scheme is an error naming both.
    """


@hookspec
def registry_image_transport_wrappers(settings: TransportSettings) -> list[TransportWrapper]:
    """Return wrappers to stack on every transport, outermost first.

    Fires each time a transport is built for a registry. A wrapper is called
    with the transport to wrap and the settings and returns a ``Transport``
    (a cache, a tracer, a request counter...). It must keep bytes, errors
    and ``close`` intact: the transport conformance suite checks that. The
    core's own retry and user-agent wrappers sit outside all of them, so a
    wrapper sees each attempt.
    """


@hookspec
def registry_image_register_formats() -> list[type[ImageFormat]]:
    """Return image format classes this plugin provides for ``in``.

    Fires once when the plugin manager is built. Each class has a unique
    ``name`` (the value of ``params.format``, e.g. ``"rootfs"``) and writes a
    fetched image into the destination directory (see ``ImageFormat``). A
    format may declare ``params_type``, an attrs class of its own ``params``
    keys, and is then constructed with the validated instance. A duplicate
    name is an error; an unknown ``params.format`` is an error listing the
    installed names.
    """
