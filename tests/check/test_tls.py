"""TLS and plain http: ``ca_certs``, ``insecure``, loopback hosts.

A registry serving HTTPS with a certificate from a CA the fixture makes
(basic auth, so credentials travel over it) is checked with that CA in
``ca_certs``, and refused without it or with another CA.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from registry_image.core.errors import RegistryError
from registry_image.core.models import CheckRequest, Source
from registry_image.core.plugins import load_plugins
from registry_image.core.transport import TransportSettings
from registry_image.plugins.transports.http import HTTPTransport, system_ca_bundle
from registry_image.resource.check import check

from tests.check.images import Pushed, Writer
from tests.harness.certs import ca_and_server_pair
from tests.harness.fixtures import unique_repo
from tests.harness.registry import RunningRegistry, start_registry
from tests.harness.resource import run_resource, source_for


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with start_registry(tmp_path_factory.mktemp("tls"), "basic", tls=True) as registry:
        yield registry


@pytest.fixture(scope="module")
def tls_repo(tls_registry: RunningRegistry) -> tuple[str, dict[str, Pushed]]:
    repo = unique_repo()
    writer = Writer(tls_registry, repo)
    pushed = {tag: writer.image(tag) for tag in ("1.0.0", "1.1.0")}
    for tag, image in pushed.items():
        writer.tag(tag, image)
    return repo, pushed


def test_ca_certs_make_the_registry_trusted(
    tls_registry: RunningRegistry, tls_repo: tuple[str, dict[str, Pushed]]
) -> None:
    repo, pushed = tls_repo
    source = source_for(tls_registry, repo)
    assert source["ca_certs"] == [tls_registry.ca_pem]
    assert run_resource("check", {"source": source}).json() == [
        {"tag": tag, "digest": image.digest} for tag, image in pushed.items()
    ]


@pytest.mark.parametrize("ca_certs", [None, "other-ca"])
def test_untrusted_certificate_is_refused(
    tls_registry: RunningRegistry,
    tls_repo: tuple[str, dict[str, Pushed]],
    ca_certs: str | None,
) -> None:
    repo, _ = tls_repo
    source: dict[str, Any] = source_for(tls_registry, repo, tag="1.0.0")
    del source["ca_certs"]
    if ca_certs == "other-ca":
        source["ca_certs"] = [ca_and_server_pair()[0].cert_pem.decode()]
    result = run_resource("check", {"source": source})
    assert result.returncode == 1 and result.stdout == ""
    # Our words; the reason in brackets is OpenSSL's and not pinned.
    prefix = f"error: cannot reach {tls_registry.host}: TLS certificate verification failed ("
    assert result.error_line.startswith(prefix), result.error_line
    assert result.error_line.endswith(")") and len(result.error_line) > len(prefix) + 1
    assert tls_registry.password is not None and tls_registry.password not in result.stderr


def test_ca_certs_that_are_not_pem_are_a_config_error(
    tls_registry: RunningRegistry, tls_repo: tuple[str, dict[str, Pushed]]
) -> None:
    repo, _ = tls_repo
    source = source_for(tls_registry, repo, tag="1.0.0")
    source["ca_certs"] = [tls_registry.ca_pem, "not a certificate"]
    result = run_resource("check", {"source": source})
    assert result.error_line == "error: source.ca_certs[1]: no PEM certificate in it"


def test_ca_certs_are_added_to_the_system_ones(tls_registry: RunningRegistry) -> None:
    assert tls_registry.ca_pem is not None
    transport = HTTPTransport(TransportSettings(ca_certs=(tls_registry.ca_pem,)))
    try:
        assert isinstance(transport.session.verify, str)
        bundle = Path(transport.session.verify).read_text()
    finally:
        transport.close()
    system = Path(system_ca_bundle()).read_text(errors="replace")
    assert bundle.startswith(system)
    assert tls_registry.ca_pem.strip() in bundle


@pytest.fixture
def named_registry(
    monkeypatch: pytest.MonkeyPatch, registry_anonymous: RunningRegistry
) -> Iterator[str]:
    """``registry.test:PORT``: the plain-http anonymous registry under a
    name that is not loopback (resolved to 127.0.0.1 in this process)."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "registry.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    for name in ("NO_PROXY", "no_proxy"):  # it is ours, not a host a proxy could reach
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name), "registry.test"])))
    yield f"registry.test:{registry_anonymous.host.rsplit(':', 1)[1]}"


def test_plain_http_needs_insecure_for_other_hosts(named_registry: str, writer: Writer) -> None:
    image = writer.image("plain")
    writer.tag("2.0.0", image)
    source = Source(repository=f"{named_registry}/{writer.repo}")
    with pytest.raises(RegistryError) as refused:
        check(CheckRequest(source=source), load_plugins())
    assert str(refused.value).startswith(f"cannot reach {named_registry}: TLS error")

    insecure = Source(repository=f"{named_registry}/{writer.repo}", insecure=True)
    versions = check(CheckRequest(source=insecure), load_plugins())
    assert [(v.tag, v.digest) for v in versions] == [("2.0.0", image.digest)]


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_loopback_hosts_may_use_plain_http(
    registry_anonymous: RunningRegistry, writer: Writer, hostname: str
) -> None:
    image = writer.image("loopback")
    writer.tag("3.0.0", image)
    port = registry_anonymous.host.rsplit(":", 1)[1]
    source = {"repository": f"{hostname}:{port}/{writer.repo}"}
    assert run_resource("check", {"source": source}).json() == [
        {"tag": "3.0.0", "digest": image.digest}
    ]
