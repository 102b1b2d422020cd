"""A full disk (or quota) while writing DEST: one message, wherever it happens."""

from __future__ import annotations

import errno

from .errors import DiskFullError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the filesystem (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def disk_full_error(exc: OSError, where: str) -> DiskFullError:
    """The one-line error for ``exc`` (a disk-full ``OSError``) at ``where``."""
    reason = "disk quota exceeded" if exc.errno == errno.EDQUOT else "no space left on device"
    return DiskFullError(f"{where}: {reason} (free space where DEST is, then retry)")
