"""Fetching an image for ``in``: manifests, the platform's image, its config,
and verified streams of its blobs.

``fetch_image`` reads the manifest the version names (verified against the
version's digest), picks the image for the wanted platform out of an index,
and reads the image's config. Layers are not read here: a format opens them
through the ``FetchedImage`` one by one, in order, as verified streams, or
has whole blobs saved to files. How a layer's bytes are *fetched*
(``LayerFetcher``: ``SequentialFetcher`` here, ``PrefetchingFetcher`` in
``prefetch``) is kept apart from how a format *applies* them, so fetching can
run ahead in parallel while layers are still applied strictly in order.
"""

from __future__ import annotations

import platform as platform_module
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

import attrs

from ..digest import VerifyingReader
from ..errors import ImageError
from ..models import Version
from ..oci import Manifest, Platform
from ..oci.documents import Descriptor, ImageConfig, parse_config
from ..progress import NoProgress, Progress, ProgressBar
from ..transport.body import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from ..unpack.compression import LayerFormatError

MAX_INDEX_DEPTH = 3

# ``platform.machine()`` -> OCI architecture (and variant), as Go names them.
_ARCHITECTURES = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armv8l": ("arm", "v8"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", None),
    "i686": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
    "mips64": ("mips64", None),
    "loongarch64": ("loong64", None),
}
_OPERATING_SYSTEMS = {"linux": "linux", "darwin": "darwin", "win32": "windows"}


# -- platforms --------------------------------------------------------------


def this_platform() -> Platform:
    """The platform of the machine we run on, named as in image indexes."""
    machine = platform_module.machine().lower()
    architecture, variant = _ARCHITECTURES.get(machine, (machine, None))
    os_name = _OPERATING_SYSTEMS.get(sys.platform, sys.platform)
    return Platform(os=os_name, architecture=architecture, variant=variant)


def wanted_platform(requested: Platform | None) -> Platform:
    """``params.platform`` or ``source.platform`` with what it leaves out taken
    from this machine (its variant only when the architecture is too)."""
    default = this_platform()
    if requested is None:
        return default
    return Platform(
        os=requested.os or default.os,
        architecture=requested.architecture or default.architecture,
        variant=requested.variant
        if requested.variant or requested.architecture
        else default.variant,
    )


# An index entry without a platform is taken for this one, as go-containerregistry does.
ENTRY_DEFAULT_PLATFORM = Platform(os="linux", architecture="amd64")


def select_platform(index: Manifest, wanted: Platform) -> Descriptor:
    """The first entry of ``index`` for ``wanted``; an error listing the
    platforms the index has when none fits."""
    entries = index.index().manifests
    for entry in entries:
        if (entry.platform or ENTRY_DEFAULT_PLATFORM).matches(wanted):
            return entry
    available = sorted({str(entry.platform or ENTRY_DEFAULT_PLATFORM) for entry in entries})
    raise ImageError(
        f"the image index {index.digest} has no image for platform "
        f"{wanted}; it has: {', '.join(available) or 'no platforms'}"
    )


# -- where bytes come from ----------------------------------------------------


class ImageSource(Protocol):
    """Where manifests and blobs come from: the registry (``core.registry.
    Registry``), or anything else that verifies what it serves."""

    def get_manifest(self, reference: str) -> Manifest:
        """The manifest named by ``reference`` (a digest here), verified."""

    def open_blob(
        self, digest: str, size: int | None = None
    ) -> AbstractContextManager[VerifyingReader]:
        """A reader over the blob; its ``verify()`` checks every byte."""


@attrs.frozen
class LayerRef:
    """A layer and its position in the image, for messages."""

    position: int
    """1-based."""
    count: int
    descriptor: Descriptor

    @property
    def label(self) -> str:
        """``layer 2/5 (sha256:0123456789ab)``."""
        return f"layer {self.position}/{self.count} ({self.descriptor.short})"


@attrs.frozen
class BlobFile:
    """A blob to save, whole and verified, into the file ``path``: as the
    whole file, or at ``offset`` in an existing file (a region of exactly
    the blob's size, e.g. a member of a tar archive; nothing is written past
    it, whatever the source sends)."""

    descriptor: Descriptor
    path: Path
    label: str | None = None
    """Names the blob in progress and errors (e.g. ``LayerRef.label``)."""
    offset: int | None = None


class LayerFetcher(Protocol):
    """How an image's blobs are fetched.

    ``layers`` yields the layers in order, each with a context giving its
    open, verified stream; the stream of one layer must be consumed (its
    context exited, or never entered) before the next is asked for.
    ``save_blobs`` writes whole blobs to files, in any order.
    """

    def layers(
        self, image: FetchedImage
    ) -> Iterator[tuple[LayerRef, AbstractContextManager[Readable]]]: ...

    def save_blobs(self, image: FetchedImage, blobs: Sequence[BlobFile]) -> None: ...


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


SAVE_CHUNK = 1024 * 1024


class SaveCancelled(Exception):
    """A blob being saved was asked to stop (another one failed)."""


def save_blob(
    image: FetchedImage, blob: BlobFile, cancelled: Callable[[], bool] = lambda: False
) -> None:
    """Stream one blob into its file, verified; ``cancelled`` is asked
    before each chunk and stops the copy with ``SaveCancelled``."""
    mode = "wb" if blob.offset is None else "r+b"
    with image.open_blob(blob.descriptor, label=blob.label) as stream, blob.path.open(mode) as out:
        room = None if blob.offset is None else blob.descriptor.size
        if blob.offset is not None:
            out.seek(blob.offset)
        while chunk := stream.read(SAVE_CHUNK):
            if cancelled():
                raise SaveCancelled(blob.descriptor.digest)
            if room is not None:  # too many bytes: the digest check will say so
                chunk, room = chunk[:room], max(0, room - len(chunk))
            out.write(chunk)


class SequentialFetcher:
    """Opens each layer from the source only when it is about to be applied:
    one connection at a time, nothing stored. ``PrefetchingFetcher``
    (``prefetch``) implements the same interface with downloads running
    ahead in a bounded pool."""

    def layers(
        self, image: FetchedImage
    ) -> Iterator[tuple[LayerRef, AbstractContextManager[Readable]]]:
        """Each layer's verified stream, opened when its context is entered."""
        count = len(image.layers)
        for position, descriptor in enumerate(image.layers, start=1):
            ref = LayerRef(position, count, descriptor)
            yield ref, image.open_blob(descriptor, label=ref.label)

    def save_blobs(self, image: FetchedImage, blobs: Sequence[BlobFile]) -> None:
        """Save ``blobs`` one after another."""
        for blob in blobs:
            save_blob(image, blob)


class _Reporting:
    """A verified reader that reports how far it has read."""

    def __init__(self, reader: VerifyingReader, bar: ProgressBar) -> None:
        self._reader = reader
        self._bar = bar

    def read(self, n: int = -1, /) -> bytes:
        data = self._reader.read(n)
        self._bar.update_to(self._reader.bytes_read)
        return data


# -- the fetched image ----------------------------------------------------------


@attrs.frozen
class FetchedImage:
    """An image chosen for ``in``: what formats write to disk.

    ``manifest`` is the manifest the version's digest names (an index for a
    multi-arch image); ``image_manifest`` is the image picked from it for
    ``platform`` (the same manifest when it is not an index). Blob bytes are
    read only through ``open_blob`` / ``layer_streams``, which verify them.
    """

    repository: str
    """``source.repository`` as configured."""
    tag: str
    digest: str
    """The version's digest: that of ``manifest``."""
    manifest: Manifest
    image_manifest: Manifest
    config: Descriptor
    config_bytes: bytes = attrs.field(repr=False)
    layers: tuple[Descriptor, ...]
    platform: Platform
    source: ImageSource = attrs.field(eq=False, repr=False)
    progress: Progress = attrs.field(factory=NoProgress, eq=False, repr=False)
    fetcher: LayerFetcher = attrs.field(factory=SequentialFetcher, eq=False, repr=False)

    @property
    def is_index(self) -> bool:
        """Whether the version names a multi-platform index."""
        return self.manifest.is_index

    @property
    def config_document(self) -> ImageConfig:
        """The image config, typed (``config_bytes`` are its exact bytes)."""
        return parse_config(self.config_bytes, self.config.digest)

    @property
    def labels(self) -> dict[str, str]:
        """The image's labels; empty when it has none."""
        return self.config_document.labels

    @contextmanager
    def open_blob(self, descriptor: Descriptor, label: str | None = None) -> Iterator[Readable]:
        """A stream of a blob's bytes, verified when the block exits normally
        (the rest is read first: every byte is hashed), and also when it
        fails on data that does not decompress. With ``label`` the transfer
        reports progress."""
        with self.source.open_blob(descriptor.digest, descriptor.size) as reader:
            bar = self.progress.start(label, descriptor.size) if label else None
            try:
                yield reader if bar is None else _Reporting(reader, bar)
            except LayerFormatError:
                # Bytes that do not decompress may not be the blob's bytes at
                # all: a digest mismatch is then the error to report.
                reader.verify()
                raise
            else:
                reader.verify()
            finally:
                if bar is not None:
                    bar.update_to(reader.bytes_read)
                    bar.close()

    def read_blob(self, descriptor: Descriptor, limit: int = MAX_CONFIG_BYTES) -> bytes:
        """A small blob, whole and verified."""
        if descriptor.size > limit:
            raise ImageError(f"blob {descriptor.digest} is larger than {limit} bytes")
        with self.open_blob(descriptor) as stream:
            return stream.read(descriptor.size + 1)

    def get_manifest(self, descriptor: Descriptor) -> Manifest:
        """A manifest the index names, verified against its digest."""
        manifest = self.source.get_manifest(descriptor.digest)
        if manifest.digest != descriptor.digest:  # sources verify; be sure
            raise ImageError(f"manifest {descriptor.digest} came back as {manifest.digest}")
        return manifest

    def layer_streams(self) -> Iterator[tuple[LayerRef, AbstractContextManager[Readable]]]:
        """Each layer, in order, with a context giving its verified stream.
        Consume (or skip) one layer's stream before asking for the next."""
        return self.fetcher.layers(self)

    def save_blobs(self, blobs: Sequence[BlobFile]) -> None:
        """Write each blob, whole and verified, to its file (perhaps several
        at once): for formats that copy blobs rather than apply them."""
        self.fetcher.save_blobs(self, blobs)


def fetch_image(
    source: ImageSource,
    *,
    repository: str,
    version: Version,
    platform: Platform | None = None,
    progress: Progress | None = None,
    fetcher: LayerFetcher | None = None,
) -> FetchedImage:
    """Read the manifest ``version.digest`` names and, for an index, the image
    for ``platform`` (default: this machine); read and verify its config."""
    wanted = wanted_platform(platform)
    top = source.get_manifest(version.digest)
    if top.digest != version.digest:
        raise ImageError(f"manifest {version.digest} came back as {top.digest}")
    chosen = top
    depth = 0
    while chosen.is_index:
        depth += 1
        if depth > MAX_INDEX_DEPTH:
            raise ImageError(f"image index {top.digest} nests indexes too deeply")
        entry = select_platform(chosen, wanted)
        chosen = source.get_manifest(entry.digest)
        if chosen.digest != entry.digest:
            raise ImageError(f"manifest {entry.digest} came back as {chosen.digest}")
    parsed = chosen.image()
    image = FetchedImage(
        repository=repository,
        tag=str(version.tag),
        digest=version.digest,
        manifest=top,
        image_manifest=chosen,
        config=parsed.config,
        config_bytes=b"",
        layers=parsed.layers,
        platform=wanted,
        source=source,
        progress=progress or NoProgress(),
        fetcher=fetcher or SequentialFetcher(),
    )
    config_bytes = image.read_blob(parsed.config)
    parse_config(config_bytes, parsed.config.digest)
    return attrs.evolve(image, config_bytes=config_bytes)
