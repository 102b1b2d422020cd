"""Credentials from ``source.username`` and ``source.password``: first in the
precedence, as in the Go resource. Used only when both are set."""

from __future__ import annotations

from registry_image.api import Credentials, Source, hookimpl


@hookimpl(tryfirst=True)
def registry_image_credentials(source: Source) -> Credentials | None:
    if source.username and source.password:
        return Credentials(source.username, source.password)
    return None
