"""From ``source`` to a ready ``Registry``: reference, credentials, TLS."""

from __future__ import annotations

from ..auth import Credentials, Scope
from ..errors import ConfigError
from ..models import Source
from ..plugins import Plugins
from ..reference import Repository, parse_repository
from ..transport import TransportSettings
from .client import Registry
from .mirror import api_repository


def credentials_of(username: str | None, password: str | None) -> Credentials | None:
    """Credentials are used only when both parts are set, as upstream."""
    if username and password:
        return Credentials(username, password)
    return None


def open_registry(
    source: Source,
    plugins: Plugins,
    *,
    actions: tuple[str, ...] = ("pull",),
    extra_scopes: tuple[Scope, ...] = (),
    repository: Repository | None = None,
) -> Registry:
    """The registry client for ``source.repository``; ``extra_scopes`` are
    further token scopes (e.g. pull on a repository to mount blobs from).
    ``repository`` replaces ``source.repository`` (a mirror's, say)."""
    if source.aws_region:
        raise ConfigError(
            "source.aws_region: ECR authentication is not supported yet; "
            "use username AWS and an ECR token as password"
        )
    if source.azure_acr:
        raise ConfigError(
            "source.azure_acr: ACR managed-identity authentication is not supported yet; "
            "use a service principal or token as username and password"
        )
    if repository is None:
        repository = api_repository(parse_repository(source.repository))
    settings = TransportSettings(insecure=source.insecure, ca_certs=source.ca_certs)
    return Registry(
        repository,
        plugins,
        credentials=credentials_of(source.username, source.password),
        settings=settings,
        actions=actions,
        extra_scopes=extra_scopes,
    )
