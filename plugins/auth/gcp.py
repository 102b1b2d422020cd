"""Google Container Registry and Artifact Registry, beyond the Go resource:
keyless authentication with Google's application default credentials.

For ``gcr.io``, ``*.gcr.io`` and ``*-docker.pkg.dev`` registries (when
``source`` has no ``username`` and ``password``: those come first, so
``_json_key`` with a key file's JSON as password works as before), the
application default credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
workload identity federation, gcloud's, or the metadata server of GCE,
GKE and Cloud Run) give an access token used as the password of the user
``oauth2accesstoken``.

The plugin is ambient: where there are no default credentials it passes,
and public images are pulled anonymously as before; credentials found but
unusable (a metadata server that refuses, a broken key file) are one error
line. google-auth is the optional extra ``[gcp]``; without it the plugin
warns once, naming the extra, and passes. One token is fetched per process
and never logged.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import urlsplit

from registry_image.api import AuthError, Credentials, hookimpl

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'registry-image-resource[gcp]'"
USERNAME = "oauth2accesstoken"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
MAX_DETAIL_CHARS = 200

_QUERY = re.compile(r"\?[^\s]*")

_TOKENS: dict[str, Credentials | None] = {}


def is_google_registry(registry: str) -> bool:
    """Whether ``registry`` (a host, maybe with a port) is Google's."""
    host = urlsplit(f"//{registry}").hostname or ""
    return host == "gcr.io" or host.endswith((".gcr.io", "-docker.pkg.dev"))


@hookimpl
def registry_image_credentials(registry: str) -> Credentials | None:
    if not is_google_registry(registry):
        return None
    if "adc" not in _TOKENS:
        _TOKENS["adc"] = _default_credentials(registry)
    return _TOKENS["adc"]


def _default_credentials(registry: str) -> Credentials | None:
    try:
        import google.auth
        import google.auth.exceptions
        import google.auth.transport.requests
    except ImportError:
        log.warning(
            "%s: Google's default credentials need google-auth (%s); trying without",
            registry,
            EXTRA_HINT,
        )
        return None
    errors = google.auth.exceptions
    request = google.auth.transport.requests.Request()
    try:
        credentials, _ = google.auth.default(scopes=SCOPES, request=request)
    except errors.DefaultCredentialsError as exc:
        # Nothing found is no error (public images); a key file named but
        # unusable, or anything else that is broken, is.
        named = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if type(exc) is errors.DefaultCredentialsError and not named:
            log.debug("%s: no Google default credentials; trying without", registry)
            return None
        raise AuthError(f"Google ({registry}): default credentials: {_line(exc)}") from None
    try:
        credentials.refresh(request)  # type: ignore[no-untyped-call]
    except errors.GoogleAuthError as exc:
        raise AuthError(f"Google ({registry}): no access token: {_line(exc)}") from None
    token = credentials.token
    if not isinstance(token, str) or not token:
        raise AuthError(f"Google ({registry}): the default credentials gave no access token")
    return Credentials(USERNAME, token)


def _line(exc: BaseException) -> str:
    """The first line of an SDK error, without URL queries, bounded (SDK
    messages run long)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return " ".join(_QUERY.sub("", text).split())[:MAX_DETAIL_CHARS]
