"""How long transfers report their progress, without core knowing how it is shown.

The ``in`` command passes a ``Progress`` (e.g. tqdm bars on stderr) to the
fetched image; formats never see it: every blob they open reports through it.
"""

from __future__ import annotations

from typing import Protocol


class ProgressBar(Protocol):
    """One transfer's progress."""

    def update_to(self, done: int) -> None:
        """``done`` bytes of the transfer have passed so far."""

    def close(self) -> None:
        """The transfer ended (successfully or not)."""


class Progress(Protocol):
    """Makes a ``ProgressBar`` per transfer."""

    def start(self, label: str, total: int | None) -> ProgressBar:
        """A bar for a transfer of ``total`` bytes (None: unknown) named ``label``."""


class _NoBar:
    def update_to(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


class NoProgress:
    """Reports nothing."""

    def start(self, label: str, total: int | None) -> ProgressBar:
        return _NoBar()
