"""Cloud identity endpoints on 127.0.0.1, as the cloud SDKs find them through
their standard environment variables:

- :class:`ManagedIdentityEndpoint`: Azure App Service's managed-identity
  endpoint (``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``), which
  azure-identity's ``ManagedIdentityCredential`` asks for a token;
- :class:`MetadataServer`: the GCE metadata server (``GCE_METADATA_HOST``,
  ``GCE_METADATA_IP``), which google-auth's application default credentials
  ask for the default service account's token.

Each records what it was asked (:attr:`JsonEndpoint.requests`) and can be
told to fail token requests (:attr:`JsonEndpoint.fail_token_with`).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from .ports import LOOPBACK

TOKEN_LIFETIME_SECONDS = 3600


@attrs.frozen
class Asked:
    """One request an endpoint answered."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Names in lower case."""
    status: int


class JsonEndpoint:
    """A threaded HTTP server on 127.0.0.1 answering GETs with JSON through
    :meth:`answer`; a context manager."""

    def __init__(self) -> None:
        self.fail_token_with: int | None = None
        """Answer token requests with this status (and an error body) when set."""
        self._asked: list[Asked] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                headers = {key.lower(): value for key, value in self.headers.items()}
                if endpoint.fail_token_with is not None and "token" in url.path:
                    status, body, extra = endpoint.fail_token_with, {"error": "test failure"}, {}
                else:
                    status, body, extra = endpoint.answer(url.path, query, headers)
                with endpoint._lock:
                    endpoint._asked.append(Asked(url.path, query, headers, status))
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.host = f"{LOOPBACK}:{self._server.server_address[1]}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[Asked]:
        with self._lock:
            return list(self._asked)

    def answer(
        self, path: str, query: dict[str, list[str]], headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON body (or text) and extra headers for one GET."""
        raise NotImplementedError

    def __enter__(self) -> JsonEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


class ManagedIdentityEndpoint(JsonEndpoint):
    """App Service's managed-identity endpoint: ``GET ?api-version=2019-08-01
    &resource=R[&client_id=C]`` with ``X-IDENTITY-HEADER``; answers
    :attr:`access_token` for any resource and identity."""

    def __init__(self) -> None:
        super().__init__()
        self.identity_header = secrets.token_hex(16)
        self.access_token = f"aad-{secrets.token_urlsafe(24)}"

    @property
    def env(self) -> dict[str, str]:
        """What makes azure-identity's ``ManagedIdentityCredential`` ask here."""
        return {
            "IDENTITY_ENDPOINT": f"{self.url}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
        }

    def answer(
        self, path: str, query: dict[str, list[str]], headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        if headers.get("x-identity-header") != self.identity_header:
            return 401, {"statusCode": 401, "message": "wrong X-IDENTITY-HEADER"}, {}
        resource = query.get("resource", [""])[0]
        return (
            200,
            {
                "access_token": self.access_token,
                "expires_on": str(int(time.time()) + TOKEN_LIFETIME_SECONDS),
                "resource": resource,
                "token_type": "Bearer",
            },
            {},
        )

    def resources(self) -> list[tuple[str, str | None]]:
        """(resource, client_id) of every token request, in order."""
        return [
            (asked.query.get("resource", [""])[0], asked.query.get("client_id", [None])[0])
            for asked in self.requests
        ]


class MetadataServer(JsonEndpoint):
    """The GCE metadata server's service-account endpoints, for
    ``Metadata-Flavor: Google`` requests only."""

    EMAIL = "builder@test-project.iam.gserviceaccount.com"
    ACCOUNT = "/computeMetadata/v1/instance/service-accounts/default/"

    def __init__(self) -> None:
        super().__init__()
        self.access_token = f"ya29.{secrets.token_urlsafe(24)}"

    @property
    def env(self) -> dict[str, str]:
        """What makes google-auth's default credentials ask here (and nowhere else)."""
        return {
            "GCE_METADATA_HOST": self.host,
            "GCE_METADATA_IP": self.host,
            "GOOGLE_CLOUD_PROJECT": "test-project",
            "CLOUDSDK_CONFIG": "/nonexistent",
        }

    def answer(
        self, path: str, query: dict[str, list[str]], headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        flavor = {"Metadata-Flavor": "Google"}
        if headers.get("metadata-flavor") != "Google":
            return 403, "missing Metadata-Flavor", flavor
        if path in ("/", "/computeMetadata/v1/", "/computeMetadata/v1/project/project-id"):
            return 200, "test-project", flavor
        if path == self.ACCOUNT:
            return (
                200,
                {"email": self.EMAIL, "scopes": ["cloud-platform"], "aliases": ["default"]},
                flavor,
            )
        if path == f"{self.ACCOUNT}token":
            body = {
                "access_token": self.access_token,
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "token_type": "Bearer",
            }
            return 200, body, flavor
        if path == f"{self.ACCOUNT}email":
            return 200, self.EMAIL, flavor
        return 404, "not found", flavor
