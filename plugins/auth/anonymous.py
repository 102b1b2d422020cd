"""The fallback authenticator: send no credentials at all."""

from __future__ import annotations

from registry_image.core import hookimpl
from registry_image.core.auth import Authenticator


class Anonymous:
    def authorization(self) -> str | None:
        return None


@hookimpl(trylast=True)
def registry_image_authenticator() -> Authenticator:
    return Anonymous()
