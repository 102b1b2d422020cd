"""A check imports only what its mode needs.

Concourse starts a process per check, every minute for every resource, so
what a tag-mode check imports is what it costs. Each test runs the real
command in a fresh interpreter against a real registry, then lists the
modules that process imported.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from registry_image.testing.oci_builder import Entry, build_image

from tests.harness import skopeo
from tests.harness.fixtures import unique_repo
from tests.harness.imports import NOT_FOR_A_TAG_CHECK, among, modules_after
from tests.harness.registry import RunningRegistry
from tests.harness.resource import source_for


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
    modules = modules_after("check", request, tmp_path)
    assert "registry_image.resource.check.tag" in modules
    assert "registry_image.plugins.formats.rootfs" in modules  # every plugin was loaded
    assert among(modules, NOT_FOR_A_TAG_CHECK) == []


def test_semver_check_imports_its_constraints(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    # The same listing sees a mode's modules when that mode runs.
    repo = unique_repo()
    _push(tmp_path, registry_anonymous, repo, "1.0.0")
    request = {"source": source_for(registry_anonymous, repo)}
    modules = modules_after("check", request, tmp_path)
    assert "registry_image.core.versions.constraint" in modules
    assert "registry_image.resource.check.semver" in modules
    assert "registry_image.resource.get" not in modules
