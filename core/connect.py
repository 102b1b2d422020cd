"""From ``source`` to a ready ``Registry``: reference, credentials, TLS."""

from __future__ import annotations

from .auth import Credentials
from .errors import ConfigError
from .models import Source
from .plugins import Plugins
from .reference import parse_repository
from .registry import Registry
from .transport import TransportSettings


def credentials_of(username: str | None, password: str | None) -> Credentials | None:
    """Credentials are used only when both parts are set, as upstream."""
    if username and password:
        return Credentials(username, password)
    return None


def open_registry(
    source: Source, plugins: Plugins, *, actions: tuple[str, ...] = ("pull",)
) -> Registry:
    """The registry client for ``source.repository``."""
    if source.aws_region:
        raise ConfigError(
            "source.aws_region: ECR authentication is not supported yet; "
            "use username AWS and an ECR token as password"
        )
    repository = parse_repository(source.repository)
    settings = TransportSettings(insecure=source.insecure, ca_certs=source.ca_certs)
    return Registry(
        repository,
        plugins,
        credentials=credentials_of(source.username, source.password),
        settings=settings,
        actions=actions,
    )
