"""Stacking a transport: the scheme's plugin at the bottom, then the core's
and the plugins' wrappers.

From the outside in: ``RetryingTransport`` (so every wrapper's work is
retried as a whole), ``UserAgentTransport``, the plugins' wrappers in hook
order (the first listed sees a request first), and with ``debug`` the
``TracingTransport`` right above the plugin transport, so the trace shows
each request as it goes out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from .contract import Transport, TransportSettings
from .retry import RetryingTransport
from .tracing import TracingTransport, UserAgentTransport

TransportWrapper = Callable[[Transport, TransportSettings], Transport]
"""What ``registry_image_transport_wrappers`` returns a list of: given the
transport to wrap and the settings, the wrapping transport."""


def stack_transport(
    base: Transport,
    settings: TransportSettings,
    wrappers: Sequence[TransportWrapper] = (),
    *,
    stop: threading.Event | None = None,
) -> Transport:
    """``base`` with every wrapper around it, in the order described above."""
    stacked: Transport = TracingTransport(base) if settings.debug else base
    for wrap in reversed(wrappers):
        stacked = wrap(stacked, settings)
    stacked = UserAgentTransport(stacked, settings.user_agent)
    return RetryingTransport(stacked, settings.retry, stop=stop)
