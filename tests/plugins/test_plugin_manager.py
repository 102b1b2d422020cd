"""The plugin manager: loading, selection by name/scheme, and its errors."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from registry_image.core import hookimpl
from registry_image.core.auth import Challenge, Credentials, Scope
from registry_image.core.errors import PluginError
from registry_image.core.plugins import Plugins, load_plugins, new_manager
from registry_image.plugins.auth import anonymous, basic, bearer


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


def _authenticate(challenge: Challenge, credentials: Credentials | None) -> Any:
    plugins = Plugins(*new_manager([anonymous, basic, bearer], entry_points=False))
    return plugins.authenticator(challenge, "registry.test", SCOPE, credentials, transport=None)  # type: ignore[arg-type]


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
        def registry_image_authenticator(self, challenge: Challenge) -> Any:
            return ApiKey() if challenge.scheme == "apikey" else None

    plugins = Plugins(*new_manager([anonymous, basic, bearer, ApiKeyPlugin()], entry_points=False))
    auth = plugins.authenticator(Challenge("apikey"), "r", SCOPE, None, transport=None)  # type: ignore[arg-type]
    assert auth is not None and auth.authorization() == "ApiKey k"
    other = plugins.authenticator(CHALLENGE_BASIC, "r", SCOPE, None, transport=None)  # type: ignore[arg-type]
    assert other is not None and other.authorization() is None
