"""Moving bytes: the transport contract, the core wrappers, bounded reads.

- ``contract``: ``Transport``, ``Response``, ``TransportSettings``,
  ``RetryPolicy`` — what transport plugins implement and receive.
- ``stack``: a scheme's transport with the wrappers stacked on it.
- ``retry``: the retry policy, written once, as a wrapper.
- ``tracing``: the user agent and ``debug`` trace wrappers.
- ``body``: bounded reads of bodies held in memory, and their limits.
- ``headers``: ``Link``, ``Retry-After``, ``Content-Range``.
"""

from .contract import (
    DEFAULT_CONNECTIONS,
    Body,
    ClosingResponse,
    Response,
    RetryPolicy,
    Transport,
    TransportSettings,
    WrappingTransport,
    replayable,
)
from .stack import TransportWrapper, stack_transport

__all__ = [
    "DEFAULT_CONNECTIONS",
    "Body",
    "ClosingResponse",
    "Response",
    "RetryPolicy",
    "Transport",
    "TransportSettings",
    "TransportWrapper",
    "WrappingTransport",
    "replayable",
    "stack_transport",
]
