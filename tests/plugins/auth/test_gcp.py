"""The ``gcp`` plugin: Google registries with application default
credentials from the metadata server the harness serves. The round trips
run in a private network namespace where ``us-docker.pkg.dev`` and
``gcr.io`` are the real registry on 127.0.0.1 (``gcp_scenario.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from registry_image.plugins.auth import gcp

from tests.harness.netns import run_scenario
from tests.harness.resource import NO_NETWORK, run_resource

from .gcp_scenario import FILE_CONTENT, GAR_HOST, GCR_HOST


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_scenario("tests.plugins.auth.gcp_scenario", tmp_path_factory.mktemp("gcp-netns"))


def _ok(step: dict[str, Any]) -> Any:
    assert step["returncode"] == 0, step["stderr"]
    return json.loads(step["stdout"])


def test_out_check_and_in_with_the_metadata_token_only(scenario: dict[str, Any]) -> None:
    pushed = _ok(scenario["steps"]["out"])
    assert pushed["version"]["digest"].startswith("sha256:")
    assert _ok(scenario["steps"]["check"]) == [pushed["version"]]
    assert _ok(scenario["steps"]["in"])["version"] == pushed["version"]
    assert scenario["rootfs_hello"] == FILE_CONTENT.decode()
    assert "auth.user.name=oauth2accesstoken" in scenario["registry_log"]
    assert scenario["token_requests"] >= 3, "each command asked the metadata server"


def test_gcr_io_is_google_too(scenario: dict[str, Any]) -> None:
    step = scenario["steps"]["check_gcr"]
    assert _ok(step) == [_ok(scenario["steps"]["out"])["version"]]
    assert (
        f"HEAD https://{GCR_HOST}/v2/test-project/images/app/manifests/v1 -> 200"
        in (step["stderr"])
    )


def test_json_key_credentials_in_source_still_win(scenario: dict[str, Any]) -> None:
    assert _ok(scenario["steps"]["check_json_key"]) == []
    assert "auth.user.name=_json_key" in scenario["registry_log"]
    assert scenario["metadata_asked_by_json_key"] == 0


def test_a_metadata_failure_is_one_line(scenario: dict[str, Any]) -> None:
    step = scenario["steps"]["check_metadata_fails"]
    assert step["returncode"] != 0
    errors = [line for line in step["stderr"].splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, step["stderr"]
    assert errors[0].startswith(f"error: Google ({GAR_HOST}): no access token: ")
    assert "Metadata server unavailable" in errors[0]


def test_no_token_is_logged(scenario: dict[str, Any]) -> None:
    for name, step in scenario["steps"].items():
        assert scenario["access_token"] not in step["stdout"] + step["stderr"], name


@pytest.mark.parametrize(
    ("registry", "google"),
    [
        ("gcr.io", True),
        ("eu.gcr.io", True),
        ("GCR.IO:443", True),
        ("us-docker.pkg.dev", True),
        ("europe-west1-docker.pkg.dev", True),
        ("notgcr.io", False),
        ("docker.pkg.dev", False),
        ("us-docker.pkg.dev.example", False),
        ("ghcr.io", False),
    ],
)
def test_google_registries(registry: str, google: bool) -> None:
    assert gcp.is_google_registry(registry) is google


def test_elsewhere_it_passes_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gcp, "_TOKENS", {})
    assert gcp.registry_image_credentials("ghcr.io") is None
    assert gcp._TOKENS == {}


def test_without_default_credentials_it_passes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No ADC anywhere (no key file, no gcloud, no metadata server): anonymous, as before."""
    monkeypatch.setattr(gcp, "_TOKENS", {})
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    monkeypatch.setattr("google.auth.compute_engine._metadata.is_on_gce", lambda request: False)
    assert gcp.registry_image_credentials("gcr.io") is None


def test_a_broken_key_file_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "key.json"
    key.write_text('{"type": "service_account"}')
    result = run_resource(
        "check",
        {"source": {"repository": "gcr.io/project/app"}},
        env={"GOOGLE_APPLICATION_CREDENTIALS": str(key)},
    )
    assert result.error_line.startswith("error: Google (gcr.io): default credentials: ")


def test_without_the_extra_it_warns_naming_it_and_passes(tmp_path: Path) -> None:
    fake = tmp_path / "google"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('google is not installed here')\n")
    source = {"repository": "gcr.io/project/app"}
    # no network: the anonymous attempt that follows fails fast
    result = run_resource(
        "check", {"source": source}, env={"PYTHONPATH": str(tmp_path)}, prefix=NO_NETWORK
    )
    assert "pip install 'registry-image-resource[gcp]'" in result.stderr
    assert result.returncode != 0
    assert "registry-image-resource[gcp]" not in result.error_line


def test_the_plugin_is_listed_and_can_be_disabled() -> None:
    listed = run_resource("plugins", "")
    assert "gcp" in {plugin["name"] for plugin in listed.json()["plugins"]}
    disabled = run_resource("plugins", "", env={"REGISTRY_IMAGE_DISABLED_PLUGINS": "gcp"})
    assert "gcp" not in {plugin["name"] for plugin in disabled.json()["plugins"]}
