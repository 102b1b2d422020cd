"""``in``: fetch the version's image and write it into DEST.

Everything is written into a staging directory inside DEST and renamed into
place only when the format finished: a failed or interrupted get leaves no
``rootfs/`` or ``image.tar`` that looks complete. The small files
``repository``, ``tag`` and ``digest`` (no trailing newline) come last, the
digest last of all.

Layers are downloaded a few at a time (``layer_workers``) while they are
applied in order; layers fetched ahead wait in a second staging directory
of DEST (same filesystem, never memory), removed whatever happens. A get
killed too hard to clean up (SIGKILL) leaves its staging behind: the next
get into the same DEST removes it first.

A full disk anywhere in DEST is one ``DiskFullError`` line; what the get
may unpack is capped by ``params.limits`` (see ``core.unpack.limits``).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import attrs
from registry_image.core.converter import parse_request, unstructure
from registry_image.core.diskfull import disk_full_error, is_disk_full
from registry_image.core.errors import ConfigError, Interrupted
from registry_image.core.fetch import (
    DEFAULT_LAYER_WORKERS,
    FetchedImage,
    LayerFetcher,
    PrefetchingFetcher,
    fetch_image,
)
from registry_image.core.fetch.metadata import image_metadata as regex_metadata
from registry_image.core.formats import ImageFormat, new_format
from registry_image.core.models import (
    GetLimits,
    InRequest,
    MetadataField,
    Source,
    VersionResponse,
)
from registry_image.core.oci import is_digest
from registry_image.core.plugins import Plugins, load_plugins
from registry_image.core.progress import NoProgress, Progress
from registry_image.core.reference import Repository
from registry_image.core.registry import Registry
from registry_image.core.registry.connect import open_registry
from registry_image.core.registry.mirror import mirror_first
from registry_image.core.unpack.limits import UnpackLimits, limits_in_force

from .progress import TqdmProgress

log = logging.getLogger(__name__)

STAGING_PREFIX = ".registry-image-in-"
SMALL_FILES = ("repository", "tag", "digest")


def get(
    request: InRequest,
    dest: Path,
    plugins: Plugins,
    *,
    progress: Progress | None = None,
    layer_workers: int = DEFAULT_LAYER_WORKERS,
) -> VersionResponse:
    """Fetch ``request.version`` into ``dest`` and say what was fetched.

    ``layer_workers`` blobs are downloaded at once (1: one after another)."""
    source, version, params = request.source, request.version, request.params
    if not is_digest(version.digest):
        raise ConfigError(f"version.digest: invalid digest {version.digest!r}")
    # As the Go resource: the format matters (and is checked) only when downloading.
    format_class = None if params.skip_download else plugins.format(params.format)
    limits = unpack_limits(params.limits)
    dest.mkdir(parents=True, exist_ok=True)
    remove_leftovers(dest)
    metadata: list[MetadataField] = [
        MetadataField("repository", source.repository),
        MetadataField("tag", str(version.tag)),
    ]

    def attempt(use: Source, repository: Repository | None) -> list[MetadataField]:
        """One try against one registry (the mirror's, or the source's own)."""
        with (
            _disk_full_reported(dest),
            _staging(dest) as stage,
            open_registry(use, plugins, repository=repository) as registry,
        ):
            log.info("fetching %s@%s", registry.repository.name, version.digest)
            if format_class is None:
                found = _without_download(registry, request)
            else:
                with limits_in_force(limits):
                    found = _download(
                        registry, request, format_class, stage, progress, layer_workers
                    )
            _publish(stage, dest)
        return found

    # As the Go resource: a Docker Hub image comes from source.registry_mirror
    # when the mirror has it; a failed try leaves nothing behind.
    metadata += mirror_first(source, attempt, found=lambda _: True)
    with _disk_full_reported(dest):
        _write_file(dest / "repository", source.repository)
        _write_file(dest / "tag", str(version.tag))
        _write_file(dest / "digest", version.digest)
    return VersionResponse(version=version, metadata=tuple(metadata))


def unpack_limits(limits: GetLimits | None) -> UnpackLimits:
    """The caps of this get: the defaults, changed by ``params.limits``."""
    changes: dict[str, int] = {}
    for field in attrs.fields(GetLimits) if limits is not None else ():
        value = getattr(limits, field.name)
        if value is None:
            continue
        if value < 1:
            raise ConfigError(f"params.limits.{field.name}: expected a whole number of at least 1")
        changes[field.name] = value
    return attrs.evolve(UnpackLimits(), **changes)


def remove_leftovers(dest: Path) -> None:
    """Remove what a get killed before it could clean up left in ``dest``:
    staging directories (with their spools) and half-written small files."""
    leftovers = [path for path in dest.iterdir() if path.name.startswith(STAGING_PREFIX)]
    leftovers += [dest / f".{name}.tmp" for name in SMALL_FILES if (dest / f".{name}.tmp").exists()]
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if leftovers:
        log.info("removed %d leftovers of an interrupted get from %s", len(leftovers), dest)


@contextmanager
def _disk_full_reported(dest: Path) -> Iterator[None]:
    """A full disk (or quota) while writing ``dest`` becomes one clear error."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(exc, f"writing {dest}") from None
        raise


def _fetch(
    registry: Registry,
    request: InRequest,
    progress: Progress | None = None,
    fetcher: LayerFetcher | None = None,
) -> FetchedImage:
    params = request.params
    return fetch_image(
        registry,
        repository=request.source.repository,
        version=request.version,
        platform=params.platform or request.source.platform,
        progress=progress or NoProgress(),
        fetcher=fetcher,
    )


def _without_download(registry: Registry, request: InRequest) -> list[MetadataField]:
    """skip_download: the version must exist; the image's metadata is read
    (manifest and config, no layers) only when the source asks for it."""
    source = request.source
    if not (source.label_regex or source.annotation_regex):
        registry.get_manifest(request.version.digest)
        return []
    return image_metadata(_fetch(registry, request), source)


def _download(
    registry: Registry,
    request: InRequest,
    format_class: type[ImageFormat],
    stage: Path,
    progress: Progress | None,
    layer_workers: int,
) -> list[MetadataField]:
    """Fetch the image and have the format write it into ``stage``; layers
    fetched ahead are spooled in a sibling staging directory."""
    started = time.monotonic()
    with (
        _staging(stage.parent) as spool,
        PrefetchingFetcher(spool, workers=layer_workers) as fetcher,
    ):
        image = _fetch(registry, request, progress, fetcher)
        log.debug(
            "%s: %s, %d layers, as %s, %d downloads at once",
            request.version.digest,
            str(image.platform) if image.is_index else "a single image",
            len(image.layers),
            request.params.format,
            layer_workers,
        )
        new_format(format_class, request.params.format_params).write(image, stage)
    log.info("fetched in %.1fs", time.monotonic() - started)
    return image_metadata(image, request.source)


def image_metadata(image: FetchedImage, source: Source) -> list[MetadataField]:
    """Metadata from the image itself: config labels matching
    ``source.label_regex``, then annotations of the (platform's) image
    manifest matching ``source.annotation_regex``, each sorted by key."""
    if not (source.label_regex or source.annotation_regex):
        return []
    return regex_metadata(source, image.labels, image.image_manifest.image().annotations)


@contextmanager
def _staging(dest: Path) -> Iterator[Path]:
    """A fresh directory inside ``dest`` (same filesystem: renames are atomic),
    removed whatever happens."""
    stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=dest))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, dest: Path) -> None:
    """Move everything the format wrote from ``stage`` into ``dest``."""
    for child in sorted(stage.iterdir()):
        target = dest / child.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.rename(child, target)


def _write_file(path: Path, text: str) -> None:
    """``text`` without a trailing newline, replacing ``path`` atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _terminated(signum: int, frame: FrameType | None) -> None:
    # Once: a second SIGTERM must not cut short the clean-up of the first.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted("terminated by signal; nothing was written")


def run_in(stdin_text: str, args: Sequence[str]) -> Any:
    """The ``in DEST`` command: request on stdin, response for stdout."""
    if len(args) != 1:
        raise ConfigError("usage: in DEST (the destination directory)")
    plugins = load_plugins()
    request = plugins.resolve_request(
        parse_request(stdin_text, InRequest, **plugins.request_keys())
    )
    progress = TqdmProgress(sys.stderr, enabled=not request.source.debug)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        response = get(request, Path(args[0]), plugins, progress=progress)
    finally:
        progress.close()
        signal.signal(signal.SIGTERM, previous)
    return unstructure(response)
