"""What the benchmarks share: timing commands (with their peak memory),
medians over runs, ratios, and the summary rows ``python -m bench`` prints.

Every tool is measured the same way: as a process of its own, started by
``_measure.py``, which reports the wall time and the peak RSS of the
command's process tree. Timings are reported, never asserted.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
MEASURE_SCRIPT = BENCH_DIR / "_measure.py"
DEFAULT_WORKDIR = Path("/tmp/registry-image-bench")


class BenchError(RuntimeError):
    """A measured command failed; the message has its stderr."""


@attrs.frozen
class Command:
    """A command line, and the file fed to its stdin (if any)."""

    argv: tuple[str, ...]
    stdin: Path | None = None
    label: str = ""

    @property
    def text(self) -> str:
        """The command line, for messages."""
        return " ".join(self.argv)


@attrs.frozen
class Sample:
    """One measured run of one or more commands, one after the other."""

    seconds: float
    peak_rss_kib: int | None
    """The largest peak RSS among the commands; None when not measured
    (code timed in this process)."""
    cpu_seconds: float | None = None
    """User + system CPU time of the commands' processes; None when not
    measured."""


@functools.cache
def compile_bytecode() -> None:
    """Write the bytecode of our modules, as ``pip install`` does for the
    resource image: the editable development install runs them from this
    checkout, where a shell with ``PYTHONDONTWRITEBYTECODE`` set never
    writes it, and each measured process would compile every module it
    imports (about 0.1 s of CPU that no user pays)."""
    import registry_image.api
    import registry_image.core
    import registry_image.plugins
    import registry_image.resource

    folders = [
        folder
        for package in (
            registry_image.api,
            registry_image.core,
            registry_image.plugins,
            registry_image.resource,
        )
        for folder in package.__path__
    ]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *folders],
        check=False,
        stdout=subprocess.DEVNULL,
    )


def measure(commands: Sequence[Command]) -> Sample:
    """Run ``commands`` in order (a pipeline of tools); their total wall
    time and the largest peak RSS. ``BenchError`` when one fails."""
    compile_bytecode()
    seconds = 0.0
    cpu = 0.0
    peak = 0
    for command in commands:
        completed = subprocess.run(
            [
                sys.executable,
                "-P",
                str(MEASURE_SCRIPT),
                str(command.stdin) if command.stdin else "-",
                *command.argv,
            ],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=False,
        )
        if completed.returncode != 0 or not completed.stdout.strip():
            raise BenchError(f"{command.text}: measuring failed:\n{completed.stderr}")
        report = json.loads(completed.stdout.splitlines()[-1])
        if report["returncode"] != 0:
            raise BenchError(
                f"{command.text} exited {report['returncode']}:\n{completed.stderr[-4000:]}"
            )
        seconds += float(report["seconds"])
        cpu += float(report["cpu_seconds"])
        peak = max(peak, int(report["peak_rss_kib"]))
    return Sample(seconds, peak, cpu)


@attrs.frozen
class Timing:
    """Repeated samples of one contender."""

    label: str
    samples: tuple[Sample, ...]

    @property
    def seconds(self) -> list[float]:
        """Each sample's wall time."""
        return [sample.seconds for sample in self.samples]

    @property
    def median(self) -> float:
        """The median wall time, seconds."""
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float | None:
        """The median CPU time (user + system), seconds; None when not measured."""
        measured = [s.cpu_seconds for s in self.samples if s.cpu_seconds is not None]
        return statistics.median(measured) if measured else None

    @property
    def best(self) -> float:
        """The shortest wall time, seconds."""
        return min(self.seconds)

    @property
    def peak_rss_mib(self) -> float | None:
        """The median peak RSS, MiB; None when not measured."""
        measured = [s.peak_rss_kib for s in self.samples if s.peak_rss_kib is not None]
        return statistics.median(measured) / 1024 if measured else None

    @classmethod
    def of_seconds(cls, label: str, seconds: Sequence[float]) -> Timing:
        """Timings of code run in this process (no RSS of its own)."""
        return cls(label, tuple(Sample(value, None) for value in seconds))


@attrs.frozen
class Contender:
    """One way of doing the benchmarked job: commands run as a pipeline,
    after ``prepare`` (not timed) empties their destinations."""

    label: str
    commands: tuple[Command, ...]
    prepare: Callable[[], None] = lambda: None


def compare(contenders: Sequence[Contender], runs: int, *, warmup: int = 1) -> list[Timing]:
    """``runs`` samples of each contender, taken in turns (so that drift in
    the machine's state spreads over all of them), after ``warmup``
    untimed rounds; timings in the order of ``contenders``."""
    samples: dict[str, list[Sample]] = {contender.label: [] for contender in contenders}
    for round_ in range(warmup + runs):
        for contender in contenders:
            contender.prepare()
            # The previous run's dirty pages are written back now, not
            # during (and charged to) this one.
            os.sync()
            sample = measure(contender.commands)
            if round_ >= warmup:
                samples[contender.label].append(sample)
    return [Timing(contender.label, tuple(samples[contender.label])) for contender in contenders]


@attrs.frozen
class Row:
    """One line of a summary: ours against a peer (or a variant of ours)."""

    benchmark: str
    setting: str
    ours: Timing
    peer: Timing

    @property
    def ratio(self) -> float:
        """Peer time / our time: above 1, ours is faster."""
        return self.peer.median / self.ours.median

    @property
    def rss_ratio(self) -> float | None:
        """Peer peak RSS / ours: above 1, ours needs less memory."""
        ours, peer = self.ours.peak_rss_mib, self.peer.peak_rss_mib
        return None if ours is None or peer is None else peer / ours


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MiB"


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def print_rows(rows: Sequence[Row], *, title: str) -> None:
    """The rows as a markdown table: medians, peak RSS, ratios."""
    print(f"\n### {title}\n")
    print(
        "| benchmark | setting | ours | median | peak RSS | vs | median | peak RSS "
        "| time vs/ours | RSS vs/ours |"
    )
    print("|---|---|---|---:|---:|---|---:|---:|---:|---:|")
    for row in rows:
        rss = row.rss_ratio
        print(
            f"| {row.benchmark} | {row.setting} | {row.ours.label} | {_seconds(row.ours.median)} "
            f"| {_mib(row.ours.peak_rss_mib)} | {row.peer.label} | {_seconds(row.peer.median)} "
            f"| {_mib(row.peer.peak_rss_mib)} | {row.ratio:.2f}x "
            f"| {'-' if rss is None else f'{rss:.2f}x'} |"
        )
    sys.stdout.flush()


def our_command(name: str, *args: str, stdin: Path | None = None) -> Command:
    """``python -m NAME ARGS`` from the repository root (``registry_image``
    comes from the installed distribution)."""
    return Command((sys.executable, "-m", name, *args), stdin=stdin, label=name)


TRASH_NAME = ".bench-trash"
_trash_dirs: set[Path] = set()


def reset_dir(path: Path) -> None:
    """``path`` moved out of the way (whatever it is), its parent created.

    A directory tree is not deleted here but moved into a trash directory
    beside it, deleted when the benchmark process exits. On ext4 without a
    journal (this project's CI machines), the inode allocator passes over
    every inode freed in the last five minutes (``recently_deleted``), so
    deleting one contender's 8,000-file tree just before the next run made
    that run's file creation several times slower: seconds of kernel time
    for both contenders that measured the benchmark's own cleanup, not them.
    The same holds between benchmarks: start one at least five minutes after
    anything deleted many files there (the last benchmark's trash included).
    """
    if path.is_dir() and not path.is_symlink():
        trash = path.parent / TRASH_NAME
        trash.mkdir(exist_ok=True)
        if not _trash_dirs:
            atexit.register(_empty_trash)
        _trash_dirs.add(trash)
        path.rename(trash / f"{path.name}-{uuid.uuid4().hex}")
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)


def _empty_trash() -> None:
    for trash in _trash_dirs:
        subprocess.run(["rm", "-rf", "--", str(trash)], check=False)


def is_root() -> bool:
    """Whether we run as root (then tools unpack with owners and devices)."""
    return os.geteuid() == 0
