"""An ``ImageSource`` over blobs in memory, for running formats without a registry.

It verifies what it serves exactly as the registry client does, can serve
damaged blob contents under their original digests, and records which blobs
were opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from registry_image.core.digest import Digest, VerifyingReader, sha256_of
from registry_image.core.errors import DigestMismatchError, NotFoundError
from registry_image.core.registry import Manifest

CHUNK = 64 * 1024


class MemorySource:
    """Manifests and blobs by digest."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = dict(blobs)
        self.opened: list[str] = []

    @classmethod
    def from_layout(cls, layout: Path) -> MemorySource:
        """Every blob of an OCI image layout."""
        directory = layout / "blobs" / "sha256"
        return cls({f"sha256:{path.name}": path.read_bytes() for path in directory.iterdir()})

    def damaged(self, digests: set[str]) -> MemorySource:
        """A copy serving different bytes (same size) for ``digests``."""
        blobs = dict(self.blobs)
        for digest in digests:
            data = bytearray(blobs[digest])
            data[len(data) // 2] ^= 0xFF
            blobs[digest] = bytes(data)
        return MemorySource(blobs)

    def truncated(self, digests: set[str]) -> MemorySource:
        """A copy serving only the first half of ``digests``' bytes, as a
        connection cut short would."""
        blobs = dict(self.blobs)
        for digest in digests:
            blobs[digest] = blobs[digest][: len(blobs[digest]) // 2]
        return MemorySource(blobs)

    def get_manifest(self, reference: str) -> Manifest:
        try:
            content = self.blobs[reference]
        except KeyError:
            raise NotFoundError(f"manifest {reference} not found") from None
        if sha256_of(content) != reference:
            raise DigestMismatchError(f"manifest {reference} hashes to {sha256_of(content)}")
        media_type = json.loads(content).get("mediaType", "")
        return Manifest(media_type=media_type, digest=reference, content=content)

    @contextmanager
    def open_blob(self, digest: str, size: int | None = None) -> Iterator[VerifyingReader]:
        try:
            data = self.blobs[digest]
        except KeyError:
            raise NotFoundError(f"blob {digest} not found") from None
        self.opened.append(digest)
        chunks = (data[offset : offset + CHUNK] for offset in range(0, len(data), CHUNK))
        yield VerifyingReader(chunks, Digest.parse(digest), size, what=f"blob {digest}")
