"""``out`` through the CLI against the real registry, in its three auth setups:
round trips with ``check`` and ``in``, peers' view (skopeo), what a second
push costs, cross-repository mounts, aliases, and refused credentials."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import (
    Entry,
    ImageSpec,
    build_image,
    build_index,
    docker_save_tar,
    read_blob,
)
from registry_image.testing.trees import tree_snapshot

from tests.harness import skopeo
from tests.harness.fixtures import unique_repo
from tests.harness.proxy import RegistryProxy
from tests.harness.registry import RunningRegistry, start_registry
from tests.harness.resource import ResourceRun, run_resource, source_for
from tests.harness.token_server import TokenPolicy
from tests.harness.umoci import raw_unpack

from .alias_table import MORE_CASES, UPSTREAM_CASES, AliasCase
from .helpers import fetch_layout, manifest_digest, random_layers, tags_of, tree_files

MIB = 1024 * 1024
LAYERS = [
    [Entry.dir("etc"), Entry.file("etc/motd", b"hello\n"), Entry.symlink("etc/link", "motd")],
    [Entry.file("bin/tool", b"\x7fELF" + bytes(range(256)) * 300, 0o755)],
]


def out(
    registry: RunningRegistry, repo: str, src: Path, params: dict[str, object], **source: object
) -> dict[str, object]:
    request = {"source": source_for(registry, repo, **source), "params": params}
    result = run_resource("out", request, str(src))
    response: dict[str, object] = result.json()
    return response


def check(registry: RunningRegistry, repo: str, tag: str) -> list[dict[str, str]]:
    request = {"source": source_for(registry, repo, tag=tag)}
    versions: list[dict[str, str]] = run_resource("check", request).json()
    return versions


def blobs_of(layout: Path) -> dict[str, bytes]:
    return tree_files(layout / "blobs")


# -- round trips ------------------------------------------------------------------


def test_out_check_in_round_trip(tmp_path: Path, any_registry: RunningRegistry) -> None:
    repo = unique_repo()
    src = tmp_path / "src"
    built = build_image(src / "image", LAYERS)
    response = out(any_registry, repo, src, {"image": "image"}, tag="v1")
    assert response == {
        "version": {"tag": "v1", "digest": built.manifest_digest},
        "metadata": [
            {"name": "repository", "value": f"{any_registry.host}/{repo}"},
            {"name": "tags", "value": "v1"},
        ],
    }
    assert check(any_registry, repo, "v1") == [response["version"]]
    fetched = fetch_layout(any_registry, repo, response["version"], tmp_path / "get")  # type: ignore[arg-type]
    pushed_blobs = blobs_of(src / "image")
    fetched_blobs = blobs_of(fetched)
    assert pushed_blobs.items() <= fetched_blobs.items()
    assert skopeo.inspect(any_registry, f"{repo}:v1")["Digest"] == built.manifest_digest
    raw = skopeo.inspect_raw(any_registry, f"{repo}:v1")
    assert raw == built.manifest_bytes


def test_layout_fetched_by_in_pushes_back_to_the_same_digest(
    tmp_path: Path, registry_basic: RunningRegistry
) -> None:
    first, second = unique_repo(), unique_repo()
    built = build_image(tmp_path / "src" / "image", LAYERS)
    version = out(registry_basic, first, tmp_path / "src", {"image": "image"}, tag="a")["version"]
    fetched = fetch_layout(registry_basic, first, version, tmp_path / "get")  # type: ignore[arg-type]
    again = out(registry_basic, second, fetched.parent, {"image": fetched.name}, tag="b")
    assert again["version"] == {"tag": "b", "digest": built.manifest_digest}


def test_docker_save_tarball(tmp_path: Path, any_registry: RunningRegistry) -> None:
    repo = unique_repo()
    built = build_image(tmp_path / "layout", LAYERS)
    src = tmp_path / "src"
    src.mkdir()
    docker_save_tar(src / "image.tar", built, "example.com/app:1")
    version = out(any_registry, repo, src, {"image": "*.tar"}, tag="latest")["version"]
    inspected = skopeo.inspect(any_registry, f"{repo}:latest")
    assert inspected["Digest"] == version["digest"]  # type: ignore[index]
    assert len(inspected["Layers"]) == 2
    manifest = json.loads(skopeo.inspect_raw(any_registry, f"{repo}:latest"))
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["digest"] == built.config_digest
    # skopeo, converting to OCI, and umoci unpack it to the files the layers hold.
    layout = tmp_path / "fetched"
    skopeo.copy_to_layout(
        any_registry, f"{repo}:latest", layout, ref_name="latest", all_images=False, convert=True
    )
    raw_unpack(layout, "latest", tmp_path / "rootfs")
    files = tree_snapshot(tmp_path / "rootfs", with_owner=False)
    assert files["etc/motd"].sha256 == hashlib.sha256(b"hello\n").hexdigest()
    assert files["etc/link"].link == "motd"
    assert files["bin/tool"].mode == 0o755


def test_oci_layout_tarball_from_skopeo(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    """What ``skopeo copy ... oci-archive:`` (and oci-build-task) write; the
    Go resource refuses it."""
    repo = unique_repo()
    built = build_image(tmp_path / "layout", LAYERS)
    src = tmp_path / "src"
    src.mkdir()
    subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            f"oci:{tmp_path / 'layout'}:latest",
            f"oci-archive:{src / 'image.tar'}",
        ],
        check=True,
        capture_output=True,
    )
    version = out(registry_anonymous, repo, src, {"image": "image.tar"}, tag="t")["version"]
    assert version == {"tag": "t", "digest": built.manifest_digest}


def test_multi_arch_layout_pushes_the_index(tmp_path: Path, any_registry: RunningRegistry) -> None:
    repo = unique_repo()
    built = build_index(
        tmp_path / "src" / "image",
        [
            ImageSpec(LAYERS),
            ImageSpec(LAYERS[:1], architecture="arm64", variant="v8"),
            ImageSpec(LAYERS[1:], architecture="s390x"),
        ],
    )
    version = out(any_registry, repo, tmp_path / "src", {"image": "image"}, tag="multi")["version"]
    assert version == {"tag": "multi", "digest": built.index_digest}
    assert check(any_registry, repo, "multi") == [version]
    assert skopeo.inspect_raw(any_registry, f"{repo}:multi") == built.index_bytes
    for child in built.manifests:
        assert manifest_digest(any_registry, repo, child.manifest_digest) == child.manifest_digest
    fetched = fetch_layout(any_registry, repo, version, tmp_path / "get")  # type: ignore[arg-type]
    assert blobs_of(tmp_path / "src" / "image").items() <= blobs_of(fetched).items()


# -- what it costs --------------------------------------------------------------


def test_second_push_uploads_no_blob_bytes(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    src = tmp_path / "src"
    build_image(src / "image", random_layers([6 * MIB, 300_000], "again"), compression="none")
    request = {
        "source": {"repository": f"{proxy.host}/{repo}", "tag": "t"},
        "params": {"image": "image", "version": "1.0.0", "bump_aliases": True},
    }
    first = run_resource("out", request, str(src)).json()
    uploaded_first = proxy.blob_bytes_uploaded()
    proxy.clear()
    second = run_resource("out", request, str(src)).json()
    assert second == first
    assert uploaded_first > 6 * MIB
    assert proxy.blob_bytes_uploaded() == 0
    assert proxy.requests("POST") == []
    assert sorted(tags_of(registry_anonymous, repo) or []) == ["1", "1.0", "1.0.0", "latest", "t"]


def test_promotion_mounts_blobs_instead_of_uploading(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    """``get`` from one repository then ``put`` to another: the ``repository``
    file next to the image names where the blobs already are."""
    staging, production = unique_repo("staging"), unique_repo("prod")
    src = tmp_path / "src"
    built = build_image(src / "image", random_layers([2 * MIB, 50_000], "promote"))
    proxied = f"{proxy.host}"
    run_resource(
        "out",
        {
            "source": {"repository": f"{proxied}/{staging}", "tag": "rc"},
            "params": {"image": "image"},
        },
        str(src),
    ).json()
    fetched = fetch_layout(
        registry_anonymous,
        staging,
        {"tag": "rc", "digest": built.manifest_digest},
        tmp_path / "get",
    )
    # It was fetched straight from the registry; the put goes through the
    # proxy, whose host must match for a mount.
    (fetched.parent / "repository").write_text(f"{proxied}/{staging}")
    proxy.clear()
    response = run_resource(
        "out",
        {
            "source": {"repository": f"{proxied}/{production}", "tag": "1.0"},
            "params": {"image": "get/oci"},
        },
        str(tmp_path),
    ).json()
    assert response["version"]["digest"] == built.manifest_digest
    mounts = proxy.requests("POST", rf"mount=.*&from={staging}$")
    assert len(mounts) == 3 and {r.status for r in mounts} == {201}
    assert proxy.blob_bytes_uploaded() == 0


def test_promotion_with_tokens_asks_pull_on_the_source(
    tmp_path: Path, registry_token: RunningRegistry
) -> None:
    assert registry_token.token_server is not None
    staging, production = unique_repo("staging"), unique_repo("prod")
    src = tmp_path / "src"
    build_image(src / "image", LAYERS)
    version = out(registry_token, staging, src, {"image": "image"}, tag="rc")["version"]
    fetched = fetch_layout(registry_token, staging, version, tmp_path / "get")  # type: ignore[arg-type]
    before = len(registry_token.token_server.requests)
    pushed = out(registry_token, production, fetched.parent, {"image": fetched.name}, tag="1.0")
    assert pushed["version"]["digest"] == version["digest"]  # type: ignore[index]
    scopes = [s for r in registry_token.token_server.requests[before:] for s in r.scopes]
    assert f"repository:{production}:pull,push" in scopes
    assert f"repository:{staging}:pull" in scopes


def test_token_scope_is_pull_and_push(tmp_path: Path, registry_token: RunningRegistry) -> None:
    assert registry_token.token_server is not None
    repo = unique_repo()
    build_image(tmp_path / "src" / "image", LAYERS)
    before = len(registry_token.token_server.requests)
    out(registry_token, repo, tmp_path / "src", {"image": "image"}, tag="t")
    requests = registry_token.token_server.requests[before:]
    assert requests and all(r.scopes == [f"repository:{repo}:pull,push"] for r in requests)
    assert all(r.username == registry_token.username for r in requests)


# -- tags ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("small")
    build_image(src / "image", [[Entry.file("v", b"new")]])
    build_image(src / "old", [[Entry.file("v", b"old")]])
    return src


@pytest.mark.parametrize("case", UPSTREAM_CASES + MORE_CASES, ids=lambda case: case.name)
def test_alias_table_against_the_registry(
    case: AliasCase, small_image: Path, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    for tag in case.existing or ():
        out(registry_anonymous, repo, small_image, {"image": "old"}, tag=tag)
    params: dict[str, object] = {"image": "image", "bump_aliases": case.bump_aliases}
    if case.version:
        params["version"] = case.version
    source = source_for(registry_anonymous, repo)
    if case.variant:
        source["variant"] = case.variant
    result = run_resource("out", {"source": source, "params": params}, str(small_image))
    if case.error:
        assert result.returncode == 1
        assert case.error in result.error_line
        return
    response = result.json()
    digest = response["version"]["digest"]
    pointing = {
        t
        for t in tags_of(registry_anonymous, repo) or []
        if manifest_digest(registry_anonymous, repo, t) == digest
    }
    assert pointing == set(case.pushed)
    assert sorted(response["metadata"][1]["value"].split()) == sorted(case.pushed)
    assert response["version"]["tag"] == str(response["metadata"][1]["value"]).split()[0]


def test_additional_tags_with_prefix(tmp_path: Path, registry_basic: RunningRegistry) -> None:
    repo = unique_repo()
    src = tmp_path / "src"
    build_image(src / "image", LAYERS)
    (src / "tags").write_text("one\ntwo  three\n")
    response = out(
        registry_basic,
        repo,
        src,
        {"image": "image", "additional_tags": "tags", "tag_prefix": "pre-"},
        tag="main",
    )
    assert response["metadata"] == [
        {"name": "repository", "value": f"{registry_basic.host}/{repo}"},
        {"name": "tags", "value": "main pre-one pre-two pre-three"},
    ]
    assert sorted(tags_of(registry_basic, repo) or []) == [
        "main",
        "pre-one",
        "pre-three",
        "pre-two",
    ]


# -- refusals -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry_with_reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A token registry where ``reader`` may only pull."""
    with start_registry(
        tmp_path_factory.mktemp("registry-reader"),
        "token",
        extra_users={"reader": "reader-pass"},
        token_policy=TokenPolicy(read_only_users=frozenset({"reader"})),
    ) as registry:
        yield registry


def failed_out(registry: RunningRegistry, repo: str, src: Path, **source: object) -> str:
    return failed_out_run(registry, repo, src, **source).error_line


def failed_out_run(
    registry: RunningRegistry, repo: str, src: Path, **source: object
) -> ResourceRun:
    """``out`` that must fail: exit 1, nothing on stdout."""
    request = {
        "source": source_for(registry, repo, tag="t", **source),
        "params": {"image": "image"},
    }
    result = run_resource("out", request, str(src))
    assert result.returncode == 1, result.stdout
    assert result.stdout == ""
    return result


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_wrong_password(tmp_path: Path, auth: str, request: pytest.FixtureRequest) -> None:
    registry: RunningRegistry = request.getfixturevalue(f"registry_{auth}")
    repo = unique_repo()
    build_image(tmp_path / "src" / "image", LAYERS)
    run = failed_out_run(registry, repo, tmp_path / "src", password="wrong-password")
    line = run.error_line
    assert "wrong-password" not in run.stderr
    assert f"{registry.host}" in line and "'ci-user'" in line
    assert ("authentication failed" in line) or ("refused access" in line)
    assert tags_of(registry, repo) is None


def test_read_only_user_cannot_push(tmp_path: Path, registry_with_reader: RunningRegistry) -> None:
    repo = unique_repo()
    build_image(tmp_path / "src" / "image", LAYERS)
    run = failed_out_run(
        registry_with_reader, repo, tmp_path / "src", username="reader", password="reader-pass"
    )
    line = run.error_line
    assert line.startswith("error: pushing image failed: ")
    assert "'reader'" in line and "pull,push" in line and repo in line
    assert line.endswith("these credentials may pull but not push")
    assert "reader-pass" not in run.stderr
    assert tags_of(registry_with_reader, repo) is None


def test_images_on_disk_are_verified_before_upload(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    built = build_image(tmp_path / "src" / "image", LAYERS, compression="none")
    blob = (
        tmp_path
        / "src"
        / "image"
        / "blobs"
        / "sha256"
        / built.layer_digests[0].removeprefix("sha256:")
    )
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    line = failed_out(registry_anonymous, repo, tmp_path / "src")
    assert line == f"error: blob {built.layer_digests[0]} on disk does not match its digest or size"
    assert tags_of(registry_anonymous, repo) is None
    assert read_blob(built.layout_dir, built.layer_digests[0]) == bytes(data)


def test_a_tag_named_twice_is_reported_twice_and_pushed_once(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    build_image(tmp_path / "src" / "image", LAYERS)
    request = {
        "source": {"repository": f"{proxy.host}/{repo}", "tag": "latest"},
        "params": {"image": "image", "version": "1.0.0", "bump_aliases": True},
    }
    response = run_resource("out", request, str(tmp_path / "src")).json()
    assert response["metadata"][1] == {"name": "tags", "value": "latest 1.0.0 latest 1 1.0"}
    assert len(proxy.requests("PUT", r"/manifests/latest$")) == 1
    assert sorted(tags_of(registry_anonymous, repo) or []) == ["1", "1.0", "1.0.0", "latest"]
