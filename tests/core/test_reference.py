"""Repository names are normalised exactly as Docker does."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from registry_image.core.errors import ConfigError
from registry_image.core.reference import Repository, parse_repository, validate_host, validate_tag


@pytest.mark.parametrize(
    ("text", "host", "path"),
    [
        ("alpine", "index.docker.io", "library/alpine"),
        ("foo/bar", "index.docker.io", "foo/bar"),
        ("docker.io/alpine", "index.docker.io", "library/alpine"),
        ("index.docker.io/foo/bar", "index.docker.io", "foo/bar"),
        ("host:5000/x", "host:5000", "x"),
        ("localhost/x", "localhost", "x"),
        ("localhost:5000/a/b/c", "localhost:5000", "a/b/c"),
        ("ghcr.io/org/img", "ghcr.io", "org/img"),
        ("127.0.0.1:5000/test/x", "127.0.0.1:5000", "test/x"),
        ("[::1]:5000/x", "[::1]:5000", "x"),
        ("foo/bar.baz_qux-1", "index.docker.io", "foo/bar.baz_qux-1"),
    ],
)
def test_normalisation(text: str, host: str, path: str) -> None:
    assert parse_repository(text) == Repository(host, path)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " alpine",
        "Alpine",
        "foo//bar",
        "alpine:3.18",
        "alpine@sha256:abc",
        "foo/-bar",
        "a/b/",
        "alpine\n",
        "foo/bar\n/baz",
        "ghcr.io\n/x",
        "localhost:99999/x",
        "localhost:0/x",
        "host:65536/x",
    ],
)
def test_invalid_names_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match=r"source\.repository"):
        parse_repository(text)


@pytest.mark.parametrize(
    ("text", "plain_http"),
    [
        ("localhost:5000/x", True),
        ("127.0.0.1:5000/x", True),
        ("[::1]:5000/x", True),
        ("10.1.2.3:5000/x", True),
        ("192.168.0.9/x", True),
        ("ghcr.io/x/y", False),
        ("alpine", False),
    ],
)
def test_plain_http_allowed_only_for_local_hosts(text: str, plain_http: bool) -> None:
    assert parse_repository(text).allows_plain_http is plain_http


components = st.from_regex(r"\A[a-z0-9]+(?:[._-][a-z0-9]+)*\Z", fullmatch=True)


@given(
    host=st.builds(
        lambda name, port: name if port is None else f"{name}:{port}",
        st.from_regex(r"\A[a-z][a-z0-9]{0,10}\.[a-z]{2,5}\Z"),
        st.none() | st.integers(1, 65535),
    ),
    parts=st.lists(components, min_size=1, max_size=4),
)
def test_explicit_host_round_trips(host: str, parts: list[str]) -> None:
    path = "/".join(parts)
    repository = parse_repository(f"{host}/{path}")
    assert repository.host == host
    assert repository.path == path
    assert parse_repository(repository.name) == repository


@given(parts=st.lists(components, min_size=1, max_size=4))
def test_docker_hub_names_are_idempotent(parts: list[str]) -> None:
    text = "/".join(parts)
    # A dotted first component is a host, covered above.
    assume("." not in parts[0] or len(parts) == 1)
    repository = parse_repository(text)
    assert repository.host == "index.docker.io"
    assert parse_repository(repository.name) == repository
    assert repository.path.endswith(text)


@pytest.mark.parametrize("tag", ["latest", "1.2.3", "v1", "a_b-c.d", "x" * 128])
def test_valid_tags(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", "-x", ".x", "a/b", "a:b", "x" * 129, "v1\n", "v1\n\n"])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(ConfigError, match="invalid tag"):
        validate_tag(tag, "source.tag")


@pytest.mark.parametrize("host", ["localhost:1", "localhost:65535", "h.io:5000", "[::1]:443"])
def test_ports_in_range_are_accepted(host: str) -> None:
    assert validate_host(host) == host
    assert parse_repository(f"{host}/x").host == host


@pytest.mark.parametrize("host", ["h:0", "h:65536", "h:99999", "h\n", "h:5000\n"])
def test_bad_ports_and_trailing_newlines_are_refused(host: str) -> None:
    with pytest.raises(ConfigError, match=r"^mirror: invalid (port|registry host)"):
        validate_host(host, "mirror")
