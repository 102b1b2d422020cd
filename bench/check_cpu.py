"""Benchmark: what one tag-mode ``check`` and one unchanged ``out`` re-push
cost a fresh process, against a bare Python and skopeo.

    python -m bench.check_cpu [--runs 21]

Concourse runs ``check`` for every resource every minute, each in a new
process, so its whole-process CPU time (user + system, from ``wait4``) is
what an operator pays for. Starts a local registry, pushes a small image,
then measures in turns (so that load drifts over all of them alike):

- ``registry-image check`` in tag mode (the console script the resource
  image runs);
- ``python -P -c "import requests"``: the floor for a Python resource
  that speaks HTTP with requests;
- ``skopeo inspect`` of the same tag (a Go peer);
- ``registry-image out`` re-pushing the same (unchanged) image: every blob
  and the manifest are there, so it should cost little more than ``check``.

Prints median CPU and wall time of each, and the ratios the performance
targets are stated in: check CPU / bare-requests CPU, re-push wall / check
wall. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.images import TAG, ImageShape, write_layout
from bench.support import (
    DEFAULT_WORKDIR,
    Command,
    Contender,
    Row,
    Timing,
    compare,
)
from tests.harness.registry import start_registry

REPO = "bench/check"
SHAPE = ImageShape(layers=2, layer_mib=1, files=20)


def _console_script() -> str:
    """The ``registry-image`` script next to this interpreter."""
    return str(Path(sys.executable).with_name("registry-image"))


def _push_with_skopeo(layout: Path, host: str) -> None:
    subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-no-creds",
            f"oci:{layout}:{TAG}",
            f"docker://{host}/{REPO}:{TAG}",
        ],
        check=True,
    )


def contenders(scratch: Path, host: str, layout: Path) -> list[Contender]:
    """Our check, bare Python + requests, skopeo inspect, our re-push."""
    source = {"repository": f"{host}/{REPO}", "tag": TAG}
    check_request = scratch / "check.json"
    check_request.write_text(json.dumps({"source": source}))
    out_request = scratch / "out.json"
    out_request.write_text(json.dumps({"source": source, "params": {"image": "image"}}))
    src = scratch / "src"
    src.mkdir(exist_ok=True)
    if not (src / "image").is_symlink():
        (src / "image").symlink_to(layout, target_is_directory=True)
    script = _console_script()
    return [
        Contender("ours: check", (Command((script, "check"), stdin=check_request),)),
        Contender(
            'python -P -c "import requests"',
            (Command((sys.executable, "-P", "-c", "import requests")),),
        ),
        Contender(
            "skopeo inspect",
            (
                Command(
                    (
                        "skopeo",
                        "inspect",
                        "--tls-verify=false",
                        "--no-creds",
                        f"docker://{host}/{REPO}:{TAG}",
                    )
                ),
            ),
        ),
        Contender(
            "ours: out re-push",
            (Command((script, "out", str(src)), stdin=out_request),),
        ),
    ]


def run(runs: int, workdir: Path = DEFAULT_WORKDIR, *, log: bool = True) -> list[Row]:
    """Measure; print a table when ``log``; the summary rows."""
    workdir.mkdir(parents=True, exist_ok=True)
    image = write_layout(workdir, SHAPE)
    with (
        tempfile.TemporaryDirectory(dir=workdir, prefix="check-cpu-") as temporary,
        start_registry(Path(temporary) / "storage", "anonymous") as registry,
    ):
        _push_with_skopeo(image.layout, registry.host)
        timings = compare(contenders(Path(temporary), registry.host, image.layout), runs)
    by_label = {timing.label: timing for timing in timings}
    ours, bare, skopeo, repush = (by_label[c] for c in by_label)
    if log:
        _print(timings, runs)
        print(
            f"\ncheck CPU / bare requests CPU: {_cpu(ours) / _cpu(bare):.2f}x; "
            f"re-push wall / check wall: {repush.median / ours.median:.2f}x"
        )
    return [
        Row("check, tag mode", "loopback", ours, skopeo),
        Row("out re-push (unchanged)", "loopback", repush, ours),
    ]


def _cpu(timing: Timing) -> float:
    value = timing.cpu_median
    assert value is not None, "commands run by measure() always report CPU"
    return value


def _print(timings: Sequence[Timing], runs: int) -> None:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\n### fresh-process cost, medians of {runs} runs (load average {load})\n")
    print("| command | CPU (user+sys) | wall | peak RSS |")
    print("|---|---:|---:|---:|")
    for timing in timings:
        print(
            f"| {timing.label} | {_cpu(timing) * 1000:.0f} ms | {timing.median * 1000:.0f} ms "
            f"| {timing.peak_rss_mib or 0:.0f} MiB |"
        )
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.check_cpu", description=__doc__)
    parser.add_argument("--runs", type=int, default=21, help="timed runs per contender")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    run(args.runs, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
