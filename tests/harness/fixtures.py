"""pytest fixtures with real registries (and a proxy in front of one), for a
``conftest.py`` to import.

Either ``pytest_plugins = ["tests.harness.fixtures"]`` in the root
``conftest.py``, or ``from tests.harness.fixtures import registry_basic, ...``.
The registries are session-scoped and shared: give each test its own
repository with :func:`unique_repo`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .proxy import RegistryProxy
from .registry import AuthMode, RunningRegistry, start_registry

AUTH_MODES: tuple[AuthMode, ...] = ("anonymous", "basic", "token")


def unique_repo(prefix: str = "test") -> str:
    """A repository name no other test uses, e.g. ``test/3f2a9c01b7e4``."""
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


def _session_registry(
    tmp_path_factory: pytest.TempPathFactory, auth: AuthMode
) -> Iterator[RunningRegistry]:
    with start_registry(tmp_path_factory.mktemp(f"registry-{auth}"), auth) as registry:
        yield registry


@pytest.fixture(scope="session")
def registry_anonymous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A registry anyone may pull from and push to."""
    yield from _session_registry(tmp_path_factory, "anonymous")


@pytest.fixture(scope="session")
def registry_basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A registry requiring HTTP Basic credentials (htpasswd) for everything."""
    yield from _session_registry(tmp_path_factory, "basic")


@pytest.fixture(scope="session")
def registry_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A registry using bearer tokens from its token server (anonymous may pull)."""
    yield from _session_registry(tmp_path_factory, "token")


@pytest.fixture(params=AUTH_MODES)
def any_registry(request: pytest.FixtureRequest) -> RunningRegistry:
    """Each of the three session registries in turn."""
    registry: RunningRegistry = request.getfixturevalue(f"registry_{request.param}")
    return registry


@pytest.fixture
def proxy(registry_anonymous: RunningRegistry) -> Iterator[RegistryProxy]:
    """A proxy with no rules yet in front of the anonymous registry."""
    with RegistryProxy(registry_anonymous.url) as started:
        yield started
