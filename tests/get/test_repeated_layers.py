"""A layer listed more than once in a manifest is downloaded once and
applied as many times as it is listed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from registry_image.core.digest import VerifyingReader
from registry_image.core.fetch import PrefetchingFetcher, SequentialFetcher
from registry_image.plugins.formats.rootfs import RootfsFormat
from registry_image.testing.oci_builder import BuiltImage, Entry, build_image

from tests.get.helpers import assert_same_rootfs_output
from tests.get.registry_helpers import TAG, push_image
from tests.get.test_prefetch import ScriptedSource, _fetched
from tests.harness.proxy import RegistryProxy
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for

# Applying A, then B, then A again leaves a/ and b/; skipping the second A
# would leave only b/ (B deletes a).
A = [Entry.file("a", b"from A")]
B = [Entry.whiteout("a"), Entry.file("b", b"from B")]
STACK = [A, B, A, A]


class CountingSource(ScriptedSource):
    """Counts how often each blob is opened."""

    def __init__(self, image: BuiltImage) -> None:
        super().__init__(image)
        self.opened: Counter[str] = Counter()

    @contextmanager
    def open_blob(self, digest: str, size: int | None = None) -> Iterator[VerifyingReader]:
        self.opened[digest] += 1
        with super().open_blob(digest, size) as reader:
            yield reader


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_a_repeated_layer_is_downloaded_once_and_applied_each_time(
    tmp_path: Path, workers: int
) -> None:
    image = build_image(tmp_path / "layout", STACK)
    digest_a, digest_b = image.layer_digests[0], image.layer_digests[1]
    assert image.layer_digests == (digest_a, digest_b, digest_a, digest_a)
    sequential = tmp_path / "sequential"
    sequential.mkdir()
    RootfsFormat().write(_fetched(ScriptedSource(image), SequentialFetcher()), sequential)
    spool = tmp_path / "spool"
    spool.mkdir()
    prefetched = tmp_path / "prefetched"
    prefetched.mkdir()
    source = CountingSource(image)
    with PrefetchingFetcher(spool, workers=workers) as fetcher:
        RootfsFormat().write(_fetched(source, fetcher), prefetched)
    assert source.opened[digest_a] == 1
    assert source.opened[digest_b] == 1
    assert_same_rootfs_output(prefetched, sequential)
    assert sorted(p.name for p in (prefetched / "rootfs").iterdir()) == ["a", "b"]
    assert list(spool.iterdir()) == []


def test_a_skipped_repeat_keeps_the_spool_for_the_next_use(tmp_path: Path) -> None:
    image = build_image(tmp_path / "layout", STACK)
    source = CountingSource(image)
    spool = tmp_path / "spool"
    spool.mkdir()
    read: list[tuple[int, bytes]] = []
    with PrefetchingFetcher(spool, workers=3) as fetcher:
        for layer, opened in _fetched(source, fetcher).layer_streams():
            if layer.position != 1:  # the first A is skipped, the later ones read
                with opened as stream:
                    read.append((layer.position, stream.read()))
    assert [position for position, _ in read] == [2, 3, 4]
    assert read[1][1] == read[2][1]
    assert source.opened[image.layer_digests[0]] == 1
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize("fmt", ["rootfs", "oci", "oci-layout"])
def test_in_downloads_a_repeated_layer_once(
    registry_anonymous: RunningRegistry, tmp_path: Path, fmt: str
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, STACK)
    with RegistryProxy(registry_anonymous.url) as proxy:
        source = {**source_for(registry_anonymous, repo), "repository": f"{proxy.host}/{repo}"}
        request = {
            "source": source,
            "version": {"tag": TAG, "digest": image.manifest_digest},
            "params": {"format": fmt},
        }
        run = run_resource("in", request, str(tmp_path / "dest"))
        assert run.returncode == 0, run.stderr
        gets = Counter(
            record.route.rsplit("/", 1)[1] for record in proxy.requests("GET", r"/blobs/sha256:")
        )
    assert gets[image.layer_digests[0]] == 1
    assert gets[image.layer_digests[1]] == 1
    if fmt == "rootfs":
        rootfs = tmp_path / "dest" / "rootfs"
        assert (rootfs / "a").read_bytes() == b"from A"
        assert (rootfs / "b").read_bytes() == b"from B"
