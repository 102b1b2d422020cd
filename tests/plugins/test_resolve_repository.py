"""``registry_image_resolve_repository``: a plugin acting on its own
``source`` keys names where the repository lives, and the command then runs
with that repository as if the pipeline had configured it."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
from registry_image.api import Source, hookimpl
from registry_image.core.converter import parse_request
from registry_image.core.models import CheckRequest
from registry_image.core.plugins import Plugins, new_manager
from registry_image.plugins.auth import anonymous
from registry_image.plugins.transports import http
from registry_image.resource.check import check
from registry_image.testing.oci_builder import Entry

from tests.get.registry_helpers import push_image
from tests.harness.registry import RunningRegistry


@attrs.frozen
class HomeRegistry:
    home_registry: str | None = None


class Resolver:
    """Prefixes the repository with ``source.home_registry`` when it is set."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def registry_image_source_fields(self) -> type:
        return HomeRegistry

    @hookimpl
    def registry_image_resolve_repository(self, repository: str, source: Source) -> str | None:
        self.calls.append(repository)
        home = source.extension(HomeRegistry).home_registry
        return f"{home}/{repository}" if home else None


class Second:
    @hookimpl
    def registry_image_resolve_repository(self) -> str | None:
        return "second.example/never"


def _request(plugins: Plugins, **source: object) -> CheckRequest:
    return parse_request(json.dumps({"source": source}), CheckRequest, **plugins.request_keys())


def test_no_resolver_leaves_the_request_as_it_is() -> None:
    resolver = Resolver()
    plugins = Plugins(*new_manager([resolver], entry_points=False))
    request = _request(plugins, repository="app", tag="v1")
    assert plugins.resolve_request(request) is request
    assert resolver.calls == ["app"]


def test_the_first_resolver_wins_and_the_rest_of_the_source_is_kept() -> None:
    resolver = Resolver()
    plugins = Plugins(*new_manager([Second(), resolver], entry_points=False))
    request = _request(plugins, repository="app", tag="v1", home_registry="home.example:5000")
    resolved = plugins.resolve_request(request)
    assert resolved.source.repository == "home.example:5000/app"
    assert resolved.source.tag == "v1"
    assert resolved.source.extension(HomeRegistry).home_registry == "home.example:5000"
    unresolved = plugins.resolve_request(_request(plugins, repository="app"))
    assert unresolved.source.repository == "second.example/never"


def test_check_runs_against_the_resolved_repository(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, _ = push_image(registry_anonymous, tmp_path, [[Entry.file("a", b"a")]])
    plugins = Plugins(*new_manager([Resolver(), anonymous, http], entry_points=False))
    request = _request(plugins, repository=repo, tag="v1", home_registry=registry_anonymous.host)
    versions = check(plugins.resolve_request(request), plugins)
    assert [version.tag for version in versions] == ["v1"]
