"""HTTP basic authentication, for registries that answer ``Basic`` challenges."""

from __future__ import annotations

import base64

from registry_image.core import hookimpl
from registry_image.core.auth import Authenticator, Challenge, Credentials


class Basic:
    def __init__(self, credentials: Credentials) -> None:
        token = f"{credentials.username}:{credentials.password}".encode()
        self._header = "Basic " + base64.b64encode(token).decode("ascii")

    def __repr__(self) -> str:
        return "Basic(<credentials>)"

    def authorization(self) -> str | None:
        return self._header


@hookimpl
def registry_image_authenticator(
    challenge: Challenge, credentials: Credentials | None
) -> Authenticator | None:
    if challenge.scheme != "basic" or credentials is None:
        return None
    return Basic(credentials)
