"""Benchmark: semver-mode ``check`` over a repository with many tags.

    python -m bench.check_semver [--tags 500] [--runs 5] [--workers 16]
                                 [--rtt-ms 0 20] [--skopeo 40]

Starts a local registry (the harness's ``docker-registry``), pushes ``--tags``
version tags, each its own image, and times ``check`` (in process, plugins
loaded once) with concurrent tag resolution (``--workers``) against the
serial strategy the Go resource uses: the same code with a pool of one.

A registry on loopback answers a HEAD in a fraction of a millisecond, far
from real life; ``--rtt-ms`` puts a proxy in front of it that delays every
request by that many milliseconds (``0`` means no proxy), to show what the
pool buys against a registry across a network.

``--skopeo N`` also times a stand-in for the Go resource's serial strategy
with Go tooling: ``skopeo list-tags`` then ``skopeo inspect --raw`` for N
tags one after another (a process per tag, so it overstates the per-tag cost;
reported per tag, for scale only).

Prints absolute times (median and best of ``--runs``) and the ratio
serial / concurrent. Timings are not asserted anywhere. ``run`` gives the
same comparisons as rows for ``python -m bench``.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
from registry_image.core.models import CheckRequest, Source
from registry_image.core.plugins import Plugins, load_plugins
from registry_image.resource.check import check

from bench.support import Row, Timing
from tests.check.images import Writer
from tests.harness.proxy import RegistryProxy
from tests.harness.registry import RunningRegistry, start_registry

REPO = "bench/semver"


@attrs.frozen
class CheckSettings:
    """What ``run`` measures."""

    tags: int = 500
    runs: int = 5
    workers: int = 16
    rtt_ms: tuple[float, ...] = (0.0, 20.0)
    skopeo: int = 0


def version_tags(count: int) -> list[str]:
    """``count`` distinct release tags: 1.0.0 ... spread over minors."""
    return [f"{n // 100}.{(n // 10) % 10}.{n % 10}" for n in range(count)]


def populate(registry: RunningRegistry, count: int) -> list[str]:
    writer = Writer(registry, REPO)
    tags = version_tags(count)
    for tag in tags:
        writer.tag(tag, writer.image(tag))
    writer.tag("latest", writer.image(tags[-1]))
    writer.close()
    return tags


@contextlib.contextmanager
def endpoint(registry: RunningRegistry, rtt_ms: float) -> Iterator[str]:
    """The registry's host, or a delaying proxy's when ``rtt_ms`` > 0."""
    if rtt_ms <= 0:
        yield registry.host
        return
    delay = rtt_ms / 1000

    def slow(method: str, path: str) -> None:
        time.sleep(delay)
        return None

    proxy = RegistryProxy(registry.url)
    proxy.rules.append(slow)
    proxy.start()
    try:
        yield proxy.host
    finally:
        proxy.stop()


def time_check(host: str, plugins: Plugins, workers: int, runs: int, expected: int) -> list[float]:
    request = CheckRequest(source=Source(repository=f"{host}/{REPO}"))
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        versions = check(request, plugins, workers=workers)
        seconds.append(time.perf_counter() - started)
        assert len(versions) == expected, (len(versions), expected)
    return seconds


def time_skopeo(registry: RunningRegistry, tags: list[str], count: int) -> float:
    """Seconds per tag for list-tags + one inspect per tag, serially."""
    flags = ["--tls-verify=false", "--no-creds"]
    reference = f"docker://{registry.host}/{REPO}"
    started = time.perf_counter()
    subprocess.run(["skopeo", "list-tags", *flags, reference], check=True, capture_output=True)
    for tag in tags[:count]:
        subprocess.run(
            ["skopeo", "inspect", "--raw", *flags, f"{reference}:{tag}"],
            check=True,
            capture_output=True,
        )
    return (time.perf_counter() - started) / count


def run(settings: CheckSettings, *, log: bool = True) -> list[Row]:
    """Concurrent against serial ``check`` at each round-trip time; the rows."""
    plugins = load_plugins()
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as workdir,
        start_registry(Path(workdir), "anonymous") as registry,
    ):
        started = time.perf_counter()
        tags = populate(registry, settings.tags)
        if log:
            print(f"pushed {len(tags)} tags in {time.perf_counter() - started:.1f}s", flush=True)
        for rtt in settings.rtt_ms:
            with endpoint(registry, rtt) as host:
                time_check(host, plugins, settings.workers, 1, len(tags))  # warm up
                serial = Timing.of_seconds(
                    "serial (the Go resource's way)",
                    time_check(host, plugins, 1, settings.runs, len(tags)),
                )
                pooled = Timing.of_seconds(
                    f"{settings.workers} workers",
                    time_check(host, plugins, settings.workers, settings.runs, len(tags)),
                )
            setting = "loopback" if rtt <= 0 else f"{rtt:g} ms per request"
            rows.append(Row(f"check semver ({len(tags)} tags)", setting, pooled, serial))
            if log:
                print(
                    f"rtt {rtt:5.1f} ms | serial median {serial.median:7.3f}s "
                    f"best {serial.best:7.3f}s | {pooled.label} median {pooled.median:7.3f}s "
                    f"best {pooled.best:7.3f}s | serial/concurrent "
                    f"{serial.median / pooled.median:5.1f}x",
                    flush=True,
                )
        if settings.skopeo:
            per_tag = time_skopeo(registry, tags, min(settings.skopeo, len(tags)))
            ours = rows[0].peer.median / len(tags)
            print(
                f"skopeo list-tags + inspect --raw per tag (serial, a process each): "
                f"{per_tag * 1000:.1f} ms/tag; our serial check: {ours * 1000:.2f} ms/tag "
                f"({rows[0].setting})"
            )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.check_semver", description=__doc__)
    parser.add_argument("--tags", type=int, default=500, help="version tags to push")
    parser.add_argument("--runs", type=int, default=5, help="timed checks per setting")
    parser.add_argument("--workers", type=int, default=16, help="concurrent resolutions")
    parser.add_argument(
        "--rtt-ms", type=float, nargs="+", default=[0.0, 20.0], help="simulated round trips"
    )
    parser.add_argument("--skopeo", type=int, default=0, help="also time skopeo for N tags")
    args = parser.parse_args(argv)
    run(
        CheckSettings(
            tags=args.tags,
            runs=args.runs,
            workers=args.workers,
            rtt_ms=tuple(args.rtt_ms),
            skopeo=args.skopeo,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
