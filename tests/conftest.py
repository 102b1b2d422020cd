"""Fixtures shared by every test: real registries from the harness."""

pytest_plugins = ["tests.harness.fixtures"]
