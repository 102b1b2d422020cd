"""Amazon ECR: the ``aws_*`` source keys, as the Go resource reads them.

``aws_region`` turns it on. AWS credentials are the static
``aws_access_key_id`` / ``aws_secret_access_key`` / ``aws_session_token``
when the first two are set, else the AWS SDK's default chain (environment,
shared config, web identity, container and instance roles). The roles of
``aws_role_arn`` or ``aws_role_arns`` are assumed in order through STS, each
with the credentials of the one before (setting both keys is an error).
``GetAuthorizationToken`` then gives the registry password, used with the
user ``AWS``; and the repository is rewritten to
``<aws_account_id>.dkr.ecr.<aws_region>.amazonaws.com/<repository>`` when
``aws_account_id`` is set, else to the token's proxy endpoint host followed
by ``/<repository>`` (the Go resource's ``AuthenticateToECR``).

The AWS SDK (botocore) is the optional extra ``[ecr]``; endpoints follow
its standard overrides (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_ECR``...).
One token per configuration is fetched per process and never logged.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from typing import Any

import attrs
from registry_image.api import AuthError, ConfigError, Credentials, Source, hookimpl

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'registry-image-resource[ecr]'"
USERNAME = "AWS"


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

    def roles(self) -> tuple[str, ...]:
        """The roles to assume, in order; both keys set is a ``ConfigError``."""
        if self.aws_role_arn and self.aws_role_arns:
            raise ConfigError(
                "source.aws_role_arn and source.aws_role_arns: set one of them, not both"
            )
        return (self.aws_role_arn,) if self.aws_role_arn else self.aws_role_arns


@attrs.frozen
class EcrLogin:
    """What ``GetAuthorizationToken`` gave: the registry host and password."""

    host: str
    password: str = attrs.field(repr=False)


_LOGINS: dict[EcrSource, EcrLogin] = {}


@hookimpl
def registry_image_source_fields() -> type:
    return EcrSource


@hookimpl
def registry_image_resolve_repository(repository: str, source: Source) -> str | None:
    keys = source.extension(EcrSource)
    if not keys.aws_region:
        return None
    return f"{login(keys).host}/{repository}"


@hookimpl
def registry_image_credentials(source: Source) -> Credentials | None:
    keys = source.extension(EcrSource)
    if not keys.aws_region:
        return None
    return Credentials(USERNAME, login(keys).password)


def login(keys: EcrSource) -> EcrLogin:
    """The ECR login for ``keys``, fetched once per process."""
    found = _LOGINS.get(keys)
    if found is None:
        found = _LOGINS[keys] = _fetch_login(keys)
    return found


def _fetch_login(keys: EcrSource) -> EcrLogin:
    roles = keys.roles()
    region = keys.aws_region
    assert region
    if keys.aws_ecr_registry_id:
        log.warning("source.aws_ecr_registry_id is no longer needed and is ignored (as upstream)")
    session = _session()
    if keys.aws_access_key_id and keys.aws_secret_access_key:
        session.set_credentials(
            keys.aws_access_key_id, keys.aws_secret_access_key, keys.aws_session_token
        )
    for role in roles:
        log.debug("ECR: assuming role %s", role)
        answer = _call(
            session,
            region,
            "sts",
            "assume_role",
            f"assuming role {role}",
            RoleArn=role,
            RoleSessionName=f"registry-image-{time.time_ns()}",
        )
        assumed = answer["Credentials"]
        session = _session()
        session.set_credentials(
            assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"]
        )
    answer = _call(session, region, "ecr", "get_authorization_token", "GetAuthorizationToken")
    data = (answer.get("authorizationData") or [None])[0]
    if not isinstance(data, dict):
        raise AuthError(f"ECR ({region}): GetAuthorizationToken returned no token")
    try:
        decoded = base64.b64decode(data["authorizationToken"], validate=True).decode()
    except (KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise AuthError(f"ECR ({region}): the authorization token is not base64") from None
    parts = decoded.split(":")
    if len(parts) != 2:
        raise AuthError(f"ECR ({region}): the authorization token is not user:password")
    if keys.aws_account_id:
        host = f"{keys.aws_account_id}.dkr.ecr.{region}.amazonaws.com"
    else:
        host = str(data.get("proxyEndpoint") or "").removeprefix("https://").rstrip("/")
        if not host:
            raise AuthError(f"ECR ({region}): the token names no proxy endpoint")
    return EcrLogin(host, parts[1].strip())


def _session() -> Any:
    try:
        import botocore.session
    except ImportError:
        raise ConfigError(
            f"source.aws_region: ECR authentication needs the AWS SDK: {EXTRA_HINT}"
        ) from None
    return botocore.session.Session()


def _call(session: Any, region: str, service: str, operation: str, what: str, **params: Any) -> Any:
    """One AWS API call; its failures as one ``AuthError`` line."""
    import botocore.exceptions

    try:
        client = session.create_client(service, region_name=region)
        return getattr(client, operation)(**params)
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "error"), error.get("Message", "")
        raise AuthError(f"ECR ({region}): {what} failed: {code}: {message}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AuthError(f"ECR ({region}): {what} failed: {exc}") from None
