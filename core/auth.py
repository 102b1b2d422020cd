"""What authentication plugins receive and return.

Two steps, two hooks. Finding credentials (``registry_image_credentials``):
given the registry host and the source, a plugin returns ``Credentials`` or
nothing. Answering a challenge (``registry_image_answer_challenge``): the
client parses every ``WWW-Authenticate`` challenge of a ``401`` and asks for
an ``Authenticator`` that fits one of them, with the credentials found.

``may_send_credentials`` is the one rule for where credentials may go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Protocol
from urllib.parse import urlsplit

import attrs


@attrs.frozen
class Credentials:
    """A username and password for one registry host. Never printed."""

    username: str
    password: str = attrs.field(repr=False)


@attrs.frozen
class Scope:
    """A token scope, e.g. ``repository:library/alpine:pull,push``.

    ``also`` names further repositories the same token must cover, e.g. pull
    on the repository ``out`` mounts blobs from; token plugins request every
    scope of ``all()``."""

    repository: str
    actions: tuple[str, ...] = ("pull",)
    also: tuple[Scope, ...] = ()

    def __str__(self) -> str:
        return f"repository:{self.repository}:{','.join(self.actions)}"

    def all(self) -> tuple[str, ...]:
        """This scope and every one of ``also``, as token request strings."""
        return (str(self), *(str(scope) for scope in self.also))


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME = re.compile(rf"[\s,]*({_TOKEN})(?=\s|,|\Z)")
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|({_TOKEN}))\s*')
_COMMA = re.compile(r"\s*,")
_ESCAPE = re.compile(r"\\(.)")


@attrs.frozen
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge: its scheme (lower case) and
    parameters (names lower case; e.g. ``realm``, ``service``, ``scope``)."""

    scheme: str
    params: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def parse_all(cls, header: str | None) -> tuple[Challenge, ...]:
        """Every challenge of a header value, in order (RFC 7235: schemes
        and parameters are both comma-separated, so ``Basic realm="r",
        Bearer realm="https://a/t",service="s"`` is two challenges)."""
        challenges: list[Challenge] = []
        text = header or ""
        position = 0
        while scheme := _SCHEME.match(text, position):
            position = scheme.end()
            params: dict[str, str] = {}
            while param := _PARAM.match(text, position):
                name, quoted, bare = param.groups()
                value = _ESCAPE.sub(r"\1", quoted) if quoted is not None else bare
                params.setdefault(name.lower(), value)
                position = param.end()
                comma = _COMMA.match(text, position)
                if comma is None:
                    break
                position = comma.end()
            challenges.append(cls(scheme=scheme.group(1).lower(), params=params))
        return tuple(challenges)

    @classmethod
    def parse(cls, header: str | None) -> Challenge | None:
        """The first challenge of a header value; None when there is none."""
        challenges = cls.parse_all(header)
        return challenges[0] if challenges else None


def find_challenge(challenges: Sequence[Challenge], scheme: str) -> Challenge | None:
    """The first challenge of ``scheme`` (lower case), if any."""
    return next((each for each in challenges if each.scheme == scheme), None)


class Authenticator(Protocol):
    """Adds authorization to requests sent to one registry for one scope."""

    def authorization(self) -> str | None:
        """The value of the ``Authorization`` header, or None to send none."""


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def may_send_credentials(origin: str, url: str) -> bool:
    """Whether credentials given for ``origin`` (a URL whose scheme, host and
    port they belong to) may be sent with a request to ``url``.

    Only to the same host and port, over the same scheme, or upgraded from
    http to https; never downgraded from https to plain http, and never to
    another host or port. Default ports count as given (``https://h`` is
    ``https://h:443``); an upgrade keeps an explicit port or moves from the
    default http port to the default https one."""
    scheme, host, port = _origin(origin)
    target_scheme, target_host, target_port = _origin(url)
    if not host or target_host != host:
        return False
    if target_scheme == scheme:
        return (port or _DEFAULT_PORTS.get(scheme)) == (
            target_port or _DEFAULT_PORTS.get(target_scheme)
        )
    if (scheme, target_scheme) == ("http", "https"):
        return target_port == port or (port in (None, 80) and target_port in (None, 443))
    return False
