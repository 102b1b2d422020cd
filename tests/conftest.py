"""Fixtures shared by every test: real registries from the harness."""

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.harness.fixtures"]


@pytest.fixture(autouse=True, scope="session")
def _no_ambient_docker_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The ambient ``docker_config`` credentials plugin reads an empty
    directory, never the machine's ``~/.docker`` (tests that want one set
    ``DOCKER_CONFIG`` themselves)."""
    previous = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(tmp_path_factory.mktemp("no-docker-config"))
    yield
    if previous is None:
        os.environ.pop("DOCKER_CONFIG", None)
    else:
        os.environ["DOCKER_CONFIG"] = previous
