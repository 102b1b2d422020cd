"""A transport wrapper: counts the requests a command sends, by method and
status (or ``failed``), and when the transport is closed adds them to the
JSON file named by ``$REGISTRY_IMAGE_REQUEST_COUNTS`` (nothing without it).

It wraps whatever transport is in use and changes nothing it passes on:
bytes, errors and ``close`` go through untouched.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from registry_image.api import (
    Body,
    Response,
    Transport,
    TransportError,
    TransportSettings,
    TransportWrapper,
    WrappingTransport,
    hookimpl,
)

COUNTS_ENV = "REGISTRY_IMAGE_REQUEST_COUNTS"


class CountingTransport(WrappingTransport):
    def __init__(self, inner: Transport, settings: TransportSettings) -> None:
        super().__init__(inner)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        allow_redirects: bool = True,
    ) -> Response:
        try:
            response = self.inner.request(
                method, url, headers=headers, body=body, allow_redirects=allow_redirects
            )
        except TransportError:
            self._count(f"{method} failed")
            raise
        self._count(f"{method} {response.status}")
        return response

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def close(self) -> None:
        self.inner.close()
        target = os.environ.get(COUNTS_ENV)
        if target and self.counts:
            path = Path(target)
            total: Counter[str] = Counter(json.loads(path.read_text()) if path.exists() else {})
            total.update(self.counts)
            path.write_text(json.dumps(dict(sorted(total.items()))))
            self.counts.clear()


@hookimpl
def registry_image_transport_wrappers() -> list[TransportWrapper]:
    return [CountingTransport]
