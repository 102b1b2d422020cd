"""The Go resource's semver/regex/variant/pre-release table, against the
real registry.

Images and tags are written into a real registry; ``check`` runs as
Concourse runs it. A proxy in front of the registry forwards everything,
changing only the order of the ``tags/list`` answer to the table's order
(the registry lists tags in storage order, the Go test served them in table
order, and regex mode and tie-breaks follow listing order).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.check.images import Writer, populate
from tests.check.upstream_table import CASES, Case
from tests.harness.fixtures import unique_repo
from tests.harness.ports import free_port
from tests.harness.proxy import Action, Alter, RegistryProxy
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource

DOCKER_HUB_ENV = "REGISTRY_IMAGE_TEST_DOCKER_HUB_HOST"


def _listing_in_order(repo: str, tags: list[str]) -> Any:
    body = json.dumps({"name": repo, "tags": tags}).encode()

    def rule(method: str, path: str) -> Action | None:
        if method == "GET" and path.startswith(f"/v2/{repo}/tags/list"):
            return Alter(replace_body=body)
        return None

    return rule


def _drop_head_digest(method: str, path: str) -> Action | None:
    if method == "HEAD" and "/manifests/" in path:
        return Alter(drop_headers=("Docker-Content-Digest",))
    return None


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_upstream_case(
    case: Case, registry_anonymous: RunningRegistry, proxy: RegistryProxy
) -> None:
    name = uuid.uuid4().hex[:12]
    repo = f"library/{name}" if case.mirror == "working" else unique_repo()
    writer = Writer(registry_anonymous, repo)
    images = populate(writer, case.tags, dict(case.created))
    table_order = [tag for tag, _ in case.tags]
    assert sorted(writer.listed_tags()) == sorted(table_order)
    proxy.rules.append(_listing_in_order(repo, table_order))
    if case.no_head_digest:
        proxy.rules.append(_drop_head_digest)

    source: dict[str, Any] = {"repository": f"{proxy.host}/{repo}"}
    env: dict[str, str] = {}
    closed = f"127.0.0.1:{free_port()}"
    if case.mirror == "unreachable":
        source["registry_mirror"] = {"host": closed}
    elif case.mirror == "working":
        source = {"repository": name, "registry_mirror": {"host": proxy.host}}
        env[DOCKER_HUB_ENV] = closed
    for key in (
        "tag_regex",
        "created_at_sort",
        "semver_constraint",
        "pre_releases",
        "pre_release_prefixes",
        "variant",
    ):
        value = getattr(case, key)
        if value:
            source[key] = list(value) if isinstance(value, tuple) else value
    request: dict[str, Any] = {"source": source}
    if case.cursor is not None:
        tag, image = case.cursor
        digest = images[image].digest if image in images else image
        request["version"] = {"tag": tag, "digest": digest}

    result = run_resource("check", request, env=env)

    image_of = dict(case.tags)
    expected = [{"tag": tag, "digest": images[image_of[tag]].digest} for tag in case.expected]
    assert result.json() == expected
    if case.no_head_digest:
        methods = {s.method for s in proxy.records if s.path.startswith(f"/v2/{repo}/manifests/")}
        assert methods == {"HEAD", "GET"}
    if case.mirror == "working":
        assert "mirror" not in result.stderr  # the mirror answered; no fallback warning
