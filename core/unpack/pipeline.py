"""Two threads for one layer: one reads, one writes.

Applying a layer of many small files costs two things of about the same
size: decompressing and parsing the tar (Python and zlib), and creating
the files (system calls: ``openat`` alone costs 100-300 µs per new file on
common filesystems). ``Pipe`` lets them overlap on two cores: the thread
that reads the layer parses entries and reads their data, and sends, in
order, tasks (apply this entry) and the data chunks those tasks take; one
applying thread runs them strictly in order, so what reaches the disk, and
in which order, is exactly what one thread would do.

- Bounded: at most ``max_bytes`` (4 MiB) of file data (and ``max_items`` items) wait
  in the pipe; the reader blocks until the applier catches up.
- The first task that fails stops the applier: it skips (and frees) every
  later item, and the reader's next ``send`` raises ``PipeFailed``;
  ``failure`` names the exception and what the task was (for the message).
- ``close()`` lets the applier finish what was sent, then joins it;
  ``abort()`` makes it skip what is left (a signal, the reader's own error
  when nothing more should be written).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

THREAD_NAME = "registry-image-apply"
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_ITEMS = 4096

_END = object()
"""Marks the end of the chunks one task takes."""


class _Task:
    __slots__ = ("run", "where")

    def __init__(self, run: Callable[[], None], where: str) -> None:
        self.run = run
        self.where = where


class PipeFailed(Exception):
    """The applying thread failed; ``Pipe.failure`` says how."""


class Pipe:
    """A FIFO of tasks and data chunks from the reading thread to one
    applying thread (started here), bounded in bytes and items."""

    def __init__(
        self, *, max_bytes: int = DEFAULT_MAX_BYTES, max_items: int = DEFAULT_MAX_ITEMS
    ) -> None:
        self._items: deque[tuple[object, int]] = deque()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._max_items = max_items
        self._changed = threading.Condition()
        self._closed = False
        self._aborted = False
        self._reader_waits = False
        self._applier_waits = False
        self.failure: tuple[BaseException, str] | None = None
        """The first task's exception and its ``where``."""
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    # -- the reading thread ------------------------------------------------------

    def _put(self, item: object, size: int) -> None:
        with self._changed:
            while (
                self.failure is None
                and not self._aborted
                and (self._bytes >= self._max_bytes or len(self._items) >= self._max_items)
                and self._items
            ):
                self._reader_waits = True
                self._changed.wait()
            self._reader_waits = False
            if self.failure is not None or self._aborted:
                raise PipeFailed
            self._items.append((item, size))
            self._bytes += size
            if self._applier_waits:
                self._changed.notify_all()

    def send(self, task: Callable[[], None], where: str, size: int = 0) -> None:
        """Queue ``task`` (``size``: the bytes it holds); ``where`` names it
        in the failure. ``PipeFailed`` once a task failed."""
        self._put(_Task(task, where), size)

    def send_chunk(self, chunk: object, size: int) -> None:
        """Queue data for the task sent last (it takes it with ``take``)."""
        self._put(chunk, size)

    def end_chunks(self) -> None:
        """No more data for the task sent last."""
        self._put(_END, 0)

    def close(self) -> None:
        """Wait until everything sent has been applied (or skipped after a failure)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()

    def abort(self) -> None:
        """Skip whatever was not applied yet; wait for the task running now."""
        with self._changed:
            self._aborted = True
            self._closed = True
            self._changed.notify_all()
        self._thread.join()

    # -- the applying thread -----------------------------------------------------

    def _get(self) -> object:
        """The next item; ``_END`` once closed and empty."""
        with self._changed:
            while not self._items:
                if self._closed:
                    return _END
                self._applier_waits = True
                self._changed.wait()
            self._applier_waits = False
            item, size = self._items.popleft()
            self._bytes -= size
            # A waiting reader resumes once half the room is free: fewer
            # wake-ups than one per item.
            half_free = (
                self._bytes <= self._max_bytes // 2 and len(self._items) <= self._max_items // 2
            )
            if self._reader_waits and (half_free or not self._items):
                self._changed.notify_all()
            return item

    def take(self) -> object | None:
        """For a running task: its next data chunk; None after the last."""
        item = self._get()
        return None if item is _END else item

    def _run(self) -> None:
        while True:
            item = self._get()
            if item is _END:
                if self._closed and not self._items:
                    return
                continue  # the end of a failed task's chunks
            if not isinstance(item, _Task) or self.failure is not None or self._aborted:
                continue  # a chunk of a task that failed or was skipped
            try:
                item.run()
            except BaseException as exc:  # reported by the reading thread
                with self._changed:
                    self.failure = (exc, item.where)
                    self._changed.notify_all()
