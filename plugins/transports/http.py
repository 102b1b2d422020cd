"""The http(s) transport: a requests session adapted to the core contract.

- Connection failures become the core ``TransportError`` (``permanent`` for
  names that do not resolve, refused connections and TLS errors); retries
  are the core's ``RetryingTransport``'s job, not this plugin's.
- Bodies are asked for without compression and read in chunks as they
  arrive; a read that gets no byte for ``stall_timeout`` seconds fails.
- ``ca_certs`` are added to the trust store, not substituted for it. The
  trust store is the system's (as for the Go resource), else certifi's, in
  one SSL context built once per process (:mod:`.trust`).
- Redirects are followed by requests, which drops ``Authorization`` whenever
  the host changes, so tokens never reach blob storage on another host.
- The environment's proxy settings (``HTTP(S)_PROXY``, ``NO_PROXY``) apply,
  except to localhost and loopback addresses, as Go's
  ``http.ProxyFromEnvironment`` (the Go resource's) has it; never
  ``~/.netrc`` credentials.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import urllib3
from registry_image.api import (
    Body,
    ClosingResponse,
    Response,
    StreamError,
    Transport,
    TransportError,
    TransportSettings,
    hookimpl,
)

from .trust import trust_context


def environ_proxies(url: str) -> dict[str, str]:
    """The proxies the environment sets for ``url``: none for ``localhost``
    and loopback addresses (as Go's ``http.ProxyFromEnvironment``), else
    ``HTTP(S)_PROXY`` unless ``NO_PROXY`` matches."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return {}
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            return {}
    proxies: dict[str, str] = requests.utils.get_environ_proxies(url)
    return proxies


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
    cause = _innermost_cause(seen) or type(exc).__name__
    if any(isinstance(current, urllib3.exceptions.ProxyError) for current in seen):
        for current in seen:  # http.client: "Tunnel connection failed: 403 Forbidden"
            if isinstance(current, OSError) and str(current).startswith("Tunnel connection"):
                return f"proxy refused the tunnel ({str(current).rpartition(': ')[2]})"
        return f"proxy unreachable ({cause})"
    return cause


def _innermost_cause(seen: list[BaseException]) -> str | None:
    """The most telling cause among the chained exceptions ``seen``, if known."""
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
        if isinstance(
            current,
            requests.Timeout | TimeoutError | socket.timeout | urllib3.exceptions.TimeoutError,
        ):
            return "timed out"
    return None


class TrustingAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose https connections all share one SSL context, trust
    loaded: requests would otherwise have urllib3 build a context and parse
    a whole CA bundle into it for every new connection."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self.context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, ssl_context=self.context, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs.setdefault("ssl_context", self.context)
        if not proxy.lower().startswith("socks"):
            proxy_kwargs.setdefault("proxy_ssl_context", self.context)
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # https: always verified, against the context's trust; no CA file or
        # directory per connection (requests would name certifi's bundle).
        # No client certificates are ever sent.
        https = url.lower().startswith("https")
        conn.cert_reqs = "CERT_REQUIRED" if https else "CERT_NONE"
        conn.ca_certs = None
        conn.ca_cert_dir = None


class RequestsResponse(ClosingResponse):
    """A requests response as the core ``Response``: the body is read with
    ``read1``, so each chunk comes back as soon as any bytes arrived, and
    a broken or stalled body is a ``StreamError``."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self.url = response.url

    def iter_bytes(self, chunk_size: int) -> Iterator[bytes]:
        raw = self._response.raw
        try:
            while chunk := raw.read1(chunk_size, decode_content=True):
                yield chunk
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            where = urlsplit(self.url).netloc
            raise StreamError(
                f"{where}: connection lost while reading ({describe_connection_error(exc)})"
            ) from None

    def close(self) -> None:
        self._response.close()


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
        adapter = TrustingAdapter(
            trust_context(settings.ca_certs), pool_maxsize=settings.max_connections
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.verify = True

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        sent = {"Accept-Encoding": "identity", **(headers or {})}
        try:
            response = self.session.request(
                method,
                url,
                headers=sent,
                data=body,
                stream=True,
                allow_redirects=allow_redirects,
                timeout=(self.settings.connect_timeout, self.settings.stall_timeout),
                proxies=environ_proxies(url),
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = describe_connection_error(exc)
            permanent = reason.startswith(("unknown host", "TLS", "connection refused", "proxy"))
            raise TransportError(
                f"cannot reach {urlsplit(url).netloc}: {reason}", permanent=permanent, reason=reason
            ) from None
        except requests.TooManyRedirects:
            raise TransportError(
                f"{urlsplit(url).netloc}: too many redirects", permanent=True
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            ValueError,
        ) as exc:
            raise TransportError(
                f"invalid URL for {urlsplit(url).netloc or 'the registry'}: {type(exc).__name__}",
                permanent=True,
            ) from None
        return RequestsResponse(response)

    def close(self) -> None:
        self.session.close()


@hookimpl
def registry_image_register_transports() -> list[type[Transport]]:
    return [HTTPTransport]
