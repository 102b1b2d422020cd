"""Layer compression: sniffed from magic bytes, undone as a bounded stream.

A layer's media type may lie (or be a vendor's own), so the first bytes
decide, as the Go resource does: ``1f 8b`` is gzip, ``28 b5 2f fd`` is zstd,
anything else is a plain tar. Each reader returns at most the bytes asked
for, so memory stays flat however well a layer compresses, and each fails
with ``LayerFormatError`` on corrupt or truncated data instead of silently
ending early.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import IO, Protocol, cast

import zstandard

from ..errors import ImageError

_fastest_zlib: ModuleType
try:  # ISA-L inflates about twice as fast as zlib, with the same interface
    from isal import isal_zlib as _fastest_zlib
except ImportError:  # pragma: no cover - isal is a dependency; kept for odd platforms
    _fastest_zlib = zlib


GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Compressed bytes pulled from the source per step, and plain bytes produced
# per step: together they bound the memory a layer needs, whatever its size
# or compression ratio.
INPUT_CHUNK = 64 * 1024
OUTPUT_CHUNK = 1024 * 1024
GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip header and trailer, not zlib's


class LayerFormatError(ImageError):
    """A layer's bytes are not the (compressed) tar they claim to be."""


class Readable(Protocol):
    """Anything with ``read(n)`` returning at most ``n`` bytes, ``b""`` at the end."""

    def read(self, n: int = -1, /) -> bytes: ...


class _Peeked:
    """``source`` with some bytes already read from it put back in front."""

    def __init__(self, head: bytes, source: Readable) -> None:
        self._head = head
        self._source = source

    def read(self, n: int = -1, /) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._source.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._source.read(n)


def _read_exactly(source: Readable, n: int) -> bytes:
    parts: list[bytes] = []
    remaining = n
    while remaining > 0:
        chunk = source.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def sniff(source: Readable) -> tuple[str, Readable]:
    """The compression of ``source`` (``"gzip"``, ``"zstd"`` or ``"none"``) and
    a reader that still yields every byte of it."""
    head = _read_exactly(source, len(ZSTD_MAGIC))
    if head.startswith(GZIP_MAGIC):
        kind = "gzip"
    elif head.startswith(ZSTD_MAGIC):
        kind = "zstd"
    else:
        kind = "none"
    return kind, _Peeked(head, source)


class _BufferedReader:
    """Serves reads of any size from output produced ``OUTPUT_CHUNK`` at a time."""

    def __init__(self) -> None:
        self._out = memoryview(b"")
        self._offset = 0

    def _produce(self) -> bytes:
        """The next plain bytes (at most ``OUTPUT_CHUNK``); ``b""`` at the end."""
        raise NotImplementedError

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            return b"".join(iter(lambda: self.read(OUTPUT_CHUNK), b""))
        if n == 0:
            return b""
        if self._offset >= len(self._out):
            produced = self._produce()
            if not produced:
                return b""
            self._out, self._offset = memoryview(produced), 0
        data = self._out[self._offset : self._offset + n]
        self._offset += len(data)
        return bytes(data)


class GzipReader(_BufferedReader):
    """A (multi-member) gzip stream, decompressed lazily.

    ``backend`` is ISA-L's zlib when installed, else zlib; either checks each
    member's CRC-32 and length, and a stream that ends inside a member is an
    error. Zero bytes after the last member (padding some tools
    add) are accepted; anything else after it is an error.
    """

    def __init__(self, source: Readable, backend: ModuleType = _fastest_zlib) -> None:
        super().__init__()
        self._source = source
        self._backend = backend
        self._inflate = backend.decompressobj(GZIP_WBITS)
        self._pending = b""  # compressed input not yet given to zlib
        self._done = False

    def _produce(self) -> bytes:
        while not self._done:
            if not self._pending:
                self._pending = self._source.read(INPUT_CHUNK)
                if not self._pending:
                    raise LayerFormatError("truncated gzip stream")
            try:
                data: bytes = self._inflate.decompress(self._pending, OUTPUT_CHUNK)
            except self._backend.error as exc:
                raise LayerFormatError(f"corrupt gzip data ({exc})") from None
            self._pending = self._inflate.unconsumed_tail
            if self._inflate.eof:
                self._next_member()
            if data:
                return data
        return b""

    def _next_member(self) -> None:
        """After a member's end: start the next one, or check the rest is padding."""
        rest = self._inflate.unused_data or self._source.read(INPUT_CHUNK)
        if len(rest) == 1:  # a magic number split between two reads
            rest += self._source.read(INPUT_CHUNK)
        if rest.startswith(GZIP_MAGIC):
            self._inflate = self._backend.decompressobj(GZIP_WBITS)
            self._pending = rest
            return
        while rest:
            if rest.strip(b"\0"):
                raise LayerFormatError("unexpected data after the end of the gzip stream")
            rest = self._source.read(INPUT_CHUNK)
        self._done = True


class ZstdReader(_BufferedReader):
    """A zstd stream of one or more frames (skippable frames included),
    decompressed lazily with bounded output.

    zstandard's stream reader takes a stream cut inside a frame for a clean
    end, so frame boundaries are tracked here: ending inside a frame is an
    error.
    """

    def __init__(self, source: Readable) -> None:
        super().__init__()
        self._frames = _ZstdFrameTracker()
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            cast("IO[bytes]", _Tapped(source, self._frames.feed)),
            read_size=INPUT_CHUNK,
            read_across_frames=True,
            closefd=False,
        )

    def _produce(self) -> bytes:
        try:
            data: bytes = self._reader.read(OUTPUT_CHUNK)
        except zstandard.ZstdError as exc:
            raise LayerFormatError(f"corrupt zstd data ({exc})") from None
        if not data:
            self._frames.finish()
        return data


class _Tapped:
    """A reader that returns full reads (zstandard misreads short ones as the
    end of a frame) and shows every chunk it passes on to ``tap``."""

    def __init__(self, source: Readable, tap: _Tap) -> None:
        self._source = source
        self._tap = tap

    def read(self, n: int = -1, /) -> bytes:
        data = self._source.read() if n < 0 else _read_exactly(self._source, n)
        self._tap(data)
        return data


class _Tap(Protocol):
    def __call__(self, data: bytes, /) -> None: ...


_ZSTD_SKIPPABLE_MIN = 0x184D2A50
_ZSTD_SKIPPABLE_MAX = 0x184D2A5F
_ZSTD_FRAME_MAGIC = int.from_bytes(ZSTD_MAGIC, "little")


class _ZstdFrameTracker:
    """Walks zstd frame and block headers (not their contents) to know
    whether the stream ended on a frame boundary.

    Format (RFC 8878): a frame is magic, a frame header whose first byte says
    its length, blocks each with a 3-byte header (last flag, type, size; an
    RLE block carries one byte), and a 4-byte checksum when the header says
    so. A skippable frame is a magic in ``0x184D2A50..5F`` and a 4-byte size.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip = 0  # bytes to pass over before the next header
        self._state = "magic"
        self._checksum = False

    def feed(self, data: bytes) -> None:
        if self._skip >= len(data) and not self._buffer:
            self._skip -= len(data)
            return
        self._buffer += data
        while self._step():
            pass

    def _step(self) -> bool:
        """Consume one header from the buffer; False when more bytes are needed."""
        if self._skip:
            taken = min(self._skip, len(self._buffer))
            del self._buffer[:taken]
            self._skip -= taken
            if self._skip:
                return False
        buffer = self._buffer
        if self._state == "magic":
            if len(buffer) < 4:
                return False
            magic = int.from_bytes(buffer[:4], "little")
            if magic == _ZSTD_FRAME_MAGIC:
                self._state = "frame-header"
                del buffer[:4]
                return True
            if _ZSTD_SKIPPABLE_MIN <= magic <= _ZSTD_SKIPPABLE_MAX:
                if len(buffer) < 8:
                    return False
                self._skip = int.from_bytes(buffer[4:8], "little")
                del buffer[:8]
                return True
            raise LayerFormatError("corrupt zstd data (no frame magic where one should start)")
        if self._state == "frame-header":
            if not buffer:
                return False
            descriptor = buffer[0]
            single_segment = descriptor & 0x20
            size_flag = descriptor >> 6
            dict_id_flag = descriptor & 0x03
            self._checksum = bool(descriptor & 0x04)
            content_size = (1, 2, 4, 8)[size_flag] if size_flag or single_segment else 0
            length = 1 + (0 if single_segment else 1) + (0, 1, 2, 4)[dict_id_flag] + content_size
            if len(buffer) < length:
                return False
            del buffer[:length]
            self._state = "block"
            return True
        # self._state == "block"
        if len(buffer) < 3:
            return False
        header = int.from_bytes(buffer[:3], "little")
        del buffer[:3]
        last, block_type, size = header & 1, (header >> 1) & 3, header >> 3
        if block_type == 3:
            raise LayerFormatError("corrupt zstd data (reserved block type)")
        self._skip = 1 if block_type == 1 else size
        if last:
            self._skip += 4 if self._checksum else 0
            self._state = "magic"
        return True

    def finish(self) -> None:
        """At the end of the stream: fail unless it ended between frames."""
        if self._state != "magic" or self._skip or self._buffer:
            raise LayerFormatError("truncated zstd stream")


def decompressed(source: Readable) -> tuple[str, Readable]:
    """The compression sniffed from ``source`` and a reader of its plain bytes."""
    kind, peeked = sniff(source)
    if kind == "gzip":
        return kind, GzipReader(peeked)
    if kind == "zstd":
        return kind, ZstdReader(peeked)
    return kind, peeked
