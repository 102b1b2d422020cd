"""moto in server mode on 127.0.0.1: ECR and STS for the ECR plugin's tests,
reached through the AWS SDK's standard ``AWS_ENDPOINT_URL`` override."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from .ports import LOOPBACK, free_port

ACCOUNT = "123456789012"
"""moto's default account: its ECR password is ``<account>-auth-token``."""
READY_TIMEOUT_SECONDS = 30.0
READY_POLL_SECONDS = 0.05

# Credentials that satisfy the SDK's chain; moto accepts any.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDMOTOTESTKEY",
    "AWS_SECRET_ACCESS_KEY": "moto-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


def ecr_password(account: str = ACCOUNT) -> str:
    return f"{account}-auth-token"


@contextmanager
def start_moto(log_path: Path) -> Iterator[str]:
    """Run ``moto.server`` on 127.0.0.1; yield its URL, e.g. ``http://127.0.0.1:PORT``."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto exited: {log_path.read_text(errors='replace')}")
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto not answering") from None
                time.sleep(READY_POLL_SECONDS)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
