"""Requests that used to end as "internal error" (exit 2) or a traceback:
each is one clear line and exit 1, from the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.resource import run_resource

DIGEST = "sha256:" + "0" * 64


def _assert_one_line(stderr: str, expected: str) -> None:
    assert stderr.splitlines() == [expected]
    assert "Traceback" not in stderr


@pytest.mark.parametrize("command", ["check", "in", "out"])
def test_a_request_nested_100000_levels_deep(command: str, tmp_path: Path) -> None:
    request = '{"source": ' * 100_000 + "{}" + "}" * 100_000
    run = run_resource(command, request, *([str(tmp_path)] if command != "check" else []))
    assert run.returncode == 1
    _assert_one_line(run.stderr, "error: invalid request: JSON nested more than 64 levels deep")


def test_deep_brackets_inside_strings_do_not_count() -> None:
    # Shallow JSON with many brackets in a string: parsed, then refused for
    # what it says, not for its depth.
    request = {"source": {"repository": "[{" * 500 + '\\"'}}
    run = run_resource("check", request)
    assert run.returncode == 1
    assert run.error_line.startswith("error: source.repository: invalid repository name '[{[{")


def test_port_out_of_range(tmp_path: Path) -> None:
    request = {
        "source": {"repository": "localhost:99999/x"},
        "version": {"tag": "v1", "digest": DIGEST},
    }
    run = run_resource("in", request, str(tmp_path / "dest"))
    assert run.returncode == 1
    _assert_one_line(
        run.stderr,
        "error: source.repository: invalid port 99999 in 'localhost:99999' (expected 1 to 65535)",
    )


@pytest.mark.parametrize("repository", ["127.0.0.1:5000/x\n", "127.0.0.1:5000\n/x", "a/b\n/c"])
def test_a_trailing_newline_in_the_repository(repository: str) -> None:
    run = run_resource("check", {"source": {"repository": repository}})
    assert run.returncode == 1
    assert run.error_line.startswith("error: source.repository: invalid ")
