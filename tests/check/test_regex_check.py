"""Regex mode against the real registry: matching, order, ``created_at_sort``
with multi-platform tags, vanished tags."""

from __future__ import annotations

import json
from typing import Any

import pytest
from registry_image.resource.check.created import EARLIEST, parse_created

from tests.check.images import Pushed, Writer
from tests.harness.proxy import Action, Alter, RegistryProxy
from tests.harness.resource import run_resource


def ordered_listing(repo: str, tags: list[str]) -> Any:
    body = json.dumps({"name": repo, "tags": tags}).encode()
    return lambda method, path: (
        Alter(replace_body=body) if path.startswith(f"/v2/{repo}/tags/list") else None
    )


def source(proxy: RegistryProxy, writer: Writer, **fields: Any) -> dict[str, Any]:
    return {"repository": f"{proxy.host}/{writer.repo}", **fields}


def test_unanchored_search_in_listing_order(proxy: RegistryProxy, writer: Writer) -> None:
    pushed = {}
    for tag in ("build-12-main", "main-7", "release-main", "feature-x", "mainline"):
        pushed[tag] = writer.image(tag)
        writer.tag(tag, pushed[tag])
    listing = writer.listed_tags()
    result = run_resource("check", {"source": source(proxy, writer, tag_regex="main")})
    expected = [t for t in listing if "main" in t]
    assert len(expected) == 4
    assert result.json() == [{"tag": t, "digest": pushed[t].digest} for t in expected]


def test_cursor_does_not_limit_regex_mode(proxy: RegistryProxy, writer: Writer) -> None:
    """As upstream: every matching tag, every time."""
    a, b = writer.image("a"), writer.image("b")
    writer.tag("dev-a", a)
    writer.tag("dev-b", b)
    proxy.rules.append(ordered_listing(writer.repo, ["dev-a", "dev-b"]))
    request = {
        "source": source(proxy, writer, tag_regex="^dev-"),
        "version": {"tag": "dev-b", "digest": b.digest},
    }
    assert run_resource("check", request).json() == [
        {"tag": "dev-a", "digest": a.digest},
        {"tag": "dev-b", "digest": b.digest},
    ]


def multi_platform(writer: Writer, amd64_created: str, arm64_created: str) -> Pushed:
    amd64 = writer.image(f"amd64-{amd64_created}", created=amd64_created)
    arm64 = writer.image(f"arm64-{arm64_created}", created=arm64_created, architecture="arm64")
    return writer.index(
        [
            (amd64, {"os": "linux", "architecture": "amd64"}),
            (arm64, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        ]
    )


@pytest.mark.parametrize(
    ("architecture", "expected"),
    [
        ("amd64", ["undated", "old-single", "multi", "new-single"]),
        ("arm64", ["undated", "multi", "old-single", "new-single"]),
    ],
)
def test_created_at_sort_uses_the_platform_image(
    proxy: RegistryProxy, writer: Writer, architecture: str, expected: list[str]
) -> None:
    """The index's digest is reported; its order comes from the image of
    the configured platform (variant ignored, as upstream)."""
    pushed = {
        "new-single": writer.image("new", created="2024-06-01T00:00:00.123456789Z"),
        "multi": multi_platform(writer, "2024-03-01T10:00:00Z", "2019-01-01T00:00:00+02:00"),
        "old-single": writer.image("old", created="2023-01-01T00:00:00Z"),
        "undated": writer.image("undated"),
    }
    for tag, image in pushed.items():
        writer.tag(tag, image)
    proxy.rules.append(ordered_listing(writer.repo, list(pushed)))
    fields = {"tag_regex": ".", "created_at_sort": True, "platform": {"architecture": architecture}}

    result = run_resource("check", {"source": source(proxy, writer, **fields)})

    assert result.json() == [{"tag": t, "digest": pushed[t].digest} for t in expected]
    mine = [s.method for s in proxy.records if s.path.startswith(f"/v2/{writer.repo}/manifests/")]
    assert "HEAD" not in mine  # GET gives the digest already


def test_no_image_for_the_platform_is_an_error(proxy: RegistryProxy, writer: Writer) -> None:
    index = multi_platform(writer, "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
    writer.tag("multi", index)
    fields = {"tag_regex": ".", "created_at_sort": True, "platform": {"architecture": "s390x"}}
    result = run_resource("check", {"source": source(proxy, writer, **fields)})
    assert result.error_line == (
        f"error: {proxy.host}: {writer.repo}:multi: the image index {index.digest} has no "
        "image for platform linux/s390x; it has: linux/amd64, linux/arm64/v8"
    )


@pytest.mark.parametrize("created_at_sort", [False, True])
def test_vanished_tags_are_skipped(
    proxy: RegistryProxy, writer: Writer, created_at_sort: bool
) -> None:
    kept, doomed = writer.image("kept"), writer.image("doomed")
    writer.tag("keep", kept)
    writer.tag("gone", doomed)
    path = f"/v2/{writer.repo}/manifests/gone"

    def delete_when_asked(method: str, asked: str) -> Action | None:
        if asked == path:
            writer.delete(doomed)
        return None

    proxy.rules.append(delete_when_asked)
    fields = {"tag_regex": "^(keep|gone)$", "created_at_sort": created_at_sort}
    result = run_resource("check", {"source": source(proxy, writer, **fields)})
    assert result.json() == [{"tag": "keep", "digest": kept.digest}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-04T05:00:00Z", "2024-01-04T05:00:00+00:00"),
        ("2024-01-04T05:00:00.123456789Z", "2024-01-04T05:00:00.123456+00:00"),
        ("2024-01-04T05:00:00.5+02:00", "2024-01-04T05:00:00.500000+02:00"),
        ("2024-01-04 05:00:00", "2024-01-04T05:00:00+00:00"),
    ],
)
def test_parse_created(text: str, expected: str) -> None:
    assert parse_created(text).isoformat() == expected


@pytest.mark.parametrize("value", [None, "", "yesterday", 1704344400, "2024-13-45T00:00:00Z"])
def test_unreadable_created_counts_as_earliest(value: object) -> None:
    assert parse_created(value) == EARLIEST
