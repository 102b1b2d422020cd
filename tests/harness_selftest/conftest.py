"""The harness's own fixtures, for its self-test."""

from tests.harness.fixtures import (  # noqa: F401
    any_registry,
    registry_anonymous,
    registry_basic,
    registry_token,
)
