"""Semver mode against real registries: what is reported, what is sent."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.check.images import Pushed, Writer
from tests.harness.fixtures import unique_repo
from tests.harness.proxy import Action, Record, RegistryProxy, Respond
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for

BARRIER_TIMEOUT = 20.0


def own(proxy: RegistryProxy, repo: str, kind: str = "manifests") -> list[Record]:
    return [s for s in proxy.records if s.path.startswith(f"/v2/{repo}/{kind}/")]


def many_versions(writer: Writer, count: int) -> tuple[list[str], dict[str, Pushed]]:
    """``count`` release tags 1.0.0, 1.0.1, ... each its own image, pushed
    in shuffled order; returns the tags ascending and tag -> image."""
    tags = [f"1.{n // 10}.{n % 10}" for n in range(count)]
    pushed = {}
    for tag in sorted(tags, key=lambda t: hash(t) % 97):
        pushed[tag] = writer.image(tag)
        writer.tag(tag, pushed[tag])
    return tags, pushed


def test_every_auth_setup(any_registry: RunningRegistry) -> None:
    """40 versions, 10 of them aliases of others (``1.2`` for ``1.2.0``),
    plus ``latest`` and junk, through each of the three registries; with a
    token registry, one token serves every concurrent request."""
    repo = unique_repo()
    writer = Writer(any_registry, repo)
    tags, pushed = many_versions(writer, 40)
    for minor in range(4):
        writer.tag(f"1.{minor}", pushed[f"1.{minor}.0"])  # fewer dots: loses
    writer.tag("latest", pushed["1.3.9"])
    writer.tag("not-a-version", pushed["1.0.0"])
    before = len(any_registry.token_server.requests) if any_registry.token_server else 0

    result = run_resource("check", {"source": source_for(any_registry, repo)})

    assert result.json() == [{"tag": t, "digest": pushed[t].digest} for t in tags]
    assert "Connection pool is full" not in result.stderr
    if any_registry.token_server is not None:
        assert len(any_registry.token_server.requests) - before == 1


def test_cursor_skips_older_tags(proxy: RegistryProxy, writer: Writer) -> None:
    tags, pushed = many_versions(writer, 30)
    cursor = {"tag": "1.2.5", "digest": pushed["1.2.5"].digest}
    source = {"repository": f"{proxy.host}/{writer.repo}"}

    result = run_resource("check", {"source": source, "version": cursor})

    assert result.json() == [{"tag": t, "digest": pushed[t].digest} for t in tags[25:]]
    asked = [s.path.rsplit("/", 1)[1] for s in own(proxy, writer.repo)]
    assert asked[0] == "1.2.5"
    assert sorted(asked[1:]) == sorted(tags[26:])  # nothing at or below the cursor


def test_tags_that_vanish_after_listing_are_skipped(proxy: RegistryProxy, writer: Writer) -> None:
    """The registry really deletes the image between the listing and our
    HEAD for it (the proxy deletes it as that HEAD arrives)."""
    kept = writer.image("kept")
    doomed = writer.image("doomed")
    writer.tag("1.0.0", kept)
    writer.tag("1.1.0", doomed)
    writer.tag("latest", doomed)

    doomed_paths = {f"/v2/{writer.repo}/manifests/{tag}" for tag in ("1.1.0", "latest")}
    deleting = threading.Lock()
    deleted: list[bool] = []

    def delete_on_head(method: str, path: str) -> Action | None:
        # Tags resolve concurrently: the first HEAD for either tag of the
        # doomed image deletes it, and the other waits until that is done.
        if method == "HEAD" and path in doomed_paths:
            with deleting:
                if not deleted:
                    writer.delete(doomed)
                    deleted.append(True)
        return None

    proxy.rules.append(delete_on_head)
    source = {"repository": f"{proxy.host}/{writer.repo}"}

    result = run_resource("check", {"source": source})

    assert result.json() == [{"tag": "1.0.0", "digest": kept.digest}]
    assert [s.status for s in own(proxy, writer.repo) if s.path.endswith("/1.1.0")] == [404]


def test_tags_are_resolved_concurrently(proxy: RegistryProxy, writer: Writer) -> None:
    """Eight HEADs must be in flight at once: each waits at a barrier for
    the other seven, so a serial check could not get past the first."""
    tags, pushed = many_versions(writer, 8)
    barrier = threading.Barrier(8, timeout=BARRIER_TIMEOUT)

    def wait_for_all(method: str, path: str) -> Action | None:
        if method == "HEAD" and path.startswith(f"/v2/{writer.repo}/manifests/"):
            barrier.wait()
        return None

    proxy.rules.append(wait_for_all)
    source = {"repository": f"{proxy.host}/{writer.repo}"}

    result = run_resource("check", {"source": source})

    assert result.json() == [{"tag": t, "digest": pushed[t].digest} for t in tags]
    assert not barrier.broken


def test_concurrent_401s_fetch_one_new_token(registry_token: RunningRegistry) -> None:
    """When the token stops working while eight HEADs are in flight, one
    thread fetches a new token and the other seven reuse it."""
    token_server = registry_token.token_server
    assert token_server is not None
    repo = unique_repo()
    writer = Writer(registry_token, repo)
    tags, pushed = many_versions(writer, 8)
    barrier = threading.Barrier(8, timeout=BARRIER_TIMEOUT)
    refused: set[str] = set()
    lock = threading.Lock()
    challenge = (
        f'Bearer realm="{token_server.url}",service="{token_server.service}",'
        f'scope="repository:{repo}:pull"'
    )

    def expire_once(method: str, path: str) -> Action | None:
        if method != "HEAD" or not path.startswith(f"/v2/{repo}/manifests/"):
            return None
        with lock:
            first = path not in refused
            refused.add(path)
        if not first:
            return None
        barrier.wait()  # all eight were sent with the first token
        return Respond(401, {"WWW-Authenticate": challenge})

    with RegistryProxy(registry_token.url) as proxy:
        proxy.rules.append(expire_once)
        source: dict[str, Any] = source_for(registry_token, repo)
        source["repository"] = f"{proxy.host}/{repo}"
        before = len(token_server.requests)
        result = run_resource("check", {"source": source})

    assert result.json() == [{"tag": t, "digest": pushed[t].digest} for t in tags]
    assert len(token_server.requests) - before == 2  # the first token, one renewal


def test_missing_repository_is_an_error(registry_anonymous: RunningRegistry) -> None:
    repo = unique_repo()
    result = run_resource("check", {"source": source_for(registry_anonymous, repo)})
    assert result.returncode == 1 and result.stdout == ""
    assert result.error_line == (f"error: {registry_anonymous.host}: repository {repo} not found")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"semver_constraint": ">= one"},
            'source.semver_constraint: improper constraint: ">= one"',
        ),
        (
            {"tag_regex": "gr(a|e"},
            "source.tag_regex: invalid regex pattern 'gr(a|e': "
            "missing ), unterminated subpattern at position 2",
        ),
    ],
)
def test_bad_settings_fail_before_any_request(
    proxy: RegistryProxy, writer: Writer, fields: dict[str, str], message: str
) -> None:
    source = {"repository": f"{proxy.host}/{writer.repo}", **fields}
    before = len(proxy.records)
    result = run_resource("check", {"source": source})
    assert result.returncode == 1
    assert result.error_line == f"error: {message}"
    assert len(proxy.records) == before
