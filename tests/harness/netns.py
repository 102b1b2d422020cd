"""Run a scenario in a private network and mount namespace, where a cloud
registry's host name (``123.dkr.ecr.us-east-1.amazonaws.com``, ``gcr.io``)
resolves to 127.0.0.1 without any seam in the product.

The test calls :func:`run_scenario` with a module whose ``main(workdir)``
first calls :func:`private_network` (loopback up, ``/etc/hosts``
bind-mounted to map the names to 127.0.0.1), then starts the servers and
runs the resource; the module prints one JSON document, which is returned.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.harness.resource import NO_PROXIES

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_TIMEOUT_SECONDS = 600


def find_ip() -> str | None:
    """``ip`` (iproute2), also where an ordinary user's PATH leaves it out."""
    return shutil.which("ip", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def unshare_prefix() -> list[str]:
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


def private_network(workdir: Path, names: Sequence[str]) -> None:
    """Inside the namespace: loopback up, ``names`` resolving to 127.0.0.1."""
    subprocess.run([find_ip() or "ip", "link", "set", "lo", "up"], check=True)
    hosts = workdir / "hosts"
    hosts.write_text("127.0.0.1 localhost\n" + "".join(f"127.0.0.1 {name}\n" for name in names))
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
    os.environ.update(NO_PROXIES)  # no proxy outside is reachable from here


def run_scenario(module: str, workdir: Path) -> dict[str, Any]:
    """``python -m MODULE WORKDIR`` in the namespace; its JSON document."""
    prefix = unshare_prefix()
    workdir.chmod(0o755)
    completed = subprocess.run(
        [*prefix, sys.executable, "-m", module, str(workdir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=SCENARIO_TIMEOUT_SECONDS,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
