"""The daemon pool behind prefetching: a stop never waits on a blocked call."""

from __future__ import annotations

import threading
import time

import pytest
from registry_image.core.fetch.pool import DaemonPool

WAIT_SECONDS = 20.0


def test_calls_run_and_report_through_their_futures() -> None:
    pool = DaemonPool(2, "test-pool")
    ok = pool.submit(lambda: 42)
    failing = pool.submit(lambda: 1 / 0)
    assert ok.result(timeout=WAIT_SECONDS) == 42
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=WAIT_SECONDS)
    assert pool.shutdown() is True


def test_shutdown_abandons_a_blocked_call_after_its_timeout() -> None:
    release = threading.Event()
    started = threading.Event()

    def blocked() -> None:
        started.set()
        release.wait(WAIT_SECONDS)

    pool = DaemonPool(1, "test-pool")
    running = pool.submit(blocked)
    queued = pool.submit(lambda: None)
    assert started.wait(WAIT_SECONDS)
    begun = time.monotonic()
    assert pool.shutdown(timeout=0.2) is False
    assert time.monotonic() - begun < 2.0
    assert queued.cancelled()
    assert not running.done()
    threads = [t for t in threading.enumerate() if t.name.startswith("test-pool")]
    assert threads and all(t.daemon for t in threads)
    release.set()
    assert running.result(timeout=WAIT_SECONDS) is None


def test_no_submissions_after_shutdown() -> None:
    pool = DaemonPool(1, "test-pool")
    pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
