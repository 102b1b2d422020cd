"""The fallback answer to any challenge: send no credentials at all."""

from __future__ import annotations

from registry_image.api import Authenticator, hookimpl


class Anonymous:
    def authorization(self) -> str | None:
        return None


@hookimpl(trylast=True)
def registry_image_answer_challenge() -> Authenticator:
    return Anonymous()
