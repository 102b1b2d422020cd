"""``in`` on a flaky network, in every format: a proxy in front of the real
registry cuts layers mid-stream, refuses ``Range``, answers 429 (with and
without ``Retry-After``) and 5xx; a hostile registry drips a layer. Every
get either completes with verified bytes or fails with one clear line."""

from __future__ import annotations

import email.utils
import re
import time
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import BuiltImage, Entry, read_blob

from tests.get.registry_helpers import push_image
from tests.harness.hostile import HostileHandler, HostileRegistry, send, stream
from tests.harness.proxy import Alter, Fault, RegistryProxy, Reset, Respond
from tests.harness.registry import RunningRegistry
from tests.harness.resource import ResourceRun, run_resource

FORMATS = ["rootfs", "oci", "oci-layout"]
BIG = bytes(range(256)) * 4096  # 1 MiB that does not compress to nothing


def _layers() -> list[list[Entry]]:
    return [[Entry.file("small", b"s")], [Entry.file("big", BIG)]]


@pytest.fixture
def image(registry_anonymous: RunningRegistry, tmp_path: Path) -> tuple[str, BuiltImage]:
    return push_image(registry_anonymous, tmp_path, _layers(), compression="none")


def _in(proxy_host: str, repo: str, image: BuiltImage, dest: Path, fmt: str) -> ResourceRun:
    request = {
        "source": {"repository": f"{proxy_host}/{repo}"},
        "version": {"tag": "v1", "digest": image.manifest_digest},
        "params": {"format": fmt},
    }
    return run_resource("in", request, str(dest))


def _fetched_intact(run: ResourceRun, dest: Path, image: BuiltImage, fmt: str) -> None:
    assert run.returncode == 0, run.stderr
    assert (dest / "digest").read_text() == image.manifest_digest
    if fmt == "rootfs":
        assert (dest / "rootfs" / "big").read_bytes() == BIG


def _blob_path(image: BuiltImage) -> str:
    return rf"/blobs/{re.escape(image.layer_digests[1])}$"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_layer_cut_mid_stream_is_resumed_with_range(
    registry_anonymous: RunningRegistry,
    image: tuple[str, BuiltImage],
    tmp_path: Path,
    fmt: str,
) -> None:
    repo, built = image
    with RegistryProxy(registry_anonymous.url) as proxy:
        proxy.rules.append(Fault("GET", _blob_path(built), Alter(truncate_body=300_000)))
        run = _in(proxy.host, repo, built, tmp_path / "dest", fmt)
        gets = proxy.requests("GET", _blob_path(built))
    _fetched_intact(run, tmp_path / "dest", built, fmt)
    assert [record.headers.get("Range") for record in gets] == [None, "bytes=300000-"]
    assert [record.status for record in gets] == [200, 206]
    assert "broke off after 300000 bytes" in run.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_resume_answered_from_the_start_is_a_restart(
    registry_anonymous: RunningRegistry,
    image: tuple[str, BuiltImage],
    tmp_path: Path,
    fmt: str,
) -> None:
    repo, built = image
    whole = read_blob(built.layout_dir, built.layer_digests[1])
    with RegistryProxy(registry_anonymous.url) as proxy:
        proxy.rules.append(Fault("GET", _blob_path(built), Alter(truncate_body=100_000)))
        # The second GET (with Range) gets the whole blob and a 200: Range not honoured.
        proxy.rules.append(Fault("GET", _blob_path(built), Respond(200, {}, whole)))
        run = _in(proxy.host, repo, built, tmp_path / "dest", fmt)
        gets = proxy.requests("GET", _blob_path(built))
    _fetched_intact(run, tmp_path / "dest", built, fmt)
    assert [record.status for record in gets] == [200, 200]
    assert gets[1].headers.get("Range") == "bytes=100000-"


@pytest.mark.parametrize("fmt", FORMATS)
def test_resets_and_5xx_are_retried(
    registry_anonymous: RunningRegistry,
    image: tuple[str, BuiltImage],
    tmp_path: Path,
    fmt: str,
) -> None:
    repo, built = image
    with RegistryProxy(registry_anonymous.url) as proxy:
        proxy.rules.append(Fault("GET", _blob_path(built), Reset()))
        proxy.rules.append(Fault("GET", _blob_path(built), Respond(503)))
        run = _in(proxy.host, repo, built, tmp_path / "dest", fmt)
        statuses = [record.status for record in proxy.requests("GET", _blob_path(built))]
    _fetched_intact(run, tmp_path / "dest", built, fmt)
    assert statuses == [None, 503, 200]
    assert "connection reset, retrying" in run.stderr
    assert "HTTP 503, retrying" in run.stderr


def _retry_after_date(seconds: int) -> str:
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_waited_for(
    registry_anonymous: RunningRegistry,
    image: tuple[str, BuiltImage],
    tmp_path: Path,
    form: str,
) -> None:
    """The default backoff waits 1 s before a first retry; the registry asks
    for 4 s here, so a retry sooner than 3 s would be the backoff's."""
    repo, built = image
    answered: list[str] = []

    def rate_limited(method: str, path: str) -> Respond | None:
        if method != "GET" or not re.search(_blob_path(built), path) or answered:
            return None
        # The date is taken when the request arrives; it has whole seconds only.
        answered.append(str(4) if form == "seconds" else _retry_after_date(5))
        return Respond(429, {"Retry-After": answered[0]})

    with RegistryProxy(registry_anonymous.url) as proxy:
        proxy.rules.append(rate_limited)
        run = _in(proxy.host, repo, built, tmp_path / "dest", "rootfs")
        gets = proxy.requests("GET", _blob_path(built))
    _fetched_intact(run, tmp_path / "dest", built, "rootfs")
    assert [record.status for record in gets] == [429, 200]
    assert gets[1].at - gets[0].at >= 3.0


def test_429_without_retry_after_backs_off(
    registry_anonymous: RunningRegistry, image: tuple[str, BuiltImage], tmp_path: Path
) -> None:
    repo, built = image
    with RegistryProxy(registry_anonymous.url) as proxy:
        proxy.rules.append(Fault("GET", _blob_path(built), Respond(429), times=2))
        run = _in(proxy.host, repo, built, tmp_path / "dest", "oci")
        gets = proxy.requests("GET", _blob_path(built))
    _fetched_intact(run, tmp_path / "dest", built, "oci")
    assert [record.status for record in gets] == [429, 429, 200]
    # Exponential: 1 s, then 2 s.
    assert gets[1].at - gets[0].at >= 0.9
    assert gets[2].at - gets[1].at >= 1.9


# -- a layer that drips -----------------------------------------------------------


def _serve(registry: HostileRegistry, built: BuiltImage, repo: str, drip: str) -> None:
    """Serve ``built`` from its layout; the blob ``drip`` one byte at a time."""

    def manifest(handler: HostileHandler, match: re.Match[str]) -> None:
        send(handler, 200, built.manifest_bytes, {"Content-Type": built.media_type})

    def blob(handler: HostileHandler, match: re.Match[str]) -> None:
        data = read_blob(built.layout_dir, match.group(1))
        if match.group(1) == drip:
            chunks = (data[i : i + 1] for i in range(len(data)))
            stream(handler, 200, chunks, {"Content-Length": str(len(data))}, interval=0.2)
        else:
            send(handler, 200, data)

    registry.route("GET", "/v2/", lambda h, m: send(h, 200, b"{}"))
    registry.route("GET", f"/v2/{repo}/manifests/{built.manifest_digest}", manifest)
    registry.route("GET", f"/v2/{repo}/blobs/(sha256:[0-9a-f]+)", blob)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_layer_that_drips_is_abandoned_then_fails_clearly(
    registry_anonymous: RunningRegistry,
    image: tuple[str, BuiltImage],
    tmp_path: Path,
    fmt: str,
) -> None:
    repo, built = image
    dest = tmp_path / "dest"
    with HostileRegistry() as registry:
        _serve(registry, built, repo, drip=built.layer_digests[1])
        request = {
            "source": {"repository": f"{registry.host}/{repo}"},
            "version": {"tag": "v1", "digest": built.manifest_digest},
            "params": {"format": fmt},
        }
        started = time.monotonic()
        run = run_resource(
            "in", request, str(dest), env={"REGISTRY_IMAGE_STALL_TIMEOUT": "1"}, timeout=120
        )
        took = time.monotonic() - started
    assert run.returncode == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: blob {built.layer_digests[1]}: slower than 1 KiB/s for 1s"], (
        run.stderr
    )
    assert run.stderr.count("resuming") == 5  # every attempt was made, each abandoned
    assert took < 60
    assert sorted(path.name for path in dest.iterdir()) == []
