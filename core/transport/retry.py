"""The retrying wrapper: the one place the retry policy is written.

Requests whose body can be sent again are retried on connection failures
that may pass (resets, timeouts) and on 408, 429 and 5xx answers, with
bounded exponential backoff; ``Retry-After`` (seconds or an HTTP date) is
honoured up to the policy's ``max_delay``. 429 answers draw on their own,
longer budget (``rate_limit_total``), as registries' rate limits reset
slowly. Every retry is logged as one line on stderr.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from ..errors import TransportError
from .contract import Body, Response, RetryPolicy, Transport, WrappingTransport, replayable
from .headers import retry_after_seconds

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RetryingTransport(WrappingTransport):
    """Retries ``inner``'s requests per ``policy``. ``sleep`` waits between
    attempts; it is an ``Event.wait`` so a stop request ends the wait."""

    def __init__(
        self,
        inner: Transport,
        policy: RetryPolicy,
        *,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(inner)
        self.policy = policy
        self._stop = stop or threading.Event()
        self._clock = clock

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        started = self._clock()
        attempt = 0
        where = urlsplit(url)
        while True:
            attempt += 1
            delay: float | None = None
            try:
                response = self.inner.request(
                    method, url, headers=headers, body=body, allow_redirects=allow_redirects
                )
            except TransportError as exc:
                if exc.permanent or not replayable(body):
                    raise
                if not self._may_retry(attempt, started, 0.0, rate_limited=False):
                    raise
                what = exc.reason
                rate_limited = False
            else:
                if response.status not in RETRY_STATUSES or not replayable(body):
                    return response
                rate_limited = response.status == 429
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                if not self._may_retry(attempt, started, delay or 0.0, rate_limited=rate_limited):
                    return response
                what = f"HTTP {response.status}"
                response.close()
            wait = self._wait(attempt, delay)
            log.warning(
                "%s %s%s: %s, retrying in %.1fs (attempt %d of %d)",
                method,
                where.netloc,
                where.path,
                what,
                wait,
                attempt + 1,
                self.policy.rate_limit_attempts if rate_limited else self.policy.attempts,
            )
            if self._stop.wait(wait):
                raise TransportError(
                    f"{method} {where.netloc}{where.path}: stopped", permanent=True
                )

    def _wait(self, attempt: int, delay: float | None) -> float:
        policy = self.policy
        if delay is not None:
            return min(policy.max_delay, delay)
        backoff: float = policy.initial_delay * 2.0 ** (attempt - 1)
        return min(policy.max_delay, backoff)

    def _may_retry(self, attempt: int, started: float, delay: float, *, rate_limited: bool) -> bool:
        policy = self.policy
        attempts = policy.rate_limit_attempts if rate_limited else policy.attempts
        total = policy.rate_limit_total if rate_limited else policy.total
        if attempt >= attempts:
            return False
        elapsed: float = self._clock() - started
        return elapsed + min(delay, policy.max_delay) < total
