"""Every failure of ``check`` is one clear line on stderr, a non-zero exit,
nothing on stdout, no traceback and no secret."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from registry_image.testing.oci_builder import Entry, build_image

from tests.harness import skopeo
from tests.harness.fixtures import unique_repo
from tests.harness.ports import free_port
from tests.harness.registry import RunningRegistry
from tests.harness.resource import (
    NO_NETWORK,
    NO_PROXIES,
    ResourceRun,
    run_resource,
    source_for,
)

SECRET = "pa55-Wr0ng-s3cret"


def assert_fails_with(result: ResourceRun, message: str) -> None:
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.error_line == f"error: {message}"
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('"alpine"', "invalid request: expected a JSON object, got a string"),
        (
            '{"source": {"repository": "a", "tagg": "x"}}',
            "invalid request: source: unknown field(s): tagg",
        ),
        ('{"source": {"tag": "x"}}', "invalid request: source.repository: required field missing"),
        (
            '{"source": {"repository": "a", "tag": "x", "password": 12}}',
            "invalid request: source.password: expected a string, got a number",
        ),
        (
            '{"source": {"repository": "UPPER/case", "tag": "x"}}',
            "source.repository: invalid repository name 'UPPER/case' "
            "(lower-case letters, digits and . _ - separators only)",
        ),
        ('{"source": {"repository": "a", "tag": "bad/tag"}}', "source.tag: invalid tag 'bad/tag'"),
    ],
)
def test_invalid_requests(stdin: str, message: str) -> None:
    assert_fails_with(run_resource("check", stdin), message)


@pytest.mark.parametrize(
    ("stdin", "where"), [("{not json", "line 1 column 2"), ("", "line 1 column 1")]
)
def test_requests_that_are_not_json(stdin: str, where: str) -> None:
    """Our words and the position; the parser's own wording (CPython's) is
    not pinned."""
    result = run_resource("check", stdin)
    assert (result.returncode, result.stdout) == (1, "")
    assert "Traceback" not in result.stderr
    assert re.fullmatch(
        rf"error: invalid request: not valid JSON \(.+ at {where}\)", result.error_line
    )


def push(tmp_path: Path, registry: RunningRegistry) -> str:
    repo = unique_repo()
    build_image(tmp_path / "layout", [[Entry.file("f", b"x")]])
    skopeo.push_layout(tmp_path / "layout", registry, repo, "v1")
    return repo


def check(registry: RunningRegistry, repo: str, **fields: Any) -> ResourceRun:
    return run_resource("check", {"source": source_for(registry, repo, tag="v1", **fields)})


def test_wrong_password_basic(tmp_path: Path, registry_basic: RunningRegistry) -> None:
    repo = push(tmp_path, registry_basic)
    assert_fails_with(
        check(registry_basic, repo, password=SECRET),
        f"{registry_basic.host}: authentication failed for pull on {repo} as 'ci-user' (HTTP 401)",
    )


def test_no_credentials_basic(tmp_path: Path, registry_basic: RunningRegistry) -> None:
    repo = push(tmp_path, registry_basic)
    source = {"repository": f"{registry_basic.host}/{repo}", "tag": "v1"}
    assert_fails_with(
        run_resource("check", {"source": source}),
        f"{registry_basic.host}: authentication failed for pull on {repo} "
        "anonymously (no credentials configured) (HTTP 401)",
    )


def test_username_without_password_is_anonymous(
    tmp_path: Path, registry_basic: RunningRegistry
) -> None:
    """As upstream: credentials are used only when both are set."""
    repo = push(tmp_path, registry_basic)
    source = {"repository": f"{registry_basic.host}/{repo}", "tag": "v1", "username": "ci-user"}
    result = run_resource("check", {"source": source})
    assert "anonymously (no credentials configured)" in result.error_line


def test_wrong_password_token(tmp_path: Path, registry_token: RunningRegistry) -> None:
    repo = push(tmp_path, registry_token)
    assert registry_token.token_server is not None
    token_host = registry_token.token_server.url.split("/")[2]
    assert_fails_with(
        check(registry_token, repo, password=SECRET),
        f"{registry_token.host}: token service {token_host} refused access to {repo} "
        "as 'ci-user' (HTTP 401)",
    )


def test_connection_refused() -> None:
    host = f"127.0.0.1:{free_port()}"
    result = run_resource("check", {"source": {"repository": f"{host}/x", "tag": "v1"}})
    assert_fails_with(result, f"cannot reach {host}: connection refused")


def test_unknown_host() -> None:
    """Run in an empty network namespace so the name lookup fails without
    sending a packet anywhere."""
    source = {
        "repository": "no-such-registry.invalid/x",
        "tag": "v1",
        "username": "u",
        "password": SECRET,
    }
    result = run_resource("check", {"source": source}, prefix=NO_NETWORK, env=NO_PROXIES)
    assert_fails_with(
        result, "cannot reach no-such-registry.invalid: unknown host (name does not resolve)"
    )
