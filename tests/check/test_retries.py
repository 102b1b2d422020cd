"""``check`` retries what is worth retrying (the Go resource's check never
does): 429 with and without ``Retry-After``, 5xx and connection resets, with
bounded backoff and a cap on the total time, every retry logged."""

from __future__ import annotations

import logging
import re

import pytest
from registry_image.core.errors import RegistryError
from registry_image.core.models import CheckRequest, Source
from registry_image.core.plugins import load_plugins
from registry_image.core.registry import connect
from registry_image.core.transport import RetryPolicy
from registry_image.resource.check import check

from tests.check.images import Writer
from tests.harness.proxy import Fault, RegistryProxy, Reset, Respond
from tests.harness.resource import run_resource


def test_semver_check_rides_out_rate_limits_errors_and_resets(
    proxy: RegistryProxy, writer: Writer
) -> None:
    pushed = {}
    for tag in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        pushed[tag] = writer.image(tag)
        writer.tag(tag, pushed[tag])
    base = f"/v2/{writer.repo}"
    prefix = f"^{re.escape(base)}"
    proxy.rules += [
        # 2 s: not the first backoff step (1 s), so only the header explains it
        Fault("GET", rf"{prefix}/tags/list(\?|$)", Respond(429, {"Retry-After": "2"})),
        Fault("HEAD", rf"{prefix}/manifests/1\.0\.0$", Respond(429)),
        Fault("HEAD", rf"{prefix}/manifests/1\.1\.0$", Respond(503)),
        Fault("HEAD", rf"{prefix}/manifests/1\.2\.0$", Reset()),
    ]
    result = run_resource("check", {"source": {"repository": f"{proxy.host}/{writer.repo}"}})

    assert result.json() == [{"tag": t, "digest": pushed[t].digest} for t in pushed]
    where = f"{proxy.host}{base}"
    for line in (
        # 429s draw on the longer rate-limit budget.
        f"GET {where}/tags/list: HTTP 429, retrying in 2.0s (attempt 2 of 130)",
        f"HEAD {where}/manifests/1.0.0: HTTP 429, retrying in 1.0s (attempt 2 of 130)",
        f"HEAD {where}/manifests/1.1.0: HTTP 503, retrying in 1.0s (attempt 2 of 6)",
        f"HEAD {where}/manifests/1.2.0: connection reset, retrying in 1.0s (attempt 2 of 6)",
    ):
        assert line in result.stderr.splitlines()


# total is generous: these tests count attempts, which must not depend on load.
QUICK = RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, total=120.0)


@pytest.fixture
def retry_policy(monkeypatch: pytest.MonkeyPatch) -> RetryPolicy:
    """Make ``check`` (in this process) retry quickly."""
    monkeypatch.setattr(connect, "DEFAULT_RETRY", QUICK)
    return QUICK


def test_retries_are_bounded(
    proxy: RegistryProxy,
    writer: Writer,
    retry_policy: RetryPolicy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    image = writer.image("x")
    writer.tag("1.0.0", image)
    manifest = f"/v2/{writer.repo}/manifests/1.0.0"
    proxy.rules.append(lambda method, path: Respond(502) if path == manifest else None)
    caplog.set_level(logging.WARNING, logger="registry_image")
    source = Source(repository=f"{proxy.host}/{writer.repo}")

    with pytest.raises(RegistryError) as failed:
        check(CheckRequest(source=source), load_plugins())

    assert str(failed.value) == f"{proxy.host}: GET manifest 1.0.0 answered HTTP 502"
    asked = [(s.method, s.status) for s in proxy.records if s.path == manifest]
    assert asked == [("HEAD", 502)] * 3 + [("GET", 502)] * 3  # HEAD, then the GET fallback
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 4  # two per request: attempts 2 and 3


def test_retry_after_beyond_the_time_cap_is_not_waited_for(
    proxy: RegistryProxy, writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = RetryPolicy(
        attempts=6, initial_delay=0.01, max_delay=60.0, total=10.0, rate_limit_total=10.0
    )
    monkeypatch.setattr(connect, "DEFAULT_RETRY", policy)
    tags = f"/v2/{writer.repo}/tags/list"
    proxy.rules.append(
        lambda method, path: (
            Respond(429, {"Retry-After": "3600"}) if path.startswith(tags) else None
        )
    )
    source = Source(repository=f"{proxy.host}/{writer.repo}")

    with pytest.raises(RegistryError) as failed:
        check(CheckRequest(source=source), load_plugins())

    assert str(failed.value) == f"{proxy.host}: GET tags/list answered HTTP 429"
    assert [s.status for s in proxy.records if s.path.startswith(tags)] == [429]
