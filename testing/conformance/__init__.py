"""Conformance suites a plugin runs against itself.

- :mod:`.formats`: what every ``in`` format promises
  (:func:`format_conformance_tests` for pytest, :func:`run_format_conformance`
  outside it), plus the promises saying how a format's output is read back
  (:func:`unpacks_rootfs`, :func:`keeps_blobs` with a reader from
  :mod:`registry_image.testing.readback`);
- :mod:`.source`: :class:`MemorySource`, the in-memory image source they use.
"""

from .formats import (
    FORMAT_CHECKS,
    Check,
    Subject,
    format_conformance_tests,
    keeps_blobs,
    run_format_conformance,
    unpacks_rootfs,
)
from .source import MemorySource

__all__ = [
    "FORMAT_CHECKS",
    "Check",
    "MemorySource",
    "Subject",
    "format_conformance_tests",
    "keeps_blobs",
    "run_format_conformance",
    "unpacks_rootfs",
]
