"""Azure Container Registry: owns the ``azure_*`` source keys of the Go resource.

The keys are accepted so every pipeline parses; managed-identity token
exchange is not built yet, so ``azure_acr: true`` fails with one clear line
saying what to do instead.
"""

from __future__ import annotations

import attrs
from registry_image.api import ConfigError, Credentials, Source, hookimpl


@attrs.frozen
class AcrSource:
    """The ``source`` keys of ACR authentication, as the Go resource names them."""

    azure_acr: bool = False
    azure_client_id: str | None = None
    azure_tenant_id: str | None = None
    azure_environment: str | None = None


@hookimpl
def registry_image_source_fields() -> type:
    return AcrSource


@hookimpl
def registry_image_credentials(source: Source) -> Credentials | None:
    if source.extension(AcrSource).azure_acr:
        raise ConfigError(
            "source.azure_acr: ACR managed-identity authentication is not supported yet; "
            "use a service principal or token as username and password"
        )
    return None
