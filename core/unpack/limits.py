"""How much one ``get`` may unpack: caps on apparent bytes and on entries.

A layer of a few megabytes can inflate to terabytes of zeros, or to
millions of empty files; the caps turn that into one clear error before
the disk or the inode table fills. They count what the tar headers
*claim* (the apparent size of every regular file, sparse or not, and every
entry, whiteouts included), summed over all the layers of one get, and
are checked before an entry is written, so exceeding one costs nothing.
Memory does not grow with the bytes, but with the entries of the layer
being applied (the applier keeps their paths, about 125 bytes each), so
the entry cap also bounds it.

The defaults are far above real images (the largest public images, CUDA
and ML stacks, unpack to 20-30 GiB and a few hundred thousand files) so
that no image the Go resource fetches fails here; a pipeline raises them
with ``params.limits`` on the get step.

The caps in force are those of ``active_limits``; ``in`` sets them for the
format with ``limits_in_force``, so formats (built-in or third-party) that
build an ``Unpacker`` get them without a new argument in their contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import attrs

from ..errors import LimitError

GIB = 1024**3
DEFAULT_MAX_UNPACKED_BYTES = 64 * GIB
DEFAULT_MAX_ENTRIES = 10_000_000


@attrs.frozen
class UnpackLimits:
    """The caps of one get."""

    unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES
    entries: int = DEFAULT_MAX_ENTRIES


_ACTIVE: ContextVar[UnpackLimits | None] = ContextVar("unpack_limits", default=None)


def active_limits() -> UnpackLimits:
    """The caps in force in this context (the defaults unless ``in`` set them)."""
    return _ACTIVE.get() or UnpackLimits()


@contextmanager
def limits_in_force(limits: UnpackLimits) -> Iterator[None]:
    """Make ``limits`` the caps of every ``Unpacker`` built inside the block."""
    token = _ACTIVE.set(limits)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _size_text(count: int) -> str:
    if count >= GIB and count % GIB == 0:
        return f"{count // GIB} GiB"
    return f"{count} bytes"


@attrs.define
class UnpackBudget:
    """What one get has unpacked so far, against its caps."""

    limits: UnpackLimits
    bytes_seen: int = 0
    entries_seen: int = 0

    def add_entry(self) -> None:
        """Count one more entry; ``LimitError`` past the cap."""
        self.entries_seen += 1
        if self.entries_seen > self.limits.entries:
            raise LimitError(
                f"the image has more than {self.limits.entries} entries "
                "(params.limits.entries; raise it on the get step to allow more)"
            )

    def add_bytes(self, size: int) -> None:
        """Count ``size`` more apparent bytes; ``LimitError`` past the cap."""
        self.bytes_seen += size
        if self.bytes_seen > self.limits.unpacked_bytes:
            raise LimitError(
                f"the image unpacks to more than {_size_text(self.limits.unpacked_bytes)} "
                "(params.limits.unpacked_bytes; raise it on the get step to allow more)"
            )
