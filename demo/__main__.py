"""``python -m demo`` (or ``make demo``): the whole resource in one minute.

Starts Debian's docker-registry on 127.0.0.1, builds a small image in an OCI
layout, then runs the resource exactly as Concourse would: ``out`` pushes it,
``check`` finds it, ``in`` fetches it as a rootfs and as a docker-save
``image.tar``. Every request and answer is printed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from registry_image.testing.oci_builder import Entry, build_image

from tests.harness.registry import start_registry
from tests.harness.resource import ResourceRun, run_resource

STEP = "\n\033[1m==> {}\033[0m" if sys.stdout.isatty() else "\n==> {}"


def show(title: str, request: dict[str, Any], result: ResourceRun, started: float) -> Any:
    print(STEP.format(title))
    print("request:", json.dumps(request))
    for line in result.stderr.splitlines():
        print("  stderr |", line.split("\r")[-1])
    if result.returncode != 0:
        raise SystemExit(f"demo failed: exit {result.returncode}")
    answer = json.loads(result.stdout)
    print(f"answer ({time.monotonic() - started:.2f}s):", json.dumps(answer, indent=2))
    return answer


def step(title: str, command: str, request: dict[str, Any], *args: str) -> Any:
    started = time.monotonic()
    return show(title, request, run_resource(command, request, *args), started)


def build_demo_image(src: Path) -> None:
    layers = [
        [
            Entry.dir("etc"),
            Entry.file("etc/os-release", b'PRETTY_NAME="demo"\n'),
            Entry.dir("usr"),
            Entry.dir("usr/bin"),
            Entry.file("usr/bin/hello", b"#!/bin/sh\necho hello from the demo image\n", mode=0o755),
        ],
        [Entry.file("etc/motd", b"built by python -m demo\n"), Entry.whiteout("etc/os-release")],
    ]
    build_image(
        src / "image",
        layers,
        config={
            "Env": ["PATH=/usr/bin:/bin"],
            "Cmd": ["/usr/bin/hello"],
            "Labels": {"org.opencontainers.image.title": "demo"},
        },
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="registry-image-demo-") as scratch:
        work = Path(scratch)
        print(STEP.format("starting docker-registry on 127.0.0.1"))
        with start_registry(work / "registry", "anonymous") as registry:
            print("registry:", registry.url)
            source = {"repository": f"{registry.host}/demo/hello", "tag": "latest"}
            src = work / "src"
            build_demo_image(src)
            print("built an OCI layout with two layers in", src / "image")

            put = step(
                "out: push the OCI layout",
                "out",
                {"source": source, "params": {"image": "image", "version": "1.0.0"}},
                str(src),
            )
            versions = step("check: what does the registry hold?", "check", {"source": source})
            assert versions[-1]["digest"] == put["version"]["digest"]

            rootfs_dest = work / "get-rootfs"
            step(
                "in: fetch as rootfs",
                "in",
                {"source": source, "version": versions[-1]},
                str(rootfs_dest),
            )
            print(
                "rootfs/ holds:",
                sorted(
                    str(p.relative_to(rootfs_dest / "rootfs"))
                    for p in (rootfs_dest / "rootfs").rglob("*")
                ),
            )
            print("metadata.json:", (rootfs_dest / "metadata.json").read_text())

            oci_dest = work / "get-oci"
            step(
                "in: fetch as a docker-save image.tar",
                "in",
                {"source": source, "version": versions[-1], "params": {"format": "oci"}},
                str(oci_dest),
            )
            print("image.tar:", (oci_dest / "image.tar").stat().st_size, "bytes")
        print(STEP.format("done: out, check and in all worked against a real registry"))


if __name__ == "__main__":
    main()
