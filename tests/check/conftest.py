"""Fixtures of the check tests: a writer for a fresh repository (the
``proxy`` in front of the shared anonymous registry is the harness's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.check.images import Writer
from tests.harness.fixtures import unique_repo
from tests.harness.registry import RunningRegistry


@pytest.fixture
def writer(registry_anonymous: RunningRegistry) -> Iterator[Writer]:
    """A writer for a fresh repository of the anonymous registry."""
    made = Writer(registry_anonymous, unique_repo())
    yield made
    made.close()
