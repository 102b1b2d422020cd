"""The ``ecr`` plugin against moto's ECR and STS on 127.0.0.1: the token
becomes ``AWS`` credentials, the repository is rewritten, roles are assumed
in order, and its errors are one clear line. The registry round trips are
in ``test_ecr_namespace.py``."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from registry_image.api import AuthError, Credentials
from registry_image.core.converter import parse_request
from registry_image.core.models import CheckRequest
from registry_image.core.plugins import Plugins, new_manager
from registry_image.plugins.auth import ecr
from registry_image.testing.conformance import credentials_conformance_tests

from tests.harness.moto import ACCOUNT, AWS_ENV, ecr_password, start_moto
from tests.harness.ports import LOOPBACK
from tests.harness.resource import run_resource

REGION = "us-east-1"
STATIC = {"aws_access_key_id": "AKIDSTATICKEY", "aws_secret_access_key": "static-s3cret"}
ROLE_ONE = "arn:aws:iam::111111111111:role/first"
ROLE_TWO = "arn:aws:iam::222222222222:role/second"


@attrs.frozen
class AwsCall:
    """One request that reached moto: its action and the key that signed it."""

    action: str
    role: str | None
    access_key: str


class Recorder:
    """A reverse proxy in front of moto that records every AWS call."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.calls: list[AwsCall] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recorder.record(dict(self.headers), body)
                upstream = http.client.HTTPConnection(parts.hostname or LOOPBACK, parts.port)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                upstream.request("POST", self.path, body, headers)
                answer = upstream.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                upstream.close()

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, headers: dict[str, str], body: bytes) -> None:
        target = headers.get("X-Amz-Target", "")
        form = parse_qs(body.decode(errors="replace"))
        action = target.rsplit(".", 1)[-1] if target else form.get("Action", ["?"])[0]
        key = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
        role = form.get("RoleArn", [None])[0]
        self.calls.append(AwsCall(action, role, key.group(1) if key else ""))


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start_moto(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(autouse=True)
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ambient AWS settings pointing at moto; no login cached from another test."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setattr(ecr, "_LOGINS", {})


@pytest.fixture
def recorder(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recording = Recorder(moto_url)
    recording.thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", recording.url)
    yield recording
    recording.server.shutdown()
    recording.server.server_close()


test_conformance = credentials_conformance_tests(
    ecr, configured={"aws_region": REGION, **STATIC}, expected=Credentials("AWS", ecr_password())
)


def _resolved(**keys: Any) -> tuple[str, Credentials | None]:
    plugins = Plugins(*new_manager([ecr], entry_points=False))
    document = json.dumps({"source": {"repository": "team/app", "aws_region": REGION, **keys}})
    request = plugins.resolve_request(
        parse_request(document, CheckRequest, **plugins.request_keys())
    )
    host = request.source.repository.split("/", 1)[0]
    return request.source.repository, plugins.credentials(host, request.source)


def test_static_keys_give_the_token_and_the_proxy_endpoint(recorder: Recorder) -> None:
    repository, credentials = _resolved(**STATIC)
    assert repository == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app"
    assert credentials == Credentials("AWS", ecr_password())
    assert recorder.calls == [AwsCall("GetAuthorizationToken", None, STATIC["aws_access_key_id"])]


def test_without_keys_the_default_chain_is_used(recorder: Recorder) -> None:
    _, credentials = _resolved()
    assert credentials == Credentials("AWS", ecr_password())
    assert [call.access_key for call in recorder.calls] == [AWS_ENV["AWS_ACCESS_KEY_ID"]]


def test_aws_account_id_names_the_registry() -> None:
    repository, credentials = _resolved(aws_account_id="210987654321", **STATIC)
    assert repository == f"210987654321.dkr.ecr.{REGION}.amazonaws.com/team/app"
    assert credentials == Credentials("AWS", ecr_password())


def test_roles_are_assumed_in_order_each_with_the_one_before(recorder: Recorder) -> None:
    repository, credentials = _resolved(aws_role_arns=[ROLE_ONE, ROLE_TWO], **STATIC)
    actions = [(call.action, call.role) for call in recorder.calls]
    assert actions == [
        ("AssumeRole", ROLE_ONE),
        ("AssumeRole", ROLE_TWO),
        ("GetAuthorizationToken", None),
    ]
    keys = [call.access_key for call in recorder.calls]
    assert keys[0] == STATIC["aws_access_key_id"]
    assert len(set(keys)) == 3, "each call is signed with the credentials of the one before"
    # moto gives the last role's account: its token and proxy endpoint
    assert repository == f"222222222222.dkr.ecr.{REGION}.amazonaws.com/team/app"
    assert credentials == Credentials("AWS", ecr_password("222222222222"))


def test_a_single_role(recorder: Recorder) -> None:
    _resolved(aws_role_arn=ROLE_ONE)
    assert [(call.action, call.role) for call in recorder.calls] == [
        ("AssumeRole", ROLE_ONE),
        ("GetAuthorizationToken", None),
    ]


def test_the_token_is_fetched_once_per_process(recorder: Recorder) -> None:
    _resolved(**STATIC)
    _resolved(**STATIC)
    assert len(recorder.calls) == 1


def test_both_role_keys_are_one_clear_error() -> None:
    source = {
        "repository": "app",
        "aws_region": REGION,
        "aws_role_arn": ROLE_ONE,
        "aws_role_arns": [ROLE_TWO],
    }
    result = run_resource("check", {"source": source})
    assert result.returncode != 0
    assert result.error_line == (
        "error: source.aws_role_arn and source.aws_role_arns: set one of them, not both"
    )


def test_a_refusal_is_one_line_without_secrets(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"{moto_url}/no-such-service-path")
    with pytest.raises(
        AuthError, match=r"^ECR \(us-east-1\): GetAuthorizationToken failed"
    ) as raised:
        _resolved(**STATIC)
    assert STATIC["aws_secret_access_key"] not in str(raised.value)


def test_without_the_extra_the_error_names_it(tmp_path: Path) -> None:
    fake = tmp_path / "botocore"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('botocore is not installed here')\n")
    source = {"repository": "app", "aws_region": REGION}
    result = run_resource("check", {"source": source}, env={"PYTHONPATH": str(tmp_path)})
    assert result.error_line == (
        "error: source.aws_region: ECR authentication needs the AWS SDK: "
        "pip install 'registry-image-resource[ecr]'"
    )


def test_aws_ecr_registry_id_warns(caplog: pytest.LogCaptureFixture) -> None:
    _resolved(aws_ecr_registry_id="123", **STATIC)
    assert "aws_ecr_registry_id is no longer needed" in caplog.text


def test_the_plugin_is_listed_and_can_be_disabled() -> None:
    listed = run_resource("plugins", "")
    names = {plugin["name"] for plugin in listed.json()["plugins"]}
    assert {"ecr", "docker_config"} <= names
    disabled = run_resource(
        "plugins", "", env={"REGISTRY_IMAGE_DISABLED_PLUGINS": "ecr,docker_config"}
    )
    names = {plugin["name"] for plugin in disabled.json()["plugins"]}
    assert not {"ecr", "docker_config"} & names
