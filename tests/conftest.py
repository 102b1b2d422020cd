"""Fixtures shared by every test: real registries from the harness; the
``root`` marker; the hypothesis profile (``HYPOTHESIS_PROFILE``)."""

from __future__ import annotations

import os

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
