"""HTTP basic authentication, for registries that answer ``Basic`` challenges."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from registry_image.api import Authenticator, Challenge, Credentials, find_challenge, hookimpl


class Basic:
    def __init__(self, credentials: Credentials) -> None:
        token = f"{credentials.username}:{credentials.password}".encode()
        self._header = "Basic " + base64.b64encode(token).decode("ascii")

    def __repr__(self) -> str:
        return "Basic(<credentials>)"

    def authorization(self) -> str | None:
        return self._header


@hookimpl
def registry_image_answer_challenge(
    challenges: Sequence[Challenge], credentials: Credentials | None
) -> Authenticator | None:
    if credentials is None or find_challenge(challenges, "basic") is None:
        return None
    return Basic(credentials)
