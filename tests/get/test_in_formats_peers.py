"""The peers read what ``in`` writes: skopeo copies and umoci unpacks our
``oci-layout`` output, and skopeo converts our ``oci`` output (a docker-save
tar) for umoci; each gives the digests and the tree the registry's copy of
the same image gives."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from registry_image.testing.oci_builder import read_blob

from tests.get.helpers import links, snapshot
from tests.get.images import debian_like
from tests.get.registry_helpers import TAG, push_image, run_in
from tests.harness.registry import RunningRegistry
from tests.harness.skopeo import copy_local, copy_to_layout, inspect_layout
from tests.harness.umoci import raw_unpack, unpack_bundle

CONFIG = {"Env": ["PATH=/usr/bin", "LANG=C.UTF-8"], "Cmd": ["/bin/sh"], "WorkingDir": "/root"}


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _same_tree(one: Path, other: Path) -> None:
    expected = snapshot(other)
    assert snapshot(one) == expected
    assert len(expected) > 30  # the debian-like image, not an empty tree
    assert links(one) == links(other)


def _diff_ids(layout: Path) -> list[str]:
    [entry] = json.loads((layout / "index.json").read_text())["manifests"]
    manifest = json.loads(read_blob(layout, entry["digest"]))
    diff_ids: list[str] = json.loads(read_blob(layout, manifest["config"]["digest"]))["rootfs"][
        "diff_ids"
    ]
    return diff_ids


def _registry_rootfs(registry: RunningRegistry, repo: str, workdir: Path) -> Path:
    """umoci's unpack of the image as the registry serves it."""
    layout = workdir / "from-registry"
    copy_to_layout(registry, f"{repo}:{TAG}", layout, ref_name=TAG)
    rootfs = workdir / "from-registry-rootfs"
    raw_unpack(layout, TAG, rootfs)
    return rootfs


def test_skopeo_and_umoci_read_our_oci_layout(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, debian_like(), config=CONFIG)
    dest = tmp_path / "dest"
    run = run_in(registry_anonymous, repo, image.manifest_digest, dest, format="oci-layout")
    assert run.returncode == 0, run.stderr
    layout = dest / "oci"

    # skopeo: inspect by tag, and copy to a `dir:` with every digest preserved
    assert inspect_layout(layout)["Digest"] == image.manifest_digest
    copied = tmp_path / "dir"
    copy_local(f"oci:{layout}:{TAG}", f"dir:{copied}")
    assert (copied / "manifest.json").read_bytes() == image.manifest_bytes
    for digest in (image.config_digest, *image.layer_digests):
        assert _sha256((copied / digest.removeprefix("sha256:")).read_bytes()) == digest

    # umoci: a raw unpack gives the tree it gives from the registry's copy
    ours = tmp_path / "umoci-ours"
    raw_unpack(layout, TAG, ours)
    _same_tree(ours, _registry_rootfs(registry_anonymous, repo, tmp_path))

    # umoci: a runtime bundle whose process comes from our copy of the config
    bundle = tmp_path / "bundle"
    unpack_bundle(layout, TAG, bundle)
    process = json.loads((bundle / "config.json").read_text())["process"]
    assert process["args"] == ["/bin/sh"]
    assert process["cwd"] == "/root"
    ours_env = [v for v in process["env"] if v.startswith(("PATH=", "LANG="))]
    assert ours_env == ["PATH=/usr/bin", "LANG=C.UTF-8"]  # umoci adds TERM and HOME
    _same_tree(bundle / "rootfs", ours)


def test_umoci_reads_our_oci_tar_through_skopeo(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, debian_like())
    dest = tmp_path / "dest"
    run = run_in(registry_anonymous, repo, image.manifest_digest, dest, format="oci")
    assert run.returncode == 0, run.stderr

    converted = tmp_path / "converted"
    copy_local(f"docker-archive:{dest / 'image.tar'}", f"oci:{converted}:{TAG}", convert=True)
    # skopeo recompresses the layers; what they hold is what was pushed
    assert _diff_ids(converted) == list(image.diff_ids)
    ours = tmp_path / "umoci-ours"
    raw_unpack(converted, TAG, ours)
    _same_tree(ours, _registry_rootfs(registry_anonymous, repo, tmp_path))
