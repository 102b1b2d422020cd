"""Bearer token authentication (the Docker token protocol).

Answers ``Bearer`` challenges by asking the challenge's ``realm`` for a token
scoped to the repository and actions we need, with basic credentials when
configured and anonymously otherwise.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit

from registry_image.api import (
    Authenticator,
    AuthError,
    Challenge,
    Credentials,
    RegistryError,
    Scope,
    Transport,
    find_challenge,
    hookimpl,
    read_bounded,
)

MAX_TOKEN_BYTES = 1024 * 1024
"""A token answer larger than this is refused (tokens are a few KiB)."""


class Bearer:
    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "Bearer(<token>)"

    def authorization(self) -> str | None:
        return f"Bearer {self._token}"


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _may_send_credentials(realm_url: str, origin: str) -> bool:
    """Credentials go to a token service over https. Over plain http only
    when the registry itself is reached over plain http (never downgrade
    https to http), and then only to the registry's own host or to loopback:
    nowhere the pipeline does not already send them in clear text."""
    realm = urlsplit(realm_url)
    if realm.scheme == "https":
        return True
    if urlsplit(origin).scheme != "http" or realm.scheme != "http":
        return False
    hostname = realm.hostname or ""
    return _is_loopback(hostname) or hostname == urlsplit(origin).hostname


def _request_token(
    realm: str,
    service: str | None,
    scope: Scope,
    credentials: Credentials | None,
    registry: str,
    origin: str,
    transport: Transport,
) -> str:
    query = [("scope", each) for each in scope.all()]
    if service:
        query.append(("service", service))
    headers = {}
    if credentials is not None:
        if not _may_send_credentials(realm, origin):
            raise AuthError(
                f"{registry}: refusing to send credentials to token service "
                f"{urlsplit(realm).netloc} over plain http"
            )
        query.append(("account", credentials.username))
        pair = f"{credentials.username}:{credentials.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    token_host = urlsplit(realm).netloc
    # A realm may carry a query of its own (ACR's names the tenant).
    joiner = "&" if urlsplit(realm).query else "?"
    url = f"{realm}{joiner}{urlencode(query)}"
    with transport.request("GET", url, headers=headers) as response:
        if response.status in (401, 403):
            who = f"as {credentials.username!r}" if credentials else "anonymously"
            raise AuthError(
                f"{registry}: token service {token_host} refused access to "
                f"{scope.repository} {who} (HTTP {response.status})"
            )
        if response.status != 200:
            raise AuthError(
                f"{registry}: token service {token_host} answered HTTP {response.status}"
            )
        try:
            body = json.loads(
                read_bounded(response, MAX_TOKEN_BYTES, f"{registry}: token from {token_host}")
            )
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError, RecursionError):
            token = None
        except RegistryError as exc:
            raise AuthError(str(exc)) from None
    if not isinstance(token, str) or not token:
        raise AuthError(f"{registry}: token service {token_host} returned no token")
    return token


@hookimpl(tryfirst=True)
def registry_image_answer_challenge(
    challenges: Sequence[Challenge],
    registry: str,
    origin: str,
    scope: Scope,
    credentials: Credentials | None,
    transport: Transport,
) -> Authenticator | None:
    challenge = find_challenge(challenges, "bearer")
    if challenge is None:
        return None
    realm = challenge.params.get("realm", "")
    if urlsplit(realm).scheme not in ("http", "https"):
        raise AuthError(f"{registry}: bearer challenge has no usable realm")
    token = _request_token(
        realm, challenge.params.get("service"), scope, credentials, registry, origin, transport
    )
    return Bearer(token)
