"""The pipe between the thread that reads a layer and the one that writes it."""

from __future__ import annotations

import threading

import pytest
from registry_image.core.unpack.pipeline import Pipe, PipeFailed


def test_tasks_run_in_order_on_one_other_thread_with_their_chunks() -> None:
    done: list[object] = []
    threads: set[str] = set()
    pipe = Pipe(max_bytes=8, max_items=2)

    def task(name: str, takes: bool) -> None:
        threads.add(threading.current_thread().name)
        chunks = []
        while takes and (chunk := pipe.take()) is not None:
            chunks.append(chunk)
        done.append((name, chunks))

    for number in range(20):
        pipe.send(lambda n=number: task(f"t{n}", n % 3 == 0), f"entry {number}")
        if number % 3 == 0:
            for piece in range(4):
                pipe.send_chunk(f"{number}.{piece}", 4)
            pipe.end_chunks()
    pipe.close()
    assert pipe.failure is None
    assert [name for name, _ in done] == [f"t{n}" for n in range(20)]
    assert done[3] == ("t3", ["3.0", "3.1", "3.2", "3.3"])
    assert threads == {"registry-image-apply"}


def test_the_first_failure_stops_the_rest_and_names_its_task() -> None:
    ran: list[int] = []
    pipe = Pipe(max_items=1)

    def task(number: int) -> None:
        if number == 2:
            raise ValueError("boom")
        ran.append(number)

    with pytest.raises(PipeFailed):
        for number in range(10_000):
            pipe.send(lambda n=number: task(n), f"entry {number}")
    pipe.close()
    assert pipe.failure is not None
    error, where = pipe.failure
    assert isinstance(error, ValueError)
    assert where == "entry 2"
    assert ran == [0, 1]
