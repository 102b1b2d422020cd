"""Start and stop the real CNCF registry (Debian's ``docker-registry``).

:func:`start_registry` writes a config for one of three auth setups
(anonymous, htpasswd basic, token with :class:`~.token_server.TokenServer`),
optionally HTTPS and/or pull-through mirroring, starts the registry on a free
port of 127.0.0.1, waits until ``/v2/`` answers, and stops it on exit.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import attrs
import bcrypt
import requests

from .certs import ca_and_server_pair
from .ports import LOOPBACK, free_port
from .token_server import TokenPolicy, TokenServer

AuthMode = Literal["anonymous", "basic", "token"]

REGISTRY_BINARY = "docker-registry"
SERVICE = "test-registry"
ISSUER = "test-issuer"
READY_TIMEOUT_SECONDS = 10.0
READY_POLL_INTERVAL_SECONDS = 0.02
STOP_TIMEOUT_SECONDS = 5.0
# The registry checks the bcrypt hash on every request; the minimum cost keeps pushes fast.
BCRYPT_ROUNDS = 4


class RegistryStartError(RuntimeError):
    """The registry did not come up; the message includes its log."""


@attrs.frozen
class RunningRegistry:
    """A registry started by :func:`start_registry`, and how to talk to it."""

    host: str
    """``127.0.0.1:PORT``, as used in image references."""
    url: str
    """``http://127.0.0.1:PORT`` or ``https://...``."""
    auth: AuthMode
    username: str | None
    password: str | None = attrs.field(repr=False)
    log_path: Path
    token_server: TokenServer | None
    ca_pem: str | None
    """The PEM of the CA that signed the HTTPS certificate, if TLS is on."""
    ca_dir: Path | None
    """A directory holding only ``ca.crt``, for skopeo's ``--*-cert-dir``, if TLS is on."""

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate file (``requests``' ``verify=``), if TLS is on."""
        return None if self.ca_dir is None else self.ca_dir / "ca.crt"

    @property
    def credentials(self) -> tuple[str, str] | None:
        """``(username, password)`` for setups that have users, else None."""
        if self.username is None or self.password is None:
            return None
        return self.username, self.password

    def read_log(self) -> str:
        """Everything the registry has logged so far."""
        return self.log_path.read_text(errors="replace")


def htpasswd_line(username: str, password: str) -> str:
    """An Apache htpasswd line ``user:$2y$...`` with a bcrypt hash."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()
    # Python's bcrypt writes "$2b$"; htpasswd writes "$2y$". Same algorithm.
    return f"{username}:$2y${hashed.removeprefix('$2b$')}"


@contextmanager
def start_registry(
    workdir: Path,
    auth: AuthMode,
    *,
    username: str = "ci-user",
    password: str = "s3cret-pass",
    extra_users: Mapping[str, str] | None = None,
    token_policy: TokenPolicy | None = None,
    tls: bool = False,
    proxy_remote: str | None = None,
    port: int | None = None,
    tls_names: Sequence[str] = (),
    token_server: TokenServer | None = None,
    token_realm: str | None = None,
) -> Iterator[RunningRegistry]:
    """Run a registry for the duration of the ``with`` block.

    ``workdir`` receives the config, storage, log and any key material.
    ``username``/``password`` (plus ``extra_users``) are the accounts for
    ``basic`` and ``token``; ``anonymous`` ignores them. ``token_policy`` is
    passed to the token server. ``proxy_remote`` makes the registry a
    pull-through mirror of that URL (the distribution registry then refuses
    pushes). ``port`` replaces a free port (e.g. 443 inside a network
    namespace); ``tls_names`` are more DNS names the certificate is valid for.
    ``token_server`` (started and stopped by the caller) replaces the one
    ``token`` starts, and its ``service`` is the registry's; ``token_realm``
    replaces its URL in the challenge (a front serving it on the registry's
    own host, as ACR does).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    host = f"{LOOPBACK}:{port}"
    users = {username: password, **(extra_users or {})}
    config: dict[str, Any] = _base_config(workdir, host)
    with ExitStack() as stack:
        if auth == "basic":
            config["auth"] = _htpasswd_auth(workdir, users)
        elif auth == "token":
            if token_server is None:
                token_server = stack.enter_context(
                    TokenServer(users, service=SERVICE, issuer=ISSUER, policy=token_policy)
                )
            config["auth"] = _token_auth(workdir, token_server, token_realm)
        elif auth != "anonymous":
            raise ValueError(f"unknown auth mode {auth!r}")
        ca_pem, ca_dir = (None, None)
        if tls:
            ca_pem, ca_dir, config["http"]["tls"] = _tls(workdir, tls_names)
        if proxy_remote is not None:
            config["proxy"] = {"remoteurl": proxy_remote}
        config_path = workdir / "config.yml"
        # JSON is YAML, and needs no YAML library.
        config_path.write_text(json.dumps(config, indent=2))
        scheme = "https" if tls else "http"
        registry = RunningRegistry(
            host=host,
            url=f"{scheme}://{host}",
            auth=auth,
            username=None if auth == "anonymous" else username,
            password=None if auth == "anonymous" else password,
            log_path=workdir / "registry.log",
            token_server=token_server,
            ca_pem=ca_pem,
            ca_dir=ca_dir,
        )
        process = _spawn(config_path, registry.log_path)
        stack.callback(_stop, process)
        _wait_ready(registry, process)
        yield registry


def _base_config(workdir: Path, host: str) -> dict[str, Any]:
    return {
        "version": "0.1",
        "log": {"level": "info", "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "storage")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": host, "secret": secrets.token_hex(16)},
        "health": {"storagedriver": {"enabled": False}},
    }


def _htpasswd_auth(workdir: Path, users: Mapping[str, str]) -> dict[str, Any]:
    path = workdir / "htpasswd"
    path.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in users.items()))
    return {"htpasswd": {"realm": SERVICE, "path": str(path)}}


def _token_auth(
    workdir: Path, token_server: TokenServer, realm: str | None = None
) -> dict[str, Any]:
    bundle = workdir / "token-signer.pem"
    bundle.write_bytes(token_server.signer.cert_pem)
    return {
        "token": {
            "realm": realm or token_server.url,
            "service": token_server.service,
            "issuer": token_server.issuer,
            "rootcertbundle": str(bundle),
        }
    }


def _tls(workdir: Path, names: Sequence[str] = ()) -> tuple[str, Path, dict[str, str]]:
    """Write a CA and server certificate; return CA PEM, CA dir, ``http.tls`` config."""
    ca, server = ca_and_server_pair(dns_names=names)
    ca_dir = workdir / "ca"
    server_dir = workdir / "tls"
    ca_dir.mkdir(exist_ok=True)
    server_dir.mkdir(exist_ok=True)
    (ca_dir / "ca.crt").write_bytes(ca.cert_pem)
    (server_dir / "server.crt").write_bytes(server.cert_pem)
    (server_dir / "server.key").write_bytes(server.key_pem)
    tls_config = {
        "certificate": str(server_dir / "server.crt"),
        "key": str(server_dir / "server.key"),
    }
    return ca.cert_pem.decode(), ca_dir, tls_config


def _spawn(config_path: Path, log_path: Path) -> subprocess.Popen[bytes]:
    # Keep the caller's REGISTRY_* variables from overriding the config.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _wait_ready(registry: RunningRegistry, process: subprocess.Popen[bytes]) -> None:
    """Poll ``GET /v2/`` until it answers (any status) or fail with the log."""
    verify: bool | str = str(registry.ca_file) if registry.ca_file else True
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RegistryStartError(
                f"registry exited with {process.returncode}:\n{registry.read_log()}"
            )
        try:
            requests.get(f"{registry.url}/v2/", timeout=1, verify=verify)
        except requests.ConnectionError:
            time.sleep(READY_POLL_INTERVAL_SECONDS)
        else:
            return
    raise RegistryStartError(
        f"registry not answering {registry.url}/v2/ after {READY_TIMEOUT_SECONDS}s:\n"
        f"{registry.read_log()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
