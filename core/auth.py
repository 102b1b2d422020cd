"""What authentication plugins receive and return.

The registry client answers a ``401`` by parsing the ``WWW-Authenticate``
challenge and asking the ``registry_image_authenticator`` hook for an
``Authenticator`` that fits it.
"""

from __future__ import annotations

import re
from typing import Protocol

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


@attrs.frozen
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge: its scheme (lower case) and
    parameters (e.g. ``realm``, ``service``, ``scope``)."""

    scheme: str
    params: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def parse(cls, header: str | None) -> Challenge | None:
        """Parse the first challenge of a header value; None when absent."""
        if not header or not header.strip():
            return None
        scheme, _, rest = header.strip().partition(" ")
        params = {
            key.lower(): quoted if quoted or not bare else bare
            for key, quoted, bare in _AUTH_PARAM.findall(rest)
        }
        return cls(scheme=scheme.lower(), params=params)


_AUTH_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


class Authenticator(Protocol):
    """Adds authorization to requests sent to one registry for one scope."""

    def authorization(self) -> str | None:
        """The value of the ``Authorization`` header, or None to send none."""
