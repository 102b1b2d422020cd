"""Requests are parsed strictly, and errors name the field path."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_image.core.converter import dump_response, parse_request
from registry_image.core.errors import ConfigError
from registry_image.core.models import (
    CheckRequest,
    GetParams,
    InRequest,
    MetadataField,
    Platform,
    Source,
    Version,
    VersionResponse,
)

DIGEST = "sha256:" + "d" * 64


def test_minimal_check_request() -> None:
    request = parse_request('{"source": {"repository": "alpine"}}', CheckRequest)
    assert request == CheckRequest(source=Source(repository="alpine"), version=None)


def test_null_version_is_no_cursor() -> None:
    request = parse_request('{"source": {"repository": "a"}, "version": null}', CheckRequest)
    assert request.version is None


def test_nested_fields() -> None:
    text = json.dumps(
        {
            "source": {
                "repository": "a",
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                "ca_certs": ["PEM"],
                "registry_mirror": {"host": "mirror.local", "username": "u", "password": "p"},
            },
            "version": {"tag": "1", "digest": "sha256:" + "0" * 64},
            "params": {"format": "oci", "skip_download": True},
        }
    )
    request = parse_request(text, InRequest)
    assert request.source.platform == Platform("linux", "arm64", "v8")
    assert request.source.ca_certs == ("PEM",)
    assert request.params == GetParams(format="oci", skip_download=True)


@pytest.mark.parametrize(
    ("number", "tag"),
    [
        ("42", "42"),
        ("42.1", "42.1"),
        ("1.10", "1.10"),
        ("0", "0"),
        ("1e5", "1e5"),
        ("2E-3", "2E-3"),
    ],
)
def test_tag_given_as_number_keeps_its_text(number: str, tag: str) -> None:
    request = parse_request(f'{{"source": {{"repository": "a", "tag": {number}}}}}', CheckRequest)
    assert request.source.tag == tag
    version = parse_request(
        '{"source": {"repository": "a"}, '
        f'"version": {{"tag": {number}, "digest": "{DIGEST}"}}}}',
        CheckRequest,
    ).version
    assert version is not None and version.tag == tag


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"source": {"repository": "a", "tagg": "x"}}', "source: unknown field(s): tagg"),
        ('{"source": {"repository": "a"}, "extra": 1}', "request: unknown field(s): extra"),
        ('{"source": {}}', "source.repository: required field missing"),
        ("{}", "source: required field missing"),
        (
            '{"source": {"repository": "a", "platform": {"architecture": 42}}}',
            "source.platform.architecture: expected a string, got a number",
        ),
        (
            '{"source": {"repository": "a", "insecure": "true"}}',
            "source.insecure: expected true or false, got a string",
        ),
        (
            '{"source": {"repository": "a", "ca_certs": "PEM"}}',
            "source.ca_certs: expected a list of strings, got a string",
        ),
        (
            '{"source": {"repository": "a", "tag": {"x": 1}}}',
            "source.tag: expected a string or number, got an object",
        ),
        ('{"source": "a"}', "source: expected an object"),
        ("[]", "expected a JSON object, got a list"),
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_errors_name_the_field(payload: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_request(payload, CheckRequest)
    assert message in str(caught.value)


@given(secret=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ!#%&*", min_size=4))
def test_wrong_typed_secret_is_never_echoed(secret: str) -> None:
    payload = json.dumps({"source": {"repository": "a", "password": [secret], "username": 7}})
    with pytest.raises(ConfigError) as caught:
        parse_request(payload, CheckRequest)
    assert "source.password" in str(caught.value)
    assert secret not in str(caught.value)


def test_password_not_in_repr() -> None:
    source = Source(repository="a", username="u", password="hunter2")
    assert "hunter2" not in repr(source)


def test_response_json_shape() -> None:
    response = VersionResponse(
        version=Version(tag="1.0", digest="sha256:" + "a" * 64),
        metadata=(MetadataField("repository", "x"), MetadataField("tag", "1.0")),
    )
    assert json.loads(dump_response(response)) == {
        "version": {"tag": "1.0", "digest": "sha256:" + "a" * 64},
        "metadata": [{"name": "repository", "value": "x"}, {"name": "tag", "value": "1.0"}],
    }


def test_keys_match_case_insensitively_like_go() -> None:
    text = (
        '{"Source": {"Repository": "a", "TAG": "x", "Platform": {"OS": "linux"}}, "Version": null}'
    )
    request = parse_request(text, CheckRequest)
    assert request.source == Source(repository="a", tag="x", platform=Platform(os="linux"))


def test_exact_key_wins_over_folded_one() -> None:
    request = parse_request(
        '{"source": {"repository": "a", "Tag": "folded", "tag": "exact"}}', CheckRequest
    )
    assert request.source.tag == "exact"


def test_boolean_tag_keeps_its_text() -> None:
    assert (
        parse_request('{"source": {"repository": "a", "tag": true}}', CheckRequest).source.tag
        == "true"
    )
