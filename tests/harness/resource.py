"""Run the resource exactly as Concourse does: a subprocess with the JSON
request on stdin, the result on stdout, logs on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import attrs

from .registry import RunningRegistry

NO_NETWORK: tuple[str, ...] = (
    ("unshare", "--net") if os.geteuid() == 0 else ("unshare", "--net", "--map-current-user")
)
"""A ``prefix`` running the command in an empty network namespace, as root
or as an ordinary user (who needs a user namespace for it)."""

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
NO_PROXIES: dict[str, str] = dict.fromkeys(PROXY_VARIABLES, "")
"""An ``env`` setting no proxy (empty values count as unset), for commands
run in a private network, where no proxy from outside could be reached."""


@attrs.frozen
class ResourceRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The stdout document; fails the test with stderr if there is none."""
        assert self.returncode == 0, f"exit {self.returncode}: {self.stderr}"
        return json.loads(self.stdout)

    @property
    def error_line(self) -> str:
        """The one ``error: ...`` line a failure prints on stderr."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, f"expected one error line, got: {self.stderr!r}"
        return lines[0]


def run_resource(
    command: str,
    request: Mapping[str, Any] | str,
    *args: str,
    env: Mapping[str, str] | None = None,
    prefix: tuple[str, ...] = (),
    timeout: float = 300,
) -> ResourceRun:
    """``python -m registry_image.resource COMMAND ARGS`` with ``request`` on
    stdin (a dict is JSON-encoded; a string is sent as is). ``prefix``
    wraps the command, e.g. ``("unshare", "--net")``."""
    stdin = request if isinstance(request, str) else json.dumps(request)
    completed = subprocess.run(
        [*prefix, sys.executable, "-m", "registry_image.resource", command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return ResourceRun(completed.returncode, completed.stdout, completed.stderr)


def source_for(registry: RunningRegistry, repo: str, **fields: Any) -> dict[str, Any]:
    """A ``source`` for ``repo`` on ``registry``, with its credentials."""
    source: dict[str, Any] = {"repository": f"{registry.host}/{repo}"}
    if registry.credentials:
        source["username"], source["password"] = registry.credentials
    if registry.ca_pem:
        source["ca_certs"] = [registry.ca_pem]
    source.update(fields)
    return source
