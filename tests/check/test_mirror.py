"""``registry_mirror`` with real registries on both sides.

"Docker Hub" is a local token-auth registry: ``REGISTRY_IMAGE_TEST_DOCKER_HUB_HOST``
sends Docker Hub repositories (``team/app``, ``app``) to a proxy in front
of it, so every request that reaches the origin is seen. Mirrors are a
plain token-auth registry with its own images (so a hit is told apart from
the origin by the digests) behind another proxy, and a real pull-through
cache of the origin. Each registry has its own token server and accounts,
whose logs show whose credentials reached whom.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from tests.check.images import Pushed, Writer
from tests.harness.ports import free_port
from tests.harness.proxy import RegistryProxy
from tests.harness.registry import RunningRegistry, start_registry
from tests.harness.resource import ResourceRun, run_resource
from tests.harness.token_server import TokenServer

DOCKER_HUB_ENV = "REGISTRY_IMAGE_TEST_DOCKER_HUB_HOST"
ORIGIN_USER, ORIGIN_PASSWORD = "origin-user", "origin-pass"
MIRROR_USER, MIRROR_PASSWORD = "mirror-user", "mirror-pass"


@attrs.frozen
class Hub:
    origin: RunningRegistry
    origin_proxy: RegistryProxy
    mirror: RunningRegistry
    mirror_proxy: RegistryProxy
    pull_through: RunningRegistry

    def env(self) -> dict[str, str]:
        return {DOCKER_HUB_ENV: self.origin_proxy.host}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    def token_registry(name: str, user: str, password: str) -> Any:
        workdir = tmp_path_factory.mktemp(name)
        return start_registry(workdir, "token", username=user, password=password)

    with (
        token_registry("origin", ORIGIN_USER, ORIGIN_PASSWORD) as origin,
        token_registry("mirror", MIRROR_USER, MIRROR_PASSWORD) as mirror,
        start_registry(
            tmp_path_factory.mktemp("cache"), "anonymous", proxy_remote=origin.url
        ) as pull_through,
        RegistryProxy(origin.url) as origin_proxy,
        RegistryProxy(mirror.url) as mirror_proxy,
    ):
        yield Hub(origin, origin_proxy, mirror, mirror_proxy, pull_through)


def tokens(registry: RunningRegistry) -> TokenServer:
    assert registry.token_server is not None
    return registry.token_server


@attrs.frozen
class Marks:
    """Where the logs stood before a check, to look at what it added."""

    origin_proxy: int
    mirror_proxy: int
    origin_tokens: int
    mirror_tokens: int

    @classmethod
    def of(cls, hub: Hub) -> Marks:
        return cls(
            len(hub.origin_proxy.records),
            len(hub.mirror_proxy.records),
            len(tokens(hub.origin).requests),
            len(tokens(hub.mirror).requests),
        )

    def origin_requests(self, hub: Hub) -> int:
        return len(hub.origin_proxy.records) - self.origin_proxy

    def mirror_requests(self, hub: Hub) -> int:
        return len(hub.mirror_proxy.records) - self.mirror_proxy

    def origin_users(self, hub: Hub) -> set[str | None]:
        return {r.username for r in tokens(hub.origin).requests[self.origin_tokens :]}

    def mirror_users(self, hub: Hub) -> set[str | None]:
        return {r.username for r in tokens(hub.mirror).requests[self.mirror_tokens :]}


def fill(registry: RunningRegistry, repo: str, tags: dict[str, str]) -> dict[str, Pushed]:
    """Tag images (named by ``tags``' values, prefixed by the registry's
    role) into ``repo``; tag -> image."""
    writer = Writer(registry, repo)
    images: dict[str, Pushed] = {}
    pushed = {}
    for tag, name in tags.items():
        if name not in images:
            images[name] = writer.image(f"{registry.host}-{name}")
        writer.tag(tag, images[name])
        pushed[tag] = images[name]
    writer.close()
    return pushed


def versions(pushed: dict[str, Pushed], *tags: str) -> list[dict[str, str]]:
    return [{"tag": tag, "digest": pushed[tag].digest} for tag in tags]


def check(hub: Hub, repository: str, **fields: Any) -> ResourceRun:
    source = {
        "repository": repository,
        "username": ORIGIN_USER,
        "password": ORIGIN_PASSWORD,
        "registry_mirror": {
            "host": hub.mirror_proxy.host,
            "username": MIRROR_USER,
            "password": MIRROR_PASSWORD,
        },
        **fields,
    }
    return run_resource("check", {"source": source}, env=hub.env())


def name() -> str:
    return uuid.uuid4().hex[:12]


def test_hit_uses_the_mirror_only(hub: Hub) -> None:
    app = f"team/{name()}"
    fill(hub.origin, app, {"1.0.0": "a", "2.0.0": "b"})
    on_mirror = fill(hub.mirror, app, {"1.0.0": "m1", "1.5.0": "m2"})
    marks = Marks.of(hub)

    result = check(hub, app)

    assert result.json() == versions(on_mirror, "1.0.0", "1.5.0")
    assert marks.origin_requests(hub) == 0
    assert marks.mirror_users(hub) == {MIRROR_USER}
    assert MIRROR_PASSWORD not in result.stderr and ORIGIN_PASSWORD not in result.stderr


def test_official_images_are_mirrored_under_library(hub: Hub) -> None:
    """``alpine`` is ``library/alpine`` on Docker Hub and on the mirror;
    ``docker.io/...`` is Docker Hub too."""
    app = name()
    on_mirror = fill(hub.mirror, f"library/{app}", {"3.19": "m"})
    marks = Marks.of(hub)
    assert check(hub, app, tag="3.19").json() == versions(on_mirror, "3.19")
    assert check(hub, f"docker.io/library/{app}", tag="3.19").json() == versions(on_mirror, "3.19")
    assert marks.origin_requests(hub) == 0


def test_tag_missing_on_mirror_falls_back_to_origin(hub: Hub) -> None:
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"v7": "a"})
    fill(hub.mirror, app, {"v6": "m"})
    marks = Marks.of(hub)

    result = check(hub, app, tag="v7")

    assert result.json() == versions(on_origin, "v7")
    assert f"mirror {hub.mirror_proxy.host}/{app} has nothing for it" in result.stderr
    assert marks.mirror_users(hub) == {MIRROR_USER}
    assert marks.origin_users(hub) == {ORIGIN_USER}


def test_repository_missing_on_mirror_falls_back_to_origin(hub: Hub) -> None:
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"1.0.0": "a", "latest": "b"})
    marks = Marks.of(hub)

    result = check(hub, app)

    assert result.json() == versions(on_origin, "1.0.0", "latest")
    assert f"mirror {hub.mirror_proxy.host}/{app} failed: " in result.stderr
    assert "not found; asking the origin instead" in result.stderr
    assert marks.mirror_users(hub) == {MIRROR_USER}
    assert marks.origin_users(hub) == {ORIGIN_USER}


def test_mirror_down_falls_back_to_origin(hub: Hub) -> None:
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"1.0.0": "a"})
    down = f"127.0.0.1:{free_port()}"

    result = check(hub, app, registry_mirror={"host": down})

    assert result.json() == versions(on_origin, "1.0.0")
    assert f"mirror {down}/{app} failed: cannot reach {down}: connection refused" in result.stderr


def test_mirror_refusing_its_credentials_falls_back_without_them(hub: Hub) -> None:
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"1.0.0": "a"})
    fill(hub.mirror, app, {"1.0.0": "m"})
    marks = Marks.of(hub)
    wrong = {"host": hub.mirror_proxy.host, "username": MIRROR_USER, "password": "wrong-pass"}

    result = check(hub, app, registry_mirror=wrong)

    assert result.json() == versions(on_origin, "1.0.0")
    assert [r.status for r in tokens(hub.mirror).requests[marks.mirror_tokens :]] == [401]
    assert marks.origin_users(hub) == {ORIGIN_USER}
    assert "wrong-pass" not in result.stderr


def test_credentials_stay_with_their_registry(hub: Hub) -> None:
    """Origin credentials and no mirror credentials: the mirror is asked
    anonymously, and on fallback the origin gets its own credentials."""
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"1.0.0": "a"})
    marks = Marks.of(hub)

    result = check(hub, app, registry_mirror={"host": hub.mirror_proxy.host})

    assert result.json() == versions(on_origin, "1.0.0")
    mirror_asked = tokens(hub.mirror).requests[marks.mirror_tokens :]
    assert mirror_asked and all(not r.has_authorization for r in mirror_asked)
    assert marks.origin_users(hub) == {ORIGIN_USER}


def test_nothing_anywhere_is_no_versions(hub: Hub) -> None:
    app = f"team/{name()}"
    fill(hub.origin, app, {"1.0.0": "a"})
    fill(hub.mirror, app, {"1.0.0": "m"})
    result = check(hub, app, tag="nope")
    assert (result.returncode, result.json()) == (0, [])


def test_explicit_registry_host_never_uses_the_mirror(hub: Hub) -> None:
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"1.0.0": "a"})
    fill(hub.mirror, app, {"1.0.0": "m"})
    marks = Marks.of(hub)

    result = check(hub, f"{hub.origin_proxy.host}/{app}")

    assert result.json() == versions(on_origin, "1.0.0")
    assert marks.mirror_requests(hub) == 0
    assert marks.origin_users(hub) == {ORIGIN_USER}
    assert "mirror" not in result.stderr


def test_pull_through_cache_as_mirror(hub: Hub) -> None:
    """A real pull-through cache (``docker-registry`` with ``proxy.remoteurl``)
    answers from the origin on our behalf: we never reach the origin, and
    the origin only ever sees the cache's anonymous requests."""
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"1.0.0": "a", "1.1.0": "b", "latest": "b"})
    marks = Marks.of(hub)
    cache = {"host": hub.pull_through.host}

    result = check(hub, app, registry_mirror=cache)

    assert result.json() == versions(on_origin, "1.0.0", "1.1.0")
    assert marks.origin_requests(hub) == 0
    assert marks.origin_users(hub) == {None}  # the cache, anonymously
    assert "mirror" not in result.stderr


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("https://mirror.example", "expected a host[:port], not a URL ('https://mirror.example')"),
        ("bad host", "invalid registry host 'bad host'"),
    ],
)
def test_invalid_mirror_host(hub: Hub, host: str, message: str) -> None:
    result = check(hub, f"team/{name()}", registry_mirror={"host": host})
    assert result.error_line == f"error: source.registry_mirror.host: {message}"


def test_docker_hub_host_override_applies_to_docker_hub_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from registry_image.core.errors import ConfigError
    from registry_image.core.reference import Repository, parse_repository
    from registry_image.core.registry.mirror import api_repository

    hub_repo = parse_repository("alpine")
    other = parse_repository("ghcr.io/org/app")
    monkeypatch.delenv(DOCKER_HUB_ENV, raising=False)
    assert api_repository(hub_repo) == Repository("index.docker.io", "library/alpine")
    monkeypatch.setenv(DOCKER_HUB_ENV, "127.0.0.1:5999")
    assert api_repository(hub_repo) == Repository("127.0.0.1:5999", "library/alpine")
    assert api_repository(other) == other
    monkeypatch.setenv(DOCKER_HUB_ENV, "http://127.0.0.1:5999")
    with pytest.raises(ConfigError, match=f"^{DOCKER_HUB_ENV}: expected a host"):
        api_repository(hub_repo)
