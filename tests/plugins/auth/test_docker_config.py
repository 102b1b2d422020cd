"""The ``docker_config`` credentials plugin: ``config.json`` ``auths``,
credential helpers and the credentials store, through the real CLI against
the basic-auth registry, and one clear line when a helper is missing or
fails, never repeating what it printed."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from registry_image.api import AuthError, ConfigError, Credentials
from registry_image.core.converter import parse_request
from registry_image.core.models import CheckRequest
from registry_image.core.plugins import Plugins, new_manager
from registry_image.plugins.auth import docker_config
from registry_image.testing.conformance import credentials_conformance_tests
from registry_image.testing.oci_builder import Entry

from tests.get.registry_helpers import push_image
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource

CONFIG_DIR = Path(__file__).parent / "docker-config"
HELPER_SECRET = "helper-printed-this-s3cret"

test_conformance = credentials_conformance_tests(
    docker_config,
    configured={"docker_config": str(CONFIG_DIR)},
    expected=Credentials("conf-user", "conf-pass-1"),
)


def _write_config(directory: Path, document: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(document))
    return directory


def _helper(bin_dir: Path, name: str, script: str) -> None:
    """A fake ``docker-credential-NAME`` (a shell script) in ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _auth(username: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def _found(registry: str, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    plugins = Plugins(*new_manager([docker_config], entry_points=False))
    document = json.dumps({"source": {"repository": f"{registry}/app"}})
    source = parse_request(document, CheckRequest, **plugins.request_keys()).source
    return plugins.credentials(registry, source)


@pytest.fixture
def pushed(registry_basic: RunningRegistry, tmp_path: Path) -> str:
    """A repository on the basic-auth registry holding ``:v1``."""
    repo, _ = push_image(registry_basic, tmp_path / "image", [[Entry.file("a", b"a")]])
    return repo


def _check(registry: RunningRegistry, repo: str, env: dict[str, str]) -> Any:
    request = {"source": {"repository": f"{registry.host}/{repo}", "tag": "v1"}}
    return run_resource("check", request, env=env)


def test_check_with_only_a_repository_uses_config_auths(
    registry_basic: RunningRegistry, pushed: str, tmp_path: Path
) -> None:
    assert registry_basic.credentials is not None
    config = _write_config(
        tmp_path / "conf",
        {"auths": {f"http://{registry_basic.host}": _auth(*registry_basic.credentials)}},
    )
    without = _check(registry_basic, pushed, {"DOCKER_CONFIG": str(tmp_path / "empty")})
    assert without.returncode != 0, "the registry must refuse anonymous access"
    result = _check(registry_basic, pushed, {"DOCKER_CONFIG": str(config)})
    assert [version["tag"] for version in result.json()] == ["v1"]
    disabled = run_resource(
        "check",
        {"source": {"repository": f"{registry_basic.host}/{pushed}", "tag": "v1"}},
        env={"DOCKER_CONFIG": str(config), "REGISTRY_IMAGE_DISABLED_PLUGINS": "docker_config"},
    )
    assert disabled.returncode != 0


def test_check_with_a_credential_helper(
    registry_basic: RunningRegistry, pushed: str, tmp_path: Path
) -> None:
    assert registry_basic.credentials is not None
    username, password = registry_basic.credentials
    seen = tmp_path / "stdin-seen"
    _helper(
        tmp_path / "bin",
        "fake",
        f'test "$1" = get || exit 3\ncat > {seen}\n'
        f'printf \'{{"ServerURL": "x", "Username": "{username}", "Secret": "{password}"}}\'\n',
    )
    config = _write_config(tmp_path / "conf", {"credHelpers": {registry_basic.host: "fake"}})
    env = {"DOCKER_CONFIG": str(config), "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    result = _check(registry_basic, pushed, env)
    assert [version["tag"] for version in result.json()] == ["v1"]
    assert seen.read_text() == registry_basic.host


def test_a_missing_helper_is_one_clear_line(
    registry_basic: RunningRegistry, pushed: str, tmp_path: Path
) -> None:
    config = _write_config(tmp_path / "conf", {"credsStore": "nowhere-to-be-found"})
    result = _check(registry_basic, pushed, {"DOCKER_CONFIG": str(config)})
    assert result.returncode != 0
    assert result.error_line == (
        f"error: docker config: credential helper docker-credential-nowhere-to-be-found "
        f"for {registry_basic.host}: not found on PATH"
    )


def test_a_failing_helper_is_one_line_without_what_it_printed(
    registry_basic: RunningRegistry, pushed: str, tmp_path: Path
) -> None:
    _helper(
        tmp_path / "bin",
        "broken",
        f'echo "{HELPER_SECRET}"\necho "{HELPER_SECRET}" >&2\nexit 7\n',
    )
    config = _write_config(tmp_path / "conf", {"credHelpers": {registry_basic.host: "broken"}})
    env = {"DOCKER_CONFIG": str(config), "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    result = _check(registry_basic, pushed, env)
    assert result.returncode != 0
    assert "exit status 7" in result.error_line
    assert "docker-credential-broken" in result.error_line
    assert HELPER_SECRET not in result.stderr + result.stdout


def test_source_credentials_win_over_the_config(
    registry_basic: RunningRegistry, pushed: str, tmp_path: Path
) -> None:
    assert registry_basic.credentials is not None
    config = _write_config(
        tmp_path / "conf", {"auths": {registry_basic.host: _auth("wrong-user", "wrong-pass")}}
    )
    username, password = registry_basic.credentials
    request = {
        "source": {
            "repository": f"{registry_basic.host}/{pushed}",
            "tag": "v1",
            "username": username,
            "password": password,
        }
    }
    result = run_resource("check", request, env={"DOCKER_CONFIG": str(config)})
    assert [version["tag"] for version in result.json()] == ["v1"]


@pytest.mark.parametrize(
    "key", ["https://index.docker.io/v1/", "docker.io", "registry-1.docker.io", "index.docker.io"]
)
def test_docker_hub_aliases_match(
    key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write_config(tmp_path, {"auths": {key: {"username": "hub", "password": "hp"}}})
    assert _found("index.docker.io", config, monkeypatch) == Credentials("hub", "hp")
    assert _found("ghcr.io", config, monkeypatch) is None


def test_docker_hub_helper_gets_the_v1_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = tmp_path / "seen"
    _helper(tmp_path / "bin", "hub", f'cat > {seen}\necho \'{{"Username": "u", "Secret": "s"}}\'\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    config = _write_config(tmp_path / "conf", {"credsStore": "hub"})
    assert _found("index.docker.io", config, monkeypatch) == Credentials("u", "s")
    assert seen.read_text() == "https://index.docker.io/v1/"


def test_helper_without_credentials_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _helper(tmp_path / "bin", "none", "echo 'credentials not found in native keychain'\nexit 1\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    config = _write_config(tmp_path / "conf", {"credsStore": "none"})
    assert _found("ghcr.io", config, monkeypatch) is None


def test_a_slow_helper_is_abandoned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _helper(tmp_path / "bin", "slow", "exec sleep 60\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setattr(docker_config, "HELPER_TIMEOUT", 0.5)
    config = _write_config(tmp_path / "conf", {"credsStore": "slow"})
    with pytest.raises(
        AuthError, match=r"docker-credential-slow for ghcr.io: no answer within 0.5 s"
    ):
        _found("ghcr.io", config, monkeypatch)


def test_a_helper_printing_too_much_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _helper(tmp_path / "bin", "loud", f"yes {HELPER_SECRET}\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    config = _write_config(tmp_path / "conf", {"credsStore": "loud"})
    with pytest.raises(AuthError, match="printed more than 64 KiB") as raised:
        _found("ghcr.io", config, monkeypatch)
    assert HELPER_SECRET not in str(raised.value)


def test_a_helper_printing_no_json_is_refused_without_echo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _helper(tmp_path / "bin", "garbled", f"echo '{HELPER_SECRET}'\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    config = _write_config(tmp_path / "conf", {"credsStore": "garbled"})
    with pytest.raises(AuthError, match="printed no credentials JSON") as raised:
        _found("ghcr.io", config, monkeypatch)
    assert HELPER_SECRET not in str(raised.value)


def test_an_invalid_config_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path.joinpath("config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        _found("ghcr.io", tmp_path, monkeypatch)
