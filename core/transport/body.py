"""Reading response bodies into memory, always bounded.

Every body the client holds whole (the ``/v2/`` ping, token answers, tag
pages, manifests, error bodies, configs) is read through ``read_bounded``:
the limit applies to the decoded bytes, and reading stops the moment it is
passed, so a body that never ends, or inflates, costs at most the limit.
"""

from __future__ import annotations

from typing import Final

from ..errors import RegistryError
from .contract import Response

KiB: Final = 1024
MiB: Final = 1024 * KiB

#: Chunks small enough that a stop request is seen within a read, and that
#: an inflating body overshoots a limit by little.
READ_CHUNK: Final = 64 * KiB

# The bounds, by what is read. Documented in the README's "Limits" table.
MAX_MANIFEST_BYTES: Final = 4 * MiB
"""A manifest or index (the distribution spec's own suggested limit)."""
MAX_CONFIG_BYTES: Final = 64 * MiB
"""An image config blob."""
MAX_TOKEN_BYTES: Final = 1 * MiB
"""A token service's answer."""
MAX_TAGS_PAGE_BYTES: Final = 8 * MiB
"""One page of ``tags/list``."""
MAX_TAGS: Final = 1_000_000
"""Tags of one repository, over all pages."""
MAX_ERROR_BYTES: Final = 64 * KiB
"""What is read of an error body (the rest is ignored)."""
MAX_PING_BYTES: Final = 64 * KiB
"""What is read of the ``/v2/`` answer."""


class BodyTooLarge(RegistryError):
    """A body is larger than the bound for what it is."""


def read_bounded(response: Response, limit: int, what: str) -> bytes:
    """The whole body, or ``BodyTooLarge`` naming ``what`` as soon as it
    passes ``limit`` bytes."""
    parts: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes(READ_CHUNK):
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(f"{what} is larger than {_size_text(limit)}")
        parts.append(chunk)
    return b"".join(parts)


def read_prefix(response: Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body (for error details); the rest is
    left unread and a broken body gives what arrived."""
    parts: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes(min(READ_CHUNK, limit)):
            parts.append(chunk[: limit - total])
            total += len(parts[-1])
            if total >= limit:
                break
    except RegistryError:
        pass
    return b"".join(parts)


def _size_text(limit: int) -> str:
    if limit % MiB == 0:
        return f"{limit // MiB} MiB"
    if limit % KiB == 0:
        return f"{limit // KiB} KiB"
    return f"{limit} bytes"
