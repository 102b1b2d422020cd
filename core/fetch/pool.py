"""A small pool of daemon threads that a stop never has to wait for.

``ThreadPoolExecutor`` joins its threads at interpreter exit and in
``shutdown``: one download blocked in a read on a stalled connection then
holds the whole process, whatever the signal. Here the threads are daemons,
and ``shutdown`` waits for them at most ``timeout`` seconds: a thread still
blocked after that is abandoned (it sees the stop flag of its caller at its
next read, or dies with the process).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class DaemonPool:
    """Runs submitted calls on up to ``workers`` daemon threads, in order."""

    def __init__(self, workers: int, name_prefix: str) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._workers = workers
        self._name_prefix = name_prefix
        self._queue: queue.SimpleQueue[tuple[Future[object], Callable[[], object]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._futures: list[Future[object]] = []
        self._closed = False

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Queue ``call``; its ``Future`` can be cancelled until it starts."""
        if self._closed:
            raise RuntimeError("the pool is shut down")
        future: Future[object] = Future()
        self._futures.append(future)
        self._queue.put((future, call))
        if len(self._threads) < self._workers:
            thread = threading.Thread(
                target=self._work,
                name=f"{self._name_prefix}_{len(self._threads)}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        return future  # type: ignore[return-value]

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Cancel what has not started and let the threads end, waiting at
        most ``timeout`` seconds in all (``None``: as long as they take).
        True when every thread has ended."""
        self._closed = True
        for future in self._futures:
            future.cancel()
        for _ in self._threads:
            self._queue.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return not any(thread.is_alive() for thread in self._threads)
