"""ECR end to end: ``out``, ``check`` and ``in`` (rootfs) where the registry
credentials come only from moto's ECR token, against the real registry
serving TLS on 127.0.0.1:443 under the ECR host name, in a private network
and mount namespace (see ``ecr_scenario.py``).

As root this needs ``unshare --net --mount``; as an ordinary user
``unshare --user --map-root-user --net --mount`` (unprivileged user
namespaces). Where neither works the test skips, saying what failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness.moto import AWS_ENV, ecr_password

from .ecr_scenario import ACCOUNT_HOST, FILE_CONTENT, PROXY_HOST, find_ip

ROOT = Path(__file__).resolve().parents[3]


def _unshare() -> list[str]:
    """The namespace prefix that works here, or skip saying why."""
    ip = find_ip()
    if shutil.which("unshare") is None or ip is None:
        pytest.skip("needs unshare (util-linux) and ip (iproute2)")
    prefix = ["unshare", "--net", "--mount"]
    if os.geteuid() != 0:
        prefix = ["unshare", "--user", "--map-root-user", "--net", "--mount"]
    probe = subprocess.run([*prefix, ip, "link", "set", "lo", "up"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"{' '.join(prefix)} is not possible here: {probe.stderr.strip()}")
    return prefix


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    prefix = _unshare()
    workdir = tmp_path_factory.mktemp("ecr-netns")
    workdir.chmod(0o755)
    completed = subprocess.run(
        [*prefix, sys.executable, "-m", "tests.plugins.auth.ecr_scenario", str(workdir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


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
