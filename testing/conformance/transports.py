"""Conformance checks for transport wrappers (``registry_image_transport_wrappers``).

A wrapper plugin runs them against itself::

    import my_plugin
    from registry_image.testing.conformance import transport_wrapper_conformance_tests

    test_conformance = transport_wrapper_conformance_tests(my_plugin.MyWrapper, my_plugin)

The wrapper is stacked on a scripted in-memory transport (no network), and
the checks hold it to the contract: what the wrapper passes on is what it
was given (method, URL, headers, body; status, headers, URL and every body
byte, whatever the chunking), errors come out as the same core errors (a
failed request, a body that breaks off mid-stream), and closing a response
or the transport reaches the transport underneath. A wrapper may add
headers, but never drop or change the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_image.api import (
    Body,
    ClosingResponse,
    Response,
    StreamError,
    Transport,
    TransportError,
    TransportSettings,
    TransportWrapper,
)
from registry_image.core.plugins import Plugins, new_manager


@attrs.define
class ScriptedResponse(ClosingResponse):
    """A response whose body is given as chunks, optionally breaking off."""

    status: int
    headers: Mapping[str, str]
    url: str
    chunks: Iterable[bytes] = ()
    """Sent in order; a generator is read only as far as the reader reads."""
    breaks: bool = False
    closed: bool = False

    def iter_bytes(self, chunk_size: int) -> Iterator[bytes]:
        for chunk in self.chunks:
            for start in range(0, len(chunk), chunk_size):
                yield chunk[start : start + chunk_size]
        if self.breaks:
            raise StreamError("scripted: connection lost while reading")

    def close(self) -> None:
        self.closed = True


@attrs.define
class ScriptedTransport:
    """The transport under the wrapper: records requests, answers from a script."""

    schemes: ClassVar[tuple[str, ...]] = ("http", "https")
    answer: Callable[[str, str], ScriptedResponse]
    requests: list[tuple[str, str, dict[str, str], bytes | None]] = attrs.field(factory=list)
    responses: list[ScriptedResponse] = attrs.field(factory=list)
    closed: bool = False

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        sent = body if body is None or isinstance(body, bytes) else b"".join(body)
        self.requests.append((method, url, dict(headers or {}), sent))
        response = self.answer(method, url)
        self.responses.append(response)
        return response

    def close(self) -> None:
        self.closed = True


@attrs.frozen
class WrapperSubject:
    wrapper: TransportWrapper
    plugin: Any
    max_examples: int

    def wrap(self, base: ScriptedTransport) -> Transport:
        return self.wrapper(base, TransportSettings())


Check = Callable[[WrapperSubject], None]
URL = "https://registry.test/v2/library/app/blobs/sha256:0"


def _ok(body: Iterable[bytes] = (b"body",)) -> Callable[[str, str], ScriptedResponse]:
    return lambda method, url: ScriptedResponse(200, {"X-Test": "1"}, url, body)


def check_registered_by_its_plugin(subject: WrapperSubject) -> None:
    """The plugin's hook returns the wrapper."""
    plugins = Plugins(*new_manager([subject.plugin], entry_points=False))
    assert subject.wrapper in plugins.transport_wrappers(TransportSettings()), (
        "the plugin's registry_image_transport_wrappers does not return the wrapper"
    )


def check_passes_requests_on_unchanged(subject: WrapperSubject) -> None:
    """Method, URL, the caller's headers and the body reach the transport."""
    base = ScriptedTransport(_ok())
    wrapped = subject.wrap(base)
    headers = {"Accept": "application/json", "Authorization": "Bearer t", "Range": "bytes=4-"}
    wrapped.request("PUT", URL + "?digest=x", headers=headers, body=b"payload").close()
    [(method, url, sent, body)] = base.requests
    assert (method, url, body) == ("PUT", URL + "?digest=x", b"payload")
    for name, value in headers.items():
        assert sent.get(name) == value, f"header {name} was dropped or changed"


def check_keeps_every_byte(subject: WrapperSubject) -> None:
    """Status, headers, URL and the body, whatever its chunking, come through."""

    @settings(max_examples=subject.max_examples, deadline=None)
    @given(
        st.lists(st.binary(max_size=300), max_size=8),
        st.integers(min_value=1, max_value=97),
        st.sampled_from([200, 201, 206, 404, 500]),
    )
    def body(chunks: list[bytes], chunk_size: int, status: int) -> None:
        base = ScriptedTransport(lambda m, u: ScriptedResponse(status, {"X-Test": "1"}, u, chunks))
        with subject.wrap(base).request("GET", URL) as response:
            assert response.status == status
            assert response.headers.get("X-Test") == "1"
            assert response.url == URL
            read = list(response.iter_bytes(chunk_size))
        assert b"".join(read) == b"".join(chunks)
        assert all(len(chunk) <= chunk_size for chunk in read)

    body()


def check_keeps_errors(subject: WrapperSubject) -> None:
    """A failed request and a body that breaks off raise the core errors."""

    def refuse(method: str, url: str) -> ScriptedResponse:
        raise TransportError("scripted: connection refused", permanent=True)

    with pytest.raises(TransportError) as raised:
        subject.wrap(ScriptedTransport(refuse)).request("GET", URL)
    assert raised.value.permanent, "a permanent TransportError lost its permanence"

    base = ScriptedTransport(lambda m, u: ScriptedResponse(200, {}, u, [b"abc"], breaks=True))
    response = subject.wrap(base).request("GET", URL)
    received = b""
    with pytest.raises(StreamError):
        for chunk in response.iter_bytes(2):
            received += chunk
    response.close()
    assert received == b"abc"


def check_closes_what_it_wraps(subject: WrapperSubject) -> None:
    """Closing a response or the transport closes the one underneath."""
    base = ScriptedTransport(_ok())
    wrapped = subject.wrap(base)
    with wrapped.request("GET", URL) as response:
        list(response.iter_bytes(1024))
    assert all(each.closed for each in base.responses), "a response was left open"
    wrapped.request("HEAD", URL).close()
    assert all(each.closed for each in base.responses), "close() did not reach the response"
    wrapped.close()
    assert base.closed, "close() did not reach the wrapped transport"


def check_stops_when_the_reader_stops(subject: WrapperSubject) -> None:
    """A reader that stops mid-body and closes (a cancelled download) stops
    the read underneath: nothing more is pulled, the response is closed."""
    pulled: list[int] = []

    def counted() -> Iterator[bytes]:
        for number in range(1000):
            pulled.append(number)
            yield b"x" * 100

    base = ScriptedTransport(lambda m, u: ScriptedResponse(200, {}, u, counted()))
    response = subject.wrap(base).request("GET", URL)
    chunks = response.iter_bytes(100)
    assert next(chunks) == b"x" * 100
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    response.close()
    assert all(each.closed for each in base.responses), "the response underneath stayed open"
    assert len(pulled) <= 2, f"{len(pulled)} chunks were read after the reader stopped"


TRANSPORT_WRAPPER_CHECKS: tuple[Check, ...] = (
    check_registered_by_its_plugin,
    check_passes_requests_on_unchanged,
    check_keeps_every_byte,
    check_keeps_errors,
    check_closes_what_it_wraps,
    check_stops_when_the_reader_stops,
)


def run_transport_wrapper_conformance(
    wrapper: TransportWrapper, plugin: Any, *, max_examples: int = 50
) -> None:
    """Every check, outside pytest; the first failure raises."""
    subject = WrapperSubject(wrapper, plugin, max_examples)
    for check in TRANSPORT_WRAPPER_CHECKS:
        check(subject)


def transport_wrapper_conformance_tests(
    wrapper: TransportWrapper, plugin: Any, *, max_examples: int = 50
) -> Callable[..., None]:
    """A pytest test function running every check against ``wrapper``
    (returned by ``plugin``'s hook), one parametrized case each."""
    subject = WrapperSubject(wrapper, plugin, max_examples)

    @pytest.mark.parametrize("check", TRANSPORT_WRAPPER_CHECKS, ids=lambda check: check.__name__)
    def test_transport_wrapper_conformance(check: Check) -> None:
        check(subject)

    return test_transport_wrapper_conformance
