"""``out``: push the image a task wrote to the registry, under every tag.

Local problems are reported before the registry is contacted, each with the
Go resource's message: a bad ``version``, an unreadable ``additional_tags``
file, ``tag_prefix`` without additional tags, no tag at all, an ``image``
glob matching nothing or more than one path, an image that cannot be read.
Then the aliases are computed (listing the repository's tags) and the image
is pushed (``core.registry.push``).

Cross-repository mounts: an image fetched by ``get`` from another repository
of the same registry and put unchanged (promotion) has a ``repository`` file
next to it; that repository (or one the image itself names) is asked to lend
its blobs, so nothing is uploaded twice.
"""

from __future__ import annotations

import glob
import logging
import os
import posixpath
from collections.abc import Sequence
from pathlib import Path

from registry_image.core.auth import Scope
from registry_image.core.converter import parse_request, unstructure
from registry_image.core.errors import (
    AuthError,
    ConfigError,
    ImageError,
    NotFoundError,
    RegistryError,
)
from registry_image.core.localimage.image import LocalImage
from registry_image.core.localimage.loader import open_image
from registry_image.core.models import MetadataField, OutRequest, Tag, Version, VersionResponse
from registry_image.core.plugins import Plugins, load_plugins
from registry_image.core.reference import Repository, parse_repository, validate_tag
from registry_image.core.registry import Registry
from registry_image.core.registry.connect import open_registry
from registry_image.core.registry.push import Pusher
from registry_image.core.versions.semver import SemVer
from registry_image.core.versions.tags import TagPlan, go_quote, parse_version, plan_tags

log = logging.getLogger(__name__)

PUSH_ACTIONS = ("pull", "push")
REPOSITORY_FILE = "repository"


def read_additional_tags(src: Path, name: str | None) -> list[str]:
    """The whitespace-separated tags in ``params.additional_tags``."""
    if not name:
        return []
    path = posixpath.join(str(src), name)
    try:
        content = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ConfigError(
            f"could not parse additional tags: failed to read file at {go_quote(path)}: "
            f"open {path}: {reason}"
        ) from None
    return content.split()


def match_image(src: Path, pattern: str) -> Path:
    """The one path ``params.image`` (a glob relative to SRC) matches."""
    joined = posixpath.normpath(glob.escape(str(src)) + "/" + pattern)
    matches = sorted(glob.glob(joined, include_hidden=True))
    if not matches:
        raise ConfigError(f"no files match glob '{pattern}'")
    if len(matches) > 1:
        raise ConfigError(
            f"too many files/directories match glob '{pattern}': [{' '.join(matches)}]"
        )
    return Path(matches[0])


def plan(request: OutRequest, src: Path) -> TagPlan:
    """Check the tag parameters, in the Go resource's order."""
    source, params = request.source, request.params
    source_tag = validate_tag(str(source.tag), "source.tag") if source.tag else None
    version: SemVer | None = parse_version(params.version) if params.version else None
    additional = read_additional_tags(src, params.additional_tags)
    return plan_tags(
        source_tag=source_tag,
        version=version,
        variant=source.variant,
        bump_aliases=params.bump_aliases,
        additional_tags=additional,
        tag_prefix=params.tag_prefix,
    )


def load_image(src: Path, pattern: str) -> tuple[Path, LocalImage]:
    path = match_image(src, pattern)
    try:
        return path, open_image(path)
    except ImageError as exc:
        raise ImageError(f"could not load image from path '{pattern}': {exc}") from None


def mount_source(image_path: Path, image: LocalImage, target: Repository) -> str | None:
    """A repository of the target registry the image's blobs may be in."""
    candidates: list[str] = []
    marker = image_path.parent / REPOSITORY_FILE
    try:
        if marker.is_file() and marker.stat().st_size < 4096:
            candidates.append(marker.read_text(encoding="utf-8").strip())
    except OSError:
        pass
    candidates.extend(image.origins)
    for candidate in candidates:
        try:
            repository = parse_repository(candidate)
        except ConfigError:
            continue
        if repository.host == target.host and repository.path != target.path:
            return repository.path
    return None


def existing_tags(registry: Registry) -> list[str]:
    """The repository's tags for the alias rules; none for a new repository."""
    try:
        return registry.list_tags()
    except NotFoundError:
        return []
    except RegistryError as exc:
        raise RegistryError(f"determine aliases: list repository tags: {exc}") from None


def _open_push_registry(request: OutRequest, plugins: Plugins, mount_from: str | None) -> Registry:
    """A registry client with push rights, covering pull on ``mount_from``
    when that can be had; without it when the token service refuses."""
    if mount_from:
        registry = open_registry(
            request.source,
            plugins,
            actions=PUSH_ACTIONS,
            extra_scopes=(Scope(mount_from, ("pull",)),),
        )
        try:
            registry.base_url()
            return registry
        except AuthError as exc:
            registry.close()
            log.info("not mounting from %s: %s", mount_from, exc)
    return open_registry(request.source, plugins, actions=PUSH_ACTIONS)


def put(request: OutRequest, src: Path, plugins: Plugins) -> VersionResponse:
    """Push the image; the version (first tag, digest) and metadata."""
    source = request.source
    if source.content_trust is not None:
        # The Go resource pushes anyway when signing fails, so pipelines with
        # content_trust keep working; we say loudly that nothing is signed.
        log.warning(
            "warning: source.content_trust is ignored: Notary v1 signing is not supported "
            "(Notary v1 is retired); the image is pushed unsigned"
        )
    tag_plan = plan(request, src)
    target = parse_repository(source.repository)
    image_path, image = load_image(src, request.params.image)
    with image:
        mount_from = mount_source(image_path, image, target)
        with _open_push_registry(request, plugins, mount_from) as registry:
            tags = tag_plan.tags(existing_tags(registry) if tag_plan.needs_existing_tags else ())
            unique = list(dict.fromkeys(tags))
            log.info("pushing tag(s) %s", ", ".join(f"{target.name}:{tag}" for tag in unique))
            try:
                report = Pusher(registry, mount_from=mount_from).push(image, unique)
            except (RegistryError, AuthError) as exc:
                raise type(exc)(f"pushing image failed: {exc}") from None
    log.info(
        "pushed %s: %d blob(s) uploaded (%d bytes), %d already there, %d mounted, in %.1fs",
        image.digest,
        report.uploaded,
        report.bytes_sent,
        report.existing,
        report.mounted,
        report.seconds,
    )
    # As the Go resource: the first tag, and every tag in order, repeats kept.
    return VersionResponse(
        version=Version(tag=Tag(tags[0]), digest=image.digest),
        metadata=(
            MetadataField("repository", source.repository),
            MetadataField("tags", " ".join(tags)),
        ),
    )


def run_out(stdin_text: str, args: Sequence[str]) -> object:
    """The ``out SRC`` command of the CLI."""
    if len(args) != 1:
        raise ConfigError("usage: out SRC (the directory holding the task's outputs)")
    plugins = load_plugins()
    request = plugins.resolve_request(
        parse_request(stdin_text, OutRequest, **plugins.request_keys())
    )
    src = Path(args[0])
    if not src.is_dir():
        raise ConfigError(f"source path {os.fspath(src)!r} is not a directory")
    return unstructure(put(request, src, plugins))
