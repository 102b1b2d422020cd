"""Conformance suites a plugin can run against itself.

- ``formats``: checks for ``in`` format plugins (``run_format_conformance``,
  ``format_conformance_tests``), fed by an in-memory ``MemorySource``.
"""

from .formats import FORMAT_CHECKS, format_conformance_tests, run_format_conformance
from .source import MemorySource

__all__ = ["FORMAT_CHECKS", "MemorySource", "format_conformance_tests", "run_format_conformance"]
