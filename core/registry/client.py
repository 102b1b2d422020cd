"""A client for one repository of a registry speaking the distribution API.

It owns the conversation: the ``/v2/`` ping that picks the scheme and yields
the first challenge, authentication through the authenticator hook,
manifests (hashed and verified), tag listing with ``Link`` pagination, and
blobs streamed through a digest check. Bytes move through the transport
plugin registered for the URL scheme.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import attrs
import requests

from .. import mediatypes
from ..auth import Authenticator, Challenge, Credentials, Scope
from ..digest import Digest, VerifyingReader, sha256_of
from ..errors import AuthError, DigestMismatchError, NotFoundError, RegistryError
from ..plugins import Plugins
from ..reference import Repository
from ..transport import Body, Transport, TransportSettings

log = logging.getLogger(__name__)

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
BLOB_CHUNK = 1024 * 1024
TAGS_PAGE_SIZE = 1000


@attrs.frozen
class Descriptor:
    """What a manifest request tells about a manifest without its body."""

    media_type: str
    digest: str
    size: int | None = None


@attrs.frozen
class Manifest:
    """A manifest's exact bytes, verified against ``digest``."""

    media_type: str
    digest: str
    content: bytes = attrs.field(repr=False)

    @property
    def is_index(self) -> bool:
        return self.media_type in mediatypes.INDEXES


def _registry_error_detail(response: requests.Response) -> str:
    """The first ``errors[].message`` of a registry error body, if any."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


class Registry:
    """One repository on one registry, for the given actions (``pull`` or
    ``pull,push``). Use as a context manager to release connections."""

    def __init__(
        self,
        repository: Repository,
        plugins: Plugins,
        *,
        credentials: Credentials | None = None,
        settings: TransportSettings | None = None,
        actions: tuple[str, ...] = ("pull",),
        extra_scopes: tuple[Scope, ...] = (),
    ) -> None:
        self.repository = repository
        self.plugins = plugins
        self.credentials = credentials
        self.settings = settings or TransportSettings()
        self.scope = Scope(repository.path, actions, also=extra_scopes)
        self._transports: dict[str, Transport] = {}
        self._base_url: str | None = None
        self._authenticator: Authenticator | None = None
        # Threads resolving tags in parallel share the ping and the token:
        # whoever gets a 401 first re-authenticates, the others reuse it.
        self._lock = threading.RLock()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    # -- plumbing ---------------------------------------------------------

    def _transport(self, scheme: str) -> Transport:
        if scheme not in self._transports:
            self._transports[scheme] = self.plugins.transport(scheme)(self.settings)
        return self._transports[scheme]

    @property
    def host(self) -> str:
        return self.repository.host

    def base_url(self) -> str:
        """``scheme://host``, chosen by pinging ``/v2/`` once.

        https is tried first; plain http is tried after it only with
        ``insecure`` or for loopback and private-range hosts, as the Go
        resource does. The ping's challenge authenticates us up front."""
        with self._lock:
            if self._base_url is None:
                self._base_url = self._ping()
            return self._base_url

    def _ping(self) -> str:
        schemes = ["https"]
        if self.settings.insecure or self.repository.allows_plain_http:
            schemes.append("http")
        first_error: RegistryError | None = None
        for scheme in schemes:
            base = f"{scheme}://{self.host}"
            try:
                response = self._transport(scheme).request("GET", f"{base}/v2/")
            except RegistryError as exc:
                first_error = first_error or exc
                continue
            response.close()
            if response.status_code == 401:
                self._authenticate(response)
                return base
            if response.status_code < 400:
                return base
            first_error = first_error or RegistryError(
                f"{self.host} does not look like a registry: "
                f"GET /v2/ answered HTTP {response.status_code}"
            )
        assert first_error is not None
        raise first_error

    def _authenticate(self, response: requests.Response) -> None:
        challenge = Challenge.parse(response.headers.get("WWW-Authenticate"))
        if challenge is None:
            raise AuthError(f"{self.host}: HTTP 401 without an authentication challenge")
        scheme = urlsplit(response.url).scheme or "https"
        self._authenticator = self.plugins.authenticator(
            challenge=challenge,
            registry=self.host,
            scope=self.scope,
            credentials=self.credentials,
            transport=self._transport(scheme),
        )
        if self._authenticator is None:
            raise AuthError(f"{self.host}: no authenticator answers {challenge.scheme!r}")

    def _headers_for(self, url: str, headers: Mapping[str, str] | None) -> dict[str, str]:
        sent = dict(headers or {})
        # Credentials go only to the registry host itself, never to another
        # host named by a Location or Link header.
        if self._authenticator is not None and urlsplit(url).netloc == self.host:
            authorization = self._authenticator.authorization()
            if authorization:
                sent["Authorization"] = authorization
        return sent

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send a request to the registry, authenticating on a 401 once.

        ``path_or_url`` is a path under the registry (``/v2/...``) or an
        absolute URL from a ``Location``/``Link`` header. Raises ``AuthError``
        on 401/403; other statuses are the caller's to judge."""
        url = urljoin(self.base_url() + "/", path_or_url)
        scheme = urlsplit(url).scheme
        used = self._authenticator
        response = self._transport(scheme).request(
            method, url, headers=self._headers_for(url, headers), body=body, stream=stream
        )
        replayable = body is None or isinstance(body, bytes)
        if response.status_code == 401 and replayable and urlsplit(url).netloc == self.host:
            response.close()
            with self._lock:
                if self._authenticator is used:  # else another thread just did
                    self._authenticate(response)
            response = self._transport(scheme).request(
                method, url, headers=self._headers_for(url, headers), body=body, stream=stream
            )
        if response.status_code in (401, 403):
            response.close()
            raise AuthError(self._refusal(response.status_code))
        return response

    def _refusal(self, status: int) -> str:
        if self.credentials is None:
            who = "anonymously (no credentials configured)"
        else:
            who = f"as {self.credentials.username!r}"
        verb = "authentication failed" if status == 401 else "access denied"
        actions = ",".join(self.scope.actions)
        return f"{self.host}: {verb} for {actions} on {self.repository.path} {who} (HTTP {status})"

    def _unexpected(self, what: str, response: requests.Response) -> RegistryError:
        detail = _registry_error_detail(response)
        return RegistryError(f"{self.host}: {what} answered HTTP {response.status_code}{detail}")

    # -- manifests ----------------------------------------------------------

    def _manifest_path(self, reference: str) -> str:
        return f"/v2/{self.repository.path}/manifests/{reference}"

    def head_manifest(self, reference: str) -> Descriptor | None:
        """The media type and digest of the manifest a tag or digest names;
        None when the registry has no such manifest.

        One HEAD; a GET (hashed) when the HEAD gives no digest or fails."""
        response = self.request(
            "HEAD", self._manifest_path(reference), headers={"Accept": mediatypes.MANIFEST_ACCEPT}
        )
        response.close()
        if response.status_code == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if response.status_code == 200 and digest and media_type in mediatypes.MANIFESTS:
            Digest.parse(digest)
            if reference.startswith("sha") and ":" in reference and digest != reference:
                raise DigestMismatchError(
                    f"{self.host}: manifest {reference} reported as digest {digest}"
                )
            size = response.headers.get("Content-Length")
            return Descriptor(media_type, digest, int(size) if size and size.isdigit() else None)
        try:
            manifest = self.get_manifest(reference)
        except NotFoundError:
            return None
        return Descriptor(manifest.media_type, manifest.digest, len(manifest.content))

    def get_manifest(self, reference: str) -> Manifest:
        """The manifest a tag or digest names, hashed and verified: against
        ``reference`` when it is a digest, and against the registry's
        ``Docker-Content-Digest`` header when it sends one."""
        response = self.request(
            "GET",
            self._manifest_path(reference),
            headers={"Accept": mediatypes.MANIFEST_ACCEPT},
            stream=True,
        )
        with response:
            if response.status_code == 404:
                raise NotFoundError(
                    f"{self.host}: manifest {self.repository.path}:{reference} not found"
                )
            if response.status_code != 200:
                raise self._unexpected(f"GET manifest {reference}", response)
            content = response.raw.read(MAX_MANIFEST_BYTES + 1, decode_content=True)
        if len(content) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"{self.host}: manifest {reference} is larger than 4 MiB")
        digest = sha256_of(content)
        claimed = response.headers.get("Docker-Content-Digest")
        expected = reference if reference.startswith("sha256:") else claimed
        if expected and expected.startswith("sha256:") and expected != digest:
            raise DigestMismatchError(
                f"{self.host}: manifest {reference} hashes to {digest}, not {expected}"
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in mediatypes.MANIFESTS:
            media_type = _media_type_from_body(content) or media_type
        return Manifest(media_type=media_type, digest=digest, content=content)

    # -- tags ---------------------------------------------------------------

    def list_tags(self) -> list[str]:
        """Every tag of the repository, following ``Link`` pagination, in the
        registry's order. ``NotFoundError`` when the repository is unknown."""
        tags: list[str] = []
        url: str | None = f"/v2/{self.repository.path}/tags/list?n={TAGS_PAGE_SIZE}"
        pages = 0
        while url:
            pages += 1
            if pages > 10_000:
                raise RegistryError(f"{self.host}: tag listing does not end")
            response = self.request("GET", url)
            with response:
                if response.status_code == 404:
                    raise NotFoundError(f"{self.host}: repository {self.repository.path} not found")
                if response.status_code != 200:
                    raise self._unexpected("GET tags/list", response)
                try:
                    page = response.json().get("tags") or []
                except (ValueError, AttributeError):
                    raise RegistryError(f"{self.host}: tags/list is not valid JSON") from None
                tags.extend(tag for tag in page if isinstance(tag, str))
                next_link = response.links.get("next", {}).get("url")
            url = self._same_host(next_link) if next_link else None
        return tags

    def _same_host(self, link: str) -> str:
        absolute = urljoin(self.base_url() + "/", link)
        if urlsplit(absolute).netloc != self.host:
            raise RegistryError(f"{self.host}: refusing to follow a Link to another host")
        return absolute

    # -- blobs --------------------------------------------------------------

    def _blob_path(self, digest: str) -> str:
        return f"/v2/{self.repository.path}/blobs/{digest}"

    @contextmanager
    def open_blob(self, digest: str, size: int | None = None) -> Iterator[VerifyingReader]:
        """A reader over a blob's bytes that hashes them as they pass.

        Call ``reader.verify()`` once done: it drains the rest of the stream
        and raises ``DigestMismatchError`` unless every byte matched."""
        expected = Digest.parse(digest)
        response = self.request(
            "GET", self._blob_path(digest), headers={"Accept-Encoding": "identity"}, stream=True
        )
        with response:
            if response.status_code == 404:
                raise NotFoundError(
                    f"{self.host}: blob {digest} not found in {self.repository.path}"
                )
            if response.status_code != 200:
                raise self._unexpected(f"GET blob {digest}", response)
            chunks = _connection_checked(response.iter_content(BLOB_CHUNK), self.host, digest)
            yield VerifyingReader(chunks, expected, size, what=f"blob {digest}")

    def get_blob(
        self, digest: str, size: int | None = None, limit: int = 64 * 1024 * 1024
    ) -> bytes:
        """A small blob (an image config) read whole and verified."""
        with self.open_blob(digest, size) as reader:
            content = reader.read(limit + 1)
            if len(content) > limit:
                raise RegistryError(f"{self.host}: blob {digest} is larger than expected")
            reader.verify()
        return content

    def blob_exists(self, digest: str) -> bool:
        response = self.request("HEAD", self._blob_path(digest))
        response.close()
        if response.status_code == 404:
            return False
        if response.status_code == 200:
            return True
        raise self._unexpected(f"HEAD blob {digest}", response)


def _connection_checked(chunks: Iterator[bytes], host: str, digest: str) -> Iterator[bytes]:
    """A blob body whose connection breaks mid-way raises ``RegistryError``."""
    try:
        yield from chunks
    except requests.RequestException as exc:
        raise RegistryError(
            f"{host}: blob {digest}: connection lost while reading ({type(exc).__name__})"
        ) from None


def _media_type_from_body(content: bytes) -> str | None:
    try:
        value = json.loads(content).get("mediaType")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
