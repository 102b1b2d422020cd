"""Hashing, and verifying streams to the last byte (``Digest`` itself is in ``oci``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from .errors import DigestMismatchError
from .oci import Digest

__all__ = ["Digest", "VerifyingReader", "sha256_of"]


def sha256_of(data: bytes) -> Digest:
    """The ``sha256:...`` digest of some bytes."""
    return Digest(f"sha256:{hashlib.sha256(data).hexdigest()}")


class VerifyingReader:
    """A file-like reader over byte chunks that hashes everything it passes on.

    ``verify()`` drains whatever the consumer did not read (a tar reader stops
    at the end-of-archive blocks, well before the end of a compressed stream)
    and raises ``DigestMismatchError`` unless the whole blob hashes to the
    expected digest and has the expected size.
    """

    def __init__(
        self, chunks: Iterator[bytes], expected: Digest, size: int | None, what: str
    ) -> None:
        self._chunks = chunks
        self._expected = expected
        self._size = size
        self._what = what
        self._hash = expected.hasher()
        # The current chunk and how much of it was handed out: slicing a
        # memoryview copies only what is returned, so reads of any size cost
        # O(n) overall (no buffer concatenation).
        self._chunk = memoryview(b"")
        self._offset = 0
        self.bytes_read = 0

    def _next_chunk(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._hash.update(chunk)
                self.bytes_read += len(chunk)
                self._chunk, self._offset = memoryview(chunk), 0
                return True
        return False

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all the rest when ``n < 0``); fewer only at the end."""
        parts: list[bytes] = []
        wanted = n if n is not None and n >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset >= len(self._chunk) and not self._next_chunk():
                break
            end = len(self._chunk) if wanted is None else self._offset + wanted
            part = self._chunk[self._offset : end]
            self._offset += len(part)
            if wanted is not None:
                wanted -= len(part)
            parts.append(bytes(part))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readable(self) -> bool:
        return True

    def verify(self) -> None:
        self._chunk, self._offset = memoryview(b""), 0
        for chunk in self._chunks:
            self._hash.update(chunk)
            self.bytes_read += len(chunk)
        actual = f"{self._expected.algorithm}:{self._hash.hexdigest()}"
        if self._size is not None and self.bytes_read != self._size:
            raise DigestMismatchError(
                f"{self._what}: expected {self._size} bytes, got {self.bytes_read}"
            )
        if actual != str(self._expected):
            raise DigestMismatchError(f"{self._what}: content hashes to {actual}")
