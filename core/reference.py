"""Parsing ``source.repository`` the way Docker does.

``alpine`` -> ``index.docker.io/library/alpine``; ``foo/bar`` ->
``index.docker.io/foo/bar``; a first component containing ``.`` or ``:``, or
equal to ``localhost``, is a registry host (``host:5000/x``, ``localhost/x``).
"""

from __future__ import annotations

import ipaddress
import re

import attrs

from .errors import ConfigError

DOCKER_HUB = "index.docker.io"
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

# Matched whole (``fullmatch``): ``$`` would also match before a trailing newline.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::(?P<port>[0-9]{1,5}))?"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_PORT = 65535


@attrs.frozen
class Repository:
    """A repository in a registry: ``host`` (with port) and ``path``."""

    host: str
    path: str

    @property
    def name(self) -> str:
        """The fully qualified name, e.g. ``index.docker.io/library/alpine``."""
        return f"{self.host}/{self.path}"

    @property
    def is_docker_hub(self) -> bool:
        return self.host == DOCKER_HUB

    @property
    def hostname(self) -> str:
        """The host without port or IPv6 brackets."""
        host = self.host
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def allows_plain_http(self) -> bool:
        """Loopback and private-range hosts may be reached over plain http,
        as the Go resource allows (https is still tried first)."""
        hostname = self.hostname
        if hostname == "localhost" or hostname.endswith(".localhost"):
            return True
        try:
            address = ipaddress.ip_address(hostname)
        except ValueError:
            return False
        return address.is_loopback or address.is_private

    def __str__(self) -> str:
        return self.name


def parse_repository(text: str) -> Repository:
    """Parse and normalise ``source.repository``; ``ConfigError`` if invalid."""
    if not text or text != text.strip():
        raise ConfigError(f"source.repository: invalid repository name {text!r}")
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
        _check_host(host, "source.repository")
        if host in _DOCKER_HUB_ALIASES:
            host = DOCKER_HUB
    else:
        host, path = DOCKER_HUB, text
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if "@" in path or ":" in path:
        raise ConfigError(
            f"source.repository: {text!r} must not contain a tag or digest; use source.tag instead"
        )
    if not all(_PATH_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise ConfigError(
            f"source.repository: invalid repository name {text!r} "
            "(lower-case letters, digits and . _ - separators only)"
        )
    return Repository(host=host, path=path)


def validate_tag(tag: str, field: str = "tag") -> str:
    """Return ``tag`` if it is a valid tag name, else raise ``ConfigError``."""
    if not _TAG.fullmatch(tag):
        raise ConfigError(f"{field}: invalid tag {tag!r}")
    return tag


def validate_host(host: str, field: str = "host") -> str:
    """Return ``host`` (``name[:port]``) if it is a valid registry host, else
    raise ``ConfigError``; a URL (``https://...``) is refused with a hint."""
    if "://" in host:
        raise ConfigError(f"{field}: expected a host[:port], not a URL ({host!r})")
    _check_host(host, field)
    return host


def _check_host(host: str, field: str) -> None:
    """``ConfigError`` unless ``host`` is ``name[:port]`` with a port in 1..65535."""
    match = _HOST.fullmatch(host)
    if match is None:
        raise ConfigError(f"{field}: invalid registry host {host!r}")
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= MAX_PORT:
        raise ConfigError(f"{field}: invalid port {port} in {host!r} (expected 1 to {MAX_PORT})")
