"""What every check mode provides."""

from __future__ import annotations

from typing import Protocol

from registry_image.core.models import Version
from registry_image.core.registry import Registry


class Mode(Protocol):
    """One way of turning a repository into versions."""

    def versions(self, registry: Registry, cursor: Version | None, workers: int) -> list[Version]:
        """The versions to report, oldest first, given the last reported one."""
