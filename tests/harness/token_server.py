"""A Docker token-protocol server for registries configured with ``auth: token``.

Clients ask ``GET /token?service=S&scope=repository:NAME:pull,push`` (``scope``
may repeat or be absent, ``account`` is optional), with or without HTTP Basic
credentials, and get back an RS256 JWT whose header carries the signing
certificate as ``x5c``; the registry trusts that certificate as its
``rootcertbundle``.

With ``acr`` (:class:`AcrExchange`) it also speaks Azure Container
Registry's exchange: ``POST /oauth2/exchange`` (form: ``grant_type=access_token``,
``service``, ``tenant``, ``access_token``) turns the one Azure AD token it
accepts, for the one tenant, into a refresh token, which then works as the
password of the user ``00000000-0000-0000-0000-000000000000`` at the token
endpoint (ACR's is ``/oauth2/token``: give ``token_path``).

Policy (:class:`TokenPolicy`): anonymous clients get ``anonymous_actions``
(``("pull",)`` by default; if empty, anonymous requests are refused with 401),
read-only users get ``pull`` only, other users get what they ask for. A wrong
password or unknown user is a 401 with a JSON error body. Every request is
recorded in :attr:`TokenServer.requests` so tests can assert what was asked.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import jwt

from .certs import KeyPair, token_signing_pair
from .ports import LOOPBACK

TOKEN_PATH = "/token"
TOKEN_LIFETIME_SECONDS = 300
# Tokens are valid from a little before they are issued, against clock skew.
NOT_BEFORE_SKEW_SECONDS = 10
SHUTDOWN_TIMEOUT_SECONDS = 5.0


@attrs.frozen
class TokenPolicy:
    """Which actions the token server grants."""

    anonymous_actions: tuple[str, ...] = ("pull",)
    read_only_users: frozenset[str] = frozenset()


ACR_USER = "00000000-0000-0000-0000-000000000000"
ACR_EXCHANGE_PATH = "/oauth2/exchange"


@attrs.frozen
class AcrExchange:
    """What ACR's ``/oauth2/exchange`` accepts: this Azure AD token, for this tenant."""

    access_token: str = attrs.field(repr=False)
    tenant: str


@attrs.frozen
class TokenRequest:
    """One request the token server answered."""

    path: str
    query: dict[str, list[str]]
    has_authorization: bool
    username: str | None
    """The user named in Basic credentials, whether or not the password was right."""
    status: int

    @property
    def scopes(self) -> list[str]:
        """The ``scope`` parameters, in the order given."""
        return self.query.get("scope", [])


@attrs.frozen
class Scope:
    """A parsed ``type:name:actions`` scope."""

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse ``repository:NAME:pull,push``; ``NAME`` may itself contain ``:``."""
        head, _, actions = text.rpartition(":")
        type_, _, name = head.partition(":")
        if not type_ or not name:
            raise ValueError(f"malformed scope {text!r}")
        return cls(type_, name, tuple(a for a in actions.split(",") if a))


class _CredentialsError(Exception):
    """HTTP Basic credentials that are malformed, unknown or wrong."""

    def __init__(self, message: str, username: str | None) -> None:
        super().__init__(message)
        self.username = username


class TokenServer:
    """A threaded token server on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(
        self,
        users: Mapping[str, str],
        *,
        service: str = "test-registry",
        issuer: str = "test-issuer",
        policy: TokenPolicy | None = None,
        signer: KeyPair | None = None,
        token_path: str = TOKEN_PATH,
        acr: AcrExchange | None = None,
    ) -> None:
        self.users = dict(users)
        self.token_path = token_path
        self.acr = acr
        self.service = service
        self.issuer = issuer
        self.policy = policy or TokenPolicy()
        self.signer = signer or token_signing_pair()
        self._requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The token endpoint, i.e. the realm registries send clients to."""
        if self._httpd is None:
            raise RuntimeError("token server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{self.token_path}"

    @property
    def requests(self) -> list[TokenRequest]:
        """A snapshot of every request answered so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def start(self) -> TokenServer:
        """Listen on a free port of 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("token server already started")
        self._httpd = _HTTPServer((LOOPBACK, 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT_SECONDS)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def issue_token(
        self,
        subject: str,
        access: Sequence[Mapping[str, Any]],
        *,
        expires_in: int = TOKEN_LIFETIME_SECONDS,
    ) -> str:
        """Sign a token for ``subject`` granting ``access`` ([{type, name, actions}])."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + expires_in,
            "nbf": now - NOT_BEFORE_SKEW_SECONDS,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": [dict(entry) for entry in access],
        }
        return jwt.encode(
            claims,
            self.signer.key,
            algorithm="RS256",
            headers={"x5c": [self.signer.cert_der_base64]},
        )

    def grant(self, username: str | None, scopes: Sequence[Scope]) -> list[dict[str, Any]]:
        """The ``access`` claim the policy grants ``username`` (None: anonymous)."""
        access = []
        for scope in scopes:
            if username is None:
                allowed = set(self.policy.anonymous_actions)
                actions = [a for a in scope.actions if a in allowed]
            elif username in self.policy.read_only_users:
                actions = [a for a in scope.actions if a == "pull"]
            else:
                actions = list(scope.actions)
            if actions:
                access.append({"type": scope.type, "name": scope.name, "actions": actions})
        return access

    def _record(self, request: TokenRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _authenticate(self, authorization: str | None) -> str | None:
        """The user named by valid Basic credentials, or None when there are none."""
        if authorization is None:
            return None
        kind, _, encoded = authorization.partition(" ")
        if kind.lower() != "basic":
            raise _CredentialsError(f"unsupported authorization scheme {kind!r}", None)
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as err:
            raise _CredentialsError("malformed basic credentials", None) from err
        username, sep, password = decoded.partition(":")
        if not sep:
            raise _CredentialsError("malformed basic credentials", None)
        expected = self.users.get(username)
        if expected is None or not secrets.compare_digest(expected, password):
            raise _CredentialsError("invalid username or password", username)
        return username

    def answer(
        self, path: str, query: dict[str, list[str]], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Status and JSON body for one token request; records it."""
        username: str | None = None
        try:
            status, body, username = self._decide(path, query, authorization)
        except _CredentialsError as err:
            username = err.username
            status, body = 401, _error("UNAUTHORIZED", str(err))
        self._record(TokenRequest(path, query, authorization is not None, username, status))
        return status, body

    def _decide(
        self, path: str, query: dict[str, list[str]], authorization: str | None
    ) -> tuple[int, dict[str, Any], str | None]:
        if path != self.token_path:
            return 404, _error("NOT_FOUND", f"no such endpoint {path}"), None
        username = self._authenticate(authorization)
        service = query.get("service", [self.service])[0]
        if service != self.service:
            return 400, _error("INVALID_SERVICE", f"unknown service {service!r}"), username
        if username is None and not self.policy.anonymous_actions:
            raise _CredentialsError("anonymous access is not allowed", None)
        try:
            scopes = [Scope.parse(text) for text in query.get("scope", [])]
        except ValueError as err:
            return 400, _error("INVALID_SCOPE", str(err)), username
        token = self.issue_token(username or "", self.grant(username, scopes))
        issued_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "token": token,
            "access_token": token,
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "issued_at": issued_at,
        }
        return 200, body, username

    def exchange(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """Status and JSON body for one ACR ``/oauth2/exchange``; records it
        (without the access token)."""
        field = {key: values[0] for key, values in form.items() if values}
        if self.acr is None:
            status, body = 404, _error("NOT_FOUND", "no ACR exchange here")
        elif field.get("grant_type") != "access_token" or field.get("service") != self.service:
            status, body = 400, _error("BAD_REQUEST", "unsupported grant_type or service")
        elif field.get("tenant") != self.acr.tenant:
            status, body = (
                401,
                _error("UNAUTHORIZED", f"tenant {field.get('tenant')!r} is not this registry's"),
            )
        elif not secrets.compare_digest(field.get("access_token", ""), self.acr.access_token):
            status, body = 401, _error("UNAUTHORIZED", "the access token is not valid")
        else:
            refresh_token = f"acr-refresh-{secrets.token_urlsafe(24)}"
            with self._lock:
                self.users[ACR_USER] = refresh_token
            status, body = 200, {"refresh_token": refresh_token}
        recorded = {key: values for key, values in form.items() if key != "access_token"}
        self._record(TokenRequest(ACR_EXCHANGE_PATH, recorded, False, None, status))
        return status, body


def _error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


class _HTTPServer(ThreadingHTTPServer):
    """The HTTP server, knowing which :class:`TokenServer` it serves."""

    daemon_threads = True
    # The default backlog of 5 stalls a concurrent client for a second.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        token_server: TokenServer,
    ) -> None:
        super().__init__(address, handler)
        self.token_server = token_server


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP GETs into :meth:`TokenServer.answer` calls."""

    server: _HTTPServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        status, body = self.server.token_server.answer(
            url.path, query, self.headers.get("Authorization")
        )
        self._send(status, body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(errors="replace"), keep_blank_values=True)
        if urlsplit(self.path).path == ACR_EXCHANGE_PATH:
            status, body = self.server.token_server.exchange(form)
        else:
            status, body = 404, _error("NOT_FOUND", f"no such endpoint {self.path}")
        self._send(status, body)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="test-token-server"')
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read :attr:`TokenServer.requests` instead."""
