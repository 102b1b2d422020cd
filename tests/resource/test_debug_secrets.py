"""With ``debug: true`` (the most verbose logging), no command writes a
secret anywhere on stderr: not the password, not the Basic header made from
it, not a bearer token, not the signed query of an upload URL."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import Entry, build_image

from tests.harness.fixtures import unique_repo
from tests.harness.proxy import Fault, RegistryProxy, Respond
from tests.harness.registry import RunningRegistry
from tests.harness.resource import run_resource, source_for

LAYERS = [[Entry.dir("etc"), Entry.file("etc/motd", b"hello\n")], [Entry.file("bin", b"x")]]
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# The registry signs upload sessions in the Location's ``_state`` query.
SIGNED_QUERY = re.compile(r"[?&]_state=")
DEAD_REALM = "http://127.0.0.1:9/token"  # discard port: nothing listens there


def _leaks(stderr: str, registry: RunningRegistry) -> list[str]:
    assert registry.credentials is not None
    username, password = registry.credentials
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    found = [what for what in (password, basic) if what in stderr]
    found += JWT.findall(stderr) + SIGNED_QUERY.findall(stderr)
    return found


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_no_command_logs_a_secret_with_debug(
    tmp_path: Path, auth: str, request: pytest.FixtureRequest
) -> None:
    registry: RunningRegistry = request.getfixturevalue(f"registry_{auth}")
    repo = unique_repo("debug")
    build_image(tmp_path / "src" / "image", LAYERS)
    source = source_for(registry, repo, tag="v1", debug=True)

    out = run_resource(
        "out", {"source": source, "params": {"image": "image"}}, str(tmp_path / "src")
    )
    version = out.json()["version"]
    check = run_resource("check", {"source": source})
    assert check.json() == [version]
    get = run_resource("in", {"source": source, "version": version}, str(tmp_path / "dest"))
    assert get.json()["version"] == version
    assert (tmp_path / "dest" / "rootfs" / "etc" / "motd").read_bytes() == b"hello\n"

    for name, run in (("out", out), ("check", check), ("in", get)):
        leaks = _leaks(run.stderr, registry)
        assert leaks == [], f"{name} with debug: true wrote secrets to stderr: {leaks}"


SIGNATURE = "X-Amz-Signature=" + "5ec7e7" * 8
SIGNED_URL_QUERY = re.compile(r"X-Amz-|[?&]_state=")


def _signed(method: str, location: str) -> str:
    """Upload sessions on blob storage: a ``Location`` with a signed query."""
    if method != "POST" or "/blobs/uploads/" not in location:
        return location
    return f"{location}{'&' if '?' in location else '?'}{SIGNATURE}&X-Amz-Credential=AKIA0000"


def test_a_signed_upload_location_is_never_logged(proxy: RegistryProxy, tmp_path: Path) -> None:
    """The registry hands out upload URLs with a signed query; the push
    abandons one (monolithic upload refused, the cancel fails: the debug log
    names the session) and goes on in chunks. Nothing on stderr holds the
    query."""
    proxy.rewrite_location = _signed
    uploads = r"^/v2/[^?]+/blobs/uploads/[^?]+\?"
    proxy.rules += [
        Fault("PUT", uploads + r".*digest=", Respond(415), times=1),
        # the cancel fails without retries: its token service does not answer
        Fault(
            "DELETE",
            uploads,
            Respond(401, {"WWW-Authenticate": f'Bearer realm="{DEAD_REALM}",service="s"'}),
            times=None,
        ),
    ]
    repo = unique_repo("signed")
    build_image(tmp_path / "src" / "image", LAYERS)
    source = {"repository": f"{proxy.host}/{repo}", "tag": "v1", "debug": True}
    out = run_resource(
        "out", {"source": source, "params": {"image": "image"}}, str(tmp_path / "src")
    )
    assert out.returncode == 0, out.stderr
    # the paths that handle the session's URL were taken ...
    assert "could not cancel upload" in out.stderr
    assert any(r.method == "PATCH" and SIGNATURE in r.path for r in proxy.records)
    # ... and its query never shows
    assert SIGNED_URL_QUERY.findall(out.stderr) == [], out.stderr
    assert "5ec7e7" not in out.stderr and "AKIA0000" not in out.stderr
