"""Benchmark: ``in`` against the daemon-less peers, on a multi-layer image.

    python -m bench.get_image [--layers 6] [--layer-mib 80] [--runs 5] [--workers 4]
                              [--rate-mib 32] [--rtt-ms 20] [--no-loopback]

Starts a registry (the harness's ``docker-registry``), pushes a generated
gzip image (``--layers`` layers of about ``--layer-mib`` / 2 MiB each, built
once and cached under ``--workdir``), then times, side by side and in turns:

- rootfs: our ``in`` (``format: rootfs``) against ``skopeo copy docker://...
  oci:DIR`` followed by ``umoci raw unpack`` (the closest daemon-less
  pipeline to an unpacked root filesystem);
- oci-layout: our ``in`` (``format: oci-layout``) against ``skopeo copy``
  alone;
- oci: our ``in`` (``format: oci``, a ``docker save`` tarball) against
  ``skopeo copy ... docker-archive:FILE`` (which also decompresses the
  layers, as that transport always stores them uncompressed);
- for both, our ``in`` downloading one layer at a time (no prefetch)
  against ``--workers`` downloads at once (the default of ``in``), to show
  what the parallel downloads buy.

Each is a process of its own; the medians of ``--runs`` runs (after one
untimed warm-up) and the peak RSS are reported, as ratios to ours. Every
comparison runs on loopback and, with ``--rate-mib``, through a relay
limiting each connection to that many MiB/s with ``--rtt-ms`` of latency
(``bench.throttle``): loopback alone is far faster than any network, which
hides what parallel downloads are for. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
from registry_image.core.fetch import DEFAULT_LAYER_WORKERS

from bench.images import TAG, ImageShape, LayoutImage, write_layout
from bench.support import (
    DEFAULT_WORKDIR,
    Command,
    Contender,
    Row,
    compare,
    is_root,
    our_command,
    print_rows,
    reset_dir,
)
from bench.throttle import relay
from tests.harness.registry import RunningRegistry, start_registry
from tests.harness.skopeo import push_layout

REPO = "bench/get"
FORMATS = ("rootfs", "oci-layout", "oci")


@attrs.frozen
class Network:
    """How the tools reach the registry."""

    rate_mib: float | None = None
    """Per-connection limit through the relay; None: straight to loopback."""
    rtt_ms: float = 0.0

    @property
    def label(self) -> str:
        """How the network is shown in a table."""
        if self.rate_mib is None:
            return "loopback"
        return f"{self.rate_mib:g} MiB/s per connection, {self.rtt_ms:g} ms RTT"


@attrs.frozen
class GetSettings:
    """What ``run`` measures: the image, the runs, the networks."""

    shape: ImageShape = attrs.field(factory=ImageShape)
    runs: int = 5
    networks: tuple[Network, ...] = (Network(), Network(32, 20))
    workdir: Path = DEFAULT_WORKDIR
    workers: int = DEFAULT_LAYER_WORKERS
    """Downloads at once for ours (against one at a time)."""


@contextlib.contextmanager
def endpoint(registry: RunningRegistry, network: Network) -> Iterator[str]:
    """The ``host:port`` the tools use for ``network``."""
    if network.rate_mib is None:
        yield registry.host
        return
    with relay(registry.host, rate_mib=network.rate_mib, rtt_ms=network.rtt_ms) as host:
        yield host


def _skopeo_copy(host: str, destination: str) -> Command:
    """``skopeo copy`` of the benchmark image into ``destination`` (a transport:path)."""
    return Command(
        (
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            "--src-no-creds",
            f"docker://{host}/{REPO}:{TAG}",
            destination,
        ),
        label="skopeo copy",
    )


def _umoci_unpack(layout: Path, rootfs: Path) -> Command:
    """``umoci raw unpack`` of the layout's image (rootless unless we are root)."""
    rootless = () if is_root() else ("--rootless",)
    return Command(
        ("umoci", "raw", "unpack", *rootless, "--image", f"{layout}:{TAG}", str(rootfs)),
        label="umoci raw unpack",
    )


def _ours(
    scratch: Path, host: str, image: LayoutImage, fmt: str, workers: int
) -> tuple[Command, Path]:
    """Our ``in`` for ``fmt`` with ``workers`` downloads, and its DEST."""
    request = {
        "source": {"repository": f"{host}/{REPO}"},
        "version": {"tag": TAG, "digest": image.manifest_digest},
        "params": {"format": fmt},
    }
    request_file = scratch / f"request-{fmt}.json"
    request_file.write_text(json.dumps(request))
    dest = scratch / f"ours-{fmt}-{workers}"
    command = our_command(
        "bench.resource_in", "--workers", str(workers), str(dest), stdin=request_file
    )
    return command, dest


def _contenders(
    scratch: Path, host: str, image: LayoutImage, fmt: str, parallel: int
) -> list[Contender]:
    """Ours with ``parallel`` downloads, ours with one, and the peer pipeline
    for ``fmt``."""
    contenders = []
    for workers in (parallel, 1):
        command, dest = _ours(scratch, host, image, fmt, workers)
        label = f"ours ({workers} downloads)" if workers > 1 else "ours (1 download)"
        contenders.append(Contender(label, (command,), functools.partial(reset_dir, dest)))
    layout, rootfs = scratch / f"skopeo-{fmt}", scratch / f"umoci-{fmt}"

    def clean() -> None:
        reset_dir(layout)
        reset_dir(rootfs)

    into_layout = _skopeo_copy(host, f"oci:{layout}:{TAG}")
    if fmt == "rootfs":
        peer = Contender(
            "skopeo copy + umoci unpack", (into_layout, _umoci_unpack(layout, rootfs)), clean
        )
    elif fmt == "oci":
        archive = scratch / "skopeo.tar"
        peer = Contender(
            "skopeo copy docker-archive:",
            (_skopeo_copy(host, f"docker-archive:{archive}:{REPO}:{TAG}"),),
            functools.partial(reset_dir, archive),
        )
    else:
        peer = Contender("skopeo copy oci:", (into_layout,), clean)
    contenders.append(peer)
    return contenders


def run(settings: GetSettings, *, log: bool = True) -> list[Row]:
    """Measure every comparison; the summary rows."""
    settings.workdir.mkdir(parents=True, exist_ok=True)
    image = write_layout(settings.workdir, settings.shape)
    size = f"{settings.shape.layers} layers, {image.blob_bytes / 2**20:.0f} MiB gzip"
    if log:
        print(f"image: {size}", flush=True)
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(dir=settings.workdir, prefix="get-") as temporary,
        start_registry(Path(temporary) / "registry", "anonymous") as registry,
    ):
        scratch = Path(temporary)
        push_layout(image.layout, registry, REPO, TAG, ref_name=TAG)
        for network in settings.networks:
            with endpoint(registry, network) as host:
                for fmt in FORMATS:
                    prefetch, single, peer = compare(
                        _contenders(scratch, host, image, fmt, settings.workers), settings.runs
                    )
                    benchmark = f"get {fmt} ({size})"
                    found = [
                        Row(benchmark, network.label, prefetch, peer),
                        Row(benchmark, network.label, prefetch, single),
                    ]
                    if log:
                        print_rows(found, title=f"{benchmark}, {network.label}")
                    rows += found
    return rows


def add_image_arguments(parser: argparse.ArgumentParser, *, runs: int) -> None:
    """The options every image benchmark shares: image shape, runs, networks."""
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--layer-mib", type=int, default=80, help="uncompressed MiB per layer")
    parser.add_argument("--files", type=int, default=200, help="small files per layer")
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--rate-mib", type=float, default=32.0, help="0: no throttled run")
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    parser.add_argument("--no-loopback", action="store_true", help="only the throttled run")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)


def image_shape_and_networks(args: argparse.Namespace) -> tuple[ImageShape, tuple[Network, ...]]:
    """What ``add_image_arguments``' options ask for."""
    networks = [] if args.no_loopback else [Network()]
    if args.rate_mib > 0:
        networks.append(Network(args.rate_mib, args.rtt_ms))
    shape = ImageShape(layers=args.layers, layer_mib=args.layer_mib, files=args.files)
    return shape, tuple(networks)


def parse_settings(argv: Sequence[str] | None) -> GetSettings:
    """The settings the command line asks for."""
    parser = argparse.ArgumentParser(prog="python -m bench.get_image", description=__doc__)
    add_image_arguments(parser, runs=5)
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_LAYER_WORKERS, help="our downloads at once"
    )
    args = parser.parse_args(argv)
    shape, networks = image_shape_and_networks(args)
    return GetSettings(
        shape=shape, runs=args.runs, networks=networks, workdir=args.workdir, workers=args.workers
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run, then print the summary table."""
    settings = parse_settings(argv)
    rows = run(settings)
    print_rows(rows, title="get: summary (time vs/ours > 1: ours is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
