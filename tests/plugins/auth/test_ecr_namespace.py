"""ECR end to end: ``out``, ``check`` and ``in`` (rootfs) where the registry
credentials come only from moto's ECR token, against the real registry
serving TLS on 127.0.0.1:443 under the ECR host name, in a private network
and mount namespace (see ``ecr_scenario.py``).

See ``tests/harness/netns.py`` for what the namespace needs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness.moto import AWS_ENV, ecr_password
from tests.harness.netns import run_scenario

from .ecr_scenario import ACCOUNT_HOST, FILE_CONTENT, PROXY_HOST


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_scenario("tests.plugins.auth.ecr_scenario", tmp_path_factory.mktemp("ecr-netns"))


def _ok(step: dict[str, Any]) -> Any:
    assert step["returncode"] == 0, step["stderr"]
    return json.loads(step["stdout"])


def test_out_pushes_with_the_ecr_token_to_the_proxy_endpoint(scenario: dict[str, Any]) -> None:
    pushed = _ok(scenario["steps"]["out"])
    assert pushed["version"]["tag"] == "v1"
    assert pushed["version"]["digest"].startswith("sha256:")
    assert {"name": "repository", "value": f"{PROXY_HOST}/app"} in pushed["metadata"]


def test_check_finds_it(scenario: dict[str, Any]) -> None:
    pushed = _ok(scenario["steps"]["out"])
    assert _ok(scenario["steps"]["check"]) == [pushed["version"]]
    assert (
        f"https://{PROXY_HOST}/v2/app/manifests/v1 -> 200" in scenario["steps"]["check"]["stderr"]
    )


def test_in_unpacks_the_rootfs(scenario: dict[str, Any]) -> None:
    fetched = _ok(scenario["steps"]["in"])
    assert fetched["version"] == _ok(scenario["steps"]["out"])["version"]
    assert scenario["rootfs_hello"] == FILE_CONTENT.decode()
    assert scenario["repository_file"] == f"{PROXY_HOST}/app"


def test_aws_account_id_names_the_registry(scenario: dict[str, Any]) -> None:
    step = scenario["steps"]["check_account_id"]
    assert _ok(step) == [_ok(scenario["steps"]["out"])["version"]]
    # the debug trace names every request and where it went
    assert f"HEAD https://{ACCOUNT_HOST}/v2/app/manifests/v1 -> 200" in step["stderr"]


def test_the_registry_saw_the_ecr_user_and_no_secret_was_logged(
    scenario: dict[str, Any],
) -> None:
    assert "auth.user.name=AWS" in scenario["registry_log"]
    for name, step in scenario["steps"].items():
        shown = step["stdout"] + step["stderr"]
        assert ecr_password() not in shown, name
        assert AWS_ENV["AWS_SECRET_ACCESS_KEY"] not in shown, name
