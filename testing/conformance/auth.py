"""Conformance checks for authentication plugins: credentials plugins
(``registry_image_credentials``, with their own ``source`` keys) and challenge
answerers (``registry_image_answer_challenge``).

A plugin runs them against itself, given a ``source`` that configures it::

    import my_plugin
    from registry_image.testing.conformance import credentials_conformance_tests

    test_conformance = credentials_conformance_tests(
        my_plugin, configured={"token_file": "/run/secrets/token"}
    )

What a credentials plugin promises (:data:`CREDENTIALS_CHECKS`): the keys it
reads are declared (an attrs class, no clash with the core's or another
plugin's) and validated as strictly as the core's (a wrong type names the
field; unknown keys still fail); unconfigured, it passes (returns None) so
the plugins after it get their turn; configured, it finds credentials;
``source.username``/``password`` still win over it; its secrets never show
in a ``repr``.

What a challenge answerer promises (:data:`ANSWERER_CHECKS`): it passes on
challenges it does not know, answers its own even when it is not the first
challenge of the header, and its authenticator's ``repr`` hides secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pytest
from registry_image.api import (
    Challenge,
    ConfigError,
    Credentials,
    Scope,
    Source,
    TransportError,
)
from registry_image.core.converter import parse_request
from registry_image.core.models import CheckRequest
from registry_image.core.plugins import Plugins, new_manager
from registry_image.plugins.auth import source as source_credentials

from .transports import ScriptedResponse, ScriptedTransport

REGISTRY = "registry.test:5000"


@attrs.frozen
class CredentialsSubject:
    plugin: Any
    configured: Mapping[str, Any]
    expected: Credentials | None

    def plugins(self, *more: Any) -> Plugins:
        return Plugins(*new_manager([*more, self.plugin], entry_points=False))

    def source(self, plugins: Plugins, **keys: Any) -> Source:
        document = {"source": {"repository": f"{REGISTRY}/app", **keys}}
        request = parse_request(json.dumps(document), CheckRequest, **plugins.request_keys())
        return request.source


CredentialsCheck = Callable[[CredentialsSubject], None]


def check_declares_its_keys(subject: CredentialsSubject) -> None:
    """Every configured key is declared by the plugin, in an attrs class."""
    plugins = subject.plugins()
    declared = {
        field.name.lower() for fields in plugins.source_fields for field in attrs.fields(fields)
    }
    missing = sorted(key for key in subject.configured if key.lower() not in declared)
    assert not missing, f"keys read but not declared by registry_image_source_fields: {missing}"


def check_keys_are_strict(subject: CredentialsSubject) -> None:
    """A wrong type names the field; a key no one owns is still an error."""
    plugins = subject.plugins()
    key, value = next(iter(subject.configured.items()))
    wrong = [1.5] if not isinstance(value, list) else {"not": "a list"}
    with pytest.raises(ConfigError, match=f"source.{key}: expected"):
        subject.source(plugins, **{**subject.configured, key: wrong})
    with pytest.raises(ConfigError, match="unknown field"):
        subject.source(plugins, **subject.configured, no_such_key_anywhere=True)


def check_passes_when_unconfigured(subject: CredentialsSubject) -> None:
    """Without its keys the plugin returns None, leaving the others their turn."""
    plugins = subject.plugins()
    assert plugins.credentials(REGISTRY, subject.source(plugins)) is None


def check_finds_credentials_when_configured(subject: CredentialsSubject) -> None:
    """Configured, it finds credentials (the expected ones, when given)."""
    plugins = subject.plugins()
    found = plugins.credentials(REGISTRY, subject.source(plugins, **subject.configured))
    assert found is not None, "configured, the plugin found no credentials"
    if subject.expected is not None:
        assert found == subject.expected


def check_source_credentials_win(subject: CredentialsSubject) -> None:
    """``source.username`` and ``password`` come first in the precedence."""
    plugins = subject.plugins(source_credentials)
    source = subject.source(plugins, username="pipeline", password="p", **subject.configured)
    assert plugins.credentials(REGISTRY, source) == Credentials("pipeline", "p")


def check_hides_secrets(subject: CredentialsSubject) -> None:
    """The password found never appears in a ``repr`` of what holds it."""
    plugins = subject.plugins()
    source = subject.source(plugins, **subject.configured)
    found = plugins.credentials(REGISTRY, source)
    assert found is not None
    for holder in (found, source, *source.extensions.values()):
        assert found.password not in repr(holder), f"the password shows in {type(holder)}"


CREDENTIALS_CHECKS: tuple[CredentialsCheck, ...] = (
    check_declares_its_keys,
    check_keys_are_strict,
    check_passes_when_unconfigured,
    check_finds_credentials_when_configured,
    check_source_credentials_win,
    check_hides_secrets,
)


def credentials_conformance_tests(
    plugin: Any, *, configured: Mapping[str, Any], expected: Credentials | None = None
) -> Callable[..., None]:
    """A pytest test function running every credentials check against
    ``plugin``; ``configured`` are ``source`` keys that turn it on (and make
    it find ``expected``, when given)."""
    if not configured:
        raise ValueError("configured: give at least one source key of the plugin")
    subject = CredentialsSubject(plugin, configured, expected)

    @pytest.mark.parametrize("check", CREDENTIALS_CHECKS, ids=lambda check: check.__name__)
    def test_credentials_conformance(check: CredentialsCheck) -> None:
        check(subject)

    return test_credentials_conformance


@attrs.frozen
class AnswererSubject:
    plugin: Any
    challenge: Challenge
    credentials: Credentials | None
    answer: Callable[[str, str], ScriptedResponse] | None

    def ask(self, *challenges: Challenge) -> Any:
        plugins = Plugins(*new_manager([self.plugin], entry_points=False))
        return plugins.answer_challenge(
            challenges,
            REGISTRY,
            f"https://{REGISTRY}",
            Scope("app"),
            self.credentials,
            ScriptedTransport(self.answer or _no_network),
        )


def _no_network(method: str, url: str) -> ScriptedResponse:
    raise TransportError(f"no network in this check ({method} {url})", permanent=True)


AnswererCheck = Callable[[AnswererSubject], None]


def check_passes_on_unknown_challenges(subject: AnswererSubject) -> None:
    """A challenge of a scheme it does not know gets None."""
    assert subject.ask(Challenge("x-unknown-scheme", {"realm": "r"})) is None


def check_answers_its_challenge_anywhere(subject: AnswererSubject) -> None:
    """Its challenge is answered alone and after another one."""
    alone = subject.ask(subject.challenge)
    assert alone is not None, f"no answer to {subject.challenge.scheme}"
    behind = subject.ask(Challenge("x-unknown-scheme"), subject.challenge)
    assert behind is not None, "no answer when the challenge is not the first"
    value = behind.authorization()
    assert value is None or isinstance(value, str)


def check_answer_hides_secrets(subject: AnswererSubject) -> None:
    """The authenticator's ``repr`` shows neither password nor header."""
    authenticator = subject.ask(subject.challenge)
    shown = repr(authenticator)
    header = authenticator.authorization()
    assert not header or header not in shown, "the Authorization value shows in repr"
    if subject.credentials is not None:
        assert subject.credentials.password not in shown


ANSWERER_CHECKS: tuple[AnswererCheck, ...] = (
    check_passes_on_unknown_challenges,
    check_answers_its_challenge_anywhere,
    check_answer_hides_secrets,
)


def challenge_answerer_conformance_tests(
    plugin: Any,
    *,
    challenge: Challenge,
    credentials: Credentials | None = None,
    answer: Callable[[str, str], ScriptedResponse] | None = None,
) -> Callable[..., None]:
    """A pytest test function running every answerer check against
    ``plugin``, which must answer ``challenge`` (with ``credentials``).
    ``answer`` scripts the transport's responses (a token service, say);
    without it any request the answerer makes fails."""
    subject = AnswererSubject(plugin, challenge, credentials, answer)

    @pytest.mark.parametrize("check", ANSWERER_CHECKS, ids=lambda check: check.__name__)
    def test_challenge_answerer_conformance(check: AnswererCheck) -> None:
        check(subject)

    return test_challenge_answerer_conformance
