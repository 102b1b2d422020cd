"""The harness works against the real registry, skopeo and umoci."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
from pathlib import Path

import attrs
import jwt
import pytest
import requests
from registry_image.testing.oci_builder import (
    DOCKER_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    REF_NAME_ANNOTATION,
    Entry,
    ImageSpec,
    build_image,
    build_index,
    compress,
    decompress,
    docker_save_tar,
    layer_tar,
    read_blob,
    sha256_digest,
)
from registry_image.testing.trees import Node, hardlink_groups, tree_snapshot

from tests.harness import registry as registry_module
from tests.harness import skopeo
from tests.harness.fixtures import unique_repo
from tests.harness.ports import free_port
from tests.harness.registry import RegistryStartError, RunningRegistry, start_registry
from tests.harness.token_server import TokenPolicy
from tests.harness.umoci import raw_unpack

THREE_PLATFORMS = [
    ImageSpec([[Entry.file("arch", b"amd64\n")]]),
    ImageSpec([[Entry.file("arch", b"arm64\n")]], architecture="arm64", variant="v8"),
    ImageSpec([[Entry.file("arch", b"armv7\n")]], architecture="arm", variant="v7"),
]


def _simple_image(layout: Path) -> None:
    build_image(layout, [[Entry.dir("etc"), Entry.file("etc/motd", b"hello\n")]])


def _token(registry: RunningRegistry, scope: str, *, with_credentials: bool) -> requests.Response:
    assert registry.token_server is not None
    return requests.get(
        registry.token_server.url,
        params={"service": "test-registry", "scope": scope},
        auth=registry.credentials if with_credentials else None,
        timeout=10,
    )


def _get_manifest(
    registry: RunningRegistry,
    repo: str,
    tag: str,
    *,
    auth: tuple[str, str] | None = None,
    token: str | None = None,
) -> requests.Response:
    headers = {"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(
        f"{registry.url}/v2/{repo}/manifests/{tag}", headers=headers, auth=auth, timeout=10
    )


def test_free_port_is_never_one_in_use_and_can_be_served() -> None:
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(20)]
    try:
        in_use = {listener.getsockname()[1] for listener in listeners}
        assert not {free_port() for _ in range(50)} & in_use
    finally:
        for listener in listeners:
            listener.close()
    port = free_port()
    with socket.create_server(("127.0.0.1", port)) as server:
        assert server.getsockname()[1] == port  # that very port, not one the kernel picked
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            accepted, _ = server.accept()
            accepted.close()


def test_registries_challenge_as_configured(any_registry: RunningRegistry) -> None:
    response = requests.get(f"{any_registry.url}/v2/", timeout=10)
    challenge = response.headers.get("WWW-Authenticate", "")
    if any_registry.auth == "anonymous":
        assert response.status_code == 200
    elif any_registry.auth == "basic":
        assert (response.status_code, challenge) == (401, 'Basic realm="test-registry"')
    else:
        assert any_registry.token_server is not None
        assert response.status_code == 401
        assert challenge == (
            f'Bearer realm="{any_registry.token_server.url}",service="test-registry"'
        )


def test_pushed_image_keeps_built_manifest_bytes(
    any_registry: RunningRegistry, tmp_path: Path
) -> None:
    image = build_image(
        tmp_path,
        [[Entry.dir("etc"), Entry.file("etc/motd", b"hello\n")], [Entry.whiteout("etc/motd")]],
        config={"Env": ["A=1"], "Labels": {"k": "v"}},
    )
    repo = unique_repo()
    skopeo.push_layout(tmp_path, any_registry, repo, "v1")
    raw = skopeo.inspect_raw(any_registry, f"{repo}:v1")
    assert raw == image.manifest_bytes
    assert sha256_digest(raw) == image.manifest_digest
    inspected = skopeo.inspect(any_registry, f"{repo}:v1")
    assert inspected["Layers"] == list(image.layer_digests)
    assert inspected["Env"] == ["A=1"]


def test_pushed_index_keeps_built_index_bytes(
    any_registry: RunningRegistry, tmp_path: Path
) -> None:
    index = build_index(tmp_path, THREE_PLATFORMS)
    repo = unique_repo()
    skopeo.push_layout(tmp_path, any_registry, repo, "multi")
    raw = skopeo.inspect_raw(any_registry, f"{repo}:multi")
    assert sha256_digest(raw) == index.index_digest
    platforms = [m["platform"] for m in json.loads(raw)["manifests"]]
    assert platforms == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
        {"architecture": "arm", "os": "linux", "variant": "v7"},
    ]
    for image in index.manifests:
        assert (
            skopeo.inspect_raw(any_registry, f"{repo}@{image.manifest_digest}")
            == image.manifest_bytes
        )


def test_docker_manifest_list_and_zstd_layers_push_unchanged(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    docker_list = build_index(tmp_path / "docker", THREE_PLATFORMS[:2], media_types="docker")
    zstd_image = build_image(
        tmp_path / "zstd", [[Entry.file("z", b"z" * 4096)]], compression="zstd"
    )
    repo = unique_repo()
    skopeo.push_layout(tmp_path / "docker", registry_anonymous, repo, "docker")
    skopeo.push_layout(tmp_path / "zstd", registry_anonymous, repo, "zstd")
    docker_raw = skopeo.inspect_raw(registry_anonymous, f"{repo}:docker")
    assert json.loads(docker_raw)["mediaType"] == DOCKER_LIST
    assert docker_raw == docker_list.index_bytes
    assert skopeo.inspect_raw(registry_anonymous, f"{repo}:zstd") == zstd_image.manifest_bytes


def test_tls_registry_is_verified_against_its_own_ca(tmp_path: Path) -> None:
    with start_registry(tmp_path / "registry", "basic", tls=True) as registry:
        assert registry.url.startswith("https://127.0.0.1:")
        assert registry.ca_pem is not None and registry.ca_file is not None
        assert registry.ca_file.read_text() == registry.ca_pem
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{registry.url}/v2/", timeout=10)
        response = requests.get(
            f"{registry.url}/v2/",
            auth=registry.credentials,
            verify=str(registry.ca_file),
            timeout=10,
        )
        assert response.status_code == 200
        index = build_index(tmp_path / "layout", THREE_PLATFORMS)
        skopeo.push_layout(tmp_path / "layout", registry, "tls/multi", "1")
        assert sha256_digest(skopeo.inspect_raw(registry, "tls/multi:1")) == index.index_digest


def test_basic_registry_refuses_anonymous_pulls(
    registry_basic: RunningRegistry, tmp_path: Path
) -> None:
    _simple_image(tmp_path)
    repo = unique_repo()
    skopeo.push_layout(tmp_path, registry_basic, repo, "v1")
    assert _get_manifest(registry_basic, repo, "v1").status_code == 401
    with_credentials = _get_manifest(registry_basic, repo, "v1", auth=registry_basic.credentials)
    assert with_credentials.status_code == 200
    wrong = _get_manifest(registry_basic, repo, "v1", auth=("ci-user", "wrong"))
    assert wrong.status_code == 401


def test_registry_accepts_tokens_from_the_token_server(
    registry_token: RunningRegistry, tmp_path: Path
) -> None:
    assert registry_token.token_server is not None
    image = build_image(tmp_path, [[Entry.file("f", b"token")]])
    repo = unique_repo()
    skopeo.push_layout(tmp_path, registry_token, repo, "v1")
    assert _get_manifest(registry_token, repo, "v1").status_code == 401

    issued = _token(registry_token, f"repository:{repo}:pull", with_credentials=True)
    assert issued.status_code == 200
    body = issued.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "RS256" and len(header["x5c"]) == 1
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == "ci-user" and claims["aud"] == "test-registry"
    assert claims["access"] == [{"type": "repository", "name": repo, "actions": ["pull"]}]

    response = _get_manifest(registry_token, repo, "v1", token=body["token"])
    assert response.status_code == 200
    assert response.content == image.manifest_bytes

    ours = [r for r in registry_token.token_server.requests if any(repo in s for s in r.scopes)]
    push_scopes = next(r.scopes for r in ours if r.username == "ci-user")
    assert push_scopes == [f"repository:{repo}:pull,push"]
    assert ours[-1].scopes == [f"repository:{repo}:pull"] and ours[-1].has_authorization


def test_token_server_gives_anonymous_pull_only_by_default(
    registry_token: RunningRegistry, tmp_path: Path
) -> None:
    _simple_image(tmp_path)
    repo = unique_repo()
    skopeo.push_layout(tmp_path, registry_token, repo, "v1")
    issued = _token(registry_token, f"repository:{repo}:pull,push", with_credentials=False)
    claims = jwt.decode(issued.json()["token"], options={"verify_signature": False})
    assert claims["sub"] == ""
    assert claims["access"] == [{"type": "repository", "name": repo, "actions": ["pull"]}]
    token = issued.json()["token"]
    assert _get_manifest(registry_token, repo, "v1", token=token).status_code == 200
    upload = requests.post(
        f"{registry_token.url}/v2/{repo}/blobs/uploads/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert upload.status_code == 401


def test_token_server_rejects_a_wrong_password(registry_token: RunningRegistry) -> None:
    assert registry_token.token_server is not None
    response = requests.get(
        registry_token.token_server.url,
        params={"service": "test-registry", "scope": "repository:x:pull"},
        auth=("ci-user", "wrong"),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    last = registry_token.token_server.requests[-1]
    assert (last.username, last.status, last.has_authorization) == ("ci-user", 401, True)


def test_token_policy_read_only_users_and_no_anonymous(tmp_path: Path) -> None:
    policy = TokenPolicy(anonymous_actions=(), read_only_users=frozenset({"reader"}))
    with start_registry(
        tmp_path / "registry", "token", extra_users={"reader": "read-pass"}, token_policy=policy
    ) as registry:
        assert _token(registry, "repository:x:pull", with_credentials=False).status_code == 401
        reader = attrs.evolve(registry, username="reader", password="read-pass")
        issued = _token(reader, "repository:x:pull,push", with_credentials=True)
        claims = jwt.decode(issued.json()["token"], options={"verify_signature": False})
        assert claims["access"] == [{"type": "repository", "name": "x", "actions": ["pull"]}]
        _simple_image(tmp_path / "layout")
        with pytest.raises(skopeo.SkopeoError, match="requested access to the resource is denied"):
            skopeo.push_layout(tmp_path / "layout", reader, "x", "v1")
        skopeo.push_layout(tmp_path / "layout", registry, "x", "v1")


def test_pull_through_mirror_serves_the_upstream_index(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    index = build_index(tmp_path / "layout", THREE_PLATFORMS)
    repo = unique_repo()
    skopeo.push_layout(tmp_path / "layout", registry_anonymous, repo, "v1")
    with start_registry(
        tmp_path / "mirror", "anonymous", proxy_remote=registry_anonymous.url
    ) as mirror:
        assert sha256_digest(skopeo.inspect_raw(mirror, f"{repo}:v1")) == index.index_digest


def test_copy_to_layout_round_trips_an_index(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    index = build_index(tmp_path / "built", THREE_PLATFORMS)
    repo = unique_repo()
    skopeo.push_layout(tmp_path / "built", registry_anonymous, repo, "v1")
    skopeo.copy_to_layout(registry_anonymous, f"{repo}:v1", tmp_path / "pulled", ref_name="v1")
    index_json = json.loads((tmp_path / "pulled" / "index.json").read_text())
    [descriptor] = index_json["manifests"]
    assert descriptor["digest"] == index.index_digest
    assert descriptor["annotations"] == {REF_NAME_ANNOTATION: "v1"}
    for image in index.manifests:
        for digest in image.layer_digests:
            assert read_blob(tmp_path / "pulled", digest) == read_blob(tmp_path / "built", digest)


def test_registry_start_failure_includes_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "REGISTRY_BINARY", "false")
    with (
        pytest.raises(RegistryStartError, match="exited with 1"),
        start_registry(tmp_path, "anonymous"),
    ):
        pass


def test_layer_tar_is_deterministic_and_exact() -> None:
    entries = [
        Entry.dir("d", 0o700, uid=5, gid=6, mtime=100),
        Entry.file("d/f", b"data", 0o4755, mtime=200),
        Entry.symlink("d/s", "../f"),
        Entry.hardlink("d/h", "d/f"),
        Entry.fifo("p"),
        Entry.chardev("c", 1, 5),
        Entry.whiteout("a/b"),
        Entry.opaque("o/"),
        Entry.file("x" * 150, b"long name"),
    ]
    data = layer_tar(entries)
    assert data == layer_tar(entries)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [
            "d",
            "d/f",
            "d/s",
            "d/h",
            "p",
            "c",
            "a/.wh.b",
            "o/.wh..wh..opq",
            "x" * 150,
        ]
        d, f, s, h, p, c = members[:6]
        assert (d.isdir(), d.mode, d.uid, d.gid, d.mtime) == (True, 0o700, 5, 6, 100)
        assert (f.mode, f.mtime, tar.extractfile(f).read()) == (0o4755, 200, b"data")  # type: ignore[union-attr]
        assert (s.issym(), s.linkname, h.islnk(), h.linkname) == (True, "../f", True, "d/f")
        assert (p.isfifo(), c.ischr(), c.devmajor, c.devminor) == (True, True, 1, 5)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_compression_round_trips_deterministically(compression: str) -> None:
    data = layer_tar([Entry.file("f", b"x" * 1000)])
    compressed = compress(data, compression)  # type: ignore[arg-type]
    assert compressed == compress(data, compression)  # type: ignore[arg-type]
    assert decompress(compressed) == data
    assert (compressed == data) == (compression == "none")


def test_same_inputs_give_the_same_digests(tmp_path: Path) -> None:
    first = build_index(tmp_path / "a", THREE_PLATFORMS)
    second = build_index(tmp_path / "b", THREE_PLATFORMS)
    assert first.index_digest == second.index_digest
    assert (tmp_path / "a" / "index.json").read_bytes() == (
        tmp_path / "b" / "index.json"
    ).read_bytes()


def test_docker_save_tar_is_read_by_skopeo(tmp_path: Path) -> None:
    same_layer = [Entry.file("f", b"same")]
    image = build_image(tmp_path / "layout", [same_layer, same_layer], config={"Env": ["A=1"]})
    archive = tmp_path / "image.tar"
    docker_save_tar(archive, image, "example.com/team/app:1.0")
    inspected = skopeo.inspect_archive(archive)
    assert inspected["Layers"] == list(image.diff_ids)
    assert inspected["Env"] == ["A=1"]
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["example.com/team/app:1.0"]
        assert len(set(manifest[0]["Layers"])) == 2
        config = tar.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
        assert sha256_digest(config) == image.config_digest


def test_umoci_unpack_matches_the_entries(tmp_path: Path) -> None:
    lower = [
        Entry.dir("etc", 0o750, mtime=1000),
        Entry.file("etc/passwd", b"root:x:0:0\n", 0o600, uid=12, gid=34, mtime=2000),
        Entry.hardlink("etc/passwd-", "etc/passwd"),
        Entry.symlink("etc/link", "passwd", mtime=3000),
        Entry.dir("gone", mtime=1000),
        Entry.file("gone/file", b"x"),
        Entry.dir("opaque", 0o755, mtime=4000),
        Entry.file("opaque/old", b"old"),
        Entry.fifo("pipe", 0o640, mtime=5000),
        Entry.file("suid", b"#!/bin/sh\n", 0o4755, mtime=6000),
    ]
    upper = [
        Entry.whiteout("gone"),
        Entry.opaque("opaque"),
        Entry.file("opaque/new", b"new", mtime=7000),
    ]
    build_image(tmp_path / "layout", [lower, upper])
    raw_unpack(tmp_path / "layout", "latest", tmp_path / "rootfs")

    def owned(uid: int, gid: int) -> tuple[int, int]:
        """As root umoci keeps the tar's owners; --rootless gives everything to the caller."""
        return (uid, gid) if os.geteuid() == 0 else (os.geteuid(), os.getegid())

    passwd = Node(
        "file", 0o600, *owned(12, 34), 11, sha256_digest(b"root:x:0:0\n")[7:], None, 2000, None
    )
    root = owned(0, 0)
    assert tree_snapshot(tmp_path / "rootfs", with_owner=True) == {
        "etc": Node("dir", 0o750, *root, None, None, None, 1000, None),
        "etc/passwd": passwd,
        "etc/passwd-": passwd,
        "etc/link": Node("symlink", 0o777, *root, None, None, "passwd", 3000, None),
        "opaque": Node("dir", 0o755, *root, None, None, None, 4000, None),
        "opaque/new": Node("file", 0o644, *root, 3, sha256_digest(b"new")[7:], None, 7000, None),
        "pipe": Node("fifo", 0o640, *root, None, None, None, 5000, None),
        "suid": Node(
            "file", 0o4755, *root, 10, sha256_digest(b"#!/bin/sh\n")[7:], None, 6000, None
        ),
    }
    assert hardlink_groups(tmp_path / "rootfs") == {frozenset({"etc/passwd", "etc/passwd-"})}
