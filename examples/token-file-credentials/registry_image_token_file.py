"""A credentials plugin with its own ``source`` keys: the registry password
(or token) read from a file, so a secret mounted into the container never
appears in the pipeline's configuration.

    source:
      repository: registry.example/app
      token_file: /run/secrets/registry-token
      token_username: ci            # optional, default "token"
"""

from __future__ import annotations

from pathlib import Path

import attrs
from registry_image.api import ConfigError, Credentials, Source, hookimpl

MAX_TOKEN_FILE_BYTES = 64 * 1024


@attrs.frozen
class TokenFileSource:
    token_file: str | None = None
    token_username: str = "token"


@hookimpl
def registry_image_source_fields() -> type:
    return TokenFileSource


@hookimpl
def registry_image_credentials(source: Source) -> Credentials | None:
    config = source.extension(TokenFileSource)
    if not config.token_file:
        return None
    try:
        with Path(config.token_file).open("rb") as handle:
            token = handle.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"source.token_file: cannot read it ({exc.strerror})") from None
    if len(token) > MAX_TOKEN_FILE_BYTES:
        raise ConfigError("source.token_file: larger than 64 KiB; is it the right file?")
    password = token.decode("utf-8", "replace").strip()
    if not password:
        raise ConfigError("source.token_file: the file is empty")
    return Credentials(config.token_username, password)
