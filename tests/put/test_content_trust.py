"""``content_trust`` keeps a Go-resource pipeline working: the Go resource
pushes even when Notary signing fails, so we push unsigned and warn."""

from __future__ import annotations

from pathlib import Path

from registry_image.testing.oci_builder import Entry, build_image

from tests.harness.fixtures import unique_repo
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for

from .helpers import manifest_digest


def test_content_trust_pushes_unsigned_with_a_warning(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    built = build_image(tmp_path / "src" / "image", [[Entry.file("f", b"signed?")]])
    trust = {"server": "https://notary.example", "repository_key_id": "k", "repository_key": "KEY"}
    source = source_for(registry_anonymous, repo, tag="v1", content_trust=trust)
    result = run_resource(
        "out", {"source": source, "params": {"image": "image"}}, str(tmp_path / "src")
    )
    assert result.json()["version"] == {"tag": "v1", "digest": built.manifest_digest}
    assert manifest_digest(registry_anonymous, repo, "v1") == built.manifest_digest
    assert "source.content_trust is ignored" in result.stderr
    assert "pushed unsigned" in result.stderr
    assert "KEY" not in result.stderr
