"""The ``acr`` plugin end to end, without any cloud: azure-identity asks the
App Service managed-identity endpoint the harness serves on 127.0.0.1
(``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``); the registry is one HTTPS host
on 127.0.0.1, trusted through ``ca_certs``, where a proxy sends ``/v2/`` to
the real registry (token auth) and ``/oauth2/`` to the harness's token
server speaking ACR's exchange. ``out``, ``check`` and ``in`` run with only
``azure_acr`` (and ``ca_certs``) in ``source``.

The Go resource takes any registry host (the public cloud unless
``.azurecr.us`` or ``.azurecr.cn``), so no host name trick is needed; the
domain rule is checked on its own below.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from registry_image.plugins.auth import acr
from registry_image.testing.oci_builder import Entry, build_image

from tests.harness.certs import ca_and_server_pair
from tests.harness.identity import ManagedIdentityEndpoint
from tests.harness.ports import LOOPBACK, free_port
from tests.harness.proxy import RegistryProxy
from tests.harness.registry import RunningRegistry, start_registry
from tests.harness.resource import ResourceRun, run_resource
from tests.harness.token_server import ACR_EXCHANGE_PATH, ACR_USER, AcrExchange, TokenServer

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
FILE_CONTENT = b"pushed with an ACR refresh token\n"
PUBLIC = "https://management.azure.com"
GOVERNMENT = "https://management.usgovcloudapi.net"


@attrs.frozen
class Acr:
    """The fake ACR: one HTTPS host in front of a registry and a token server."""

    proxy: RegistryProxy
    tokens: TokenServer
    identity: ManagedIdentityEndpoint
    registry: RunningRegistry
    ca_pem: str

    def source(self, **keys: Any) -> dict[str, Any]:
        return {
            "repository": f"{self.proxy.host}/team/app",
            "tag": "v1",
            "azure_acr": True,
            "ca_certs": [self.ca_pem],
            **keys,
        }

    def run(self, command: str, request: dict[str, Any], *args: str) -> ResourceRun:
        return run_resource(command, request, *args, env=self.identity.env)

    def exchanges(self) -> list[dict[str, list[str]]]:
        return [each.query for each in self.tokens.requests if each.path == ACR_EXCHANGE_PATH]


@pytest.fixture(scope="module")
def fake_acr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acr]:
    workdir = tmp_path_factory.mktemp("acr")
    ca, server = ca_and_server_pair()
    registry_port = free_port()
    with (
        ManagedIdentityEndpoint() as identity,
        RegistryProxy(f"http://{LOOPBACK}:{registry_port}", tls=server) as proxy,
    ):
        acr_exchange = AcrExchange(identity.access_token, TENANT)
        with TokenServer(
            {}, service=proxy.host, token_path="/oauth2/token", acr=acr_exchange
        ) as tokens:
            proxy.route("/oauth2/", tokens.url)
            with start_registry(
                workdir / "registry",
                "token",
                port=registry_port,
                token_server=tokens,
                # As the Go resource's tests have it: the tenant in the realm's query.
                token_realm=f"https://{proxy.host}/oauth2/token?tenant={TENANT}",
            ) as registry:
                yield Acr(proxy, tokens, identity, registry, ca.cert_pem.decode())


@pytest.fixture(scope="module")
def pushed(fake_acr: Acr, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    src = tmp_path_factory.mktemp("acr-src")
    build_image(src / "layout", [[Entry.file("hello.txt", FILE_CONTENT)]])
    result = fake_acr.run(
        "out", {"source": fake_acr.source(), "params": {"image": "layout"}}, str(src)
    )
    document: dict[str, Any] = result.json()
    return document


@pytest.fixture(autouse=True)
def no_cached_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acr, "_LOGINS", {})


def _secrets(fake_acr: Acr) -> list[str]:
    return [fake_acr.identity.access_token, fake_acr.tokens.users.get(ACR_USER, "unset")]


def test_out_check_and_in_with_the_exchanged_token_only(
    fake_acr: Acr, pushed: dict[str, Any], tmp_path: Path
) -> None:
    version = pushed["version"]
    assert version["digest"].startswith("sha256:")
    checked = fake_acr.run("check", {"source": fake_acr.source()})
    assert checked.json() == [version]
    fetched = fake_acr.run("in", {"source": fake_acr.source(), "version": version}, str(tmp_path))
    assert fetched.json()["version"] == version
    assert (tmp_path / "rootfs" / "hello.txt").read_bytes() == FILE_CONTENT
    # the registry saw the all-zero user's tokens, the exchange the discovered tenant
    assert f"{ACR_USER}" in fake_acr.registry.read_log()
    assert {tuple(each["tenant"]) for each in fake_acr.exchanges()} == {(TENANT,)}
    assert {tuple(each["service"]) for each in fake_acr.exchanges()} == {(fake_acr.proxy.host,)}
    # a system-assigned identity, asked for the public cloud's management scope
    assert (PUBLIC, None) in fake_acr.identity.resources()


def test_client_id_environment_and_tenant_are_used(fake_acr: Acr, pushed: dict[str, Any]) -> None:
    source = fake_acr.source(
        azure_client_id=CLIENT_ID, azure_environment="AzureGovernment", azure_tenant_id=TENANT
    )
    fake_acr.proxy.clear()
    checked = fake_acr.run("check", {"source": source})
    assert checked.json() == [pushed["version"]]
    assert fake_acr.identity.resources()[-1] == (GOVERNMENT, CLIENT_ID)
    # the configured tenant spares the challenge: /v2/ is asked once, by the ping
    assert len(fake_acr.proxy.requests("GET", r"^/v2/$")) == 1
    assert len(fake_acr.proxy.requests("POST", f"^{ACR_EXCHANGE_PATH}$")) == 1


def test_a_refused_exchange_is_one_line_with_the_tenant_hint(fake_acr: Acr) -> None:
    result = fake_acr.run("check", {"source": fake_acr.source(azure_tenant_id="other-tenant")})
    assert result.returncode != 0
    assert result.error_line == (
        f"error: ACR ({fake_acr.proxy.host}): exchanging the Azure AD token for a registry "
        "token failed: HTTP 401: UNAUTHORIZED tenant 'other-tenant' is not this registry's; "
        "hint: azure_tenant_id (other-tenant) must be the ACR registry's tenant ID, not the VM "
        "or cluster tenant ID (az acr show --name <registry> --query identity.tenantId)"
    )
    for secret in _secrets(fake_acr):
        assert secret not in result.stderr + result.stdout


def test_the_exchange_trusts_ca_certs_as_the_registry_does(fake_acr: Acr) -> None:
    source = {key: value for key, value in fake_acr.source().items() if key != "ca_certs"}
    before = len(fake_acr.exchanges())
    result = fake_acr.run("check", {"source": source})
    assert result.error_line.startswith(
        f"error: ACR ({fake_acr.proxy.host}): exchanging the Azure AD token for a registry "
        "token failed: "
    )
    assert "certificate" in result.error_line
    assert len(fake_acr.exchanges()) == before, "nothing crossed an untrusted connection"


def test_debug_logs_no_secret(fake_acr: Acr, pushed: dict[str, Any]) -> None:
    result = fake_acr.run("check", {"source": fake_acr.source(debug=True)})
    assert result.json() == [pushed["version"]]
    assert "POST https://" in result.stderr and "/oauth2/exchange -> 200" in result.stderr
    for secret in _secrets(fake_acr):
        assert secret not in result.stderr


def test_no_managed_identity_token_is_one_line(fake_acr: Acr) -> None:
    fake_acr.identity.fail_token_with = 500
    try:
        result = fake_acr.run("check", {"source": fake_acr.source()})
    finally:
        fake_acr.identity.fail_token_with = None
    assert result.returncode != 0
    assert result.error_line.startswith(
        f"error: ACR ({fake_acr.proxy.host}): no Azure AD token from the system-assigned "
        "managed identity: "
    )


def test_without_the_extra_the_error_names_it(tmp_path: Path) -> None:
    fake = tmp_path / "azure"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('azure is not installed here')\n")
    source = {"repository": "example.azurecr.io/app", "azure_acr": True}
    result = run_resource("check", {"source": source}, env={"PYTHONPATH": str(tmp_path)})
    assert result.error_line == (
        "error: source.azure_acr: ACR authentication needs the Azure SDK: "
        "pip install 'registry-image-resource[acr]'"
    )


@pytest.mark.parametrize(
    ("registry", "environment", "cloud"),
    [
        ("myregistry.azurecr.io", None, "AzurePublic"),
        ("myregistry.azurecr.us", None, "AzureGovernment"),
        ("MyRegistry.AzureCR.cn:443", None, "AzureChina"),
        ("registry.example:5000", None, "AzurePublic"),
        ("myregistry.azurecr.io", "AzureChina", "AzureChina"),
        ("myregistry.azurecr.us", "NoSuchCloud", "AzureGovernment"),
    ],
)
def test_the_cloud_comes_from_the_environment_else_the_domain(
    registry: str, environment: str | None, cloud: str
) -> None:
    assert acr.cloud_for(registry, environment) == cloud


@pytest.mark.parametrize(
    ("header", "tenant"),
    [
        (
            'Bearer realm="https://r.azurecr.io/oauth2/exchange?tenant=abc-123",'
            'service="r.azurecr.io"',
            "abc-123",
        ),
        ('Bearer realm="https://r/oauth2/token?foo=bar&tenant=t-2&baz=q",service="r"', "t-2"),
        ('Bearer realm="https://r/oauth2/token",service="r",tenant="t-3"', "t-3"),
        ('Bearer realm="https://r/oauth2/token",service="r"', None),
        ('Basic realm="https://r/?tenant=t-4"', None),
        (None, None),
    ],
)
def test_the_tenant_of_a_challenge(header: str | None, tenant: str | None) -> None:
    assert acr.challenge_tenant(header) == tenant


def test_the_plugin_is_listed_and_can_be_disabled() -> None:
    listed = run_resource("plugins", "")
    assert "acr" in {plugin["name"] for plugin in listed.json()["plugins"]}
    disabled = run_resource("plugins", "", env={"REGISTRY_IMAGE_DISABLED_PLUGINS": "acr"})
    assert "acr" not in {plugin["name"] for plugin in disabled.json()["plugins"]}
    # disabled, its keys are owned by no one: azure_acr is an unknown field
    result = run_resource(
        "check",
        {"source": {"repository": "r.azurecr.io/app", "azure_acr": True}},
        env={"REGISTRY_IMAGE_DISABLED_PLUGINS": "acr"},
    )
    assert "azure_acr" in result.error_line
