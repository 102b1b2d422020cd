"""Conformance suites a plugin runs against itself.

- :mod:`.formats`: what every ``in`` format promises
  (:func:`format_conformance_tests` for pytest, :func:`run_format_conformance`
  outside it), plus promises a format may add (:func:`unpacks_rootfs`);
- :mod:`.source`: :class:`MemorySource`, the in-memory image source they use.
"""

from .formats import (
    FORMAT_CHECKS,
    Check,
    Subject,
    format_conformance_tests,
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
    "run_format_conformance",
    "unpacks_rootfs",
]
