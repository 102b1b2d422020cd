"""Benchmark: ``out`` against ``skopeo copy oci:DIR docker://...``.

    python -m bench.put_image [--layers 6] [--layer-mib 80] [--runs 3]
                              [--rate-mib 32] [--rtt-ms 20] [--no-loopback]

Pushes the generated OCI layout (the one ``bench.get_image`` uses, cached
under ``--workdir``) with our ``out`` (``params.image`` naming the layout)
and with ``skopeo copy --preserve-digests``, each a process of its own:

- first push: into a registry started empty for that run (so neither tool
  can mount or skip a blob it pushed before);
- re-push: the same image again to the same repository: every blob is
  there, so what is measured is how few requests a tool needs to notice.

Medians of ``--runs`` runs (after one untimed warm-up) and peak RSS, as
ratios to ours, on loopback and through the throttling relay
(``bench.throttle``). Timings are never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

from bench.get_image import Network, add_image_arguments, endpoint, image_shape_and_networks
from bench.images import TAG, ImageShape, LayoutImage, write_layout
from bench.support import (
    DEFAULT_WORKDIR,
    Command,
    Row,
    Sample,
    Timing,
    measure,
    our_command,
    print_rows,
)
from tests.harness.registry import start_registry

REPO = "bench/put"
TOOLS = ("ours", "skopeo")
PHASES = ("first push", "re-push")


@attrs.frozen
class PutSettings:
    """What ``run`` measures: the image, the runs, the networks."""

    shape: ImageShape = attrs.field(factory=ImageShape)
    runs: int = 3
    networks: tuple[Network, ...] = (Network(), Network(32, 20))
    workdir: Path = DEFAULT_WORKDIR


def _ours(scratch: Path, host: str, image: LayoutImage) -> Command:
    """``out SRC`` with ``SRC/image`` linking to the layout."""
    src = scratch / "src"
    src.mkdir(exist_ok=True)
    link = src / "image"
    if not link.is_symlink():
        link.symlink_to(image.layout, target_is_directory=True)
    request = {"source": {"repository": f"{host}/{REPO}", "tag": TAG}, "params": {"image": "image"}}
    request_file = scratch / "out-request.json"
    request_file.write_text(json.dumps(request))
    return our_command("registry_image.resource", "out", str(src), stdin=request_file)


def _skopeo(host: str, image: LayoutImage) -> Command:
    """``skopeo copy`` of the layout to the registry, digests unchanged."""
    return Command(
        (
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-no-creds",
            f"oci:{image.layout}:{TAG}",
            f"docker://{host}/{REPO}:{TAG}",
        ),
        label="skopeo copy",
    )


def _one_run(scratch: Path, image: LayoutImage, network: Network, tool: str) -> list[Sample]:
    """First push and re-push by ``tool`` into a registry of its own."""
    with (
        tempfile.TemporaryDirectory(dir=scratch, prefix="registry-") as storage,
        start_registry(Path(storage), "anonymous") as registry,
        endpoint(registry, network) as host,
    ):
        command = _ours(scratch, host, image) if tool == "ours" else _skopeo(host, image)
        return [measure([command]) for _ in PHASES]


def run(settings: PutSettings, *, log: bool = True) -> list[Row]:
    """Measure every comparison; the summary rows."""
    settings.workdir.mkdir(parents=True, exist_ok=True)
    image = write_layout(settings.workdir, settings.shape)
    size = f"{settings.shape.layers} layers, {image.blob_bytes / 2**20:.0f} MiB gzip"
    if log:
        print(f"image: {size}", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(dir=settings.workdir, prefix="put-") as temporary:
        scratch = Path(temporary)
        for network in settings.networks:
            samples: dict[tuple[str, str], list[Sample]] = {
                (tool, phase): [] for tool in TOOLS for phase in PHASES
            }
            for round_ in range(1 + settings.runs):  # the first is a warm-up
                for tool in TOOLS:
                    measured = _one_run(scratch, image, network, tool)
                    if round_ > 0:
                        for phase, sample in zip(PHASES, measured, strict=True):
                            samples[tool, phase].append(sample)
            found = [
                Row(
                    f"put {phase} ({size})",
                    network.label,
                    Timing("ours (out)", tuple(samples["ours", phase])),
                    Timing("skopeo copy", tuple(samples["skopeo", phase])),
                )
                for phase in PHASES
            ]
            if log:
                print_rows(found, title=f"put, {network.label}")
            rows += found
    return rows


def parse_settings(argv: Sequence[str] | None) -> PutSettings:
    """The settings the command line asks for."""
    parser = argparse.ArgumentParser(prog="python -m bench.put_image", description=__doc__)
    add_image_arguments(parser, runs=3)
    args = parser.parse_args(argv)
    shape, networks = image_shape_and_networks(args)
    return PutSettings(shape=shape, runs=args.runs, networks=networks, workdir=args.workdir)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, then print the summary table."""
    rows = run(parse_settings(argv))
    print_rows(rows, title="put: summary (time vs/ours > 1: ours is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
