"""What ``check`` sends and how it copes when the registry misbehaves, seen
through a proxy in front of the real registry."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import BuiltImage, Entry, build_image

from tests.harness import skopeo
from tests.harness.fixtures import unique_repo
from tests.harness.proxy import Alter, RegistryProxy, Reset, Respond
from tests.harness.registry import RunningRegistry
from tests.harness.resource import ResourceRun, run_resource


@pytest.fixture
def image(tmp_path: Path, registry_anonymous: RunningRegistry) -> tuple[str, BuiltImage]:
    repo = unique_repo()
    built = build_image(tmp_path / "layout", [[Entry.file("f", b"wire")]])
    skopeo.push_layout(tmp_path / "layout", registry_anonymous, repo, "v1")
    return repo, built


def check_through(proxy: RegistryProxy, repo: str) -> ResourceRun:
    return run_resource("check", {"source": {"repository": f"{proxy.host}/{repo}", "tag": "v1"}})


def manifest_requests(proxy: RegistryProxy) -> list[tuple[str, int | None]]:
    return [(s.method, s.status) for s in proxy.records if "/manifests/" in s.path]


def test_one_ping_and_one_head(proxy: RegistryProxy, image: tuple[str, BuiltImage]) -> None:
    repo, built = image
    assert check_through(proxy, repo).json() == [{"tag": "v1", "digest": built.manifest_digest}]
    assert [(s.method, s.path) for s in proxy.records] == [
        ("GET", "/v2/"),
        ("HEAD", f"/v2/{repo}/manifests/v1"),
    ]


def test_get_fallback_when_head_has_no_digest(
    proxy: RegistryProxy, image: tuple[str, BuiltImage]
) -> None:
    repo, built = image
    proxy.rules.append(
        lambda method, path: (
            Alter(drop_headers=("Docker-Content-Digest",)) if "/manifests/" in path else None
        )
    )
    assert check_through(proxy, repo).json() == [{"tag": "v1", "digest": built.manifest_digest}]
    assert manifest_requests(proxy) == [("HEAD", 200), ("GET", 200)]


def test_get_fallback_when_head_fails(proxy: RegistryProxy, image: tuple[str, BuiltImage]) -> None:
    repo, built = image
    proxy.rules.append(
        lambda method, path: Respond(405) if method == "HEAD" and "/manifests/" in path else None
    )
    assert check_through(proxy, repo).json() == [{"tag": "v1", "digest": built.manifest_digest}]
    assert manifest_requests(proxy) == [("HEAD", 405), ("GET", 200)]


def test_tampered_manifest_is_refused(proxy: RegistryProxy, image: tuple[str, BuiltImage]) -> None:
    repo, built = image
    tampered = built.manifest_bytes.replace(b"}", b" }", 1)

    def rule(method: str, path: str) -> Alter | None:
        if "/manifests/" not in path:
            return None
        if method == "HEAD":
            return Alter(drop_headers=("Docker-Content-Digest",))
        return Alter(replace_body=tampered)

    proxy.rules.append(rule)
    result = check_through(proxy, repo)
    assert result.returncode == 1 and result.stdout == ""
    actual = "sha256:" + hashlib.sha256(tampered).hexdigest()
    assert result.error_line == (
        f"error: {proxy.host}: manifest v1 hashes to {actual}, not {built.manifest_digest}"
    )


def test_retries_429_honouring_retry_after(
    proxy: RegistryProxy, image: tuple[str, BuiltImage]
) -> None:
    repo, built = image
    # 2 s: not the first backoff step (1 s), so only the header explains it
    failures = iter([Respond(429, {"Retry-After": "2"}), Reset()])
    proxy.rules.append(lambda method, path: next(failures, None) if method == "HEAD" else None)
    result = check_through(proxy, repo)
    assert result.json() == [{"tag": "v1", "digest": built.manifest_digest}]
    assert manifest_requests(proxy) == [("HEAD", 429), ("HEAD", None), ("HEAD", 200)]
    assert f"HEAD {proxy.host}/v2/{repo}/manifests/v1: HTTP 429, retrying in 2.0s" in result.stderr
    limited, retried = [r.at for r in proxy.records if "/manifests/" in r.path][:2]
    assert retried - limited >= 2.0
    assert "connection reset, retrying in" in result.stderr
