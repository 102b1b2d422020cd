"""Conformance suites a plugin runs against itself.

- :mod:`.formats`: what every ``in`` format promises
  (:func:`format_conformance_tests` for pytest, :func:`run_format_conformance`
  outside it), plus the promises saying how a format's output is read back
  (:func:`unpacks_rootfs`, :func:`keeps_blobs` with a reader from
  :mod:`registry_image.testing.readback`);
- :mod:`.auth`: what credentials plugins and challenge answerers promise
  (:func:`credentials_conformance_tests`, :func:`challenge_answerer_conformance_tests`);
- :mod:`.transports`: what transport wrappers promise
  (:func:`transport_wrapper_conformance_tests`);
- :mod:`.source`: :class:`MemorySource`, the in-memory image source they use.
"""

from .auth import (
    ANSWERER_CHECKS,
    CREDENTIALS_CHECKS,
    challenge_answerer_conformance_tests,
    credentials_conformance_tests,
)
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
from .transports import (
    TRANSPORT_WRAPPER_CHECKS,
    ScriptedResponse,
    ScriptedTransport,
    run_transport_wrapper_conformance,
    transport_wrapper_conformance_tests,
)

__all__ = [
    "ANSWERER_CHECKS",
    "CREDENTIALS_CHECKS",
    "FORMAT_CHECKS",
    "TRANSPORT_WRAPPER_CHECKS",
    "Check",
    "MemorySource",
    "ScriptedResponse",
    "ScriptedTransport",
    "Subject",
    "challenge_answerer_conformance_tests",
    "credentials_conformance_tests",
    "format_conformance_tests",
    "keeps_blobs",
    "run_format_conformance",
    "run_transport_wrapper_conformance",
    "transport_wrapper_conformance_tests",
    "unpacks_rootfs",
]
