"""Exit codes and signals on the real subprocess, as Concourse runs it:
SIGTERM during ``in`` fails cleanly with nothing written (exit 1), SIGINT
exits 130, a usage error exits 2; each says so in our own words."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TIMEOUT = 60


@pytest.fixture
def silent_registry() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 that accepts and never answers: ``in``
    blocks in its first request until it is signalled."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(TIMEOUT)
        yield server


def _start_in(server: socket.socket, dest: Path) -> subprocess.Popen[str]:
    port = server.getsockname()[1]
    request = {
        "source": {"repository": f"127.0.0.1:{port}/team/app", "tag": "v1"},
        "version": {"tag": "v1", "digest": "sha256:" + "a" * 64},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "registry_image.resource", "in", str(dest)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(request))
    process.stdin.close()
    return process


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
    process = _start_in(silent_registry, dest)
    try:
        connection, _ = silent_registry.accept()  # `in` is now waiting on us
        with connection:
            process.send_signal(signum)
            process.wait(timeout=TIMEOUT)
            assert process.stdout is not None and process.stderr is not None
            stdout, stderr = process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
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
