"""Push harness-built images to a real registry and run ``in`` on them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from registry_image.testing.oci_builder import (
    BuiltImage,
    Compression,
    Entry,
    MediaTypeFamily,
    build_image,
    build_raw_image,
)

from tests.harness.fixtures import unique_repo
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
    image = build_raw_image(layout, [blob], media_type=media_type)
    repo = unique_repo("raw")
    push_layout(layout, registry, repo, TAG)
    return repo, image.manifest_digest
