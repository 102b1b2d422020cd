"""Amazon ECR: owns the ``aws_*`` source keys of the Go resource.

The keys are accepted so every pipeline parses; the token exchange itself
(``GetAuthorizationToken`` through the AWS credential chain) is not built
yet, so a source that turns it on with ``aws_region`` fails with one clear
line saying what to do instead.
"""

from __future__ import annotations

import attrs
from registry_image.api import ConfigError, Credentials, Source, hookimpl


@attrs.frozen
class EcrSource:
    """The ``source`` keys of ECR authentication, as the Go resource names them."""

    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = attrs.field(default=None, repr=False)
    aws_session_token: str | None = attrs.field(default=None, repr=False)
    aws_region: str | None = None
    aws_role_arn: str | None = None
    aws_role_arns: tuple[str, ...] = ()
    aws_account_id: str | None = None
    aws_ecr_registry_id: str | None = None


@hookimpl
def registry_image_source_fields() -> type:
    return EcrSource


@hookimpl
def registry_image_credentials(source: Source) -> Credentials | None:
    if source.extension(EcrSource).aws_region:
        raise ConfigError(
            "source.aws_region: ECR authentication is not supported yet; "
            "use username AWS and an ECR token as password"
        )
    return None
