"""TLS and plain http: ``ca_certs``, the system trust, ``insecure``,
loopback hosts.

A registry serving HTTPS with a certificate from a CA the fixture makes
(basic auth, so credentials travel over it) is checked with that CA in
``ca_certs``, or in the trust the environment names (a hashed
``SSL_CERT_DIR``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``), and refused
without it or with another CA.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from registry_image.core.errors import RegistryError
from registry_image.core.models import CheckRequest, Source
from registry_image.core.plugins import load_plugins
from registry_image.core.transport import TransportSettings
from registry_image.plugins.transports import trust
from registry_image.plugins.transports.http import HTTPTransport
from registry_image.resource.check import check

from tests.check.images import Pushed, Writer
from tests.harness.certs import ca_and_server_pair, token_signing_pair
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


def _hashed_dir(path: Path, *pems: str) -> Path:
    """A CA directory as OpenSSL reads one: the PEMs under subject-hash
    names (``openssl rehash``, as ``update-ca-certificates`` leaves
    ``/etc/ssl/certs``)."""
    path.mkdir()
    for number, pem in enumerate(pems):
        (path / f"ca-{number}.pem").write_text(pem)
    subprocess.run(["openssl", "rehash", str(path)], check=True, capture_output=True)
    assert trust.is_hashed_directory(str(path))
    return path


def _check_without_ca_certs(
    registry: RunningRegistry, repo: str, env: dict[str, str], **fields: Any
) -> Any:
    source: dict[str, Any] = source_for(registry, repo, tag="1.0.0")
    del source["ca_certs"]
    source.update(fields)
    # REQUESTS_CA_BUNDLE, when the environment names one, would replace the rest.
    return run_resource("check", {"source": source}, env={"REQUESTS_CA_BUNDLE": "", **env})


def test_a_hashed_ssl_cert_dir_is_trusted(
    tmp_path: Path, tls_registry: RunningRegistry, tls_repo: tuple[str, dict[str, Pushed]]
) -> None:
    repo, pushed = tls_repo
    assert tls_registry.ca_pem is not None
    ca_dir = _hashed_dir(tmp_path / "certs", tls_registry.ca_pem)
    result = _check_without_ca_certs(tls_registry, repo, {"SSL_CERT_DIR": str(ca_dir)})
    assert result.json() == [{"tag": "1.0.0", "digest": pushed["1.0.0"].digest}]


def test_ca_certs_are_added_to_the_system_ones(
    tmp_path: Path, tls_registry: RunningRegistry, tls_repo: tuple[str, dict[str, Pushed]]
) -> None:
    # The registry's CA is only in the system trust; ca_certs name another.
    repo, pushed = tls_repo
    assert tls_registry.ca_pem is not None
    ca_dir = _hashed_dir(tmp_path / "certs", tls_registry.ca_pem)
    other = token_signing_pair("another-ca").cert_pem.decode()
    result = _check_without_ca_certs(
        tls_registry, repo, {"SSL_CERT_DIR": str(ca_dir)}, ca_certs=[other]
    )
    assert result.json() == [{"tag": "1.0.0", "digest": pushed["1.0.0"].digest}]


def test_ssl_cert_file_is_trusted(
    tls_registry: RunningRegistry, tls_repo: tuple[str, dict[str, Pushed]]
) -> None:
    repo, pushed = tls_repo
    result = _check_without_ca_certs(
        tls_registry, repo, {"SSL_CERT_FILE": str(tls_registry.ca_file)}
    )
    assert result.json() == [{"tag": "1.0.0", "digest": pushed["1.0.0"].digest}]


def test_requests_ca_bundle_replaces_the_system_trust(
    tmp_path: Path, tls_registry: RunningRegistry, tls_repo: tuple[str, dict[str, Pushed]]
) -> None:
    repo, pushed = tls_repo
    assert tls_registry.ca_pem is not None
    ca_dir = _hashed_dir(tmp_path / "certs", tls_registry.ca_pem)
    bundle = _check_without_ca_certs(
        tls_registry, repo, {"REQUESTS_CA_BUNDLE": str(tls_registry.ca_file)}
    )
    assert bundle.json() == [{"tag": "1.0.0", "digest": pushed["1.0.0"].digest}]
    # Another CA as the bundle: the directory that would trust it is not read.
    other = tmp_path / "other.pem"
    other.write_bytes(ca_and_server_pair()[0].cert_pem)
    refused = _check_without_ca_certs(
        tls_registry,
        repo,
        {"REQUESTS_CA_BUNDLE": str(other), "SSL_CERT_DIR": str(ca_dir)},
    )
    assert refused.returncode == 1
    assert "TLS certificate verification failed" in refused.error_line


def test_an_unreadable_requests_ca_bundle_is_one_error_line(
    tmp_path: Path, tls_registry: RunningRegistry, tls_repo: tuple[str, dict[str, Pushed]]
) -> None:
    repo, _ = tls_repo
    missing = tmp_path / "missing.pem"
    result = _check_without_ca_certs(tls_registry, repo, {"REQUESTS_CA_BUNDLE": str(missing)})
    assert result.returncode == 1
    assert result.error_line == (
        f"error: cannot load the trusted CAs from {missing}: No such file or directory"
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    result = _check_without_ca_certs(tls_registry, repo, {"REQUESTS_CA_BUNDLE": str(garbage)})
    assert result.error_line == (
        f"error: cannot load the trusted CAs from {garbage}: NO_CERTIFICATE_OR_CRL_FOUND"
    )


def test_system_trust_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = ssl.get_default_verify_paths()
    for name in trust.TRUST_ENV:
        monkeypatch.delenv(name, raising=False)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(ca_and_server_pair()[0].cert_pem)
    hashed = _hashed_dir(tmp_path / "hashed", bundle.read_text())
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(bundle, plain / "ca.pem")
    assert not trust.is_hashed_directory(str(plain))
    assert not trust.is_hashed_directory(str(tmp_path / "missing"))

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert trust.system_trust_locations() == (str(bundle), None)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(hashed))
    assert trust.system_trust_locations() == (None, str(hashed))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")

    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    cafile, capath = trust.system_trust_locations()
    assert cafile == str(bundle)
    monkeypatch.delenv("SSL_CERT_FILE")

    monkeypatch.setenv("SSL_CERT_DIR", str(hashed))
    cafile, capath = trust.system_trust_locations()
    assert capath is not None and capath.split(":")[0] == str(hashed)
    if trust.is_hashed_directory(system.openssl_capath) and os.path.isfile(system.openssl_cafile):
        # The system bundle is read from the system's hashed directory.
        assert cafile is None and capath == f"{hashed}:{system.openssl_capath}"
        # So is a variable naming the system bundle itself.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", system.openssl_cafile)
        assert trust.system_trust_locations() == (None, capath)
        # Not with ca_certs (lazy=False): the bundle is read whole.
        cafile, capath = trust.system_trust_locations(lazy=False)
        assert cafile is not None and ssl.get_default_verify_paths().cafile == cafile
    else:
        assert cafile is not None


def test_one_ssl_context_per_process(
    monkeypatch: pytest.MonkeyPatch,
    tls_registry: RunningRegistry,
    tls_repo: tuple[str, dict[str, Pushed]],
) -> None:
    # No CA is parsed per connection or per transport: the trust is loaded
    # once (the system's, and each ca_certs entry) however many connect.
    repo, pushed = tls_repo
    loaded: list[dict[str, Any]] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loaded.append(kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    trust._context.cache_clear()
    assert tls_registry.ca_pem is not None and tls_registry.credentials is not None
    username, password = tls_registry.credentials
    source = Source(
        repository=f"{tls_registry.host}/{repo}",
        username=username,
        password=password,
        ca_certs=(tls_registry.ca_pem,),
    )
    plugins = load_plugins()
    for _ in range(2):  # semver mode: every tag's manifest, on parallel connections
        versions = check(CheckRequest(source=source), plugins, workers=2)
        assert [v.digest for v in versions] == [image.digest for image in pushed.values()]
    assert len(loaded) == 2  # the ca_certs entry, then the system trust
    assert "cadata" in loaded[0] and "cadata" not in loaded[1]
    first = HTTPTransport(TransportSettings(ca_certs=(tls_registry.ca_pem,)))
    second = HTTPTransport(TransportSettings(ca_certs=(tls_registry.ca_pem,)))
    try:
        assert first.session.get_adapter("https://x").context is (  # type: ignore[attr-defined]
            second.session.get_adapter("https://x").context  # type: ignore[attr-defined]
        )
    finally:
        first.close()
        second.close()
    assert len(loaded) == 2


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
