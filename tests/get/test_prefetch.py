"""Layers downloaded in parallel, applied in order (``core.fetch.prefetch``).

Overlap and ordering are proven with barriers and events, never with sleeps:
a download that must wait for another one to finish (or to arrive) waits on
an event with a timeout, so a fetcher that does not overlap its downloads
fails the test instead of passing slowly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from registry_image.core.converter import parse_request
from registry_image.core.digest import Digest, VerifyingReader
from registry_image.core.errors import NotFoundError, ResourceError
from registry_image.core.fetch import (
    FetchedImage,
    LayerFetcher,
    PrefetchingFetcher,
    SequentialFetcher,
    fetch_image,
)
from registry_image.core.fetch.prefetch import THREAD_PREFIX
from registry_image.core.models import InRequest, Tag, Version
from registry_image.core.plugins import load_plugins
from registry_image.core.registry import Manifest
from registry_image.plugins.formats.oci import OciFormat
from registry_image.plugins.formats.oci_layout import OciLayoutFormat
from registry_image.plugins.formats.rootfs import RootfsFormat
from registry_image.resource.get import STAGING_PREFIX, get
from registry_image.testing.oci_builder import BuiltImage, Entry, build_image, read_blob

from tests.get.helpers import assert_same_rootfs_output
from tests.get.registry_helpers import TAG, push_image, run_in
from tests.harness.proxy import RegistryProxy
from tests.harness.registry import RunningRegistry
from tests.harness.resource import source_for

WAIT_SECONDS = 20.0
"""How long a download waits for another; reached only when they do not overlap."""
CHUNK = 64 * 1024


# -- an in-memory image source whose downloads the test choreographs ---------------


ChunkHook = Callable[[int, int], None]
"""Called as (layer position, chunk number) before each chunk of a layer is served."""


class ScriptedSource:
    """An ``ImageSource`` serving a harness-built image from its layout.

    Hooks let a test choreograph the downloads of layers (by 1-based
    position): ``before_layer`` runs when a layer's first byte is pulled,
    ``after_layer`` once its last byte has been, ``on_chunk`` before each
    chunk. Pulled chunks are counted per layer, and the order in which
    layers were pulled to the end is recorded in ``completed``."""

    def __init__(self, image: BuiltImage) -> None:
        self.image = image
        self.positions = {digest: n for n, digest in enumerate(image.layer_digests, start=1)}
        self.before_layer: dict[int, Callable[[], None]] = {}
        self.after_layer: dict[int, Callable[[], None]] = {}
        self.on_chunk: ChunkHook = lambda position, number: None
        self.replaced: dict[int, bytes] = {}
        """Bytes served instead of a layer's own (which then fail to verify)."""
        self.completed: list[int] = []
        self.pulled: dict[int, int] = {}
        self._lock = threading.Lock()

    def get_manifest(self, reference: str) -> Manifest:
        assert reference == self.image.manifest_digest
        return Manifest(self.image.media_type, reference, self.image.manifest_bytes)

    @contextmanager
    def open_blob(self, digest: str, size: int | None = None) -> Iterator[VerifyingReader]:
        position = self.positions.get(digest, 0)
        data = self.replaced.get(position) or read_blob(self.image.layout_dir, digest)
        chunks = self._chunks(position, data)
        yield VerifyingReader(chunks, Digest.parse(digest), size, f"blob {digest}")

    def _chunks(self, position: int, data: bytes) -> Iterator[bytes]:
        self.before_layer.get(position, _nothing)()
        for number, start in enumerate(range(0, len(data), CHUNK)):
            self.on_chunk(position, number)
            with self._lock:
                self.pulled[position] = self.pulled.get(position, 0) + 1
            yield data[start : start + CHUNK]
        if position:  # not the config
            with self._lock:
                self.completed.append(position)
        self.after_layer.get(position, _nothing)()


def _nothing() -> None:
    pass


def _fetched(source: ScriptedSource, fetcher: LayerFetcher) -> FetchedImage:
    version = Version(tag=Tag(TAG), digest=source.image.manifest_digest)
    return fetch_image(source, repository="example/prefetch", version=version, fetcher=fetcher)


def _waiter(event: threading.Event, why: str) -> Callable[[], None]:
    def wait() -> None:
        assert event.wait(WAIT_SECONDS), why

    return wait


def _stacked_layers(count: int) -> list[list[Entry]]:
    """Layers that only give the right tree when applied in order: each
    rewrites ``top``, adds a file, and deletes the file the previous one added."""
    layers: list[list[Entry]] = []
    for n in range(1, count + 1):
        entries = [Entry.file("top", f"layer {n}".encode()), Entry.file(f"added-{n}", b"x" * n)]
        if n > 1:
            entries.append(Entry.whiteout(f"added-{n - 1}"))
        layers.append(entries)
    return layers


# -- order ----------------------------------------------------------------------


def test_layers_are_applied_in_order_when_downloads_finish_in_reverse(tmp_path: Path) -> None:
    count = 5
    image = build_image(tmp_path / "layout", _stacked_layers(count))
    source = ScriptedSource(image)
    # Layer n may not start before layer n+1 has finished: downloads end last
    # to first, which is possible only if all of them run at once.
    finished = {n: threading.Event() for n in range(1, count + 1)}
    for n in range(1, count + 1):
        source.after_layer[n] = finished[n].set
        if n < count:
            source.before_layer[n] = _waiter(finished[n + 1], f"layer {n + 1} never finished")
    spool = tmp_path / "spool"
    spool.mkdir()
    seen: list[tuple[int, bytes]] = []
    with PrefetchingFetcher(spool, workers=count) as fetcher:
        for layer, opened in _fetched(source, fetcher).layer_streams():
            with opened as stream:
                seen.append((layer.position, stream.read()))
    assert source.completed == list(range(count, 0, -1))
    assert [position for position, _ in seen] == list(range(1, count + 1))
    assert [data for _, data in seen] == [
        read_blob(image.layout_dir, digest) for digest in image.layer_digests
    ]
    assert list(spool.iterdir()) == []


def test_rootfs_from_prefetched_layers_equals_the_sequential_one(tmp_path: Path) -> None:
    image = build_image(tmp_path / "layout", _stacked_layers(6))
    sequential, prefetched = tmp_path / "sequential", tmp_path / "prefetched"
    sequential.mkdir()
    prefetched.mkdir()
    RootfsFormat().write(_fetched(ScriptedSource(image), SequentialFetcher()), sequential)
    spool = tmp_path / "spool"
    spool.mkdir()
    with PrefetchingFetcher(spool, workers=3) as fetcher:
        RootfsFormat().write(_fetched(ScriptedSource(image), fetcher), prefetched)
    assert_same_rootfs_output(prefetched, sequential)
    assert (prefetched / "rootfs" / "top").read_bytes() == b"layer 6"
    assert sorted(p.name for p in (prefetched / "rootfs").iterdir()) == ["added-6", "top"]
    assert list(spool.iterdir()) == []


def test_layers_a_format_skips_are_neither_waited_for_nor_kept(tmp_path: Path) -> None:
    """A format may skip a layer (never enter its block): its download
    stops, its spool goes, and the next layers come as usual."""
    image = build_image(tmp_path / "layout", _stacked_layers(5))
    spool = tmp_path / "spool"
    spool.mkdir()
    read: dict[int, bytes] = {}
    with PrefetchingFetcher(spool, workers=3) as fetcher:
        for layer, opened in _fetched(ScriptedSource(image), fetcher).layer_streams():
            if layer.position % 2:
                with opened as stream:
                    read[layer.position] = stream.read()
    assert sorted(read) == [1, 3, 5]
    for position, data in read.items():
        assert data == read_blob(image.layout_dir, image.layer_digests[position - 1])
    assert list(spool.iterdir()) == []


def test_the_oci_archive_is_the_same_whatever_the_fetcher(tmp_path: Path) -> None:
    """``image.tar`` is laid out first and its layers downloaded into place,
    in parallel: the bytes are those of a sequential write, repeated blobs
    stored once."""
    same = [Entry.file("same", b"same")]
    layers = [same, [Entry.file("b", os.urandom(100_000))], same, [Entry.file("d", b"d")]]
    image = build_image(tmp_path / "layout", layers)
    sequential, parallel = tmp_path / "sequential", tmp_path / "parallel"
    sequential.mkdir()
    parallel.mkdir()
    OciFormat().write(_fetched(ScriptedSource(image), SequentialFetcher()), sequential)
    spool = tmp_path / "spool"
    spool.mkdir()
    with PrefetchingFetcher(spool, workers=4) as fetcher:
        OciFormat().write(_fetched(ScriptedSource(image), fetcher), parallel)
    archive = (parallel / "image.tar").read_bytes()
    assert archive == (sequential / "image.tar").read_bytes()
    with tarfile.open(parallel / "image.tar") as tar:
        names = tar.getnames()
        assert len(names) == 1 + 3 + 1  # config, three distinct layers, manifest.json
        for digest in set(image.layer_digests):
            member = tar.extractfile(f"{digest.removeprefix('sha256:')}.tar.gz")
            assert member is not None
            assert member.read() == read_blob(image.layout_dir, digest)


# -- overlap on the wire ----------------------------------------------------------


class InFlight:
    """A proxy rule holding the first ``parties`` layer GETs until all of them
    have arrived: they can only all pass if they are in flight at once."""

    def __init__(self, layer_digests: Sequence[str], parties: int) -> None:
        self.layer_digests = set(layer_digests)
        self.barrier = threading.Barrier(parties, timeout=WAIT_SECONDS)
        self.parties = parties
        self.arrived = 0
        self.broken = False
        self._lock = threading.Lock()

    def __call__(self, method: str, path: str) -> None:
        if method != "GET" or path.rsplit("/", 1)[-1] not in self.layer_digests:
            return None
        with self._lock:
            self.arrived += 1
            held = self.arrived <= self.parties
        if held:
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                self.broken = True
        return None


@pytest.mark.parametrize("fmt", ["rootfs", "oci", "oci-layout"])
def test_layer_downloads_are_in_flight_at_once(
    registry_anonymous: RunningRegistry, tmp_path: Path, fmt: str
) -> None:
    layers = [[Entry.file(f"file-{n}", os.urandom(50_000))] for n in range(6)]
    repo, image = push_image(registry_anonymous, tmp_path, layers)
    workers = 4
    rule = InFlight(image.layer_digests, workers)
    proxy = RegistryProxy(registry_anonymous.url)
    proxy.rules.append(rule)
    proxy.start()
    try:
        source = {**source_for(registry_anonymous, repo), "repository": f"{proxy.host}/{repo}"}
        request = {
            "source": source,
            "version": {"tag": TAG, "digest": image.manifest_digest},
            "params": {"format": fmt},
        }
        parsed = parse_request(json.dumps(request), InRequest)
        get(parsed, tmp_path / "dest", load_plugins(), layer_workers=workers)
    finally:
        proxy.stop()
    assert not rule.broken, f"fewer than {workers} layer downloads were ever in flight at once"
    assert rule.arrived == len(layers)


# -- failures -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rootfs", "oci", "oci-layout"])
def test_a_failing_later_layer_fails_the_get_and_is_named(
    registry_anonymous: RunningRegistry, tmp_path: Path, fmt: str
) -> None:
    layers = [[Entry.file(f"file-{n}", os.urandom(20_000))] for n in range(5)]
    repo, image = push_image(registry_anonymous, tmp_path, layers)
    missing = image.layer_digests[3]
    deleted = requests.delete(f"{registry_anonymous.url}/v2/{repo}/blobs/{missing}", timeout=10)
    assert deleted.status_code == 202
    dest = tmp_path / "dest"
    run = run_in(registry_anonymous, repo, image.manifest_digest, dest, format=fmt)
    assert run.returncode == 1
    assert missing in run.error_line
    assert "not found" in run.error_line
    assert list(dest.iterdir()) == []  # no rootfs, image.tar or oci/; no staging or spool


def test_a_failure_stops_the_other_downloads_and_the_layer_being_applied(
    tmp_path: Path,
) -> None:
    """Layer 3 fails while layer 1 (being applied) and layers 2 and 4 (being
    spooled) are mid-way: they all stop pulling bytes, and the error is
    layer 3's, naming it."""

    def big(name: str) -> list[Entry]:
        return [Entry.file(name, bytes(16 * 1024 * 1024))]

    layers = [big("a"), big("b"), [Entry.file("c", b"c")], big("d")]
    image = build_image(tmp_path / "layout", layers, compression="none")
    total = len(read_blob(image.layout_dir, image.layer_digests[0])) // CHUNK
    source = ScriptedSource(image)
    started = {n: threading.Event() for n in (1, 2)}
    failed = threading.Event()

    def on_chunk(position: int, number: int) -> None:
        if position != 3 and number == 1:
            if position in started:
                started[position].set()
            assert failed.wait(WAIT_SECONDS), "layer 3 never failed"

    def fail() -> None:
        for event in started.values():
            assert event.wait(WAIT_SECONDS), "layers 1 and 2 were not fetched at once"
        failed.set()
        raise NotFoundError("registry: that blob is gone")

    source.on_chunk = on_chunk
    source.before_layer[3] = fail
    spool = tmp_path / "spool"
    spool.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(NotFoundError) as caught, PrefetchingFetcher(spool, workers=4) as fetcher:
        RootfsFormat().write(_fetched(source, fetcher), dest)
    short = image.layer_digests[2][:19]
    assert str(caught.value) == f"layer 3/4 ({short}): registry: that blob is gone"
    assert source.pulled[1] < total // 2, source.pulled
    assert source.pulled[2] < total // 2, source.pulled
    assert source.pulled.get(4, 0) < total // 2, source.pulled
    assert list(spool.iterdir()) == []


def test_an_interrupted_format_leaves_no_download_running(tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM, which ``in`` turns into an exception) while the
    first layer is applied and the next ones are downloading: leaving the
    fetcher stops and joins every download and deletes every spool."""
    layers = [[Entry.file(f"f{n}", bytes(4 * 1024 * 1024))] for n in range(4)]
    image = build_image(tmp_path / "layout", layers, compression="none")
    source = ScriptedSource(image)
    downloading = {n: threading.Event() for n in (2, 3, 4)}

    def on_chunk(position: int, number: int) -> None:
        if position in downloading and number == 1:
            downloading[position].set()

    source.on_chunk = on_chunk
    spool = tmp_path / "spool"
    spool.mkdir()
    with pytest.raises(KeyboardInterrupt), PrefetchingFetcher(spool, workers=4) as fetcher:
        for _, opened in _fetched(source, fetcher).layer_streams():
            with opened as stream:
                stream.read(1000)
                for event in downloading.values():
                    assert event.wait(WAIT_SECONDS), "the next layers were not downloading"
                raise KeyboardInterrupt
    alive = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
    assert alive == []
    assert list(spool.iterdir()) == []


def test_a_corrupt_spooled_layer_fails_with_the_digest_error(tmp_path: Path) -> None:
    layers = [[Entry.file("a", b"a")], [Entry.file("b", os.urandom(200_000))]]
    image = build_image(tmp_path / "layout", layers)
    source = ScriptedSource(image)
    blob = bytearray(read_blob(image.layout_dir, image.layer_digests[1]))
    blob[len(blob) // 2] ^= 0xFF
    source.replaced[2] = bytes(blob)
    spool = tmp_path / "spool"
    spool.mkdir()
    for fmt in (RootfsFormat(), OciFormat(), OciLayoutFormat()):
        dest = tmp_path / f"dest-{fmt.name}"
        dest.mkdir()
        with pytest.raises(ResourceError) as caught, PrefetchingFetcher(spool) as fetcher:
            fmt.write(_fetched(source, fetcher), dest)
        what = f"blob {image.layer_digests[1]}: content hashes to"
        assert str(caught.value).startswith(what), fmt.name
        assert list(spool.iterdir()) == []


# -- memory -------------------------------------------------------------------


LAYER_MIB = 64
LAYERS = 4
SLACK_MIB = 48
"""Peak RSS may grow by this much over that of a tiny image: far less than one layer."""


# Runs a command and prints the peak RSS (KiB) of its process tree. ``-P``
# keeps the working directory off ``sys.path``: the repository's
# ``resource/`` folder would hide the standard library's ``resource``.
_MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "rb") as stdin:
    completed = subprocess.run(sys.argv[2:], stdin=stdin, capture_output=True)
sys.stderr.buffer.write(completed.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(completed.returncode)
"""


def _peak_rss_of_in(registry: RunningRegistry, repo: str, digest: str, dest: Path, fmt: str) -> int:
    """``in`` as a subprocess; its peak resident set size in bytes."""
    request = {
        "source": source_for(registry, repo),
        "version": {"tag": TAG, "digest": digest},
        "params": {"format": fmt},
    }
    request_file = dest.parent / f"{dest.name}.json"
    request_file.write_text(json.dumps(request))
    command = [sys.executable, "-m", "registry_image.resource", "in", str(dest)]
    completed = subprocess.run(
        [sys.executable, "-P", "-c", _MEASURE, str(request_file), *command],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return int(completed.stdout.split()[-1]) * 1024  # KiB on Linux


def test_peak_memory_stays_flat_whatever_the_layer_sizes(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    """Four 64 MiB layers of incompressible bytes, downloaded at once (for
    rootfs: three spooled while the first is applied; for oci: into their
    places in the archive), yet ``in`` needs no more memory than for a tiny
    image, give or take a slack far below the size of one layer."""
    small_repo, small = push_image(
        registry_anonymous, tmp_path / "small", [[Entry.file("f", b"f")], [Entry.file("g")]]
    )
    layers = [[Entry.file(f"blob-{n}", os.urandom(LAYER_MIB * 1024 * 1024))] for n in range(LAYERS)]
    big_repo, big = push_image(registry_anonymous, tmp_path / "big", layers, compression="none")
    del layers
    mib = 1024 * 1024
    for fmt in ("rootfs", "oci"):
        baseline = _peak_rss_of_in(
            registry_anonymous, small_repo, small.manifest_digest, tmp_path / f"small-{fmt}", fmt
        )
        dest = tmp_path / f"big-{fmt}"
        peak = _peak_rss_of_in(registry_anonymous, big_repo, big.manifest_digest, dest, fmt)
        assert peak - baseline < SLACK_MIB * mib, (
            f"{fmt}: peak RSS {peak / mib:.0f} MiB for {LAYERS} x {LAYER_MIB} MiB layers, "
            f"{baseline / mib:.0f} MiB for a tiny image"
        )
        leftovers = [p.name for p in dest.iterdir()]
        assert not any(name.startswith(STAGING_PREFIX) for name in leftovers), leftovers
