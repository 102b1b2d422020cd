"""A plugin shipped in its own distribution is discovered through its entry
point, without any change to the resource, and can run the conformance suite
from the installed ``registry_image.testing``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from registry_image.testing.conformance import FORMAT_CHECKS

from tests.plugins.dists import pip_install

DIST = Path(__file__).parent / "third_party_dist"
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="session")
def third_party_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example distribution installed with pip into its own directory."""
    return pip_install([DIST], tmp_path_factory, "third-party")


def _resource(
    site: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "registry_image.resource", *args],
        capture_output=True,
        text=True,
        input="",
        env={**os.environ, "PYTHONPATH": str(site), **(env or {})},
    )


def test_third_party_format_is_discovered(third_party_site: Path) -> None:
    result = _resource(third_party_site, "plugins")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert "manifest-only" in listing["formats"]
    example = next(p for p in listing["plugins"] if p["name"] == "example")
    assert example["distribution"] == "registry-image-thirdparty-example 1.2.3"


def test_third_party_plugin_can_be_disabled(third_party_site: Path) -> None:
    result = _resource(
        third_party_site, "plugins", env={"REGISTRY_IMAGE_DISABLED_PLUGINS": "example"}
    )
    assert result.returncode == 0, result.stderr
    assert "manifest-only" not in json.loads(result.stdout)["formats"]


def test_broken_plugin_names_its_entry_point(tmp_path: Path, third_party_site: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "broken_plugin.py").write_text("raise ImportError('missing dependency frobnicate')\n")
    dist_info = site / "broken_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text("[registry_image]\nbroken = broken_plugin\n")
    request = '{"source": {"repository": "127.0.0.1:1/x", "tag": "t"}}'
    result = subprocess.run(
        [sys.executable, "-m", "registry_image.resource", "check"],
        capture_output=True,
        text=True,
        input=request,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: plugin 'broken' (broken_plugin, from broken-plugin 0.1) failed to load: "
        "missing dependency frobnicate"
    )
    disabled = subprocess.run(
        [sys.executable, "-m", "registry_image.resource", "plugins"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site), "REGISTRY_IMAGE_DISABLED_PLUGINS": "broken"},
    )
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stderr == ""
    # The built-ins still load; the broken plugin is simply not there.
    listed = json.loads(disabled.stdout)
    assert {"rootfs", "oci", "oci-layout"} <= set(listed["formats"])
    assert "broken" not in {plugin["name"] for plugin in listed["plugins"]}
    assert listed["disabled"] == ["broken"]  # blocked: never imported


def readme_python_block(first_line: str) -> str:
    """The README's one fenced Python block that starts with ``first_line``."""
    blocks = re.findall(r"^```python\n(.*?)^```$", README.read_text(), re.DOTALL | re.MULTILINE)
    [block] = [block for block in blocks if block.startswith(first_line)]
    return block


def test_conformance_suite_runs_from_the_installed_distribution(
    tmp_path: Path, third_party_site: Path
) -> None:
    """A plugin's own tests, run by pytest: the README's conformance snippet
    against the README's example plugin, and the same suite against the
    example distribution installed with pip."""
    tests = tmp_path / "plugin-tests"
    tests.mkdir()
    plugin = readme_python_block("# registry_image_manifest_only.py")
    (tests / "registry_image_manifest_only.py").write_text(plugin)
    (tests / "test_conformance.py").write_text(readme_python_block("# test_conformance.py"))
    (tests / "test_installed_conformance.py").write_text(
        "import registry_image_thirdparty_example as example\n"
        "from registry_image.testing.conformance import format_conformance_tests, keeps_blobs\n"
        "from registry_image.testing.readback import manifest_file\n"
        "\n"
        "test_conformance = format_conformance_tests(\n"
        "    example.ManifestOnly, example, promises=[keeps_blobs(manifest_file())]\n"
        ")\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        capture_output=True,
        text=True,
        cwd=tests,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(third_party_site), str(tests)])},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # every check, and the read-back promise, for each of the two formats
    assert f"{2 * (len(FORMAT_CHECKS) + 1)} passed" in result.stdout


def test_the_testing_package_names_its_missing_extras() -> None:
    hide_hypothesis = "import sys; sys.modules['hypothesis'] = None; import registry_image.testing"
    result = subprocess.run([sys.executable, "-c", hide_hypothesis], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: registry_image.testing needs hypothesis, from the test extras: "
        "pip install 'registry-image-resource[test]'"
    )
