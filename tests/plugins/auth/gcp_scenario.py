"""Google registries end to end inside a private network and mount namespace.

Run by ``test_gcp.py`` through ``tests.harness.netns.run_scenario``:
``us-docker.pkg.dev`` (Artifact Registry) and ``gcr.io`` resolve to
127.0.0.1, where the real registry serves TLS on port 443 with a
certificate for both names and one htpasswd account, ``oauth2accesstoken``
with the metadata server's access token as password (and ``_json_key``,
for the key-file login Google also accepts). The harness's metadata server
answers on 127.0.0.1 through ``GCE_METADATA_HOST``/``GCE_METADATA_IP``. The
resource's ``out``, ``check`` and ``in`` then run with only the repository
(and ``ca_certs``) in ``source``. Prints one JSON document: each step's
exit status, stdout and stderr, and the facts the test checks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from registry_image.testing.oci_builder import Entry, build_image

from tests.harness.identity import MetadataServer
from tests.harness.netns import private_network
from tests.harness.registry import start_registry
from tests.harness.resource import run_resource

GAR_HOST = "us-docker.pkg.dev"
GCR_HOST = "gcr.io"
# Short: htpasswd's bcrypt takes at most 72 bytes (a real key file is longer).
JSON_KEY = json.dumps({"type": "service_account", "private_key_id": "k-1"})
FILE_CONTENT = b"pushed with a Google access token\n"


def _step(request: dict[str, Any], command: str, *args: str) -> dict[str, Any]:
    run = run_resource(command, request, *args)
    return {"returncode": run.returncode, "stdout": run.stdout, "stderr": run.stderr}


def main(workdir: Path) -> dict[str, Any]:
    private_network(workdir, (GAR_HOST, GCR_HOST))
    os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    with MetadataServer() as metadata:
        os.environ.update(metadata.env)
        with start_registry(
            workdir / "registry",
            "basic",
            username="oauth2accesstoken",
            password=metadata.access_token,
            extra_users={"_json_key": JSON_KEY},
            tls=True,
            port=443,
            tls_names=(GAR_HOST, GCR_HOST),
        ) as registry:
            src = workdir / "src"
            build_image(src / "layout", [[Entry.file("hello.txt", FILE_CONTENT)]])
            base = {"tag": "v1", "ca_certs": [registry.ca_pem], "debug": True}
            gar = {**base, "repository": f"{GAR_HOST}/test-project/images/app"}
            steps = {"out": _step({"source": gar, "params": {"image": "layout"}}, "out", str(src))}
            digest = json.loads(steps["out"]["stdout"] or "{}").get("version", {}).get("digest")
            steps["check"] = _step({"source": gar}, "check")
            dest = workdir / "dest"
            version = {"tag": "v1", "digest": digest}
            steps["in"] = _step({"source": gar, "version": version}, "in", str(dest))
            gcr = {**base, "repository": f"{GCR_HOST}/test-project/images/app"}
            steps["check_gcr"] = _step({"source": gcr}, "check")
            asked_before_json_key = len(metadata.requests)
            # A tag that is not there: the registry logs the user of a 404.
            json_key = {**gar, "tag": "v0", "username": "_json_key", "password": JSON_KEY}
            steps["check_json_key"] = _step({"source": json_key}, "check")
            asked_by_json_key = len(metadata.requests) - asked_before_json_key
            metadata.fail_token_with = 503
            steps["check_metadata_fails"] = _step({"source": gar}, "check")
            hello = dest / "rootfs" / "hello.txt"
            return {
                "steps": steps,
                "rootfs_hello": hello.read_text() if hello.exists() else None,
                "registry_log": registry.read_log(),
                "access_token": metadata.access_token,
                "token_requests": sum(r.path.endswith("/token") for r in metadata.requests),
                "metadata_asked_by_json_key": asked_by_json_key,
            }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
