"""``check`` in tag mode against real registries, with skopeo as the oracle."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests
from registry_image.testing.oci_builder import (
    BuiltImage,
    Entry,
    ImageSpec,
    build_image,
    build_index,
)

from tests.harness import skopeo
from tests.harness.fixtures import unique_repo
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for

THREE_PLATFORMS = [
    ImageSpec([[Entry.file("arch", b"amd64\n")]]),
    ImageSpec([[Entry.file("arch", b"arm64\n")]], architecture="arm64", variant="v8"),
    ImageSpec([[Entry.file("arch", b"armv7\n")]], architecture="arm", variant="v7"),
]


def push_image(
    tmp_path: Path, registry: RunningRegistry, repo: str, tag: str, text: str
) -> BuiltImage:
    layout = tmp_path / f"layout-{tag}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    image = build_image(layout, [[Entry.file("content", text.encode())]])
    skopeo.push_layout(layout, registry, repo, tag)
    return image


def retagged(tmp_path: Path, registry: RunningRegistry) -> tuple[str, BuiltImage, BuiltImage]:
    """A new repository whose tag ``t`` named the image ``old`` and now names ``new``."""
    repo = unique_repo()
    old = push_image(tmp_path, registry, repo, "t", "old")
    new = push_image(tmp_path, registry, repo, "t", "new")
    return repo, old, new


def oracle_digest(registry: RunningRegistry, repo: str, tag: str) -> str:
    raw = skopeo.inspect_raw(registry, f"{repo}:{tag}")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_single_image_digest_matches_skopeo(tmp_path: Path, any_registry: RunningRegistry) -> None:
    repo = unique_repo()
    push_image(tmp_path, any_registry, repo, "v1", "one")
    versions = run_resource("check", {"source": source_for(any_registry, repo, tag="v1")}).json()
    assert versions == [{"tag": "v1", "digest": oracle_digest(any_registry, repo, "v1")}]


@pytest.mark.parametrize("media_types", ["oci", "docker"])
def test_multi_arch_index_digest_matches_skopeo(
    tmp_path: Path, any_registry: RunningRegistry, media_types: str
) -> None:
    repo = unique_repo()
    index = build_index(tmp_path / "layout", THREE_PLATFORMS, media_types=media_types)  # type: ignore[arg-type]
    skopeo.push_layout(tmp_path / "layout", any_registry, repo, "multi")
    versions = run_resource("check", {"source": source_for(any_registry, repo, tag="multi")}).json()
    assert versions == [{"tag": "multi", "digest": oracle_digest(any_registry, repo, "multi")}]
    assert versions[0]["digest"] == index.index_digest


def test_missing_tag_is_no_versions(tmp_path: Path, any_registry: RunningRegistry) -> None:
    repo = unique_repo()
    push_image(tmp_path, any_registry, repo, "v1", "one")
    result = run_resource("check", {"source": source_for(any_registry, repo, tag="nope")})
    assert (result.returncode, result.json(), result.stderr) == (0, [], "")


def test_missing_repository_is_no_versions(any_registry: RunningRegistry) -> None:
    result = run_resource("check", {"source": source_for(any_registry, unique_repo(), tag="v1")})
    assert result.json() == []


class TestCursor:
    """The cursor rules of the Go resource."""

    def test_no_cursor(self, tmp_path: Path, registry_anonymous: RunningRegistry) -> None:
        repo = unique_repo()
        image = push_image(tmp_path, registry_anonymous, repo, "t", "a")
        request = {"source": source_for(registry_anonymous, repo, tag="t"), "version": None}
        assert run_resource("check", request).json() == [
            {"tag": "t", "digest": image.manifest_digest}
        ]

    def test_cursor_is_current(self, tmp_path: Path, registry_anonymous: RunningRegistry) -> None:
        repo = unique_repo()
        image = push_image(tmp_path, registry_anonymous, repo, "t", "a")
        current = {"tag": "t", "digest": image.manifest_digest}
        request = {"source": source_for(registry_anonymous, repo, tag="t"), "version": current}
        assert run_resource("check", request).json() == [current]

    def test_cursor_still_present_comes_first(
        self, tmp_path: Path, registry_anonymous: RunningRegistry
    ) -> None:
        repo, old, new = retagged(tmp_path, registry_anonymous)
        cursor = {"tag": "t", "digest": old.manifest_digest}
        request = {"source": source_for(registry_anonymous, repo, tag="t"), "version": cursor}
        assert run_resource("check", request).json() == [
            cursor,
            {"tag": "t", "digest": new.manifest_digest},
        ]

    def test_versions_carry_the_source_tag_whatever_the_cursor_says(
        self, tmp_path: Path, registry_anonymous: RunningRegistry
    ) -> None:
        repo, old, new = retagged(tmp_path, registry_anonymous)
        for cursor_tag in ("", "other"):
            cursor = {"tag": cursor_tag, "digest": old.manifest_digest}
            request = {"source": source_for(registry_anonymous, repo, tag="t"), "version": cursor}
            assert run_resource("check", request).json() == [
                {"tag": "t", "digest": old.manifest_digest},
                {"tag": "t", "digest": new.manifest_digest},
            ]

    def test_cursor_deleted_gives_only_current(
        self, tmp_path: Path, registry_anonymous: RunningRegistry
    ) -> None:
        repo, old, new = retagged(tmp_path, registry_anonymous)
        deleted = requests.delete(
            f"{registry_anonymous.url}/v2/{repo}/manifests/{old.manifest_digest}", timeout=10
        )
        assert deleted.status_code == 202
        cursor = {"tag": "t", "digest": old.manifest_digest}
        request = {"source": source_for(registry_anonymous, repo, tag="t"), "version": cursor}
        assert run_resource("check", request).json() == [
            {"tag": "t", "digest": new.manifest_digest}
        ]


@pytest.mark.parametrize(("number", "tag"), [("42", "42"), ("1.10", "1.10")])
def test_numeric_tag(
    tmp_path: Path, registry_anonymous: RunningRegistry, number: str, tag: str
) -> None:
    repo = unique_repo()
    image = push_image(tmp_path, registry_anonymous, repo, tag, "n")
    repository = f"{registry_anonymous.host}/{repo}"
    text = f'{{"source": {{"repository": "{repository}", "tag": {number}}}}}'
    assert run_resource("check", text).json() == [{"tag": tag, "digest": image.manifest_digest}]


def test_bearer_token_is_scoped_to_pull(tmp_path: Path, registry_token: RunningRegistry) -> None:
    repo = unique_repo()
    push_image(tmp_path, registry_token, repo, "v1", "one")
    assert registry_token.token_server is not None
    before = len(registry_token.token_server.requests)
    run_resource("check", {"source": source_for(registry_token, repo, tag="v1")}).json()
    ours = registry_token.token_server.requests[before:]
    assert [(r.scopes, r.username, r.status) for r in ours] == [
        ([f"repository:{repo}:pull"], registry_token.username, 200)
    ]


def test_anonymous_token_when_no_credentials(
    tmp_path: Path, registry_token: RunningRegistry
) -> None:
    repo = unique_repo()
    image = push_image(tmp_path, registry_token, repo, "v1", "one")
    assert registry_token.token_server is not None
    before = len(registry_token.token_server.requests)
    source = {"repository": f"{registry_token.host}/{repo}", "tag": "v1"}
    assert run_resource("check", {"source": source}).json()[0]["digest"] == image.manifest_digest
    ours = registry_token.token_server.requests[before:]
    assert [(r.has_authorization, r.status) for r in ours] == [(False, 200)]
