"""The pluggy markers. Plugins import ``hookimpl`` from here (or from
``registry_image.core``) and never touch the plugin manager."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "registry_image"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
