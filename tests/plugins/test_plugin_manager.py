"""The plugin manager: loading, selection by name/scheme, and its errors."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import pytest
from registry_image.core import hookimpl
from registry_image.core.auth import Challenge, Credentials, Scope, find_challenge
from registry_image.core.converter import parse_request
from registry_image.core.errors import ConfigError, PluginError
from registry_image.core.models import CheckRequest, Source
from registry_image.core.plugins import Plugins, load_plugins, new_manager
from registry_image.core.transport import TransportSettings
from registry_image.plugins.auth import anonymous, basic, bearer
from registry_image.plugins.auth import source as source_credentials


class FakeFormat:
    name: ClassVar[str] = "fake"

    def write(self, image: Any, dest: Any) -> None:
        raise NotImplementedError


class FormatPlugin:
    @hookimpl
    def registry_image_register_formats(self) -> list[type]:
        return [FakeFormat]


def test_builtins_come_from_entry_points() -> None:
    plugins = load_plugins()
    names = {name for name, _ in plugins.manager.list_name_plugin()}
    assert {"anonymous", "basic", "bearer", "http"} <= names
    assert plugins.origins["bearer"].startswith("registry-image-resource ")
    assert set(plugins.transports) == {"http", "https"}


def test_format_selected_by_name() -> None:
    plugins = Plugins(*new_manager([FormatPlugin()], entry_points=False))
    assert plugins.format("fake") is FakeFormat


def test_unknown_format_lists_installed() -> None:
    plugins = Plugins(*new_manager([FormatPlugin()], entry_points=False))
    with pytest.raises(PluginError, match=r"unknown format 'nope' \(installed: fake\)"):
        plugins.format("nope")


def test_duplicate_format_name_is_an_error() -> None:
    class Other(FakeFormat):
        pass

    class OtherPlugin:
        @hookimpl
        def registry_image_register_formats(self) -> list[type]:
            return [Other]

    with pytest.raises(PluginError, match="two plugins provide the format 'fake'"):
        Plugins(*new_manager([FormatPlugin(), OtherPlugin()], entry_points=False))


def test_transports_selected_by_scheme_and_duplicates_refused() -> None:
    class FtpTransport:
        schemes: ClassVar[tuple[str, ...]] = ("ftp", "https")

    class FtpPlugin:
        @hookimpl
        def registry_image_register_transports(self) -> list[type]:
            return [FtpTransport]

    with pytest.raises(PluginError, match="two plugins provide the transport for scheme 'https'"):
        load_plugins_with(FtpPlugin())
    FtpTransport.schemes = ("ftp",)
    plugins = load_plugins_with(FtpPlugin())
    assert plugins.transport("ftp") is FtpTransport
    assert plugins.transport("https").__name__ == "HTTPTransport"


def load_plugins_with(*extra: object) -> Plugins:
    return Plugins(*new_manager(extra))


def test_unknown_scheme_is_an_error() -> None:
    plugins = Plugins(*new_manager([], entry_points=False))
    with pytest.raises(PluginError, match="no transport plugin handles 'ftp'"):
        plugins.transport("ftp")


def test_hookimpl_for_an_unknown_hook_is_rejected() -> None:
    class Typo:
        @hookimpl
        def registry_image_register_format(self) -> list[type]:  # missing "s"
            return []

    with pytest.raises(PluginError, match="registry_image_register_format"):
        new_manager([Typo()], entry_points=False)


def test_disabled_plugins_are_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_IMAGE_DISABLED_PLUGINS", "basic, bearer")
    names = {name for name, plugin in load_plugins().manager.list_name_plugin() if plugin}
    assert "basic" not in names and "bearer" not in names
    assert "anonymous" in names


CHALLENGE_BASIC = Challenge("basic", {"realm": "r"})
SCOPE = Scope("x/y")


def _answer(
    plugins: Plugins, challenges: tuple[Challenge, ...], credentials: Credentials | None
) -> Any:
    return plugins.answer_challenge(
        challenges,
        "registry.test",
        "https://registry.test",
        SCOPE,
        credentials,
        transport=None,  # type: ignore[arg-type]
    )


def _authenticate(challenge: Challenge, credentials: Credentials | None) -> Any:
    plugins = Plugins(*new_manager([anonymous, basic, bearer], entry_points=False))
    return _answer(plugins, (challenge,), credentials)


def test_authenticator_basic_answers_basic_with_credentials() -> None:
    auth = _authenticate(CHALLENGE_BASIC, Credentials("user", "pw"))
    assert auth.authorization() == "Basic dXNlcjpwdw=="
    assert "pw" not in repr(auth)


def test_authenticator_falls_back_to_anonymous() -> None:
    assert _authenticate(CHALLENGE_BASIC, None).authorization() is None
    assert _authenticate(Challenge("negotiate"), Credentials("u", "p")).authorization() is None


def test_custom_authenticator_is_asked_before_anonymous() -> None:
    class ApiKey:
        def authorization(self) -> str:
            return "ApiKey k"

    class ApiKeyPlugin:
        @hookimpl
        def registry_image_answer_challenge(self, challenges: tuple[Challenge, ...]) -> Any:
            return ApiKey() if find_challenge(challenges, "apikey") else None

    plugins = Plugins(*new_manager([anonymous, basic, bearer, ApiKeyPlugin()], entry_points=False))
    auth = _answer(plugins, (Challenge("apikey"),), None)
    assert auth is not None and auth.authorization() == "ApiKey k"
    other = _answer(plugins, (CHALLENGE_BASIC,), None)
    assert other is not None and other.authorization() is None
    # Several challenges in one header: the answerer that knows one of them answers.
    both = _answer(plugins, (CHALLENGE_BASIC, Challenge("apikey")), None)
    assert both.authorization() == "ApiKey k"


def test_basic_answers_a_basic_challenge_listed_after_an_unknown_one() -> None:
    auth = _authenticate_all((Challenge("negotiate"), CHALLENGE_BASIC), Credentials("user", "pw"))
    assert auth.authorization() == "Basic dXNlcjpwdw=="


def _authenticate_all(challenges: tuple[Challenge, ...], credentials: Credentials | None) -> Any:
    plugins = Plugins(*new_manager([anonymous, basic, bearer], entry_points=False))
    return _answer(plugins, challenges, credentials)


def test_source_credentials_come_first_and_need_both_parts() -> None:
    plugins = Plugins(*new_manager([source_credentials], entry_points=False))
    given = Source(repository="r", username="u", password="p")
    assert plugins.credentials("r.test", given) == Credentials("u", "p")
    assert plugins.credentials("r.test", Source(repository="r", username="u")) is None

    class Fallback:
        @hookimpl(trylast=True)
        def registry_image_credentials(self, registry: str) -> Credentials:
            return Credentials("fallback", registry)

    plugins = Plugins(*new_manager([source_credentials, Fallback()], entry_points=False))
    assert plugins.credentials("r.test", given) == Credentials("u", "p")
    assert plugins.credentials("r.test", Source(repository="r")) == Credentials(
        "fallback", "r.test"
    )


def test_transport_wrappers_come_back_in_hook_order() -> None:
    def outer(transport: Any, settings: Any) -> Any:
        return ("outer", transport)

    class Wrappers:
        @hookimpl
        def registry_image_transport_wrappers(self, settings: Any) -> list[Any]:
            return [outer]

    plugins = Plugins(*new_manager([Wrappers()], entry_points=False))
    assert plugins.transport_wrappers(TransportSettings()) == [outer]


@attrs.frozen
class TokenKeys:
    token_file: str | None = None


def _declaring(fields: type) -> object:
    class Declares:
        @hookimpl
        def registry_image_source_fields(self) -> type:
            return fields

    return Declares()


def test_declared_source_keys_are_parsed_strictly_and_attached() -> None:
    plugins = Plugins(*new_manager([_declaring(TokenKeys)], entry_points=False))
    text = '{"source": {"repository": "r", "Token_File": "/t"}}'
    request = parse_request(text, CheckRequest, **plugins.request_keys())
    assert request.source.extension(TokenKeys) == TokenKeys("/t")
    with pytest.raises(ConfigError, match=r"source.token_file: expected a string, got a number"):
        parse_request(
            '{"source": {"repository": "r", "token_file": 1}}',
            CheckRequest,
            **plugins.request_keys(),
        )
    with pytest.raises(ConfigError, match=r"unknown field\(s\): token_fil"):
        parse_request(
            '{"source": {"repository": "r", "token_fil": "/t"}}',
            CheckRequest,
            **plugins.request_keys(),
        )


@attrs.frozen
class ClashesWithCore:
    repository: str = ""


@attrs.frozen
class SameKeyAgain:
    TOKEN_FILE: str = ""


class NotAttrs:
    token_file: str = ""


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ((ClashesWithCore,), r"source.repository is declared by both the resource and"),
        (
            (TokenKeys, SameKeyAgain),
            r"source.token_file is declared by both \S+(Same|Token)\w+ and \S+(Same|Token)\w+",
        ),
        ((NotAttrs,), r"NotAttrs declares configuration keys but is not an attrs class"),
    ],
)
def test_clashing_or_untyped_source_keys_are_refused(
    declared: tuple[type, ...], message: str
) -> None:
    with pytest.raises(PluginError, match=message):
        Plugins(*new_manager([_declaring(each) for each in declared], entry_points=False))
