"""The core of the registry-image resource: hook specs, plugin manager, models,
reference parsing and the registry client. Core never imports a plugin.

Plugins need only ``from registry_image.core import hookimpl``.
"""

from .markers import hookimpl

__all__ = ["hookimpl"]
