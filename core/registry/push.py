"""Push a ``LocalImage`` to a repository over the distribution API.

The protocol, blob by blob (in parallel, a bounded pool):

1. ``HEAD`` the blob; present blobs are skipped.
2. ``POST .../blobs/uploads/``, with ``?mount=DIGEST&from=OTHER`` when a
   repository of the same registry may hold it: ``201`` means mounted, no
   bytes sent; ``202`` opens an ordinary upload session.
3. Small blobs go in one ``PUT <location>?digest=`` with the body
   (monolithic). Large blobs, and all blobs once a registry refuses a
   monolithic ``PUT``, go in ``PATCH`` chunks with ``Content-Range``, then an
   empty ``PUT ?digest=``.

Each response's ``Location`` (relative or absolute) is the next URL;
credentials never go to another host (``Registry.request`` sees to that).
Every request with a bytes body is retried by the transport on 429, 5xx and
connection resets, honouring ``Retry-After``. When a chunk still fails, the
upload status (``GET <location>``, its ``Range``) says how much the registry
holds and the upload resumes there; a registry that cannot say (or dropped
the session) gets a fresh session, a few times. Bytes are hashed as they are
sent, so a file that changed on disk is caught before the final ``PUT``.

Only when every blob is in place are manifests written: children of an index
by digest (skipped when present), then the root under every tag. A failed
blob therefore tags nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Literal
from urllib.parse import quote, urljoin

import attrs

from ..errors import AuthError, ImageError, RegistryError
from ..localimage.image import Blob, LocalImage
from ..oci import Digest, Manifest
from ..transport import Response
from ..transport.tracing import url_without_query
from .client import Registry, registry_error_detail

log = logging.getLogger(__name__)

Outcome = Literal["existing", "mounted", "uploaded"]
_OCTET_STREAM = "application/octet-stream"
# Statuses with which a registry says it will not take a blob in one PUT.
_MONOLITHIC_REFUSED = frozenset({400, 405, 411, 413, 415, 416, 501})


@attrs.frozen
class PushSettings:
    """How blobs move. Memory use is about ``workers * chunk_size``."""

    workers: int = 4
    chunk_size: int = 16 * 1024 * 1024
    monolithic_limit: int = 4 * 1024 * 1024
    resumes: int = 3
    """Times a chunked upload asks for its status and resumes after a failure."""
    sessions: int = 3
    """Upload sessions tried per blob before giving up."""


@attrs.define
class PushReport:
    """What a push did, for logs and tests."""

    existing: int = 0
    mounted: int = 0
    uploaded: int = 0
    bytes_sent: int = 0
    manifests_put: int = 0
    seconds: float = 0.0


class _Restart(Exception):
    """This upload session is lost; start another."""


class _Cancelled(Exception):
    """Another blob failed; stop early."""


def _describe(response: Response) -> str:
    return f"HTTP {response.status}{registry_error_detail(response)}"


def _parse_range(value: str | None) -> int | None:
    """How many bytes a ``Range: 0-N`` header acknowledges (``0-0`` is 0)."""
    if not value:
        return None
    start, _, end = value.removeprefix("bytes=").partition("-")
    if not (start.strip().isdigit() and end.strip().isdigit()) or int(start) != 0:
        return None
    last = int(end)
    return last + 1 if last > 0 else 0


def _with_digest(location: str, digest: str) -> str:
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}digest={quote(digest, safe='')}"


@attrs.define
class _Session:
    """An open upload: where to send the next request."""

    location: str
    min_chunk: int = 0


class Pusher:
    """Pushes images to the repository of ``registry`` (which must hold
    ``pull,push``). ``mount_from`` is a repository path on the same registry
    to try cross-repository mounts from; the token should cover pull on it
    (``Registry(extra_scopes=...)``)."""

    def __init__(
        self,
        registry: Registry,
        *,
        mount_from: str | None = None,
        settings: PushSettings | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings or PushSettings()
        self._mount_from = mount_from if mount_from != registry.repository.path else None
        self._monolithic = True
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self.report = PushReport()

    @property
    def _repo(self) -> str:
        return self.registry.repository.path

    @property
    def _host(self) -> str:
        return self.registry.host

    # -- the whole image ----------------------------------------------------

    def push(self, image: LocalImage, tags: Sequence[str]) -> PushReport:
        """Upload every blob, then the manifests, then tag the root with
        each of ``tags``."""
        started = time.monotonic()
        self.registry.base_url()  # ping and authenticate once, before the threads
        blobs = sorted((b for b in image.blobs if not b.foreign), key=lambda b: -b.size)
        self._push_blobs(blobs)
        for manifest in image.manifests[:-1]:
            if self.registry.head_manifest(manifest.digest) is None:
                self._put_manifest(manifest, manifest.digest)
        for tag in tags:
            if self._tagged(tag, image.root):
                log.info("%s: already %s", tag, image.root.digest)
                continue
            self._put_manifest(image.root, tag)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _push_blobs(self, blobs: Sequence[Blob]) -> None:
        if not blobs:
            return
        with ThreadPoolExecutor(max_workers=max(1, self.settings.workers)) as pool:
            futures = [pool.submit(self._push_blob, blob) for blob in blobs]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failure = next((f.exception() for f in done if f.exception() is not None), None)
            if failure is not None:
                # Stop the others between chunks; nothing gets tagged.
                self._cancelled.set()
                for future in futures:
                    future.cancel()
                raise failure

    def _count(self, outcome: Outcome, sent: int = 0) -> None:
        with self._lock:
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            self.report.bytes_sent += sent

    # -- one blob -----------------------------------------------------------

    def _push_blob(self, blob: Blob) -> Outcome:
        if self._cancelled.is_set():
            raise _Cancelled()
        if self.registry.blob_exists(blob.digest):
            log.debug("%s: already in %s", blob.digest, self._repo)
            self._count("existing")
            return "existing"
        last: Exception | None = None
        for attempt in range(1, self.settings.sessions + 1):
            session = self._start(blob)
            if session is None:
                log.info("%s: mounted from %s", blob.digest, self._mount_from)
                self._count("mounted")
                return "mounted"
            try:
                sent = self._upload(session, blob)
            except _Restart as exc:
                last = exc
                self._abandon(session)
                log.warning(
                    "%s: upload failed (%s); starting over (attempt %d of %d)",
                    blob.digest,
                    exc,
                    attempt + 1,
                    self.settings.sessions,
                )
                continue
            except BaseException:
                self._abandon(session)
                raise
            log.info("%s: uploaded %s", blob.digest, _size(blob.size))
            self._count("uploaded", sent)
            return "uploaded"
        raise RegistryError(
            f"{self._host}: uploading blob {blob.digest} failed "
            f"{self.settings.sessions} times; last: {last}"
        )

    def _start(self, blob: Blob) -> _Session | None:
        """Open an upload session, or mount the blob (None)."""
        path = f"/v2/{self._repo}/blobs/uploads/"
        mount_from = self._mount_from
        response = None
        if mount_from:
            query = f"?mount={quote(blob.digest, safe='')}&from={quote(mount_from, safe='/')}"
            try:
                response = self.registry.request("POST", path + query)
            except AuthError as exc:
                log.info("not mounting blobs from %s: %s", mount_from, exc)
                self._mount_from = mount_from = None
        if response is None:
            try:
                response = self.registry.request("POST", path)
            except AuthError as exc:
                # The HEAD before this worked: reading is allowed, writing is not.
                raise AuthError(f"{exc}; these credentials may pull but not push") from None
        with response:
            if response.status == 201 and mount_from:
                return None
            if response.status != 202 or not response.headers.get("Location"):
                raise RegistryError(
                    f"{self._host}: starting an upload to {self._repo} answered "
                    f"{_describe(response)}"
                )
            min_chunk = response.headers.get("OCI-Chunk-Min-Length", "")
            return _Session(
                location=urljoin(response.url, response.headers["Location"]),
                min_chunk=int(min_chunk) if min_chunk.isdigit() else 0,
            )

    def _abandon(self, session: _Session) -> None:
        """Cancel an upload session, best effort."""
        try:
            self.registry.request("DELETE", session.location).close()
        except Exception as exc:  # cleanup only; the registry purges stale uploads
            # never the query: blob storage signs upload URLs there
            log.debug("could not cancel upload %s: %s", url_without_query(session.location), exc)

    def _upload(self, session: _Session, blob: Blob) -> int:
        """Send the blob's bytes and commit it; the number of bytes sent."""
        if self._monolithic and blob.size <= self.settings.monolithic_limit:
            sent = self._upload_monolithic(session, blob)
            if sent is not None:
                return sent
            self._abandon(session)
            fresh = self._start(blob)
            if fresh is None:
                return 0
            session.location, session.min_chunk = fresh.location, fresh.min_chunk
        return self._upload_chunked(session, blob)

    def _upload_monolithic(self, session: _Session, blob: Blob) -> int | None:
        """One ``PUT`` with the whole blob; None when the registry refuses it."""
        with blob.open() as stream:
            data = stream.read()
        _verify(blob, data)
        response = self.registry.request(
            "PUT",
            _with_digest(session.location, blob.digest),
            headers={"Content-Type": _OCTET_STREAM},
            body=data,
        )
        with response:
            if response.status in (201, 204):
                return len(data)
            if response.status == 404:
                raise _Restart(_describe(response))
            if response.status in _MONOLITHIC_REFUSED:
                log.info(
                    "%s refuses monolithic uploads (%s); uploading in chunks",
                    self._host,
                    _describe(response),
                )
                self._monolithic = False
                return None
            raise _Restart(_describe(response))

    def _upload_chunked(self, session: _Session, blob: Blob) -> int:
        chunk_size = max(self.settings.chunk_size, session.min_chunk, 1)
        hasher = Digest.parse(blob.digest).hasher()
        hashed = offset = sent = 0
        resumes = 0
        stream = blob.open(0)
        try:
            while offset < blob.size:
                if self._cancelled.is_set():
                    raise _Cancelled()
                data = stream.read(min(chunk_size, blob.size - offset))
                end = offset + len(data)
                if end > hashed:
                    hasher.update(memoryview(data)[hashed - offset :])
                    hashed = end
                acknowledged = self._send_chunk(session, offset, data)
                sent += len(data)
                del data  # one chunk in memory per worker, not two
                if acknowledged is None:  # the chunk failed: ask where to resume
                    resumes += 1
                    if resumes > self.settings.resumes:
                        raise _Restart("too many failed chunks")
                    acknowledged = self._status(session)
                    log.warning(
                        "%s: chunk at %d failed; resuming at byte %d",
                        blob.digest,
                        offset,
                        acknowledged,
                    )
                if acknowledged != end:
                    if not 0 <= acknowledged <= hashed:
                        raise _Restart(f"registry holds {acknowledged} bytes, sent {hashed}")
                    stream.close()
                    stream = blob.open(acknowledged)
                offset = acknowledged
        finally:
            stream.close()
        if hasher.hexdigest() != Digest.parse(blob.digest).hex:
            raise ImageError(f"blob {blob.digest} changed on disk while it was being pushed")
        self._commit(session, blob)
        return sent

    def _send_chunk(self, session: _Session, offset: int, data: bytes) -> int | None:
        """PATCH one chunk; the bytes the registry now holds, or None on failure."""
        end = offset + len(data)
        try:
            response = self.registry.request(
                "PATCH",
                session.location,
                headers={
                    "Content-Type": _OCTET_STREAM,
                    "Content-Range": f"{offset}-{end - 1}",
                },
                body=data,
            )
        except RegistryError as exc:  # the transport gave up on this connection
            log.warning("PATCH to %s failed: %s", self._host, exc)
            return None
        with response:
            if response.status == 404:
                raise _Restart(_describe(response))
            if response.status != 202:
                log.warning("PATCH to %s answered %s", self._host, _describe(response))
                return None
            location = response.headers.get("Location")
            if location:
                session.location = urljoin(response.url, location)
            held = _parse_range(response.headers.get("Range"))
            return end if held is None or held == 0 else held

    def _status(self, session: _Session) -> int:
        """How many bytes the registry holds for this session."""
        try:
            response = self.registry.request("GET", session.location)
        except RegistryError as exc:
            raise _Restart(f"upload status unavailable: {exc}") from None
        with response:
            held = _parse_range(response.headers.get("Range"))
            if response.status not in (200, 204) or held is None:
                raise _Restart(f"upload status answered {_describe(response)}")
            location = response.headers.get("Location")
            if location:
                session.location = urljoin(response.url, location)
            return held

    def _commit(self, session: _Session, blob: Blob) -> None:
        response = self.registry.request("PUT", _with_digest(session.location, blob.digest))
        with response:
            if response.status in (201, 204):
                return
            if response.status == 404 or response.status >= 500:
                raise _Restart(f"final PUT answered {_describe(response)}")
            raise RegistryError(
                f"{self._host}: completing the upload of blob {blob.digest} answered "
                f"{_describe(response)}"
            )

    # -- manifests ----------------------------------------------------------

    def _tagged(self, tag: str, manifest: Manifest) -> bool:
        """Whether ``tag`` already names ``manifest``. A re-push of an
        unchanged image then costs HEADs only; a PUT of the same manifest
        would change nothing, but the registry re-checks every blob it names."""
        current = self.registry.head_manifest(tag)
        return current is not None and current.digest == manifest.digest

    def _put_manifest(self, manifest: Manifest, reference: str) -> None:
        response = self.registry.request(
            "PUT",
            f"/v2/{self._repo}/manifests/{reference}",
            headers={"Content-Type": manifest.media_type},
            body=manifest.content,
        )
        with response:
            if response.status not in (200, 201, 202, 204):
                raise RegistryError(
                    f"{self._host}: PUT manifest {self._repo}:{reference} answered "
                    f"{_describe(response)}"
                )
            stored = response.headers.get("Docker-Content-Digest")
        if stored and stored != manifest.digest:
            raise RegistryError(
                f"{self._host}: manifest {self._repo}:{reference} was stored as {stored}, "
                f"not {manifest.digest}"
            )
        with self._lock:
            self.report.manifests_put += 1
        log.info("%s: pushed %s", reference, manifest.digest)


def _verify(blob: Blob, data: bytes) -> None:
    """Refuse to send bytes that are not the blob they claim to be."""
    digest = Digest.parse(blob.digest)
    if len(data) != blob.size or str(Digest.of(data, digest.algorithm)) != blob.digest:
        raise ImageError(f"blob {blob.digest} on disk does not match its digest or size")


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MiB"
    if count >= 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count} B"
