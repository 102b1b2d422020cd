"""The http(s) transport: a requests session with retries and TLS trust.

- Retries 408/429/5xx and connection failures with bounded exponential
  backoff, honouring ``Retry-After``; every retry is logged on stderr.
- ``ca_certs`` are added to the trust store, not substituted for it. The
  trust store is the system's (as for the Go resource), else certifi's.
- Redirects are followed by requests, which drops ``Authorization`` whenever
  the host changes, so tokens never reach blob storage on another host.
- The environment's proxy settings apply, but never ``~/.netrc`` credentials.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlsplit

import certifi
import requests
from registry_image.core import hookimpl
from registry_image.core.errors import ConfigError, RegistryError
from registry_image.core.transport import Body, Transport, TransportSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TIMEOUT = (15.0, 120.0)  # connect, read (seconds)


def describe_connection_error(exc: BaseException) -> str:
    """A short cause for a failed connection, from the innermost exception."""
    seen: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        pending.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        for attr in ("reason", "__cause__", "__context__"):
            inner = getattr(current, attr, None)
            if isinstance(inner, BaseException):
                pending.append(inner)
    for current in seen:
        if isinstance(current, socket.gaierror):
            return "unknown host (name does not resolve)"
    for current in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed ({current.verify_message})"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, ConnectionResetError):
            return "connection reset"
    for current in seen:
        if isinstance(current, ssl.SSLError):
            return f"TLS error ({current.reason or current})"
        if isinstance(current, requests.Timeout | TimeoutError | socket.timeout):
            return "timed out"
    return type(exc).__name__


def system_ca_bundle() -> str:
    """The system's CA bundle file when it has one, else certifi's."""
    cafile = ssl.get_default_verify_paths().cafile
    return cafile if cafile and os.path.isfile(cafile) else certifi.where()


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _check_pem(pem: str, field: str) -> None:
    """``ConfigError`` unless ``pem`` holds at least one PEM certificate."""
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError):
        raise ConfigError(f"{field}: no PEM certificate in it") from None


class HTTPTransport:
    """http and https over one pooled requests session."""

    schemes: ClassVar[tuple[str, ...]] = ("http", "https")

    def __init__(self, settings: TransportSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.trust_env = False  # no ~/.netrc; proxies are read per request
        self.session.headers["User-Agent"] = settings.user_agent
        # Parallel requests (check's tag resolution, layer downloads) each
        # need a pooled connection, or urllib3 discards the extra ones.
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=settings.max_connections)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._ca_bundle: str | None = None
        self.session.verify = system_ca_bundle()
        if settings.ca_certs:
            self._ca_bundle = self._write_ca_bundle(self.session.verify, settings.ca_certs)
            self.session.verify = self._ca_bundle

    @staticmethod
    def _write_ca_bundle(defaults_path: str, ca_certs: tuple[str, ...]) -> str:
        for number, pem in enumerate(ca_certs):
            _check_pem(pem, f"source.ca_certs[{number}]")
        with open(defaults_path, encoding="utf-8", errors="replace") as defaults:
            bundle = defaults.read()
        handle, path = tempfile.mkstemp(prefix="registry-image-ca-", suffix=".pem")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(bundle)
            for pem in ca_certs:
                out.write("\n" + pem.strip() + "\n")
        return path

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
        allow_redirects: bool = True,
    ) -> requests.Response:
        replayable = body is None or isinstance(body, bytes)
        policy = self.settings.retry
        started = time.monotonic()
        where = urlsplit(url)
        proxies = requests.utils.get_environ_proxies(url)
        attempt = 0
        while True:
            attempt += 1
            delay: float | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    data=body,
                    stream=stream,
                    allow_redirects=allow_redirects,
                    timeout=TIMEOUT,
                    proxies=proxies,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = describe_connection_error(exc)
                permanent = reason.startswith(("unknown host", "TLS", "connection refused"))
                if permanent or not replayable or not self._may_retry(attempt, started, 0):
                    raise RegistryError(f"cannot reach {where.netloc}: {reason}") from None
                what = reason
            else:
                if response.status_code not in RETRY_STATUSES or not replayable:
                    return response
                delay = _retry_after(response)
                if not self._may_retry(attempt, started, delay or 0):
                    return response
                what = f"HTTP {response.status_code}"
                response.close()
            backoff = min(policy.max_delay, policy.initial_delay * 2 ** (attempt - 1))
            wait = min(policy.max_delay, delay) if delay is not None else backoff
            log.warning(
                "%s %s%s: %s, retrying in %.1fs (attempt %d of %d)",
                method,
                where.netloc,
                where.path,
                what,
                wait,
                attempt + 1,
                policy.attempts,
            )
            time.sleep(wait)

    def _may_retry(self, attempt: int, started: float, delay: float) -> bool:
        policy = self.settings.retry
        if attempt >= policy.attempts:
            return False
        return time.monotonic() - started + min(delay, policy.max_delay) < policy.total

    def close(self) -> None:
        self.session.close()
        if self._ca_bundle:
            with contextlib.suppress(OSError):
                os.unlink(self._ca_bundle)


@hookimpl
def registry_image_register_transports() -> list[type[Transport]]:
    return [HTTPTransport]
