"""A hostile or broken registry costs bounded memory and time, and never gets
a credential in clear text: the real CLI, as a subprocess under a memory
limit, against ``tests.harness.hostile`` registries on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import re
from itertools import chain
from pathlib import Path

import pytest
from registry_image.testing.oci_builder import sha256_digest

from tests.harness.hostile import (
    HostileHandler,
    HostileRegistry,
    endless,
    gzip_bomb,
    send,
    send_json,
    stream,
)
from tests.harness.resource import ResourceRun, run_resource

#: Enough for the interpreter and its threads; far less than any of the
#: bodies below would take if read whole.
MEMORY_LIMIT = 1024 * 1024 * 1024
REPO = "hostile/app"
USER, PASSWORD = "ci-user", "s3cret-hostile-pass"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def run_limited(command: str, request: dict[str, object], *args: str) -> ResourceRun:
    return run_resource(
        command, request, *args, prefix=("prlimit", f"--as={MEMORY_LIMIT}", "--"), timeout=120
    )


def one_error_line(run: ResourceRun) -> str:
    """The run failed with exit 1 and exactly one line, no traceback."""
    assert run.returncode == 1, (run.returncode, run.stderr[-2000:])
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    return lines[0]


def ok_ping(handler: HostileHandler, match: re.Match[str]) -> None:
    send_json(handler, 200, {})


def not_found(handler: HostileHandler, match: re.Match[str]) -> None:
    send_json(handler, 404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]})


def check_request(registry: HostileRegistry, **source: object) -> dict[str, object]:
    return {"source": {"repository": f"{registry.host}/{REPO}", **source}}


def test_a_ping_body_that_never_ends_is_read_only_so_far() -> None:
    with HostileRegistry() as registry:
        registry.route("GET", "/v2/", lambda h, m: stream(h, 200, endless()))
        registry.route("HEAD", f"/v2/{REPO}/manifests/.*", not_found)
        registry.route("GET", f"/v2/{REPO}/manifests/.*", not_found)
        run = run_limited("check", check_request(registry, tag="latest"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.json() == []


def test_an_inflating_ping_body_is_read_only_so_far() -> None:
    bomb = gzip_bomb(2 * 1024 * 1024 * 1024)  # 2 MB on the wire, 2 GiB inflated
    with HostileRegistry() as registry:
        registry.route("GET", "/v2/", lambda h, m: send(h, 200, bomb, {"Content-Encoding": "gzip"}))
        registry.route("HEAD", f"/v2/{REPO}/manifests/.*", not_found)
        registry.route("GET", f"/v2/{REPO}/manifests/.*", not_found)
        run = run_limited("check", check_request(registry, tag="latest"))
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_manifest_that_never_ends_is_refused_at_its_bound() -> None:
    with HostileRegistry() as registry:
        registry.route("GET", "/v2/", ok_ping)
        registry.route("HEAD", f"/v2/{REPO}/manifests/latest", lambda h, m: send(h, 200))
        registry.route(
            "GET",
            f"/v2/{REPO}/manifests/latest",
            lambda h, m: stream(h, 200, endless(), {"Content-Type": OCI_MANIFEST}),
        )
        run = run_limited("check", check_request(registry, tag="latest"))
    assert one_error_line(run) == (f"error: {registry.host}: manifest latest is larger than 4 MiB")


def _tags_page(handler: HostileHandler, match: re.Match[str]) -> None:
    body = json.dumps({"name": REPO, "tags": [f"1.0.{n}" for n in range(20_000)]}).encode()
    send(handler, 200, body, {"Link": f'</v2/{REPO}/tags/list?n=1000>; rel="next"'})


def test_tag_pages_that_link_to_themselves_end_with_an_error() -> None:
    with HostileRegistry() as registry:
        registry.route("GET", "/v2/", ok_ping)
        registry.route("GET", rf"/v2/{REPO}/tags/list\?n=1000", _tags_page)
        run = run_limited("check", check_request(registry))
    assert one_error_line(run) == (
        f"error: {registry.host}: tag listing does not end (its pages loop)"
    )
    assert len(registry.requests("/tags/list")) == 1  # the loop is seen before a second GET


def test_a_tag_page_that_never_ends_is_refused_at_its_bound() -> None:
    with HostileRegistry() as registry:
        registry.route("GET", "/v2/", ok_ping)
        registry.route(
            "GET",
            rf"/v2/{REPO}/tags/list.*",
            lambda h, m: stream(h, 200, chain([b'{"tags": ['], endless(b'"1.0.0",' * 8192))),
        )
        run = run_limited("check", check_request(registry))
    assert one_error_line(run) == (f"error: {registry.host}: tags/list page is larger than 8 MiB")


def test_a_token_answer_that_never_ends_is_refused_at_its_bound() -> None:
    with HostileRegistry() as registry:
        realm = f"http://{registry.host}/token"
        registry.route(
            "GET",
            "/v2/",
            lambda h, m: send(h, 401, b"", {"WWW-Authenticate": f'Bearer realm="{realm}"'}),
        )
        registry.route("GET", r"/token\?.*", lambda h, m: stream(h, 200, endless()))
        run = run_limited("check", check_request(registry, tag="latest"))
    assert one_error_line(run) == (
        f"error: {registry.host}: token from {registry.host} is larger than 1 MiB"
    )


def _image_routes(registry: HostileRegistry, config_size: int) -> str:
    """A manifest whose config descriptor says ``config_size`` bytes; the
    config blob route then sends far more. Returns the manifest digest."""
    config = b"{}"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256_digest(config),
                "size": config_size,
            },
            "layers": [],
        }
    ).encode()
    digest = sha256_digest(manifest)
    registry.route("GET", "/v2/", ok_ping)
    registry.route(
        "GET",
        f"/v2/{REPO}/manifests/{digest}",
        lambda h, m: send(h, 200, manifest, {"Content-Type": OCI_MANIFEST}),
    )
    registry.route(
        "GET", f"/v2/{REPO}/blobs/.*", lambda h, m: stream(h, 200, chain([config], endless()))
    )
    return digest


def test_a_blob_longer_than_its_descriptor_is_refused_as_it_arrives(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with HostileRegistry() as registry:
        digest = _image_routes(registry, config_size=2)
        request = {**check_request(registry), "version": {"tag": "t", "digest": digest}}
        run = run_limited("in", request, str(dest))
    config_digest = sha256_digest(b"{}")
    assert one_error_line(run) == (
        f"error: {registry.host}: blob {config_digest} is longer than its 2 bytes"
    )
    assert sorted(path.name for path in dest.iterdir()) == []


def test_a_size_no_disk_could_hold_is_refused_when_parsed(tmp_path: Path) -> None:
    with HostileRegistry() as registry:
        digest = _image_routes(registry, config_size=10**30)
        request = {**check_request(registry), "version": {"tag": "t", "digest": digest}}
        run = run_limited("in", request, str(tmp_path / "dest"))
    assert one_error_line(run) == (
        f"error: manifest {digest}: config.size: expected a non-negative integer"
    )


# -- credentials go only where they were given ------------------------------------

BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def _basic_ping(handler: HostileHandler, match: re.Match[str]) -> None:
    if handler.headers.get("Authorization") == BASIC:
        send_json(handler, 200, {})
    else:
        send(handler, 401, b"", {"WWW-Authenticate": 'Basic realm="hostile"'})


def _cleartext(registry: HostileRegistry) -> list[str]:
    """Authorization values that reached the registry over plain http."""
    return [
        seen.headers.get("Authorization", "")
        for seen in registry.seen
        if seen.scheme == "http" and seen.headers.get("Authorization")
    ]


def test_a_link_to_plain_http_on_the_same_port_gets_no_credentials() -> None:
    with HostileRegistry(tls=True) as registry:
        downgrade = f'<http://{registry.host}/v2/{REPO}/tags/list?last=1.0.0>; rel="next"'
        registry.route("GET", "/v2/", _basic_ping)
        registry.route(
            "GET",
            rf"/v2/{REPO}/tags/list\?n=1000",
            lambda h, m: send_json(h, 200, {"tags": ["1.0.0"]}, {"Link": downgrade}),
        )
        run = run_limited(
            "check",
            check_request(registry, username=USER, password=PASSWORD, ca_certs=[registry.ca_pem]),
        )
    assert one_error_line(run) == (
        f"error: {registry.host}: refusing to follow a Link to another host, port or scheme"
    )
    assert _cleartext(registry) == []
    assert any(
        seen.scheme == "https" and seen.headers.get("Authorization") == BASIC
        for seen in registry.seen
    )
    assert PASSWORD not in run.stderr


def test_a_token_realm_on_plain_http_gets_no_credentials_from_an_https_registry() -> None:
    with HostileRegistry(tls=True) as registry:
        realm = f"http://{registry.host}/token"
        registry.route(
            "GET",
            "/v2/",
            lambda h, m: send(h, 401, b"", {"WWW-Authenticate": f'Bearer realm="{realm}"'}),
        )
        run = run_limited(
            "check",
            check_request(
                registry,
                tag="latest",
                username=USER,
                password=PASSWORD,
                ca_certs=[registry.ca_pem],
            ),
        )
    assert one_error_line(run) == (
        f"error: {registry.host}: refusing to send credentials to token service "
        f"{registry.host} over plain http"
    )
    assert registry.requests("/token") == []
    assert _cleartext(registry) == []


def test_an_upload_location_on_plain_http_gets_no_credentials(tmp_path: Path) -> None:
    from registry_image.testing.oci_builder import Entry, build_image

    build_image(tmp_path / "image", [[Entry.file("a", b"a")]])
    with HostileRegistry(tls=True) as registry:
        registry.route("GET", "/v2/", _basic_ping)
        registry.route("HEAD", f"/v2/{REPO}/blobs/.*", not_found)
        registry.route(
            "POST",
            rf"/v2/{REPO}/blobs/uploads/.*",
            lambda h, m: send(
                h, 202, b"", {"Location": f"http://{registry.host}/v2/{REPO}/blobs/uploads/u1"}
            ),
        )
        request = {
            **check_request(
                registry, tag="v1", username=USER, password=PASSWORD, ca_certs=[registry.ca_pem]
            ),
            "params": {"image": "image"},
        }
        run = run_limited("out", request, str(tmp_path))
    assert run.returncode == 1, run.stderr[-2000:]
    assert _cleartext(registry) == []
    assert PASSWORD not in run.stderr


@pytest.mark.parametrize("port", ["99999", "0"])
def test_a_port_out_of_range_is_one_clear_line(port: str) -> None:
    run = run_resource("check", {"source": {"repository": f"localhost:{port}/x", "tag": "t"}})
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_redirects_that_never_end_are_one_clear_line() -> None:
    with HostileRegistry() as registry:
        registry.route(
            "GET", "/v2/(.*)", lambda h, m: send(h, 302, b"", {"Location": f"/v2/loop{m[1]}"})
        )
        run = run_limited("check", check_request(registry, tag="latest"))
    assert one_error_line(run) == f"error: {registry.host}: too many redirects"
    assert len(registry.requests("/v2/")) <= 31  # requests' own bound: 30 redirects


def test_a_plain_http_host_that_is_no_registry_says_so_not_tls() -> None:
    """https is tried first; when the host speaks no TLS, the answer over
    plain http is what the error reports."""
    with HostileRegistry() as registry:
        registry.route("GET", "/v2/", lambda h, m: send(h, 404, b"<html>not here</html>"))
        run = run_limited("check", check_request(registry, tag="latest"))
    assert one_error_line(run) == (
        f"error: {registry.host} does not look like a registry: GET /v2/ answered HTTP 404"
    )
