"""Plugin API v2 behaviour on the wire, against the real registry: a
``WWW-Authenticate`` header listing several challenges, and a version pinned
by digest alone (how a task's ``image:`` is written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import Entry

from tests.get.registry_helpers import push_image
from tests.harness.proxy import Alter, Fault, RegistryProxy
from tests.harness.registry import SERVICE, RunningRegistry
from tests.harness.resource import run_resource, source_for

LAYERS = [[Entry.file("etc/hello", b"hello\n")]]


def test_basic_and_bearer_in_one_header_gets_a_token(
    registry_token: RunningRegistry, tmp_path: Path
) -> None:
    repo, image = push_image(registry_token, tmp_path, LAYERS)
    assert registry_token.token_server is not None
    both = (
        f'Basic realm="proxy", Bearer realm="{registry_token.token_server.url}",service="{SERVICE}"'
    )
    rewrite = Alter(drop_headers=("WWW-Authenticate",), set_headers={"WWW-Authenticate": both})
    with RegistryProxy(registry_token.url) as proxy:
        proxy.rules.append(Fault("GET", r"^/v2/$", rewrite, times=None))
        source = source_for(registry_token, repo, tag="v1")
        source["repository"] = f"{proxy.host}/{repo}"
        found = run_resource("check", {"source": source})
        assert found.returncode == 0, found.stderr
        assert found.json() == [{"tag": "v1", "digest": image.manifest_digest}]
        sent = [record.headers.get("Authorization", "") for record in proxy.records]
    # The bearer challenge was answered (a token), the basic one never was:
    # the password went only to the token service.
    assert any(value.startswith("Bearer ") for value in sent), sent
    assert not any(value.startswith("Basic ") for value in sent), sent


@pytest.mark.parametrize("format_", ["rootfs", "oci", "oci-layout"])
def test_a_version_with_only_a_digest_is_fetched(
    registry_anonymous: RunningRegistry, tmp_path: Path, format_: str
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, LAYERS)
    dest = tmp_path / "dest"
    request = {
        "source": source_for(registry_anonymous, repo),
        "version": {"digest": image.manifest_digest},
        "params": {"format": format_},
    }
    fetched = run_resource("in", request, str(dest))
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.json()["version"] == {"tag": "", "digest": image.manifest_digest}
    assert (dest / "tag").read_text() == ""
    assert (dest / "digest").read_text() == image.manifest_digest
    if format_ == "rootfs":
        assert (dest / "rootfs" / "etc" / "hello").read_bytes() == b"hello\n"
    if format_ == "oci-layout":
        index = json.loads((dest / "oci" / "index.json").read_text())
        assert index["manifests"][0]["digest"] == image.manifest_digest
        assert (
            "annotations" not in index["manifests"][0] or not index["manifests"][0]["annotations"]
        )


def test_a_pinned_digest_that_is_not_a_digest_is_one_clear_line(tmp_path: Path) -> None:
    request = {
        "source": {"repository": "127.0.0.1:1/x"},
        "version": {"digest": "sha256:" + "a" * 64 + "\n"},
    }
    fetched = run_resource("in", request, str(tmp_path / "dest"))
    assert fetched.returncode == 1
    assert fetched.stderr.strip() == (
        "error: version.digest: invalid digest 'sha256:" + "a" * 64 + "\\n'"
    )
    assert not (tmp_path / "dest").exists()
