"""``debug: true`` traces every request (method, URL without its query,
status, bytes, time) and never a secret: no password, no token, no header
value, no query string (signed URLs carry secrets there)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import Entry

from tests.get.registry_helpers import push_image
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for

TRACE = re.compile(r"^(GET|HEAD|POST|PUT|PATCH) (https?://\S+) -> (\d{3}), (\d+) bytes read, ")


@pytest.mark.parametrize("setup", ["registry_basic", "registry_token"])
def test_debug_traces_requests_and_no_secret(
    setup: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    registry: RunningRegistry = request.getfixturevalue(setup)
    repo, image = push_image(registry, tmp_path, [[Entry.file("f", b"data")]])
    dest = tmp_path / "dest"
    fetched = run_resource(
        "in",
        {
            "source": source_for(registry, repo, debug=True),
            "version": {"tag": "v1", "digest": image.manifest_digest},
        },
        str(dest),
    )
    assert fetched.returncode == 0, fetched.stderr
    traces = [TRACE.match(line) for line in fetched.stderr.splitlines()]
    seen = [(match[1], match[2], match[3]) for match in traces if match]
    base = f"http://{registry.host}"
    assert ("GET", f"{base}/v2/", "401") in seen
    assert ("GET", f"{base}/v2/{repo}/manifests/{image.manifest_digest}", "200") in seen
    assert ("GET", f"{base}/v2/{repo}/blobs/{image.layer_digests[0]}", "200") in seen
    if setup == "registry_token":
        assert registry.token_server is not None
        assert any(url == registry.token_server.url for _, url, _ in seen)
    assert registry.password is not None
    for secret in (registry.password, "Authorization", "Basic ", "Bearer ", "eyJ", "?"):
        assert secret not in fetched.stderr, secret
