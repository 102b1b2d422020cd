"""The example third-party plugins in ``examples/``: each installed with pip
from its own folder, using only ``registry_image.api``, passing its
conformance suite, and working through the real resource against a real
registry without any change to the core."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import Entry

from tests.get.registry_helpers import push_image
from tests.harness.imports import NOT_FOR_A_TAG_CHECK, among, modules_after
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for
from tests.plugins.dists import pip_install

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FOLDERS = sorted(path for path in EXAMPLES.iterdir() if (path / "pyproject.toml").exists())


@pytest.fixture(scope="session")
def examples_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example distribution installed with pip into one directory."""
    return pip_install(FOLDERS, tmp_path_factory, "examples")


def _env(site: Path, **more: str) -> dict[str, str]:
    return {"PYTHONPATH": str(site), **more}


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_there_are_the_three_kinds_of_example() -> None:
    assert [path.name for path in FOLDERS] == [
        "manifest-only-format",
        "request-counter",
        "token-file-credentials",
    ]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda path: path.name)
def test_examples_import_only_the_public_api(folder: Path) -> None:
    for module in folder.glob("*.py"):
        ours = {name for name in _imported_modules(module) if name.startswith("registry_image")}
        assert ours == {"registry_image.api"}, f"{module.name} imports {sorted(ours)}"


def test_examples_are_listed_and_can_be_disabled(examples_site: Path) -> None:
    listed = run_resource("plugins", "", env=_env(examples_site))
    assert listed.returncode == 0, listed.stderr
    plugins = {plugin["name"]: plugin for plugin in listed.json()["plugins"]}
    assert plugins["token_file"]["distribution"] == "registry-image-token-file 1.0.0"
    assert plugins["request_counter"]["distribution"] == "registry-image-request-counter 1.0.0"
    assert "manifest-only" in listed.json()["formats"]
    disabled = run_resource(
        "plugins",
        "",
        env=_env(examples_site, REGISTRY_IMAGE_DISABLED_PLUGINS="token_file,manifest_only"),
    )
    names = {plugin["name"] for plugin in disabled.json()["plugins"]}
    assert "token_file" not in names and "request_counter" in names
    assert "token_file" in disabled.json()["disabled"]
    assert "manifest-only" not in disabled.json()["formats"]


CONFORMANCE = """\
from registry_image.api import Credentials
from registry_image.testing.conformance import (
    credentials_conformance_tests,
    format_conformance_tests,
    keeps_blobs,
    transport_wrapper_conformance_tests,
)
from registry_image.testing.readback import manifest_file

import registry_image_manifest_only as manifest_only
import registry_image_request_counter as request_counter
import registry_image_token_file as token_file

test_format = format_conformance_tests(
    manifest_only.ManifestOnly, manifest_only, promises=[keeps_blobs(manifest_file())]
)
test_wrapper = transport_wrapper_conformance_tests(
    request_counter.CountingTransport, request_counter
)
test_credentials = credentials_conformance_tests(
    token_file,
    configured={{"token_file": {token!r}, "token_username": "ci"}},
    expected=Credentials("ci", "s3cret-token"),
)
"""


def test_examples_pass_their_conformance_suites(tmp_path: Path, examples_site: Path) -> None:
    """Run as a plugin author would: pytest on a file of their own."""
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    tests = tmp_path / "plugin-tests"
    tests.mkdir()
    (tests / "test_conformance.py").write_text(CONFORMANCE.format(token=str(token)))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True,
        text=True,
        cwd=tests,
        env={**os.environ, "PYTHONPATH": str(examples_site)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from registry_image.testing.conformance import (
        CREDENTIALS_CHECKS,
        FORMAT_CHECKS,
        TRANSPORT_WRAPPER_CHECKS,
    )

    promises = 1  # keeps_blobs
    expected = (
        len(FORMAT_CHECKS) + promises + len(TRANSPORT_WRAPPER_CHECKS) + len(CREDENTIALS_CHECKS)
    )
    assert f"{expected} passed" in result.stdout


def _image(registry: RunningRegistry, tmp_path: Path) -> tuple[str, str]:
    repo, image = push_image(registry, tmp_path, [[Entry.file("hello", b"hi\n")]])
    return repo, image.manifest_digest


def test_token_file_credentials_reach_a_basic_auth_registry(
    registry_basic: RunningRegistry, tmp_path: Path, examples_site: Path
) -> None:
    repo, digest = _image(registry_basic, tmp_path)
    assert registry_basic.credentials is not None
    username, password = registry_basic.credentials
    token = tmp_path / "registry-token"
    token.write_text(password + "\n")
    source = {"repository": f"{registry_basic.host}/{repo}", "tag": "v1"}
    with_file = {**source, "token_file": str(token), "token_username": username}
    found = run_resource("check", {"source": with_file}, env=_env(examples_site))
    assert found.returncode == 0, found.stderr
    assert found.json() == [{"tag": "v1", "digest": digest}]
    assert password not in found.stderr
    refused = run_resource("check", {"source": source}, env=_env(examples_site))
    assert refused.returncode == 1
    assert "authentication failed" in refused.error_line
    # The plugin's keys are validated as strictly as the core's.
    wrong = run_resource("check", {"source": {**source, "token_file": 7}}, env=_env(examples_site))
    assert wrong.error_line == (
        "error: invalid request: source.token_file: expected a string, got a number"
    )
    # Without the plugin installed, its key is an unknown field.
    unknown = run_resource("check", {"source": with_file})
    assert "unknown field(s): token_file, token_username" in unknown.error_line


def test_a_tag_check_with_the_examples_installed_imports_only_what_it_needs(
    registry_anonymous: RunningRegistry, tmp_path: Path, examples_site: Path
) -> None:
    # Every plugin is imported by every check: the examples keep what only
    # ``in`` needs (FetchedImage) out of their module-level imports.
    repo, _ = _image(registry_anonymous, tmp_path)
    request = {"source": source_for(registry_anonymous, repo, tag="v1")}
    modules = modules_after("check", request, tmp_path, env=_env(examples_site))
    assert {
        "registry_image_manifest_only",
        "registry_image_token_file",
        "registry_image_request_counter",
    } <= modules
    # Only the get params, whose keys a format's declared params
    # (manifest_file) are checked against when plugins load, as before.
    assert among(modules, NOT_FOR_A_TAG_CHECK) == ["registry_image.core.steps"]


def test_request_counter_wraps_the_transport_in_use(
    registry_anonymous: RunningRegistry, tmp_path: Path, examples_site: Path
) -> None:
    repo, digest = _image(registry_anonymous, tmp_path)
    counts = tmp_path / "counts.json"
    dest = tmp_path / "dest"
    request = {
        "source": source_for(registry_anonymous, repo),
        "version": {"tag": "v1", "digest": digest},
        "params": {"format": "manifest-only", "manifest_file": "m.json"},
    }
    fetched = run_resource(
        "in", request, str(dest), env=_env(examples_site, REGISTRY_IMAGE_REQUEST_COUNTS=str(counts))
    )
    assert fetched.returncode == 0, fetched.stderr
    # The format's own param chose the file name; the bytes are the manifest's.
    assert sorted(path.name for path in dest.iterdir()) == ["digest", "m.json", "repository", "tag"]
    seen = json.loads(counts.read_text())
    assert seen.get("GET 200", 0) >= 3, seen  # ping, manifest, config at least
    assert all(key.split()[0] in {"GET", "HEAD"} for key in seen), seen


def test_a_format_param_is_validated_by_the_format(
    registry_anonymous: RunningRegistry, tmp_path: Path, examples_site: Path
) -> None:
    repo, digest = _image(registry_anonymous, tmp_path)
    base = {
        "source": source_for(registry_anonymous, repo),
        "version": {"tag": "v1", "digest": digest},
    }
    wrong_type = run_resource(
        "in",
        {**base, "params": {"format": "manifest-only", "manifest_file": 3}},
        str(tmp_path / "a"),
        env=_env(examples_site),
    )
    assert wrong_type.error_line == (
        "error: invalid request: params.manifest_file: expected a string, got a number"
    )
    # Another format does not own the key: it is unknown there.
    elsewhere = run_resource(
        "in",
        {**base, "params": {"format": "oci", "manifest_file": "m.json"}},
        str(tmp_path / "b"),
        env=_env(examples_site),
    )
    assert "params: unknown field(s): manifest_file" in elsewhere.error_line
