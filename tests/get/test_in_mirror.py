"""``in`` with ``registry_mirror``: the mirror first for Docker Hub images,
the origin when the mirror fails, and nothing left behind by a failed try.
The registries and proxies are those of ``tests/check/test_mirror.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.check.test_mirror import (
    MIRROR_PASSWORD,
    MIRROR_USER,
    ORIGIN_PASSWORD,
    ORIGIN_USER,
    Hub,
    Marks,
    fill,
    hub,  # noqa: F401 - the module-scoped fixture
    name,
)
from tests.harness.resource import ResourceRun, run_resource


def get(registries: Hub, repository: str, version: dict[str, str], dest: Path) -> ResourceRun:
    source: dict[str, Any] = {
        "repository": repository,
        "username": ORIGIN_USER,
        "password": ORIGIN_PASSWORD,
        "registry_mirror": {
            "host": registries.mirror_proxy.host,
            "username": MIRROR_USER,
            "password": MIRROR_PASSWORD,
        },
    }
    request = {"source": source, "version": version, "params": {"format": "oci-layout"}}
    return run_resource("in", request, str(dest), env=registries.env())


def test_image_on_the_mirror_comes_from_the_mirror(hub: Hub, tmp_path: Path) -> None:  # noqa: F811
    app = f"team/{name()}"
    on_mirror = fill(hub.mirror, app, {"1.0.0": "m"})
    marks = Marks.of(hub)
    version = {"tag": "1.0.0", "digest": on_mirror["1.0.0"].digest}

    result = get(hub, app, version, tmp_path / "dest")

    assert result.json()["version"] == version
    assert (tmp_path / "dest" / "digest").read_text() == version["digest"]
    assert (tmp_path / "dest" / "repository").read_text() == app
    assert marks.origin_requests(hub) == 0
    assert marks.mirror_users(hub) == {MIRROR_USER}


def test_image_missing_on_the_mirror_comes_from_the_origin(hub: Hub, tmp_path: Path) -> None:  # noqa: F811
    app = f"team/{name()}"
    on_origin = fill(hub.origin, app, {"1.0.0": "a"})
    fill(hub.mirror, app, {"0.9.0": "m"})
    marks = Marks.of(hub)
    version = {"tag": "1.0.0", "digest": on_origin["1.0.0"].digest}

    result = get(hub, app, version, tmp_path / "dest")

    assert result.json()["version"] == version
    assert f"mirror {hub.mirror_proxy.host}/{app} failed: " in result.stderr
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == [
        "digest",
        "oci",
        "repository",
        "tag",
    ]
    assert marks.mirror_users(hub) == {MIRROR_USER}
    assert marks.origin_users(hub) == {ORIGIN_USER}
    assert MIRROR_PASSWORD not in result.stderr and ORIGIN_PASSWORD not in result.stderr
