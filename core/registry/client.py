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
import time
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import attrs

from ..auth import Authenticator, Challenge, Credentials, Scope, may_send_credentials
from ..digest import VerifyingReader, sha256_of
from ..errors import (
    AuthError,
    DigestMismatchError,
    NotFoundError,
    RegistryError,
    StreamError,
    TransportError,
)
from ..oci import MANIFEST_ACCEPT, MANIFESTS, Digest, Manifest, MediaType, is_digest
from ..plugins import Plugins
from ..reference import Repository
from ..transport import Body, Response, Transport, TransportSettings, stack_transport
from ..transport.body import (
    MAX_CONFIG_BYTES,
    MAX_ERROR_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_PING_BYTES,
    MAX_TAGS,
    MAX_TAGS_PAGE_BYTES,
    READ_CHUNK,
    read_bounded,
    read_prefix,
)
from ..transport.headers import ContentRange, link_targets

log = logging.getLogger(__name__)

TAGS_PAGE_SIZE = 1000
MIN_TRANSFER_RATE = 1024
"""Bytes per second below which a blob transfer, measured over the stall
window (``TransportSettings.stall_timeout``), counts as stalled."""


@attrs.frozen
class ManifestHead:
    """What a manifest request tells about a manifest without its body."""

    media_type: MediaType
    digest: Digest
    size: int | None = None


def registry_error_detail(response: Response) -> str:
    """``": CODE message"`` from the first ``errors[]`` entry of a registry
    error body (read up to a bounded prefix), or ``""``."""
    try:
        first = json.loads(read_prefix(response, MAX_ERROR_BYTES))["errors"][0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
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
        stop: threading.Event | None = None,
    ) -> None:
        self.repository = repository
        self.plugins = plugins
        self.credentials = credentials
        self.settings = settings or TransportSettings()
        self.scope = Scope(repository.path, actions, also=extra_scopes)
        self.stop = stop or threading.Event()
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
        with self._lock:
            if scheme not in self._transports:
                base = self.plugins.transport(scheme)(self.settings)  # type: ignore[call-arg]
                self._transports[scheme] = stack_transport(
                    base,
                    self.settings,
                    self.plugins.transport_wrappers(self.settings),
                    stop=self.stop,
                )
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
        speaks_no_tls = False
        for scheme in schemes:
            base = f"{scheme}://{self.host}"
            try:
                response = self._transport(scheme).request("GET", f"{base}/v2/")
            except TransportError as exc:
                # A host that does not speak TLS says more over plain http.
                if first_error is None or speaks_no_tls:
                    first_error = RegistryError(str(exc))
                speaks_no_tls = exc.reason.startswith("TLS error")
                continue
            with response:
                read_prefix(response, MAX_PING_BYTES)  # let the connection be reused
            if response.status == 401:
                self._authenticate(response, base)
                return base
            if response.status < 400:
                return base
            if first_error is None or speaks_no_tls:
                first_error = RegistryError(
                    f"{self.host} does not look like a registry: "
                    f"GET /v2/ answered HTTP {response.status}"
                )
            speaks_no_tls = False
        assert first_error is not None
        raise first_error

    def _authenticate(self, response: Response, base: str) -> None:
        challenges = Challenge.parse_all(response.headers.get("WWW-Authenticate"))
        if not challenges:
            raise AuthError(f"{self.host}: HTTP 401 without an authentication challenge")
        self._authenticator = self.plugins.answer_challenge(
            challenges=challenges,
            registry=self.host,
            origin=base,
            scope=self.scope,
            credentials=self.credentials,
            transport=self._transport(urlsplit(base).scheme),
        )
        if self._authenticator is None:
            schemes = ", ".join(sorted({each.scheme for each in challenges}))
            raise AuthError(f"{self.host}: no authenticator answers {schemes}")

    def _headers_for(self, url: str, headers: Mapping[str, str] | None) -> dict[str, str]:
        sent = dict(headers or {})
        if self._authenticator is not None and may_send_credentials(self.base_url(), url):
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
    ) -> Response:
        """Send a request to the registry, authenticating on a 401 once.

        ``path_or_url`` is a path under the registry (``/v2/...``) or an
        absolute URL from a ``Location``/``Link`` header; ``Authorization``
        goes with it only where ``may_send_credentials`` allows. The body is
        left unread. Raises ``AuthError`` on 401/403; other statuses are the
        caller's to judge."""
        base = self.base_url()
        url = urljoin(base + "/", path_or_url)
        transport = self._transport(urlsplit(url).scheme)
        used = self._authenticator
        response = transport.request(
            method, url, headers=self._headers_for(url, headers), body=body
        )
        replayable = body is None or isinstance(body, bytes)
        if response.status == 401 and replayable and may_send_credentials(base, url):
            response.close()
            with self._lock:
                if self._authenticator is used:  # else another thread just did
                    self._authenticate(response, base)
            response = transport.request(
                method, url, headers=self._headers_for(url, headers), body=body
            )
        if response.status in (401, 403):
            response.close()
            raise AuthError(self._refusal(response.status))
        return response

    def _refusal(self, status: int) -> str:
        if self.credentials is None:
            who = "anonymously (no credentials configured)"
        else:
            who = f"as {self.credentials.username!r}"
        verb = "authentication failed" if status == 401 else "access denied"
        actions = ",".join(self.scope.actions)
        return f"{self.host}: {verb} for {actions} on {self.repository.path} {who} (HTTP {status})"

    def _unexpected(self, what: str, response: Response) -> RegistryError:
        detail = registry_error_detail(response)
        return RegistryError(f"{self.host}: {what} answered HTTP {response.status}{detail}")

    # -- manifests ----------------------------------------------------------

    def _manifest_path(self, reference: str) -> str:
        return f"/v2/{self.repository.path}/manifests/{reference}"

    def head_manifest(self, reference: str) -> ManifestHead | None:
        """The media type and digest of the manifest a tag or digest names;
        None when the registry has no such manifest.

        One HEAD; a GET (hashed) when the HEAD gives no digest or fails."""
        response = self.request(
            "HEAD", self._manifest_path(reference), headers={"Accept": MANIFEST_ACCEPT}
        )
        response.close()
        if response.status == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest", "")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if response.status == 200 and is_digest(digest) and media_type in MANIFESTS:
            if is_digest(reference) and digest != reference:
                raise DigestMismatchError(
                    f"{self.host}: manifest {reference} reported as digest {digest}"
                )
            size = response.headers.get("Content-Length", "")
            return ManifestHead(
                MediaType(media_type),
                Digest(digest),
                int(size) if size.isdigit() and len(size) < 19 else None,
            )
        try:
            manifest = self.get_manifest(reference)
        except NotFoundError:
            return None
        return ManifestHead(manifest.media_type, manifest.digest, len(manifest.content))

    def get_manifest(self, reference: str) -> Manifest:
        """The manifest a tag or digest names, hashed and verified: against
        ``reference`` when it is a digest, and against the registry's
        ``Docker-Content-Digest`` header when it sends one."""
        response = self.request(
            "GET", self._manifest_path(reference), headers={"Accept": MANIFEST_ACCEPT}
        )
        with response:
            if response.status == 404:
                raise NotFoundError(
                    f"{self.host}: manifest {self.repository.path}:{reference} not found"
                )
            if response.status != 200:
                raise self._unexpected(f"GET manifest {reference}", response)
            content = read_bounded(
                response, MAX_MANIFEST_BYTES, f"{self.host}: manifest {reference}"
            )
        digest = sha256_of(content)
        claimed = response.headers.get("Docker-Content-Digest", "")
        expected = reference if is_digest(reference) else claimed
        if expected.startswith("sha256:") and expected != digest:
            raise DigestMismatchError(
                f"{self.host}: manifest {reference} hashes to {digest}, not {expected}"
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in MANIFESTS:
            media_type = _media_type_from_body(content) or media_type or "unknown"
        return Manifest(MediaType(media_type), digest, content)

    # -- tags ---------------------------------------------------------------

    def list_tags(self) -> list[str]:
        """Every tag of the repository, following ``Link`` pagination, in the
        registry's order. ``NotFoundError`` when the repository is unknown.

        Bounded: each page by ``MAX_TAGS_PAGE_BYTES``, all pages together by
        ``MAX_TAGS`` tags, and a ``next`` link seen before ends the listing
        with an error (a loop)."""
        tags: list[str] = []
        url: str | None = urljoin(
            self.base_url() + "/", f"/v2/{self.repository.path}/tags/list?n={TAGS_PAGE_SIZE}"
        )
        seen: set[str] = set()
        while url:
            seen.add(url)
            response = self.request("GET", url)
            with response:
                if response.status == 404:
                    raise NotFoundError(f"{self.host}: repository {self.repository.path} not found")
                if response.status != 200:
                    raise self._unexpected("GET tags/list", response)
                page = read_bounded(response, MAX_TAGS_PAGE_BYTES, f"{self.host}: tags/list page")
            tags.extend(_tags_of(page, self.host))
            if len(tags) > MAX_TAGS:
                raise RegistryError(f"{self.host}: more than {MAX_TAGS} tags")
            next_link = link_targets(response.headers.get("Link")).get("next")
            url = self._same_origin(next_link) if next_link else None
            if url in seen:
                raise RegistryError(f"{self.host}: tag listing does not end (its pages loop)")
        return tags

    def _same_origin(self, link: str) -> str:
        absolute = urljoin(self.base_url() + "/", link)
        if not may_send_credentials(self.base_url(), absolute):
            raise RegistryError(
                f"{self.host}: refusing to follow a Link to another host, port or scheme"
            )
        return absolute

    # -- blobs --------------------------------------------------------------

    def _blob_path(self, digest: str) -> str:
        return f"/v2/{self.repository.path}/blobs/{digest}"

    def _get_blob(self, digest: str, offset: int) -> Response:
        headers = {"Range": f"bytes={offset}-"} if offset else None
        response = self.request("GET", self._blob_path(digest), headers=headers)
        if response.status == 404:
            response.close()
            raise NotFoundError(f"{self.host}: blob {digest} not found in {self.repository.path}")
        if response.status not in (200, 206):
            with response:
                raise self._unexpected(f"GET blob {digest}", response)
        return response

    def _blob_chunks(self, digest: Digest, size: int | None) -> Generator[bytes, None, None]:
        """The blob's bytes, exactly ``size`` of them when the size is known:
        a byte past it is an error the moment it arrives. A body that breaks
        off is continued with ``Range`` from the next byte (a registry that
        answers the whole blob again has the bytes already received skipped),
        up to the retry policy's number of attempts."""
        received = 0
        resumes = 0
        window = self.settings.stall_timeout
        response = self._get_blob(digest, 0)
        try:
            while True:
                skip = 0
                if received and response.status == 200:
                    skip = received  # Range not honoured: restart, skip what we have
                elif received:
                    content_range = ContentRange.parse(response.headers.get("Content-Range"))
                    if content_range is None or content_range.first != received:
                        raise RegistryError(
                            f"{self.host}: blob {digest}: resumed at the wrong offset"
                        )
                window_start, window_bytes = time.monotonic(), 0
                try:
                    for chunk in response.iter_bytes(READ_CHUNK):
                        window_bytes += len(chunk)
                        now = time.monotonic()
                        if now - window_start >= window:
                            if window_bytes < MIN_TRANSFER_RATE * (now - window_start):
                                raise StreamError(
                                    f"slower than {MIN_TRANSFER_RATE // 1024} KiB/s "
                                    f"for {window:.0f}s"
                                )
                            window_start, window_bytes = now, 0
                        if self.stop.is_set():
                            raise TransportError(f"{self.host}: blob {digest}: stopped")
                        if skip:
                            dropped = min(skip, len(chunk))
                            chunk, skip = chunk[dropped:], skip - dropped
                            if not chunk:
                                continue
                        received += len(chunk)
                        if size is not None and received > size:
                            raise DigestMismatchError(
                                f"{self.host}: blob {digest} is longer than its {size} bytes"
                            )
                        yield chunk
                    if skip:
                        raise StreamError(f"{self.host}: blob {digest}: restarted body is short")
                    return
                except StreamError as exc:
                    resumes += 1
                    if (
                        size is not None and received >= size
                    ) or resumes >= self.settings.retry.attempts:
                        raise RegistryError(f"blob {digest}: {exc}") from None
                    log.warning(
                        "%s: blob %s broke off after %d bytes (%s); resuming (attempt %d)",
                        self.host,
                        digest.short,
                        received,
                        exc,
                        resumes + 1,
                    )
                    response.close()
                    response = self._get_blob(digest, received)
        finally:
            response.close()

    @contextmanager
    def open_blob(self, digest: str, size: int | None = None) -> Iterator[VerifyingReader]:
        """A reader over a blob's bytes that hashes them as they pass.

        Call ``reader.verify()`` once done: it drains the rest of the stream
        and raises ``DigestMismatchError`` unless every byte matched."""
        expected = Digest(digest)
        chunks = self._blob_chunks(expected, size)
        try:
            yield VerifyingReader(chunks, expected, size, what=f"blob {digest}")
        finally:
            chunks.close()

    def get_blob(
        self, digest: str, size: int | None = None, limit: int = MAX_CONFIG_BYTES
    ) -> bytes:
        """A small blob (an image config) read whole and verified."""
        if size is not None and size > limit:
            raise RegistryError(f"{self.host}: blob {digest} is larger than {limit} bytes")
        with self.open_blob(digest, size) as reader:
            content = reader.read(limit + 1)
            if len(content) > limit:
                raise RegistryError(f"{self.host}: blob {digest} is larger than {limit} bytes")
            reader.verify()
        return content

    def blob_exists(self, digest: str) -> bool:
        response = self.request("HEAD", self._blob_path(digest))
        response.close()
        if response.status == 404:
            return False
        if response.status == 200:
            return True
        raise self._unexpected(f"HEAD blob {digest}", response)


def _tags_of(page: bytes, host: str) -> list[str]:
    try:
        document = json.loads(page)
        tags = document.get("tags") or []
    except (ValueError, AttributeError, RecursionError):
        raise RegistryError(f"{host}: tags/list is not valid JSON") from None
    if not isinstance(tags, list):
        raise RegistryError(f"{host}: tags/list has no list of tags")
    return [tag for tag in tags if isinstance(tag, str)]


def _media_type_from_body(content: bytes) -> str | None:
    try:
        value = json.loads(content).get("mediaType")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) else None
