"""Benchmark: ``in`` rootfs of a whiteout-heavy image against skopeo + umoci.

    python -m bench.get_whiteouts [--runs 5] [--workdir DIR] [--no-verify]

Pushes the image of ``bench.whiteout_image`` (a Debian-minbase-like base
of about 8,000 small files that later layers trim with whiteouts and opaque
directories, plus a 64 MiB blob) to a local registry, then times, side by
side and in turns on loopback, our ``in`` (``format: rootfs``) against
``skopeo copy docker://... oci:DIR`` followed by ``umoci raw unpack``.
Medians of ``--runs`` runs after one warm-up, and peak RSS, as in
``bench.get_image``. Unless ``--no-verify``, the two root filesystems of
the last run are then compared path by path (type, mode, owner, size,
content, link target, mtime; hard-link groups), so a faster unpack that
differs is caught.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from registry_image.core.fetch import DEFAULT_LAYER_WORKERS
from registry_image.testing.trees import hardlink_groups, tree_snapshot

from bench.get_image import REPO, _ours, _skopeo_copy, _umoci_unpack
from bench.images import TAG
from bench.support import DEFAULT_WORKDIR, Contender, Row, compare, is_root, print_rows, reset_dir
from bench.whiteout_image import write_whiteout_layout
from tests.harness.registry import start_registry
from tests.harness.skopeo import push_layout


def differences(ours: Path, peer: Path) -> list[str]:
    """Paths whose snapshot differs between the two trees (at most 20 shown)."""
    mine = tree_snapshot(ours, with_owner=is_root())
    theirs = tree_snapshot(peer, with_owner=is_root())
    found = [
        f"{path}: ours {mine.get(path)} / peer {theirs.get(path)}"
        for path in sorted(mine.keys() | theirs.keys())
        if mine.get(path) != theirs.get(path)
    ]
    if hardlink_groups(ours) != hardlink_groups(peer):
        found.append("hard-link groups differ")
    return found[:20]


def run(runs: int, workdir: Path, *, verify: bool = True, log: bool = True) -> list[Row]:
    """Measure ours against the peer pipeline; the summary row."""
    workdir.mkdir(parents=True, exist_ok=True)
    image = write_whiteout_layout(workdir)
    size = f"whiteout-heavy, 4 layers, {image.blob_bytes / 2**20:.0f} MiB gzip"
    with (
        tempfile.TemporaryDirectory(dir=workdir, prefix="whiteouts-") as temporary,
        start_registry(Path(temporary) / "registry", "anonymous") as registry,
    ):
        scratch = Path(temporary)
        push_layout(image.layout, registry, REPO, TAG, ref_name=TAG)
        command, dest = _ours(scratch, registry.host, image, "rootfs", DEFAULT_LAYER_WORKERS)
        layout, rootfs = scratch / "skopeo", scratch / "umoci"

        def clean_peer() -> None:
            reset_dir(layout)
            reset_dir(rootfs)

        peer = Contender(
            "skopeo copy + umoci unpack",
            (_skopeo_copy(registry.host, f"oci:{layout}:{TAG}"), _umoci_unpack(layout, rootfs)),
            clean_peer,
        )
        ours = Contender("ours", (command,), functools.partial(reset_dir, dest))
        mine, theirs = compare([ours, peer], runs)
        row = Row(f"get rootfs ({size})", "loopback", mine, theirs)
        if log:
            print_rows([row], title=row.benchmark)
            cpu = mine.cpu_median
            print(f"ours: {cpu:.2f} s CPU (median)" if cpu is not None else "")
            print(f"ours / peer wall time: {1 / row.ratio:.2f}")
        if verify:
            found = differences(dest / "rootfs", rootfs)
            if found:
                raise SystemExit("the root filesystems differ:\n" + "\n".join(found))
            if log:
                print("verified: our rootfs equals umoci's, path by path")
    return [row]


def main(argv: Sequence[str] | None = None) -> int:
    """Run, then print the row."""
    parser = argparse.ArgumentParser(prog="python -m bench.get_whiteouts", description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args(argv)
    run(args.runs, args.workdir, verify=not args.no_verify)
    return 0


if __name__ == "__main__":
    sys.exit(main())
