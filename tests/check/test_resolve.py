"""core.registry.resolve: the bounded pool behind concurrent tag resolution."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_image.core.plugins import load_plugins
from registry_image.core.reference import Repository
from registry_image.core.registry import Registry
from registry_image.core.registry.resolve import bounded_map, resolve_tags

from tests.check.images import Writer
from tests.harness.proxy import RegistryProxy


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(), max_size=40), st.integers(min_value=1, max_value=12))
def test_results_keep_input_order(items: list[int], workers: int) -> None:
    assert bounded_map(lambda n: n * 2, items, workers) == [n * 2 for n in items]


def test_never_more_than_workers_at_once_and_reaches_it() -> None:
    workers = 4
    running = 0
    peak = 0
    lock = threading.Lock()
    full = threading.Barrier(workers, timeout=20)

    def work(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        if n < workers:
            full.wait()  # the first four must all run together
        with lock:
            running -= 1
        return n

    assert bounded_map(work, list(range(20)), workers) == list(range(20))
    assert peak == workers and not full.broken


def test_a_failure_is_raised_and_calls_not_started_are_cancelled() -> None:
    started: list[int] = []
    failed = threading.Event()

    def work(n: int) -> int:
        started.append(n)
        if n == 0:
            failed.wait(timeout=20)  # still running when the failure arrives
            return n
        if n == 1:
            failed.set()
            raise ValueError(n)
        return n

    with pytest.raises(ValueError):
        bounded_map(work, list(range(100)), 2)
    assert len(started) < 100


def test_one_worker_is_serial() -> None:
    threads = set()

    def work(n: int) -> int:
        threads.add(threading.get_ident())
        return n

    bounded_map(work, list(range(5)), 1)
    assert threads == {threading.get_ident()}


def test_resolve_tags_keeps_order_and_reports_missing_tags(
    proxy: RegistryProxy, writer: Writer
) -> None:
    image = writer.image("r")
    tags = [f"t{n}" for n in range(12)]
    for tag in tags:
        writer.tag(tag, image)
    with Registry(Repository(proxy.host, writer.repo), load_plugins()) as registry:
        found = resolve_tags(registry, [*tags, "missing"], workers=6)
    assert list(found) == [*tags, "missing"]
    assert {t: d and d.digest for t, d in found.items()} == {
        **dict.fromkeys(tags, image.digest),
        "missing": None,
    }
