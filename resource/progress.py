"""Per-transfer progress bars on stderr, through tqdm.

Concourse shows a step's stderr through a pipe, not a terminal, and its UI
renders carriage-return progress lines; so bars are short (no width
guessing), plain ASCII, redrawn at most once a second, and each ends with a
final line that stays. Several layers download at once: every bar draws on
the current line (``position=0``), since tqdm would otherwise stack them with
cursor-movement escapes a pipe cannot render.
"""

from __future__ import annotations

import threading
from typing import TextIO

from registry_image.core.progress import ProgressBar
from tqdm import tqdm

MIN_INTERVAL_SECONDS = 1.0
BAR_FORMAT = "{desc} {percentage:3.0f}% {n_fmt}B/{total_fmt}B {rate_fmt}"
BAR_FORMAT_UNKNOWN_TOTAL = "{desc} {n_fmt}B {rate_fmt}"


class _TqdmBar:
    def __init__(self, bar: tqdm, progress: TqdmProgress) -> None:
        self._bar = bar
        self._progress = progress

    def update_to(self, done: int) -> None:
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        self._progress._forget(self)
        self._bar.close()


class TqdmProgress:
    """Progress bars on ``stream`` (stderr), or nothing when not ``enabled``."""

    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        # No monitor thread: bars are updated from the transfer itself.
        tqdm.monitor_interval = 0
        self._open: set[_TqdmBar] = set()
        self._lock = threading.Lock()

    def _forget(self, bar: _TqdmBar) -> None:
        with self._lock:
            self._open.discard(bar)

    def close(self) -> None:
        """Close the bars of transfers a failure abandoned, so that what is
        printed next (the error) starts on a line of its own."""
        with self._lock:
            bars, self._open = list(self._open), set()
        for bar in bars:
            bar._bar.close()

    def start(self, label: str, total: int | None) -> ProgressBar:
        bar = tqdm(
            total=total,
            desc=label,
            file=self.stream,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            mininterval=MIN_INTERVAL_SECONDS,
            ascii=True,
            dynamic_ncols=False,
            bar_format=BAR_FORMAT if total else BAR_FORMAT_UNKNOWN_TOTAL,
            disable=not self.enabled,
            position=0,
        )
        wrapped = _TqdmBar(bar, self)
        with self._lock:
            self._open.add(wrapped)
        return wrapped
