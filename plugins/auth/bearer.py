"""Bearer token authentication (the Docker token protocol).

Answers ``Bearer`` challenges by asking the challenge's ``realm`` for a token
scoped to the repository and actions we need, with basic credentials when
configured and anonymously otherwise.
"""

from __future__ import annotations

import base64
import ipaddress
from urllib.parse import urlencode, urlsplit

import requests
from registry_image.core import hookimpl
from registry_image.core.auth import Authenticator, Challenge, Credentials, Scope
from registry_image.core.errors import AuthError
from registry_image.core.transport import Transport


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


def _may_send_credentials(realm_url: str, registry: str) -> bool:
    """Credentials go over plain http only to loopback or to the registry's
    own host (which the pipeline already reaches over http)."""
    realm = urlsplit(realm_url)
    if realm.scheme == "https":
        return True
    hostname = realm.hostname or ""
    return _is_loopback(hostname) or hostname == urlsplit(f"//{registry}").hostname


def _request_token(
    realm: str,
    service: str | None,
    scope: Scope,
    credentials: Credentials | None,
    registry: str,
    transport: Transport,
) -> str:
    query = [("scope", each) for each in scope.all()]
    if service:
        query.append(("service", service))
    headers = {}
    if credentials is not None:
        if not _may_send_credentials(realm, registry):
            raise AuthError(
                f"{registry}: refusing to send credentials to token service "
                f"{urlsplit(realm).netloc} over plain http"
            )
        query.append(("account", credentials.username))
        pair = f"{credentials.username}:{credentials.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    response = transport.request("GET", f"{realm}?{urlencode(query)}", headers=headers)
    token_host = urlsplit(realm).netloc
    if response.status_code in (401, 403):
        who = f"as {credentials.username!r}" if credentials else "anonymously"
        raise AuthError(
            f"{registry}: token service {token_host} refused access to "
            f"{scope.repository} {who} (HTTP {response.status_code})"
        )
    if response.status_code != 200:
        raise AuthError(
            f"{registry}: token service {token_host} answered HTTP {response.status_code}"
        )
    try:
        body = response.json()
        token = body.get("token") or body.get("access_token")
    except (ValueError, AttributeError, requests.JSONDecodeError):
        token = None
    if not isinstance(token, str) or not token:
        raise AuthError(f"{registry}: token service {token_host} returned no token")
    return token


@hookimpl
def registry_image_authenticator(
    challenge: Challenge,
    registry: str,
    scope: Scope,
    credentials: Credentials | None,
    transport: Transport,
) -> Authenticator | None:
    if challenge.scheme != "bearer":
        return None
    realm = challenge.params.get("realm", "")
    if urlsplit(realm).scheme not in ("http", "https"):
        raise AuthError(f"{registry}: bearer challenge has no usable realm")
    token = _request_token(
        realm, challenge.params.get("service"), scope, credentials, registry, transport
    )
    return Bearer(token)
