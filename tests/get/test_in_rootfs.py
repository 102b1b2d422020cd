"""``in`` with the rootfs format against a real registry, compared file by
file with ``umoci raw unpack`` of the same image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import Entry

from tests.get.helpers import PRIVILEGED, links, snapshot
from tests.get.images import CASES, debian_like
from tests.get.registry_helpers import push_image, run_in, umoci_rootfs
from tests.harness.registry import RunningRegistry

VARIANTS = [
    pytest.param("gzip", "oci", id="oci-gzip"),
    pytest.param("zstd", "oci", id="oci-zstd"),
    pytest.param("gzip", "docker", id="docker-schema2"),
]


def _compare_with_umoci(ours: Path, reference: Path) -> None:
    expected = snapshot(reference, with_owner=PRIVILEGED)
    actual = snapshot(ours, with_owner=PRIVILEGED)
    assert actual.keys() == expected.keys()
    for path, node in expected.items():
        assert actual[path] == node, path
    assert links(ours) == links(reference)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rootfs_matches_umoci(
    registry_anonymous: RunningRegistry, tmp_path: Path, case: str
) -> None:
    layers = CASES[case]()
    repo, image = push_image(registry_anonymous, tmp_path, layers)
    run = run_in(registry_anonymous, repo, image.manifest_digest, tmp_path / "dest")
    assert run.json()["version"]["digest"] == image.manifest_digest
    _compare_with_umoci(tmp_path / "dest" / "rootfs", umoci_rootfs(tmp_path, layers))


@pytest.mark.parametrize(("compression", "media_types"), VARIANTS)
def test_debian_like_in_every_encoding(
    registry_anonymous: RunningRegistry, tmp_path: Path, compression: str, media_types: str
) -> None:
    layers = debian_like()
    repo, image = push_image(
        registry_anonymous,
        tmp_path,
        layers,
        compression=compression,  # type: ignore[arg-type]
        media_types=media_types,  # type: ignore[arg-type]
    )
    run = run_in(registry_anonymous, repo, image.manifest_digest, tmp_path / "dest")
    assert run.returncode == 0, run.stderr
    rootfs = tmp_path / "dest" / "rootfs"
    _compare_with_umoci(rootfs, umoci_rootfs(tmp_path, layers))
    # spot checks that make the comparison meaningful
    assert (rootfs / "usr/bin/less").read_bytes() == b"\x7fELF less"
    assert (rootfs / "usr/bin/perl").read_bytes() == b"\x7fELF perl"
    assert not (rootfs / "usr/bin/perl5.36").exists()
    assert sorted(p.name for p in (rootfs / "var/lib/apt/lists").iterdir()) == ["fresh"]
    assert (rootfs / "usr/bin/passwd").stat().st_mode & 0o7777 == 0o4755


def test_through_every_auth_setup(any_registry: RunningRegistry, tmp_path: Path) -> None:
    config = {
        "Env": ["PATH=/usr/bin", "A=<&>"],
        "User": "app",
        "Entrypoint": ["/bin/sh"],
        "Cmd": ["-c", "true"],
        "Labels": {"b": "2", "a": "x&y"},
    }
    layers = [[Entry.file("hello", b"hi")]]
    repo, image = push_image(any_registry, tmp_path, layers, config=config)
    dest = tmp_path / "dest"
    run = run_in(any_registry, repo, image.manifest_digest, dest)
    assert run.json() == {
        "version": {"tag": "v1", "digest": image.manifest_digest},
        "metadata": [
            {"name": "repository", "value": f"{any_registry.host}/{repo}"},
            {"name": "tag", "value": "v1"},
        ],
    }
    assert (dest / "rootfs/hello").read_bytes() == b"hi"
    assert (dest / "metadata.json").read_text() == (
        '{"cmd":["-c","true"],"entrypoint":["/bin/sh"],'
        '"env":["PATH=/usr/bin","A=\\u003c\\u0026\\u003e"],"user":"app"}\n'
    )
    assert (dest / "labels.json").read_text() == '{"a":"x\\u0026y","b":"2"}\n'
    assert (dest / "digest").read_text() == image.manifest_digest
    assert (dest / "tag").read_text() == "v1"
    assert (dest / "repository").read_text() == f"{any_registry.host}/{repo}"
    assert sorted(p.name for p in dest.iterdir()) == [
        "digest",
        "labels.json",
        "metadata.json",
        "repository",
        "rootfs",
        "tag",
    ]


def test_metadata_fields_absent_from_the_config(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, [[Entry.file("f", b"")]])
    dest = tmp_path / "dest"
    assert run_in(registry_anonymous, repo, image.manifest_digest, dest).returncode == 0
    assert json.loads((dest / "metadata.json").read_text()) == {
        "cmd": None,
        "entrypoint": None,
        "env": None,
        "user": "",
    }
    assert (dest / "labels.json").read_text() == "{}\n"


def test_progress_on_stderr_unless_debug(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    layers = [[Entry.file("a", b"a" * 1000)], [Entry.file("b", b"b")]]
    repo, image = push_image(registry_anonymous, tmp_path, layers)
    run = run_in(registry_anonymous, repo, image.manifest_digest, tmp_path / "quiet")
    assert run.returncode == 0
    short = image.layer_digests[0][:19]
    final_lines = [line.rsplit("\r", 1)[-1] for line in run.stderr.splitlines() if "100%" in line]
    assert any(line.startswith(f"layer 1/2 ({short}) 100%") for line in final_lines), run.stderr
    assert all(len(line) <= 80 for line in final_lines)
    debug = run_in(
        registry_anonymous, repo, image.manifest_digest, tmp_path / "debug", source={"debug": True}
    )
    assert debug.returncode == 0
    assert "100%" not in debug.stderr
    assert f"layer 2/2 ({image.layer_digests[1][:19]}): 1 entries" in debug.stderr
