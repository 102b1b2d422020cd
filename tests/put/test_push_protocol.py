"""core.registry.push against the real registry, through a proxy that counts every
request and injects 429s, 5xx, resets, lost answers and odd ``Location``s."""

from __future__ import annotations

import base64
import itertools
import re
import tracemalloc
from pathlib import Path

import pytest
from registry_image.core.errors import RegistryError
from registry_image.core.localimage.image import LocalImage
from registry_image.core.registry.push import Pusher, PushSettings

from tests.harness.fixtures import unique_repo
from tests.harness.proxy import (
    Fault,
    RegistryProxy,
    Reset,
    Respond,
    redirect_uploads_to,
    relative_location,
)
from tests.harness.registry import RunningRegistry

from .helpers import blob_sha256, layout_image, push_registry, tags_of

MIB = 1024 * 1024
CHUNKED = PushSettings(workers=4, chunk_size=MIB, monolithic_limit=64 * 1024)
UPLOAD = r"/blobs/uploads/"
FINAL_PUT = r"/blobs/uploads/.*[?&]digest="


def push(
    proxy: RegistryProxy,
    repo: str,
    image: LocalImage,
    settings: PushSettings = CHUNKED,
    **kwargs: object,
) -> Pusher:
    with push_registry(proxy.host, repo) as registry:
        pusher = Pusher(registry, settings=settings, **kwargs)  # type: ignore[arg-type]
        pusher.push(image, ["t"])
    return pusher


def assert_pushed(registry: RunningRegistry, repo: str, image: LocalImage) -> None:
    """Every blob is in the registry with the right content; ``t`` names the root."""
    for blob in image.blobs:
        assert blob_sha256(registry, repo, blob.digest) == blob.digest
    assert tags_of(registry, repo) == ["t"]


def body_ranges(proxy: RegistryProxy) -> list[tuple[int, int]]:
    ranges = []
    for record in proxy.requests("PATCH", UPLOAD):
        start, end = record.headers["Content-Range"].split("-")
        ranges.append((int(start), int(end)))
    return ranges


def test_small_blobs_go_in_one_put(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with layout_image(tmp_path, [1000, 20_000], "mono") as image:
        report = push(proxy, repo, image).report
        assert_pushed(registry_anonymous, repo, image)
    assert report.uploaded == 3
    assert proxy.requests("PATCH") == []
    puts = proxy.requests("PUT", FINAL_PUT)
    assert len(puts) == 3
    assert sum(r.body_bytes for r in puts) == sum(b.size for b in image.blobs)


def test_large_blob_goes_in_contiguous_chunks(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with layout_image(tmp_path, [5 * MIB + 123], "chunks") as image:
        push(proxy, repo, image)
        assert_pushed(registry_anonymous, repo, image)
        layer = max(image.blobs, key=lambda b: b.size)
    ranges = body_ranges(proxy)
    assert ranges[0][0] == 0
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
    assert ranges[-1][1] == layer.size - 1
    assert len(ranges) == 6
    assert all(r.body_bytes <= MIB for r in proxy.requests("PATCH"))
    assert len(proxy.requests("POST", UPLOAD)) == 2  # the layer and the config


def test_pushing_an_unchanged_image_again_sends_heads_only(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with layout_image(tmp_path, [1000, 2000], "unchanged") as image:
        push(proxy, repo, image)
        assert len(proxy.requests("PUT", r"/manifests/t$")) == 1
        proxy.clear()
        report = push(proxy, repo, image).report
        assert_pushed(registry_anonymous, repo, image)
    methods = {record.method for record in proxy.records if record.path != "/v2/"}
    assert methods == {"HEAD"}
    assert len(proxy.requests("HEAD", r"/manifests/t$")) == 1
    assert report.manifests_put == 0


def test_a_moved_tag_is_put_again(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with layout_image(tmp_path / "before", [1000], "before") as before:
        push(proxy, repo, before)
    with layout_image(tmp_path / "after", [1000], "after") as after:
        push(proxy, repo, after)
        assert_pushed(registry_anonymous, repo, after)
    assert len(proxy.requests("PUT", r"/manifests/t$")) == 2


def test_second_push_uploads_no_blob_bytes(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with layout_image(tmp_path, [3 * MIB, 100_000], "twice") as image:
        push(proxy, repo, image)
        first = proxy.blob_bytes_uploaded()
        proxy.clear()
        report = push(proxy, repo, image).report
    assert first >= sum(b.size for b in image.blobs)
    assert proxy.blob_bytes_uploaded() == 0
    assert proxy.requests("POST") == []
    assert len(proxy.requests("HEAD", r"/blobs/sha256:")) == len(image.blobs)
    assert (report.existing, report.uploaded, report.bytes_sent) == (3, 0, 0)


def test_429_is_retried_after_retry_after(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    # 2 s: not the first backoff step (1 s), so only the header explains the wait
    proxy.rules.append(Fault("HEAD", r"/blobs/sha256:", Respond(429, {"Retry-After": "2"})))
    proxy.rules.append(Fault("PUT", r"/manifests/t$", Respond(429, {"Retry-After": "2"})))
    with layout_image(tmp_path, [1000], "ratelimit") as image:
        push(proxy, repo, image)
        assert_pushed(registry_anonymous, repo, image)
    for method, path in (("HEAD", r"/blobs/sha256:"), ("PUT", r"/manifests/t$")):
        limited = next(r for r in proxy.requests(method, path) if r.status == 429)
        retried = [
            r
            for r in proxy.requests(method, re.escape(limited.path) + "$")
            if r.at > limited.at and r.status != 429
        ]
        assert retried, f"{method} {limited.path} was not retried"
        assert retried[0].at - limited.at >= 2.0


def test_server_errors_and_resets_are_retried(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    proxy.rules += [
        Fault("POST", UPLOAD, Respond(503), times=2),
        Fault("PATCH", UPLOAD, Reset(), skip=1),
        Fault("PUT", FINAL_PUT, Respond(500)),
        Fault("PUT", r"/manifests/t$", Respond(502)),
    ]
    with layout_image(tmp_path, [3 * MIB], "flaky") as image:
        push(proxy, repo, image)
        assert_pushed(registry_anonymous, repo, image)
    statuses = [r.status for r in proxy.records]
    assert statuses.count(503) == 2 and statuses.count(None) == 1
    assert 500 in statuses and 502 in statuses


def test_a_failed_chunk_resumes_without_resending_earlier_chunks(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    """The third chunk fails more often than the transport retries; the upload
    status says what the registry holds and the upload goes on from there."""
    repo = unique_repo()
    proxy.rules.append(Fault("PATCH", UPLOAD, Respond(500), times=4, skip=2))
    with layout_image(tmp_path, [5 * MIB], "resume") as image:
        layer = max(image.blobs, key=lambda b: b.size)
        push(proxy, repo, image, PushSettings(workers=1, chunk_size=MIB, monolithic_limit=1024))
        assert_pushed(registry_anonymous, repo, image)
    assert len(proxy.requests("POST", UPLOAD)) == 2  # one session per blob: no restart
    status_queries = proxy.requests("GET", UPLOAD)
    assert len(status_queries) == 1
    accepted = [r for r in proxy.requests("PATCH", UPLOAD) if r.status == 202]
    assert sum(r.body_bytes for r in accepted) == layer.size
    assert [r.headers["Content-Range"] for r in accepted][2] == f"{2 * MIB}-{3 * MIB - 1}"


def test_a_lost_session_starts_over(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    """The registry applies a chunk but the answer is lost: the CNCF registry
    then refuses the stale session, and the blob is uploaded afresh."""
    repo = unique_repo()
    proxy.rules.append(Fault("PATCH", UPLOAD, Respond(500, after_forward=True), skip=1))
    with layout_image(tmp_path, [3 * MIB], "lost") as image:
        report = push(
            proxy, repo, image, PushSettings(workers=1, chunk_size=MIB, monolithic_limit=1024)
        ).report
        assert_pushed(registry_anonymous, repo, image)
    assert len(proxy.requests("POST", UPLOAD)) == 3  # the layer twice, the config once
    assert report.uploaded == 2


def test_refused_monolithic_upload_falls_back_to_chunks(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    proxy.rules.append(Fault("PUT", FINAL_PUT, Respond(413)))
    with layout_image(tmp_path, [2000, 3000], "nomono") as image:
        push(proxy, repo, image, PushSettings(workers=1, chunk_size=MIB))
        assert_pushed(registry_anonymous, repo, image)
    monolithic = [r for r in proxy.requests("PUT", FINAL_PUT) if r.body_bytes > 0]
    assert [r.status for r in monolithic] == [413]
    assert len(proxy.requests("PATCH", UPLOAD)) == 3
    assert all(r.body_bytes == 0 for r in proxy.requests("PUT", FINAL_PUT) if r.status == 201)


def test_relative_locations_are_followed(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with (
        RegistryProxy(registry_anonymous.url, rewrite_location=relative_location) as proxy,
        layout_image(tmp_path, [2 * MIB, 100], "relative") as image,
    ):
        push(proxy, repo, image)
        assert_pushed(registry_anonymous, repo, image)
        assert proxy.requests("PATCH", UPLOAD)


def test_uploads_on_another_host_get_no_credentials(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    """The front proxy demands Basic credentials and sends uploads to another
    host (as registries do with blob storage): that host never sees them."""
    basic = "Basic " + base64.b64encode(b"ci-user:s3cret").decode()
    repo = unique_repo()
    with RegistryProxy(registry_anonymous.url) as storage:
        other = "localhost:" + storage.host.rsplit(":", 1)[1]
        with (
            RegistryProxy(
                registry_anonymous.url,
                require_basic=basic,
                rewrite_location=redirect_uploads_to(other),
            ) as front,
            layout_image(tmp_path, [2 * MIB, 100], "elsewhere") as image,
            push_registry(front.host, repo, credentials=("ci-user", "s3cret")) as registry,
        ):
            Pusher(registry, settings=CHUNKED).push(image, ["t"])
            assert_pushed(registry_anonymous, repo, image)
        assert storage.requests("PATCH", UPLOAD) and storage.requests("PUT", FINAL_PUT)
        assert all("Authorization" not in r.headers for r in storage.records)
        authorised = [r for r in front.records if r.status != 401]
        assert authorised and all(r.headers.get("Authorization") == basic for r in authorised)


def test_nothing_is_tagged_when_a_blob_fails(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    proxy.rules.append(Fault("PUT", FINAL_PUT, Respond(400), times=None))
    with (
        layout_image(tmp_path, [2 * MIB, 1000], "failing") as image,
        pytest.raises(RegistryError, match=r"completing the upload of blob sha256:\w+ answered"),
    ):
        push(proxy, repo, image)
    assert proxy.requests("PUT", r"/manifests/") == []
    assert tags_of(registry_anonymous, repo) is None


def test_a_blob_failing_every_session_gives_up(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    proxy.rules.append(Fault("PATCH", UPLOAD, Respond(500, after_forward=True), times=None))
    with (
        layout_image(tmp_path, [2 * MIB], "hopeless") as image,
        pytest.raises(RegistryError, match=r"uploading blob sha256:\w+ failed 3 times"),
    ):
        push(proxy, repo, image, PushSettings(workers=1, chunk_size=MIB, monolithic_limit=1024))
    assert proxy.requests("PUT", r"/manifests/") == []
    assert tags_of(registry_anonymous, repo) is None


def test_blobs_are_mounted_from_another_repository(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    source_repo, target_repo = unique_repo(), unique_repo()
    with layout_image(tmp_path, [2 * MIB, 5000], "mount") as image:
        push(proxy, source_repo, image)
        proxy.clear()
        report = push(proxy, target_repo, image, mount_from=source_repo).report
        assert_pushed(registry_anonymous, target_repo, image)
    mounts = proxy.requests("POST", rf"\?mount=sha256%3A\w+&from={source_repo}$")
    assert len(mounts) == 3 and {r.status for r in mounts} == {201}
    assert proxy.blob_bytes_uploaded() == 0
    assert (report.mounted, report.uploaded) == (3, 0)


def test_a_mount_that_misses_uploads_in_the_session_it_opened(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with layout_image(tmp_path, [2 * MIB, 5000], "nomount") as image:
        report = push(proxy, repo, image, mount_from="test/elsewhere").report
        assert_pushed(registry_anonymous, repo, image)
    posts = proxy.requests("POST", UPLOAD)
    assert len(posts) == 3 and {r.status for r in posts} == {202}
    assert all("mount=" in r.path for r in posts)
    assert (report.mounted, report.uploaded) == (0, 3)


def test_blobs_upload_in_parallel(
    tmp_path: Path, proxy: RegistryProxy, registry_anonymous: RunningRegistry
) -> None:
    repo = unique_repo()
    with layout_image(tmp_path, [3 * MIB] * 4, "parallel") as image:
        push(
            proxy,
            repo,
            image,
            PushSettings(workers=4, chunk_size=256 * 1024, monolithic_limit=1024),
        )
        assert_pushed(registry_anonymous, repo, image)
    sessions: dict[str, list[float]] = {}
    for record in proxy.requests("PATCH", UPLOAD):
        session = record.route.rsplit("/", 1)[-1]
        sessions.setdefault(session, []).append(record.at)
    spans = sorted((min(times), max(times)) for times in sessions.values())
    assert len(spans) == 4
    overlapping = any(b[0] < a[1] for a, b in itertools.pairwise(spans))
    assert overlapping, f"uploads ran one after another: {spans}"


def test_memory_stays_flat_whatever_the_blob_size(
    tmp_path: Path, registry_anonymous: RunningRegistry
) -> None:
    """A 24 MiB layer pushed in 1 MiB chunks by two workers holds about two chunks."""
    repo = unique_repo()
    settings = PushSettings(workers=2, chunk_size=MIB, monolithic_limit=64 * 1024)
    with (
        layout_image(tmp_path, [24 * MIB], "flat") as image,
        push_registry(registry_anonymous.host, repo) as registry,
    ):
        registry.base_url()
        tracemalloc.start()
        try:
            Pusher(registry, settings=settings).push(image, ["t"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert_pushed(registry_anonymous, repo, image)
    assert peak < 3.5 * MIB, f"peak {peak / MIB:.1f} MiB"
