"""The environment's proxies: the resource sends requests for other hosts
through ``HTTP(S)_PROXY`` (unless ``NO_PROXY`` matches) and never those for
localhost or loopback addresses, as Go's ``http.ProxyFromEnvironment`` (the
Go resource's) does; the suite itself passes with proxies set (conftest)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from registry_image.plugins.transports.http import environ_proxies

from tests.check.images import Writer
from tests.harness.resource import PROXY_VARIABLES, run_resource

DEAD_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens there
NO_BYPASS = {"NO_PROXY": "", "no_proxy": ""}


def _proxy_env(proxy: str) -> dict[str, str]:
    return {**dict.fromkeys(PROXY_VARIABLES, proxy), **NO_BYPASS}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000/v2/",
        "https://127.0.0.1/v2/",
        "http://127.1.2.3:80/v2/",
        "http://localhost:5000/v2/",
        "https://LOCALHOST/v2/",
        "http://[::1]:5000/v2/",
    ],
)
def test_loopback_never_goes_through_a_proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name, value in _proxy_env(DEAD_PROXY).items():
        monkeypatch.setenv(name, value)
    assert environ_proxies(url) == {}


def test_other_hosts_go_through_the_proxy_unless_no_proxy_names_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in _proxy_env(DEAD_PROXY).items():
        monkeypatch.setenv(name, value)
    assert environ_proxies("https://registry.example:5000/v2/")["https"] == DEAD_PROXY
    assert environ_proxies("http://10.0.0.1/v2/")["http"] == DEAD_PROXY
    monkeypatch.setenv("NO_PROXY", "registry.example")
    monkeypatch.setenv("no_proxy", "registry.example")
    assert environ_proxies("https://registry.example:5000/v2/") == {}


def test_check_on_loopback_ignores_a_dead_proxy(writer: Writer) -> None:
    image = writer.image("proxied")
    writer.tag("v1", image)
    source = {"repository": f"{writer.registry.host}/{writer.repo}", "tag": "v1"}
    result = run_resource("check", {"source": source}, env=_proxy_env(DEAD_PROXY))
    assert result.returncode == 0, result.stderr
    assert result.json() == [{"tag": "v1", "digest": image.digest}]


@pytest.fixture
def recording_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A forward proxy on 127.0.0.1 that records each request's head and
    refuses it (CONNECT: 403; a plain request: 404): ``(its URL, the heads)``."""
    heads: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                heads.append(head)
                status = b"403 Forbidden" if head.startswith(b"CONNECT") else b"404 Not Found"
                connection.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", heads
    server.shutdown(socket.SHUT_RDWR)  # wakes the accept()
    server.close()
    thread.join(timeout=10)


def test_check_on_another_host_goes_through_the_proxy(
    recording_proxy: tuple[str, list[bytes]],
) -> None:
    proxy, heads = recording_proxy
    source = {"repository": "registry.invalid:5000/team/app", "tag": "v1"}
    result = run_resource("check", {"source": source}, env=_proxy_env(proxy))
    assert (result.returncode, result.stdout) == (1, "")
    # asked once: a proxy's refusal is not retried
    assert [head.split(b"\r\n", 1)[0] for head in heads] == [
        b"CONNECT registry.invalid:5000 HTTP/1.0"
    ]
    assert result.error_line == (
        "error: cannot reach registry.invalid:5000: proxy refused the tunnel (403 Forbidden)"
    )


def test_a_dead_proxy_is_named_as_such() -> None:
    source = {"repository": "registry.invalid:5000/team/app", "tag": "v1"}
    result = run_resource("check", {"source": source}, env=_proxy_env(DEAD_PROXY))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.error_line == (
        "error: cannot reach registry.invalid:5000: proxy unreachable (connection refused)"
    )
