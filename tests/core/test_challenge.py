"""WWW-Authenticate parsing."""

from __future__ import annotations

import pytest
from registry_image.core.auth import Challenge, Scope


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/alpine:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/alpine:pull",
            },
        ),
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        ("basic realm=x", "basic", {"realm": "x"}),
        ('Bearer realm="a,b", service=svc', "bearer", {"realm": "a,b", "service": "svc"}),
        ("Bearer", "bearer", {}),
    ],
)
def test_parse(header: str, scheme: str, params: dict[str, str]) -> None:
    assert Challenge.parse(header) == Challenge(scheme, params)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_absent(header: str | None) -> None:
    assert Challenge.parse(header) is None


def test_scope_text() -> None:
    assert str(Scope("library/alpine")) == "repository:library/alpine:pull"
    assert str(Scope("a/b", ("pull", "push"))) == "repository:a/b:pull,push"
