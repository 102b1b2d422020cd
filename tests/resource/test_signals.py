"""Exit codes and signals on the real subprocess, as Concourse runs it:
SIGTERM during ``in`` fails cleanly with nothing written (exit 1), SIGINT
exits 130, a usage error exits 2; each says so in our own words. ``check``
and ``out`` (nothing to clean up: ``out`` puts tags last) exit 130 on
SIGINT and die by SIGTERM's default action, as the Go resource does."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import Entry, build_image

TIMEOUT = 60


@pytest.fixture(autouse=True)
def sigint_as_concourse_leaves_it() -> Iterator[None]:
    """Children start with SIGINT's default action, as Concourse starts
    them. A shell that runs the suite in the background without job control
    makes it ignored, and an ignored signal stays ignored across exec: the
    command would then never see the SIGINT these tests send."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture
def silent_registry() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 that accepts and never answers: ``in``
    blocks in its first request until it is signalled."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(TIMEOUT)
        yield server


def _start(server: socket.socket, command: str, workdir: Path) -> subprocess.Popen[str]:
    port = server.getsockname()[1]
    request: dict[str, object] = {
        "source": {"repository": f"127.0.0.1:{port}/team/app", "tag": "v1"}
    }
    args = [str(workdir)] if command != "check" else []
    if command == "in":
        request["version"] = {"tag": "v1", "digest": "sha256:" + "a" * 64}
    if command == "out":
        build_image(workdir / "image", [[Entry.file("f", b"x")]])
        request["params"] = {"image": "image"}
    process = subprocess.Popen(
        [sys.executable, "-m", "registry_image.resource", command, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    return process


def _signal_when_waiting(
    server: socket.socket, process: subprocess.Popen[str], signum: int
) -> tuple[str, str]:
    """Send ``signum`` once the command waits on ``server``; its stdout and stderr."""
    try:
        connection, _ = server.accept()  # the command is now waiting on us
        with connection:
            process.send_signal(signum)
            process.wait(timeout=TIMEOUT)
            assert process.stdout is not None and process.stderr is not None
            return process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [
        (signal.SIGTERM, 1, "error: terminated by signal; nothing was written"),
        (signal.SIGINT, 130, "error: interrupted"),
    ],
)
def test_a_signal_during_in_stops_it_cleanly(
    silent_registry: socket.socket, tmp_path: Path, signum: int, code: int, message: str
) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    process = _start(silent_registry, "in", dest)
    stdout, stderr = _signal_when_waiting(silent_registry, process, signum)
    assert process.returncode == code, stderr
    assert stdout == ""
    assert stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in stderr
    assert list(dest.iterdir()) == []


def test_usage_error_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registry_image.resource", "nonsense"],
        input="",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage:")


@pytest.mark.parametrize("command", ["check", "out"])
@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "error: interrupted"), (signal.SIGTERM, -signal.SIGTERM, None)],
    ids=["sigint", "sigterm"],
)
def test_a_signal_during_check_or_out(
    silent_registry: socket.socket,
    tmp_path: Path,
    command: str,
    signum: int,
    code: int,
    message: str | None,
) -> None:
    process = _start(silent_registry, command, tmp_path)
    stdout, stderr = _signal_when_waiting(silent_registry, process, signum)
    assert process.returncode == code, stderr
    assert stdout == ""
    assert "Traceback" not in stderr
    if message is not None:
        assert stderr.strip().splitlines()[-1] == message
