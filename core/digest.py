"""Content digests: parsing, hashing, and verifying streams to the last byte."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import attrs

from .errors import DigestMismatchError, ImageError

_HEX_LENGTH = {"sha256": 64, "sha512": 128}
_DIGEST = re.compile(r"^(sha256|sha512):([a-f0-9]+)$")


@attrs.frozen
class Digest:
    """A validated ``algorithm:hex`` digest. The hex part is safe to use as a
    file name (``blobs/sha256/<hex>``)."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        match = _DIGEST.match(text) if isinstance(text, str) else None
        if not match or len(match.group(2)) != _HEX_LENGTH[match.group(1)]:
            raise ImageError(f"invalid digest {text!r}: expected sha256:<64 hex digits>")
        return cls(match.group(1), match.group(2))

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def sha256_of(data: bytes) -> str:
    """The ``sha256:...`` digest of some bytes."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


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
        self._buffer = b""
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._hash.update(chunk)
            self.bytes_read += len(chunk)
            self._buffer += chunk
        if n < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def readable(self) -> bool:
        return True

    def verify(self) -> None:
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
