"""ECR round trips inside a private network and mount namespace.

Run by ``test_ecr_namespace.py`` as ``python -m tests.plugins.auth.ecr_scenario
WORKDIR`` under ``unshare --net --mount`` (plus ``--user --map-root-user``
for an ordinary user): loopback up, ``/etc/hosts`` bind-mounted to map the
ECR registry names to 127.0.0.1, moto serving ECR and STS, and the real
registry serving TLS on 127.0.0.1:443 with a certificate for those names
and the one account moto's token names (``AWS`` / ``<account>-auth-token``).
The resource's ``out``, ``check`` and ``in`` then run with only
``aws_region`` (and ``ca_certs``) in ``source``. Prints one JSON document:
each step's exit status, stdout and stderr, and the facts the test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from registry_image.testing.oci_builder import Entry, build_image

from tests.harness.moto import ACCOUNT, AWS_ENV, ecr_password, start_moto
from tests.harness.registry import start_registry
from tests.harness.resource import NO_PROXIES, run_resource

REGION = "us-east-1"
OTHER_ACCOUNT = "210987654321"
PROXY_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
ACCOUNT_HOST = f"{OTHER_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
FILE_CONTENT = b"pushed with an ECR token\n"


def find_ip() -> str | None:
    """``ip`` (iproute2), also where an ordinary user's PATH leaves it out."""
    return shutil.which("ip", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def _private_network(workdir: Path) -> None:
    subprocess.run([find_ip() or "ip", "link", "set", "lo", "up"], check=True)
    hosts = workdir / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 {PROXY_HOST}\n127.0.0.1 {ACCOUNT_HOST}\n")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
    os.environ.update(NO_PROXIES)  # no proxy outside is reachable from here


def _step(command: str, request: dict[str, Any], *args: str) -> dict[str, Any]:
    run = run_resource(command, request, *args)
    return {"returncode": run.returncode, "stdout": run.stdout, "stderr": run.stderr}


def main(workdir: Path) -> dict[str, Any]:
    _private_network(workdir)
    os.environ.update(AWS_ENV)
    with start_moto(workdir / "moto.log") as moto_url:
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        with start_registry(
            workdir / "registry",
            "basic",
            username="AWS",
            password=ecr_password(),
            tls=True,
            port=443,
            tls_names=(PROXY_HOST, ACCOUNT_HOST),
        ) as registry:
            src = workdir / "src"
            build_image(src / "layout", [[Entry.file("hello.txt", FILE_CONTENT)]])
            source = {
                "repository": "app",
                "tag": "v1",
                "aws_region": REGION,
                "ca_certs": [registry.ca_pem],
                "debug": True,
            }
            steps = {
                "out": _step("out", {"source": source, "params": {"image": "layout"}}, str(src)),
                "check": _step("check", {"source": source}),
            }
            digest = json.loads(steps["out"]["stdout"] or "{}").get("version", {}).get("digest")
            dest = workdir / "dest"
            steps["in"] = _step(
                "in", {"source": source, "version": {"tag": "v1", "digest": digest}}, str(dest)
            )
            account_source = {**source, "aws_account_id": OTHER_ACCOUNT}
            steps["check_account_id"] = _step("check", {"source": account_source})
            hello = dest / "rootfs" / "hello.txt"
            return {
                "steps": steps,
                "rootfs_hello": hello.read_text() if hello.exists() else None,
                "repository_file": (dest / "repository").read_text()
                if (dest / "repository").exists()
                else None,
                "registry_log": registry.read_log(),
            }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
