"""The built-in answerers and the core's own transport wrappers pass the
conformance suites third-party plugins run."""

from __future__ import annotations

from typing import Any

from registry_image.api import Challenge, Credentials, Transport, TransportSettings, hookimpl
from registry_image.core.transport import RetryPolicy
from registry_image.core.transport.retry import RetryingTransport
from registry_image.core.transport.tracing import TracingTransport, UserAgentTransport
from registry_image.plugins.auth import basic, bearer
from registry_image.testing.conformance import (
    ScriptedResponse,
    challenge_answerer_conformance_tests,
    transport_wrapper_conformance_tests,
)


def _token_service(method: str, url: str) -> ScriptedResponse:
    return ScriptedResponse(200, {"Content-Type": "application/json"}, url, [b'{"token": "t0k"}'])


test_basic_answerer = challenge_answerer_conformance_tests(
    basic, challenge=Challenge("basic", {"realm": "r"}), credentials=Credentials("u", "pw-1")
)
test_bearer_answerer = challenge_answerer_conformance_tests(
    bearer,
    challenge=Challenge("bearer", {"realm": "https://auth.test/token", "service": "s"}),
    credentials=Credentials("u", "pw-2"),
    answer=_token_service,
)


def _plugin(wrapper: Any) -> object:
    class Provides:
        @hookimpl
        def registry_image_transport_wrappers(self) -> list[Any]:
            return [wrapper]

    return Provides()


def tracing(inner: Transport, settings: TransportSettings) -> Transport:
    return TracingTransport(inner)


def user_agent(inner: Transport, settings: TransportSettings) -> Transport:
    return UserAgentTransport(inner, "conformance")


def retrying(inner: Transport, settings: TransportSettings) -> Transport:
    return RetryingTransport(inner, RetryPolicy(attempts=2, initial_delay=0.0, max_delay=0.0))


test_tracing_wrapper = transport_wrapper_conformance_tests(tracing, _plugin(tracing))
test_user_agent_wrapper = transport_wrapper_conformance_tests(user_agent, _plugin(user_agent))
test_retrying_wrapper = transport_wrapper_conformance_tests(retrying, _plugin(retrying))
