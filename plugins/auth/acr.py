"""Azure Container Registry: the ``azure_*`` source keys, as the Go resource
reads them (its ``AuthenticateToACR``).

``azure_acr: true`` turns it on. A managed identity (system-assigned, or
the user-assigned one whose client ID is ``azure_client_id``) gives an
Azure AD access token for the management scope of the registry's cloud:
``azure_environment`` (``AzurePublic``, ``AzureGovernment``,
``AzureChina``), else the registry's domain (``.azurecr.us``,
``.azurecr.cn``; anything else is the public cloud). The registry's
``/oauth2/exchange`` turns that token into a refresh token for the
registry's tenant (``azure_tenant_id``, else the ``tenant`` of the
registry's ``/v2/`` Bearer challenge, else ``common``), which is the
password of the user ``00000000-0000-0000-0000-000000000000``.

The Azure SDK's credential (azure-identity) is the optional extra
``[acr]``: it reads the managed-identity endpoints from the environment
(IMDS, App Service's ``IDENTITY_ENDPOINT``, Arc, workload identity...).
The registry is asked through the resource's own transport, so it trusts
``ca_certs`` exactly as the registry requests do. One refresh token per
registry and configuration is fetched per process and never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
from registry_image.api import (
    AuthError,
    Challenge,
    ConfigError,
    Credentials,
    RegistryError,
    Source,
    Transport,
    TransportError,
    find_challenge,
    hookimpl,
    read_bounded,
)

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'registry-image-resource[acr]'"
USERNAME = "00000000-0000-0000-0000-000000000000"
MAX_ANSWER_BYTES = 64 * 1024
"""An exchange answer larger than this is refused (a refresh token is a few KiB)."""
MAX_DETAIL_CHARS = 200
DEFAULT_TENANT = "common"

SCOPES = {
    "AzurePublic": "https://management.azure.com/.default",
    "AzureGovernment": "https://management.usgovcloudapi.net/.default",
    "AzureChina": "https://management.chinacloudapi.cn/.default",
}
"""The management scope the Azure AD token is asked for, by cloud."""
DOMAINS = ((".azurecr.us", "AzureGovernment"), (".azurecr.cn", "AzureChina"))


@attrs.frozen
class AcrSource:
    """The ``source`` keys of ACR authentication, as the Go resource names them."""

    azure_acr: bool = False
    azure_client_id: str | None = None
    azure_tenant_id: str | None = None
    azure_environment: str | None = None


_LOGINS: dict[tuple[str, AcrSource], Credentials] = {}


@hookimpl
def registry_image_source_fields() -> type:
    return AcrSource


@hookimpl
def registry_image_credentials(
    registry: str, source: Source, connect: Callable[[str], Transport]
) -> Credentials | None:
    keys = source.extension(AcrSource)
    if not keys.azure_acr:
        return None
    found = _LOGINS.get((registry, keys))
    if found is None:
        scheme = "http" if source.insecure else "https"
        found = _LOGINS[(registry, keys)] = _login(
            registry, keys, f"{scheme}://{registry}", connect
        )
    return found


def cloud_for(registry: str, environment: str | None) -> str:
    """The Azure cloud of ``registry``: ``environment`` when it names one,
    else the registry's domain (the public cloud unless ``.us`` or ``.cn``)."""
    if environment:
        if environment in SCOPES:
            return environment
        log.warning(
            "source.azure_environment: unknown cloud %r (known: %s); using the registry's domain",
            environment,
            ", ".join(SCOPES),
        )
    host = urlsplit(f"//{registry}").hostname or ""
    return next((cloud for suffix, cloud in DOMAINS if host.endswith(suffix)), "AzurePublic")


def challenge_tenant(header: str | None) -> str | None:
    """The ``tenant`` of an ACR Bearer challenge: a parameter of its own or
    in the realm's query (``realm="https://r/oauth2/exchange?tenant=T"``)."""
    challenge = find_challenge(Challenge.parse_all(header), "bearer")
    if challenge is None:
        return None
    if challenge.params.get("tenant"):
        return challenge.params["tenant"]
    found = parse_qs(urlsplit(challenge.params.get("realm", "")).query).get("tenant")
    return found[0] if found and found[0] else None


def _login(
    registry: str, keys: AcrSource, base: str, connect: Callable[[str], Transport]
) -> Credentials:
    cloud = cloud_for(registry, keys.azure_environment)
    access_token = _azure_ad_token(registry, keys, SCOPES[cloud])
    transport = connect(urlsplit(base).scheme)
    if keys.azure_tenant_id:
        tenant, origin = keys.azure_tenant_id, "source.azure_tenant_id"
    else:
        tenant, origin = _discover_tenant(base, transport), "the registry's challenge"
    log.debug("ACR: %s cloud, tenant %s (from %s)", cloud, tenant, origin)
    refresh_token = _exchange(registry, base, tenant, access_token, transport, keys)
    return Credentials(USERNAME, refresh_token)


def _azure_ad_token(registry: str, keys: AcrSource, scope: str) -> str:
    """An Azure AD access token from the managed identity, through the SDK."""
    try:
        from azure.core.exceptions import AzureError
        from azure.identity import ManagedIdentityCredential
    except ImportError:
        raise ConfigError(
            f"source.azure_acr: ACR authentication needs the Azure SDK: {EXTRA_HINT}"
        ) from None
    # The SDK logs its requests at INFO; nothing of it belongs in a build log.
    for name in ("azure", "msal"):
        logging.getLogger(name).setLevel(logging.WARNING)
    which = f"user-assigned {keys.azure_client_id}" if keys.azure_client_id else "system-assigned"
    try:
        with ManagedIdentityCredential(client_id=keys.azure_client_id) as credential:
            return str(credential.get_token(scope).token)
    except (AzureError, ValueError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise AuthError(
            f"ACR ({registry}): no Azure AD token from the {which} managed identity: "
            f"{first_line[:MAX_DETAIL_CHARS]}"
        ) from None


def _discover_tenant(base: str, transport: Transport) -> str:
    """The tenant the registry's ``/v2/`` challenge names, else ``common``
    (as the Go resource: a failed or unexpected answer is not an error)."""
    try:
        with transport.request("GET", f"{base}/v2/") as response:
            header = response.headers.get("WWW-Authenticate") if response.status == 401 else None
    except TransportError as exc:
        log.debug("ACR: the /v2/ challenge failed (%s); tenant %s", exc, DEFAULT_TENANT)
        return DEFAULT_TENANT
    return challenge_tenant(header) or DEFAULT_TENANT


def _exchange(
    registry: str,
    base: str,
    tenant: str,
    access_token: str,
    transport: Transport,
    keys: AcrSource,
) -> str:
    """The registry's refresh token for ``access_token`` (``/oauth2/exchange``)."""
    form = {
        "grant_type": "access_token",
        "service": registry,
        "tenant": tenant,
        "access_token": access_token,
    }
    failed = f"ACR ({registry}): exchanging the Azure AD token for a registry token failed"
    try:
        with transport.request(
            "POST",
            f"{base}/oauth2/exchange",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(form).encode(),
        ) as response:
            answer = read_bounded(response, MAX_ANSWER_BYTES, f"{registry}: /oauth2/exchange")
            status = response.status
    except (TransportError, RegistryError) as exc:
        raise AuthError(f"{failed}: {exc}") from None
    if status != 200:
        detail = _error_detail(answer).replace(access_token, "<token>")
        raise AuthError(f"{failed}: HTTP {status}{detail}; {_tenant_hint(tenant, keys)}")
    try:
        refresh_token = json.loads(answer).get("refresh_token")
    except (ValueError, AttributeError, RecursionError):
        refresh_token = None
    if not isinstance(refresh_token, str) or not refresh_token:
        raise AuthError(f"{failed}: the answer has no refresh_token")
    return refresh_token


def _tenant_hint(tenant: str, keys: AcrSource) -> str:
    """What the Go resource hints at: the tenant must be the registry's."""
    if keys.azure_tenant_id:
        return (
            f"hint: azure_tenant_id ({tenant}) must be the ACR registry's tenant ID, not the "
            "VM or cluster tenant ID (az acr show --name <registry> --query identity.tenantId)"
        )
    return (
        f"hint: the tenant was {tenant} (from the registry's challenge); set "
        "source.azure_tenant_id to the ACR registry's tenant ID"
    )


def _error_detail(answer: bytes) -> str:
    """``": CODE message"`` from an ACR or OAuth error body, one line, bounded."""
    try:
        body: Any = json.loads(answer)
        if isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0]
            text = f"{first.get('code', '')} {first.get('message', '')}"
        else:
            text = f"{body.get('error', '')} {body.get('error_description', '')}"
    except (ValueError, AttributeError, TypeError, RecursionError):
        return ""
    text = " ".join(text.split())[:MAX_DETAIL_CHARS]
    return f": {text}" if text else ""
