"""Push harness-built images to a real registry and run ``in`` on them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.harness.fixtures import unique_repo
from tests.harness.oci_builder import (
    OCI_CONFIG,
    OCI_MANIFEST,
    BuiltImage,
    Compression,
    Entry,
    MediaTypeFamily,
    build_image,
    sha256_digest,
)
from tests.harness.registry import RunningRegistry
from tests.harness.resource import ResourceRun, run_resource, source_for
from tests.harness.skopeo import push_layout
from tests.harness.umoci import raw_unpack

TAG = "v1"


def push_image(
    registry: RunningRegistry,
    workdir: Path,
    layers: Sequence[Sequence[Entry]],
    *,
    compression: Compression = "gzip",
    media_types: MediaTypeFamily = "oci",
    config: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> tuple[str, BuiltImage]:
    """Build an image into ``workdir/layout`` and push it as ``<new repo>:v1``."""
    layout = workdir / "layout"
    image = build_image(
        layout,
        layers,
        compression=compression,
        media_types=media_types,
        config=config,
        annotations=annotations,
    )
    repo = unique_repo("get")
    push_layout(layout, registry, repo, TAG)
    return repo, image


def run_in(
    registry: RunningRegistry,
    repo: str,
    digest: str,
    dest: Path,
    *,
    tag: str = TAG,
    source: dict[str, Any] | None = None,
    **params: Any,
) -> ResourceRun:
    """``in DEST`` exactly as Concourse runs it."""
    request = {
        "source": source_for(registry, repo, **(source or {})),
        "version": {"tag": tag, "digest": digest},
        "params": params,
    }
    return run_resource("in", request, str(dest))


def umoci_rootfs(workdir: Path, layers: Sequence[Sequence[Entry]], *, name: str = "umoci") -> Path:
    """The reference unpack: the same entries as an OCI gzip image (umoci 0.4.7
    reads neither zstd nor Docker media types), unpacked by umoci."""
    layout = workdir / f"{name}-layout"
    build_image(layout, layers, compression="gzip", media_types="oci")
    rootfs = workdir / f"{name}-rootfs"
    raw_unpack(layout, "latest", rootfs)
    return rootfs


def push_raw_layer(
    registry: RunningRegistry, workdir: Path, blob: bytes, media_type: str
) -> tuple[str, str]:
    """Push an image whose one layer is exactly ``blob`` (whatever it holds);
    return ``(repo, manifest digest)``."""
    layout = workdir / "raw-layout"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def write(data: bytes) -> dict[str, Any]:
        digest = sha256_digest(data)
        (blobs / digest.removeprefix("sha256:")).write_bytes(data)
        return {"digest": digest, "size": len(data)}

    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, **write(config)},
            "layers": [{"mediaType": media_type, **write(blob)}],
        }
    ).encode()
    descriptor = {"mediaType": OCI_MANIFEST, **write(manifest)}
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    repo = unique_repo("raw")
    push_layout(layout, registry, repo, TAG)
    return repo, descriptor["digest"]
