"""Every benchmark, briefly, and one summary table of ratios.

    python -m bench [--runs 3] [--workdir DIR]

Small sizes (a 4-layer image of about 35 MiB gzip, 100 tags), a few runs
each: a couple of minutes in all, to see that nothing regressed and how we
stand against the peers. For numbers worth quoting run the benchmarks one
by one with their defaults (``python -m bench.get_image``,
``bench.put_image``, ``bench.check_semver``; ``bench.unpack_layer`` for the
unpacker alone).

"time vs/ours" is the other contender's median time over ours: above 1,
ours is faster; "RSS vs/ours" likewise for the peak resident memory.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench import check_cpu, check_semver, get_image, put_image
from bench.get_image import GetSettings, Network
from bench.images import ImageShape
from bench.put_image import PutSettings
from bench.support import DEFAULT_WORKDIR, Row, print_rows

QUICK_SHAPE = ImageShape(layers=4, layer_mib=16, files=100)
THROTTLED = Network(rate_mib=32, rtt_ms=20)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per contender")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    networks = (Network(), THROTTLED)
    rows: list[Row] = []
    print("get_image ...", flush=True)
    rows += get_image.run(GetSettings(QUICK_SHAPE, args.runs, networks, args.workdir), log=False)
    print("put_image ...", flush=True)
    rows += put_image.run(PutSettings(QUICK_SHAPE, args.runs, networks, args.workdir), log=False)
    print("check_cpu ...", flush=True)
    rows += check_cpu.run(max(args.runs, 5), args.workdir, log=False)
    print("check_semver ...", flush=True)
    rows += check_semver.run(
        check_semver.CheckSettings(tags=100, runs=args.runs, rtt_ms=(0.0, 20.0)), log=False
    )
    print_rows(rows, title="summary (time vs/ours > 1: ours is faster)")
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
