"""Layers downloaded ahead of the one being applied, a few at a time.

``PrefetchingFetcher`` is the ``LayerFetcher`` ``in`` uses. Layers are still
handed to the format strictly in order; what changes is when their bytes
cross the network:

- The first layer streams from the registry straight into the format, in one
  pass (network -> sha256 -> decompress -> apply), as ``SequentialFetcher``
  streams every layer.
- Meanwhile up to ``workers - 1`` threads download the next layers, never
  more than ``workers - 1`` layers ahead of the one being applied. Each
  download is hashed as it arrives and written to a *spool* file in
  ``spool_dir`` (a directory on the destination's filesystem, never memory).
- When the format comes to a spooled layer it reads the spool, following the
  file as it grows when the download is still running, so a large layer is
  applied while it arrives. The end of the stream is reported only once
  the whole blob is in and has verified; a blob that fails to verify fails
  the layer. The spool is deleted as soon as the layer's block exits.
- A layer whose download has not started when its turn comes (every thread
  busy) is not queued behind the others: it streams directly, as the first.
- A layer listed more than once is downloaded once: its spool (even the
  first layer's) is kept until the last position that lists it has been
  applied, and each position reads it again.

Memory stays flat: a download holds one chunk at a time, and no more than
``workers`` spools exist at once, on disk (plus those of repeated layers,
kept for their next use). Downloads stop between chunks. They run on daemon
threads (``pool``), and ``close()`` waits for them at most ``STOP_GRACE``
seconds: a download blocked on a stalled registry is abandoned, never
waited for, so a failure or SIGTERM ends the get promptly.

Failure: the first download that fails fails the get. The other downloads
stop at their next chunk, the layer being applied stops at its next read,
and the error is raised from the format's ``with`` block (or from the loop
over ``layer_streams``), naming the failing blob: by its digest, or as
``layer 3/5 (sha256:...): ...`` when the message would not. ``close()`` (or
leaving the fetcher's ``with``) stops and joins every thread and deletes
every spool, whatever the format did.

``save_blobs`` (formats that copy blobs: ``oci-layout`` into files,
``oci`` into regions of its tar) downloads up to ``workers`` blobs at once,
largest first, straight into place, stopping them all at the first failure:
no spool and no ordering needed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from types import TracebackType

from ..diskfull import disk_full_error, is_disk_full
from ..errors import ImageError, ResourceError
from ..unpack.compression import LayerFormatError
from .image import (
    BlobFile,
    FetchedImage,
    LayerRef,
    Readable,
    SaveCancelled,
    SequentialFetcher,
    save_blob,
)
from .pool import DaemonPool

log = logging.getLogger(__name__)

DEFAULT_LAYER_WORKERS = 4
"""Blobs downloaded at once: the layer being applied and three ahead of it."""
SPOOL_CHUNK = 1024 * 1024
THREAD_PREFIX = "registry-image-layer"
STOP_GRACE = 0.5
"""Seconds a stop waits for downloads to notice it before abandoning them."""


class _Stop(Exception):
    """A download was asked to stop: its layer is no longer wanted, or the
    fetch is over."""


class _OtherLayerFailed(Exception):
    """Raised into the reading of one layer when a download failed; its
    layer's block turns it into that failure. Deliberately not a
    ``ResourceError``: the unpacker passes it on unchanged, without putting
    the position of the layer it was applying in front of the message."""


def _named(exc: BaseException, label: str, digest: str) -> BaseException:
    """``exc`` naming the blob that failed: as it is when its message has
    the blob's ``digest`` (as the same failure reads without prefetching),
    else with ``label`` in front. Local I/O errors (writing a spool) become
    ``ImageError``; anything else (a bug) passes unchanged."""
    if isinstance(exc, ResourceError):
        return exc if digest in str(exc) else type(exc)(f"{label}: {exc}")
    if isinstance(exc, OSError):
        if is_disk_full(exc):
            return disk_full_error(exc, label)
        return ImageError(f"{label}: {exc.strerror or exc}")
    return exc


class _Run:
    """One pass over an image's layers: the threads, the spools, the first
    failure. Every state change is announced on ``changed``."""

    def __init__(self, image: FetchedImage, spool_dir: Path, threads: int) -> None:
        self.image = image
        self.spool_dir = spool_dir
        self.changed = threading.Condition()
        self.error: BaseException | None = None
        self.stopped = False
        self._spools: list[_Spool] = []
        self._pool = DaemonPool(threads, THREAD_PREFIX)

    def start(self, ref: LayerRef) -> _Spool:
        """Queue the download of ``ref`` into a new spool."""
        spool = _Spool(self, ref)
        self._spools.append(spool)
        spool.future = self._pool.submit(spool.download)
        return spool

    def fail(self, error: BaseException) -> None:
        """Record the first failure; wake every reader and writer."""
        with self.changed:
            if self.error is None:
                self.error = error
            self.changed.notify_all()

    def raise_failure(self) -> None:
        """Raise the first failure, if any."""
        if self.error is not None:
            raise self.error

    def check(self) -> None:
        """For readers: stop when any download failed."""
        if self.error is not None:
            raise _OtherLayerFailed

    def close(self) -> None:
        """Stop every download at its next chunk, wait for the threads (at
        most ``STOP_GRACE`` seconds), delete every spool."""
        with self.changed:
            self.stopped = True
            self.changed.notify_all()
        try:
            if not self._pool.shutdown(timeout=STOP_GRACE):
                log.debug("downloads still blocked after %ss: abandoned", STOP_GRACE)
        finally:
            for spool in self._spools:
                spool.discard()

    @contextmanager
    def direct(self, ref: LayerRef) -> Iterator[Readable]:
        """The layer's verified stream, straight from the source."""
        try:
            with self.image.open_blob(ref.descriptor, label=ref.label) as stream:
                yield _Watched(stream, self)
        except _OtherLayerFailed:
            self.raise_failure()
            raise  # pragma: no cover - raised only once a failure is recorded

    @contextmanager
    def spooled(self, spool: _Spool, *, keep: bool = False) -> Iterator[Readable]:
        """The layer's bytes from its spool, verified before the end is
        reported; the spool is deleted afterwards unless ``keep``."""
        try:
            with _SpoolReader(spool) as reader:
                yield reader
                reader.drain()
        except _OtherLayerFailed:
            self.raise_failure()
            raise  # pragma: no cover - raised only once a failure is recorded
        except LayerFormatError:
            # Bytes that do not decompress may not be the blob's bytes at all:
            # a failed digest check is then the error to report.
            spool.wait_done()
            self.raise_failure()
            raise
        finally:
            if not keep:
                spool.discard()


class _Spool:
    """One layer's blob on its way to disk, readable while it grows.

    The download (a pool thread) hashes the bytes as they arrive, appends
    them and counts them in ``written``; ``complete`` is set once every byte
    is in and the digest matched. Readers never read past ``written``, and
    see the end of the blob only once it is ``complete``."""

    def __init__(self, run: _Run, ref: LayerRef) -> None:
        self.run = run
        self.ref = ref
        descriptor, name = tempfile.mkstemp(
            prefix=f"layer-{ref.position}-", suffix=".blob", dir=run.spool_dir
        )
        self.path = Path(name)
        self._fd: int | None = descriptor
        self.written = 0
        self.complete = False
        self.finished = False
        """The download ended, whether it completed or not."""
        self.abandoned = False
        self.future: Future[None] | None = None

    # -- the download (a pool thread) ----------------------------------------

    def _should_stop(self) -> bool:
        run = self.run
        return self.abandoned or run.stopped or run.error is not None

    def download(self) -> None:
        """Fetch the blob into the spool; record a failure on the run."""
        assert self._fd is not None
        try:
            if self._should_stop():
                raise _Stop
            with self.run.image.open_blob(self.ref.descriptor, label=self.ref.label) as stream:
                while chunk := stream.read(SPOOL_CHUNK):
                    if self._should_stop():
                        raise _Stop
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(self._fd, view) :]
                    with self.run.changed:
                        self.written += len(chunk)
                        self.run.changed.notify_all()
            # ``open_blob`` verified every byte on leaving its block.
            with self.run.changed:
                self.complete = True
        except _Stop:
            pass
        except BaseException as exc:
            if not self.abandoned:  # a layer the format skipped cannot fail the get
                self.run.fail(_named(exc, self.ref.label, self.ref.descriptor.digest))
        finally:
            os.close(self._fd)
            self._fd = None
            with self.run.changed:
                self.finished = True
                self.run.changed.notify_all()

    # -- the layer's reader (the format's thread) ----------------------------

    def available(self, offset: int) -> int:
        """``written`` once it is past ``offset`` or the download is complete;
        waits until then. ``_OtherLayerFailed`` when a download failed."""
        run = self.run
        with run.changed:
            while True:
                run.check()
                if self.written > offset or self.complete:
                    return self.written
                if self.finished:  # stopped, not failed: the fetcher was closed
                    raise ImageError(f"{self.ref.label}: the download was stopped")
                run.changed.wait()

    def wait_done(self) -> None:
        """Wait until the download ended (complete, failed or stopped)."""
        with self.run.changed:
            while not self.finished:
                self.run.changed.wait()

    def discard(self) -> None:
        """The layer is no longer wanted: stop its download, delete its file."""
        self.abandoned = True
        if self.future is not None:
            self.future.cancel()
        self.path.unlink(missing_ok=True)

    def take_over(self) -> bool:
        """Whether the download had not started (and now never will): the
        layer can then stream directly."""
        if self.future is None or not self.future.cancel():
            return False
        self.discard()
        return True


class _SpoolReader:
    """A layer's bytes read from its spool as the download writes them."""

    def __init__(self, spool: _Spool) -> None:
        self._spool = spool
        self._file = spool.path.open("rb", buffering=0)
        self._offset = 0

    def __enter__(self) -> _SpoolReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._file.close()

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (all the rest when ``n < 0``); ``b""`` only at
        the end of a complete, verified blob."""
        if n < 0:
            return b"".join(iter(lambda: self.read(SPOOL_CHUNK), b""))
        if n == 0:
            return b""
        end = self._spool.available(self._offset)
        if end <= self._offset:
            return b""
        data = os.pread(self._file.fileno(), min(n, end - self._offset), self._offset)
        self._offset += len(data)
        return data

    def drain(self) -> None:
        """Wait for the download to end, verified (the consumer may have
        stopped reading before the blob's end)."""
        while self._spool.available(self._offset) > self._offset:
            self._offset = self._spool.written


class _Watched:
    """A stream that stops as soon as any download of its run failed."""

    def __init__(self, stream: Readable, run: _Run) -> None:
        self._stream = stream
        self._run = run

    def read(self, n: int = -1, /) -> bytes:
        self._run.check()
        return self._stream.read(n)


class PrefetchingFetcher:
    """Downloads up to ``workers`` blobs at once, spooling layers ahead of
    the one being applied into ``spool_dir`` (see the module docstring).
    ``workers=1`` fetches exactly as ``SequentialFetcher`` does.

    Use as a context manager (or call ``close``): leaving it stops and joins
    every download thread and deletes every spool, even when a format gave
    up half-way through ``layer_streams``."""

    def __init__(self, spool_dir: Path, *, workers: int = DEFAULT_LAYER_WORKERS) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.spool_dir = spool_dir
        self.workers = workers
        self._runs: set[_Run] = set()
        self._stops: set[threading.Event] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> PrefetchingFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every download still running and wait for its thread."""
        with self._lock:
            runs, stops = list(self._runs), list(self._stops)
        for stop in stops:
            stop.set()
        for run in runs:
            run.close()

    # -- layers, in order -----------------------------------------------------

    def layers(
        self, image: FetchedImage
    ) -> Iterator[tuple[LayerRef, AbstractContextManager[Readable]]]:
        """Each layer in order, with a context giving its verified stream."""
        count = len(image.layers)
        ahead = min(self.workers - 1, count - 1)
        uses = Counter(layer.digest for layer in image.layers)
        if ahead < 1 and len(uses) == count:
            yield from SequentialFetcher().layers(image)
            return
        refs = [LayerRef(n, count, d) for n, d in enumerate(image.layers, start=1)]
        last_use = {ref.descriptor.digest: index for index, ref in enumerate(refs)}
        run = _Run(image, self.spool_dir, max(1, ahead))
        with self._lock:
            self._runs.add(run)
        spools: dict[str, _Spool] = {}
        """By digest: one download per blob, however often it is listed."""
        queued = 0
        try:
            for index, ref in enumerate(refs):
                digest = ref.descriptor.digest
                while queued < count and queued <= index + ahead:
                    wanted = refs[queued].descriptor.digest
                    # The layer due now streams directly, unless it is needed again.
                    if wanted not in spools and (queued > index or uses[wanted] > 1):
                        spools[wanted] = run.start(refs[queued])
                    queued += 1
                run.raise_failure()
                spool = spools.get(digest)
                last = last_use[digest] == index
                if spool is None or (uses[digest] == 1 and spool.take_over()):
                    opened: AbstractContextManager[Readable] = run.direct(ref)
                else:
                    opened = run.spooled(spool, keep=not last)
                try:
                    yield ref, opened
                finally:
                    if spool is not None and last:  # also when the format skipped it
                        spools.pop(digest).discard()
        finally:
            run.close()
            with self._lock:
                self._runs.discard(run)

    # -- whole blobs, any order ----------------------------------------------

    def save_blobs(self, image: FetchedImage, blobs: Sequence[BlobFile]) -> None:
        """Save ``blobs`` to their files, up to ``workers`` at once; the first
        failure (naming its blob) once the others have stopped."""
        if self.workers <= 1 or len(blobs) <= 1:
            SequentialFetcher().save_blobs(image, blobs)
            return
        stop = threading.Event()
        with self._lock:
            self._stops.add(stop)

        def save(blob: BlobFile) -> None:
            if stop.is_set():
                raise SaveCancelled(blob.descriptor.digest)
            try:
                save_blob(image, blob, stop.is_set)
            except SaveCancelled:
                raise
            except BaseException as exc:
                stop.set()
                digest = blob.descriptor.digest
                raise _named(exc, blob.label or f"blob {digest}", digest) from None

        pool = DaemonPool(min(self.workers, len(blobs)), THREAD_PREFIX)
        try:
            # The largest first: the longest downloads must not start last.
            ordered = sorted(blobs, key=lambda blob: -blob.descriptor.size)
            futures: list[Future[None]] = [pool.submit(partial(save, blob)) for blob in ordered]
            wait(futures, return_when=FIRST_EXCEPTION)
            # The first exception is a real failure: SaveCancelled comes only
            # after one (or after a stop, which raises in the caller first).
            for future in futures:
                if future.done() and not future.cancelled():
                    error = future.exception()
                    if error is not None and not isinstance(error, SaveCancelled):
                        raise error
        finally:
            stop.set()
            try:
                pool.shutdown(timeout=STOP_GRACE)
            finally:
                with self._lock:
                    self._stops.discard(stop)
