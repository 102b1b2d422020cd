"""When an image was built: the ``created`` time of its config.

``created_at_sort`` orders tags by it. For a multi-platform tag the image
of the configured platform (default: this machine's, variant ignored, as the
Go resource's check does) is the one that counts.
"""

from __future__ import annotations

import datetime
import re

import attrs
from registry_image.core.errors import ImageError, NotFoundError
from registry_image.core.fetch import select_platform, wanted_platform
from registry_image.core.oci import Platform
from registry_image.core.oci.documents import parse_config
from registry_image.core.registry import Registry

EARLIEST = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)
"""What an image without a (readable) ``created`` counts as: Go's zero time."""

_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?"
)


def parse_created(value: object) -> datetime.datetime:
    """An RFC 3339 time (any fraction of a second, kept to microseconds);
    ``EARLIEST`` when absent or unreadable."""
    if not isinstance(value, str) or not (match := _RFC3339.fullmatch(value.strip())):
        return EARLIEST
    date, time, fraction, zone = match.groups()
    micros = (fraction or "")[:6].ljust(6, "0")
    offset = "+00:00" if zone is None or zone in "Zz" else zone
    try:
        return datetime.datetime.fromisoformat(f"{date}T{time}.{micros}{offset}")
    except ValueError:
        return EARLIEST


@attrs.frozen
class Stamped:
    """A tag's digest and its image's creation time."""

    digest: str
    created: datetime.datetime


def check_platform(configured: Platform | None) -> Platform:
    """The platform whose image counts: ``source.platform`` with this
    machine's os and architecture filling gaps, without a variant (the Go
    resource's check passes only os and architecture)."""
    wanted = wanted_platform(configured)
    return Platform(os=wanted.os, architecture=wanted.architecture)


def stamp(registry: Registry, tag: str, wanted: Platform) -> Stamped | None:
    """The digest ``tag`` names and when its image was created; None when
    the tag no longer exists. One GET of the manifest (no HEAD first), one
    more for the platform's manifest of an index, one for the config."""
    try:
        manifest = registry.get_manifest(tag)
    except NotFoundError:
        return None
    image = manifest
    if manifest.is_index:
        try:
            entry = select_platform(manifest, wanted)
        except ImageError as exc:
            raise ImageError(f"{registry.host}: {registry.repository.path}:{tag}: {exc}") from None
        image = registry.get_manifest(entry.digest)
    config_descriptor = image.image().config
    config = registry.get_blob(config_descriptor.digest, config_descriptor.size)
    try:
        created = parse_config(config, config_descriptor.digest).created
    except ImageError:  # unreadable counts as Go's zero time, as upstream
        created = None
    return Stamped(manifest.digest, parse_created(created))
