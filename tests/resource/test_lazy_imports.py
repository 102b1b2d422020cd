"""A check imports only what its mode needs.

Concourse starts a process per check, every minute for every resource, so
what a tag-mode check imports is what it costs. Each test runs the real
command in a fresh interpreter against a real registry, then lists the
modules that process imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from registry_image.testing.oci_builder import Entry, build_image

from tests.harness import skopeo
from tests.harness.fixtures import unique_repo
from tests.harness.registry import RunningRegistry
from tests.harness.resource import source_for

# Runs COMMAND like the console script, then writes sys.modules to a file.
_RUN_AND_LIST = """
import json, sys
from registry_image.resource.cli import main
code = main([sys.argv[1]])
with open(sys.argv[2], "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""

NOT_FOR_A_TAG_CHECK = (
    # other check modes
    "registry_image.resource.check.semver",
    "registry_image.resource.check.regex",
    "registry_image.resource.check.created",
    "registry_image.core.versions.constraint",
    "registry_image.core.versions.selection",
    "registry_image.core.registry.resolve",
    # in and out
    "registry_image.resource.get",
    "registry_image.resource.put",
    "registry_image.resource.progress",
    "registry_image.core.fetch",
    "registry_image.core.unpack",
    "registry_image.core.localimage",
    "registry_image.core.registry.push",
    "registry_image.plugins.formats.tarlayout",
    # heavy third-party and standard modules only those use
    "tqdm",
    "zstandard",
    "isal",
    "tarfile",
    "concurrent.futures",
    "hypothesis",
)


def _modules_after(command: str, request: Mapping[str, Any], tmp_path: Path) -> list[str]:
    listing = tmp_path / "modules.json"
    completed = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, command, str(listing)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout), "the check reported no version"
    modules: list[str] = json.loads(listing.read_text())
    return modules


def _push(tmp_path: Path, registry: RunningRegistry, repo: str, tag: str) -> None:
    layout = tmp_path / f"layout-{tag}"
    build_image(layout, [[Entry.file("content", tag.encode())]])
    skopeo.push_layout(layout, registry, repo, tag)


def test_guarded_names_are_real_modules() -> None:
    # A misspelt name would make the guard below pass whatever is imported.
    for name in NOT_FOR_A_TAG_CHECK:
        if name != "hypothesis":  # may be absent outside the test extras
            assert importlib.util.find_spec(name) is not None, name


def test_tag_check_imports_only_what_it_needs(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    _push(tmp_path, registry_anonymous, repo, "v1")
    request = {"source": source_for(registry_anonymous, repo, tag="v1")}
    modules = set(_modules_after("check", request, tmp_path))
    assert "registry_image.resource.check.tag" in modules
    assert "registry_image.plugins.formats.rootfs" in modules  # every plugin was loaded
    imported = sorted(
        name
        for name in modules
        for unwanted in NOT_FOR_A_TAG_CHECK
        if name == unwanted or name.startswith(unwanted + ".")
    )
    assert imported == []


def test_semver_check_imports_its_constraints(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    # The same listing sees a mode's modules when that mode runs.
    repo = unique_repo()
    _push(tmp_path, registry_anonymous, repo, "1.0.0")
    request = {"source": source_for(registry_anonymous, repo)}
    modules = set(_modules_after("check", request, tmp_path))
    assert "registry_image.core.versions.constraint" in modules
    assert "registry_image.resource.check.semver" in modules
    assert "registry_image.resource.get" not in modules
