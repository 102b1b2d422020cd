"""Fixtures shared by every test: real registries from the harness; the
``root`` marker; the hypothesis profile (``HYPOTHESIS_PROFILE``); no
ambient docker config; loopback never through the environment's proxies."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from registry_image.testing.profiles import load_profile

pytest_plugins = ["tests.harness.fixtures"]
PROFILE = load_profile()


def pytest_report_header() -> str:
    return f"hypothesis profile: {PROFILE} (HYPOTHESIS_PROFILE=ci|dev|long)"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.root("why")``: run only as root, else skip saying why."""
    marker = item.get_closest_marker("root")
    if marker is not None and os.geteuid() != 0:
        why = marker.args[0] if marker.args else "it needs root"
        pytest.skip(f"needs root: {why}")


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


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True, scope="session")
def _loopback_bypasses_proxies() -> Iterator[None]:
    """The harness's own clients (requests in tests, skopeo, the resource)
    reach the servers on 127.0.0.1 directly even when ``HTTP(S)_PROXY`` is
    set: ``NO_PROXY``/``no_proxy`` gain the loopback names. (The resource
    bypasses proxies for loopback by itself; ``tests/check/test_proxies.py`` checks that
    with ``NO_PROXY`` empty.)"""
    previous = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    for name, value in previous.items():
        kept = [part for part in (value or "").split(",") if part.strip()]
        os.environ[name] = ",".join([*kept, *LOOPBACK_NAMES])
    yield
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
