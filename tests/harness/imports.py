"""Which modules a resource command imports: the command runs in a fresh
interpreter, as Concourse starts it, then lists ``sys.modules``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

NOT_FOR_A_TAG_CHECK: tuple[str, ...] = (
    # What a tag-mode check must not import (tests/resource/test_lazy_imports.py).
    # other check modes
    "registry_image.resource.check.semver",
    "registry_image.resource.check.regex",
    "registry_image.resource.check.created",
    "registry_image.core.versions.constraint",
    "registry_image.core.versions.selection",
    "registry_image.core.registry.resolve",
    # in and out
    "registry_image.core.steps",
    "registry_image.resource.get",
    "registry_image.resource.put",
    "registry_image.resource.progress",
    "registry_image.core.fetch",
    "registry_image.core.unpack",
    "registry_image.core.localimage",
    "registry_image.core.oci.documents",
    "registry_image.core.registry.push",
    "registry_image.plugins.formats.tarlayout",
    # heavy third-party and standard modules only those use
    "tqdm",
    "zstandard",
    "isal",
    "tarfile",
    "concurrent.futures",
    "subprocess",  # only a docker credential helper needs it
    "hypothesis",
)

# Runs COMMAND like the console script, then writes sys.modules to a file.
_RUN_AND_LIST = """
import json, sys
from registry_image.resource.cli import main
code = main([sys.argv[1]])
with open(sys.argv[2], "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""


def modules_after(
    command: str,
    request: Mapping[str, Any],
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
) -> set[str]:
    """The modules imported by one run of ``command`` with ``request``
    (which must succeed and print a document), ``env`` added to ours."""
    listing = tmp_path / "modules.json"
    completed = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, command, str(listing)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout), "the command printed nothing"
    return set(json.loads(listing.read_text()))


def among(modules: Iterable[str], unwanted: Iterable[str]) -> list[str]:
    """The ``modules`` that are one of ``unwanted`` or inside one of them."""
    names = tuple(unwanted)
    return sorted(
        name
        for name in modules
        for package in names
        if name == package or name.startswith(package + ".")
    )
