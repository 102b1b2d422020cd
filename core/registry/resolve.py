"""Resolving many tags at once, with a bounded pool of threads.

A repository with hundreds of tags costs one manifest HEAD per tag; sent
one after another (as the Go resource does) the check takes hundreds of
round trips. Here up to ``workers`` requests are in flight at once over the
registry client's pooled connections. Results come back in the order asked,
whatever order the requests finish in, so callers stay deterministic.

The client must be ready before the pool starts: :func:`resolve_tags`
pings and authenticates first, so threads share one token and never race to
fetch their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from ..transport import DEFAULT_CONNECTIONS
from .client import ManifestHead, Registry

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_WORKERS = DEFAULT_CONNECTIONS
"""Requests in flight at once; no more than the transport keeps connections."""


def bounded_map(function: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[function(item) for item in items]`` with up to ``workers`` calls at
    once. The first exception is raised once every started call has ended;
    calls not yet started are cancelled."""
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(
        max_workers=min(workers, len(items)), thread_name_prefix="registry-image"
    ) as pool:
        futures: list[Future[R]] = [pool.submit(function, item) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in (f for f in futures if f in done):
            error = future.exception()
            if error is not None:
                for pending in futures:
                    pending.cancel()
                raise error
    return [future.result() for future in futures]


def resolve_tags(
    registry: Registry, tags: Sequence[str], workers: int = DEFAULT_WORKERS
) -> dict[str, ManifestHead | None]:
    """What each tag names now (one HEAD each, GET when HEAD says too
    little); None for a tag that no longer exists. Keys keep ``tags``' order."""
    if not tags:
        return {}
    registry.base_url()  # ping and authenticate once, before any thread starts
    return dict(zip(tags, bounded_map(registry.head_manifest, tags, workers), strict=True))
