"""Docker config: credentials from ``config.json`` and credential helpers.

For command-line use outside Concourse, as ``docker`` and ``skopeo`` find
them: ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``), or
the directory named by this plugin's own ``source.docker_config`` key.

For a registry host, in Docker's order: a ``credHelpers`` entry for the
host, else the ``credsStore``, runs ``docker-credential-NAME get`` with the
server URL on stdin and reads ``{"Username": ..., "Secret": ...}`` from its
stdout; without a helper, an ``auths`` entry for the host gives a base64
``auth`` (``user:password``) or ``username`` and ``password``. Docker Hub is
``https://index.docker.io/v1/`` there, and its aliases match too.

This plugin is ``trylast``: credentials in ``source`` and every plugin
acting on its own keys come first. A helper that is missing, fails, takes
longer than ``HELPER_TIMEOUT`` or prints more than ``MAX_HELPER_OUTPUT`` is
one error line that never repeats what it printed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import selectors
import shutil
import time
from pathlib import Path
from typing import Any

import attrs
from registry_image.api import AuthError, ConfigError, Credentials, Source, hookimpl

CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 4 * 1024 * 1024
HELPER_TIMEOUT = 30.0
"""Seconds a credential helper may take (an unlocked keychain answers at once)."""
MAX_HELPER_OUTPUT = 64 * 1024
DOCKER_HUB_URL = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = frozenset({"index.docker.io", "docker.io", "registry-1.docker.io"})
_NOT_FOUND = b"credentials not found"


@attrs.frozen
class DockerConfigSource:
    """The ``source`` key of this plugin."""

    docker_config: str | None = None
    """A directory holding ``config.json``, instead of ``$DOCKER_CONFIG``."""


@hookimpl
def registry_image_source_fields() -> type:
    return DockerConfigSource


@hookimpl(trylast=True)
def registry_image_credentials(registry: str, source: Source) -> Credentials | None:
    config = _load_config(_config_dir(source.extension(DockerConfigSource)))
    if config is None:
        return None
    host = _normalise(registry)
    helpers = config.get("credHelpers")
    helper: Any = _matching(helpers, host) if isinstance(helpers, dict) else None
    if helper is None and isinstance(config.get("credsStore"), str):
        helper = config["credsStore"]
    if helper:
        return _from_helper(str(helper), host)
    auths = config.get("auths")
    entry = _matching(auths, host) if isinstance(auths, dict) else None
    return _from_auth_entry(entry, host) if isinstance(entry, dict) else None


def _config_dir(keys: DockerConfigSource) -> Path:
    if keys.docker_config:
        return Path(keys.docker_config)
    if os.environ.get("DOCKER_CONFIG"):
        return Path(os.environ["DOCKER_CONFIG"])
    return Path.home() / ".docker"


def _load_config(directory: Path) -> dict[str, Any] | None:
    path = directory / CONFIG_FILE
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"docker config {path}: cannot read it ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"docker config {path}: larger than 4 MiB")
    try:
        document = json.loads(data)
    except ValueError:
        raise ConfigError(f"docker config {path}: not valid JSON") from None
    if not isinstance(document, dict):
        raise ConfigError(f"docker config {path}: not a JSON object")
    return document


def _normalise(key: str) -> str:
    """A config key or registry as a host: no scheme, no path, lower case;
    every Docker Hub alias as ``index.docker.io``."""
    host = key.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0]
    return "index.docker.io" if host in _DOCKER_HUB_HOSTS else host


def _matching(entries: dict[str, Any], host: str) -> Any:
    for key, value in entries.items():
        if _normalise(key) == host:
            return value
    return None


def _server_url(host: str) -> str:
    return DOCKER_HUB_URL if host == "index.docker.io" else host


def _from_auth_entry(entry: dict[str, Any], host: str) -> Credentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError(
                f"docker config: auths entry for {host}: auth is not base64"
            ) from None
        username, colon, password = decoded.partition(":")
        if not colon:
            raise ConfigError(
                f"docker config: auths entry for {host}: auth is not username:password"
            )
        return Credentials(username, password.strip())
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str) and user:
        return Credentials(user, secret)
    return None


def _from_helper(name: str, host: str) -> Credentials | None:
    program = f"docker-credential-{name}"
    what = f"docker config: credential helper {program} for {host}"
    if "/" in name or not name:
        raise ConfigError(f"{what}: not a helper name")
    path = shutil.which(program)
    if path is None:
        raise AuthError(f"{what}: not found on PATH")
    status, output = _run(path, _server_url(host).encode(), what)
    if status != 0:
        if _NOT_FOUND in output.lower():
            return None
        raise AuthError(f"{what}: failed (exit status {status}); its output is not shown")
    try:
        answer = json.loads(output)
        username, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise AuthError(f"{what}: printed no credentials JSON; its output is not shown") from None
    if not isinstance(username, str) or not isinstance(secret, str):
        raise AuthError(f"{what}: printed no credentials JSON; its output is not shown")
    return Credentials(username, secret) if secret else None


def _run(path: str, server_url: bytes, what: str) -> tuple[int, bytes]:
    """Run ``path get`` with ``server_url`` on stdin; its exit status and
    stdout, read to at most ``MAX_HELPER_OUTPUT`` within ``HELPER_TIMEOUT``."""
    import subprocess  # only here: every check loads this plugin, few run a helper

    deadline = time.monotonic() + HELPER_TIMEOUT
    process = subprocess.Popen(
        [path, "get"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        try:
            process.stdin.write(server_url)
            process.stdin.close()
        except BrokenPipeError:
            pass
        output = _read_until(process.stdout.fileno(), deadline, what)
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise AuthError(f"{what}: no answer within {HELPER_TIMEOUT:g} s") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    return process.returncode, output


def _read_until(fd: int, deadline: float, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise AuthError(f"{what}: no answer within {HELPER_TIMEOUT:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_HELPER_OUTPUT:
                raise AuthError(
                    f"{what}: printed more than {MAX_HELPER_OUTPUT // 1024} KiB; "
                    "its output is not shown"
                )
            chunks.append(chunk)
