#!/usr/bin/env python3
"""Turn a root filesystem directory into a one-layer OCI image layout.

    rootfs_to_layout.py ROOTFS LAYOUT [--ref latest] [--env K=V ...] [--cmd ARG ...]

The whole tree under ROOTFS becomes one gzip layer (ownership numeric,
entries sorted, hardlinks kept, sockets skipped; the contents of dev/, proc/
and sys/ left out, as container runtimes mount those). LAYOUT, which must
not exist yet, receives ``oci-layout``, ``index.json`` (one manifest, named
by ``--ref``) and the blobs. The tar is streamed through sha256 and gzip in
one pass: no temporary copy, flat memory. Standard library only, so any
python3 can run it (the CI's image test uses it for its base image).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import json
import os
import platform
import stat
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Top-level directories kept empty: the runtime mounts them.
EMPTY_DIRS = frozenset({"dev", "proc", "sys"})
# platform.machine() -> (GOARCH, variant) as OCI platforms spell them.
ARCHITECTURES = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"),
    "i686": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class HashingWriter:
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, target: Sink | None = None) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        if self.target is not None:
            self.target.write(data)
        return len(data)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self.sha256.hexdigest()


def walk(root: Path, relative: str = "") -> Iterator[tuple[Path, str]]:
    """Every path under ``root`` (not ``root`` itself), parents first, sorted."""
    directory = root / relative if relative else root
    for name in sorted(os.listdir(directory)):
        arcname = f"{relative}/{name}" if relative else name
        path = root / arcname
        yield path, arcname
        if path.is_dir() and not path.is_symlink() and arcname not in EMPTY_DIRS:
            yield from walk(root, arcname)


def write_layer(rootfs: Path, out: BinaryIO, level: int) -> tuple[str, str, int]:
    """Write ROOTFS as a gzip tar to ``out``; return (diff_id, digest, size)."""
    compressed = HashingWriter(out)
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=compressed, compresslevel=level, mtime=0)
    with gz:
        uncompressed = HashingWriter(gz)
        stream = cast(IO[bytes], uncompressed)
        with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for path, arcname in walk(rootfs):
                if stat.S_ISSOCK(path.lstat().st_mode):
                    print(f"rootfs_to_layout: skipping socket {arcname}", file=sys.stderr)
                    continue
                info = tar.gettarinfo(str(path), arcname)
                info.uname = info.gname = ""
                if info.isreg():
                    with path.open("rb") as content:
                        tar.addfile(info, content)
                else:
                    tar.addfile(info)
    return uncompressed.digest, compressed.digest, compressed.size


def write_blob(layout: Path, content: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(content).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(content)
    return {"digest": f"sha256:{digest}", "size": len(content)}


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def build(args: argparse.Namespace) -> str:
    rootfs: Path = args.rootfs
    layout: Path = args.layout
    if not rootfs.is_dir():
        raise SystemExit(f"rootfs_to_layout: {rootfs} is not a directory")
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    partial = blobs / "layer.partial"
    with partial.open("wb") as out:
        diff_id, layer_digest, layer_size = write_layer(rootfs, out, args.level)
    partial.rename(blobs / layer_digest.removeprefix("sha256:"))

    architecture, variant = ARCHITECTURES.get(args.arch, (args.arch, None))
    platform_ = {"architecture": architecture, "os": "linux"}
    if variant:
        platform_["variant"] = variant
    created = datetime.datetime.fromtimestamp(args.created, datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    runtime: dict[str, Any] = {"Env": args.env or [DEFAULT_PATH]}
    if args.cmd:
        runtime["Cmd"] = args.cmd
    config = {
        **platform_,
        "created": created,
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": args.created_by}],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **write_blob(layout, canonical(config))},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": layer_size}],
    }
    manifest_descriptor = write_blob(layout, canonical(manifest))
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                **manifest_descriptor,
                "platform": platform_,
                "annotations": {REF_NAME: args.ref},
            }
        ],
    }
    (layout / "index.json").write_bytes(canonical(index))
    (layout / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
    return str(manifest_descriptor["digest"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rootfs", type=Path, help="the root filesystem directory")
    parser.add_argument("layout", type=Path, help="the OCI layout directory to create")
    parser.add_argument("--ref", default="latest", help="ref name in index.json")
    parser.add_argument(
        "--arch", default=platform.machine(), help="architecture (uname -m or GOARCH spelling)"
    )
    parser.add_argument(
        "--env", action="append", metavar="K=V", help=f"config Env (default {DEFAULT_PATH})"
    )
    parser.add_argument("--cmd", nargs="+", metavar="ARG", help="config Cmd")
    parser.add_argument(
        "--created",
        type=int,
        default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None,
        help="creation time, seconds since the epoch (default SOURCE_DATE_EPOCH, else now)",
    )
    parser.add_argument("--created-by", default="rootfs_to_layout.py", help="history entry")
    parser.add_argument("--level", type=int, default=6, choices=range(1, 10), help="gzip level")
    args = parser.parse_args(argv)
    if args.created is None:
        args.created = int(datetime.datetime.now(datetime.UTC).timestamp())
    if args.layout.exists():
        parser.error(f"{args.layout} already exists")
    print(build(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
