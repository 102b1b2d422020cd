"""Fixtures of the check tests: a proxy per test in front of the shared
anonymous registry, and a writer for a fresh repository."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.check.images import Writer
from tests.harness.fixtures import unique_repo
from tests.harness.proxy import RegistryProxy, proxy_for
from tests.harness.registry import RunningRegistry


@pytest.fixture(scope="module")
def module_proxy(registry_anonymous: RunningRegistry) -> Iterator[RegistryProxy]:
    """One proxy per module: stopping one takes half a second."""
    with proxy_for(registry_anonymous.url) as started:
        yield started


@pytest.fixture
def proxy(module_proxy: RegistryProxy) -> Iterator[RegistryProxy]:
    """The module's proxy, without rules; tests look only at their own
    repository's requests (see :func:`requests_for`)."""
    module_proxy.rules.clear()
    yield module_proxy
    module_proxy.rules.clear()


@pytest.fixture
def writer(registry_anonymous: RunningRegistry) -> Iterator[Writer]:
    """A writer for a fresh repository of the anonymous registry."""
    made = Writer(registry_anonymous, unique_repo())
    yield made
    made.close()
