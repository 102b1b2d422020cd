"""A layer's tar stream as ``tarfile`` reads it fastest: forward only.

``tarfile``'s streaming mode (``r|``) pulls the stream through a 10 KiB
buffer it re-joins and re-slices on every read, and hands each member's
data out through two more wrappers: for a layer of thousands of small
files that is a large share of the time spent. Its random-access mode
(``r:``) reads headers and data straight from the file object, seeking
only forward (to skip padding and unread data), so ``ForwardReader``
gives it that: a stream with ``tell``, and ``seek`` to any position not
behind the current one (by reading and discarding). A backward seek is an
error, never done silently.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zlib
from typing import TypeVar

from .compression import Readable

READ_SIZE = 1024 * 1024
_Info = TypeVar("_Info", bound=tarfile.TarInfo)


class ForwardReader:
    """``source`` (whose first bytes, ``head``, were already read from it)
    as a file that can be read, told and sought forward."""

    def __init__(self, head: bytes, source: Readable) -> None:
        self._buffer = head
        self._offset = 0
        self._position = 0
        self._source = source

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def read(self, n: int | None = -1, /) -> bytes:
        """Up to ``n`` bytes (all the rest when ``n`` is negative): fewer
        only at the end of the stream."""
        buffer, offset = self._buffer, self._offset
        if n is not None and n >= 0 and offset + n <= len(buffer):
            self._offset = offset + n
            self._position += n
            return buffer[offset : offset + n]
        wanted = -1 if n is None or n < 0 else n
        parts = [buffer[offset:]]
        got = len(buffer) - offset
        self._buffer, self._offset = b"", 0
        while wanted < 0 or got < wanted:
            chunk = self._source.read(READ_SIZE)
            if not chunk:
                break
            if wanted >= 0 and len(chunk) > wanted - got:
                take = wanted - got
                parts.append(chunk[:take])
                self._buffer, self._offset = chunk, take
                got = wanted
                break
            parts.append(chunk)
            got += len(chunk)
        self._position += got
        return b"".join(parts)

    def seek(self, position: int, whence: int = io.SEEK_SET, /) -> int:
        """Move forward to ``position`` (or to the end of the stream, if
        that comes first); ``OSError`` for any other move."""
        if whence == io.SEEK_CUR:
            position += self._position
        elif whence != io.SEEK_SET:
            raise OSError("a layer stream can only be sought forward")
        if position < self._position:
            raise OSError("a layer stream can only be sought forward")
        while self._position < position:
            if not self.read(min(position - self._position, READ_SIZE)):
                break
        return self._position


# The ustar header block: name, mode, uid, gid, size, mtime, chksum, type,
# linkname, magic, version, uname, gname, devmajor, devminor, prefix.
_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s6s2s32s32s8s8s155s12x")
_CHKSUM_FIELD = slice(148, 156)
_HALF_BLOCK = tarfile.BLOCKSIZE // 2


def _octal(field: bytes) -> int:
    """An octal number field as ``tarfile.nti`` reads it; ``ValueError``
    for anything else (base-256 numbers, junk): then ``tarfile`` decides."""
    if field[0] in (0o200, 0o377):
        raise ValueError("base-256 number")
    end = field.find(b"\0")
    if end != -1:
        field = field[:end]
    return int(field.strip() or b"0", 8)


class _Numbers(dict[bytes, int]):
    """Number fields already read, by their bytes: modes, owners, mtimes and
    device numbers repeat from header to header, so most fields are one
    dict lookup. Bounded: past ``LIMIT`` fields, new ones are not kept."""

    LIMIT = 4096

    def __missing__(self, field: bytes) -> int:
        value = _octal(field)
        if len(self) < self.LIMIT:
            self[field] = value
        return value


_numbers = _Numbers()


def _byte_sum(block: bytes | bytearray) -> int:
    """The sum of a 512-byte block's bytes, as ``sum(block)``, in C: the
    low half of an Adler-32 is 1 + the sum of the bytes modulo 65,521,
    exact for 256 bytes (at most 65,280)."""
    view = memoryview(block)
    low = zlib.adler32(view[:_HALF_BLOCK]) & 0xFFFF
    high = zlib.adler32(view[_HALF_BLOCK:]) & 0xFFFF
    return low + high - 2


def _text(field: bytes, encoding: str, errors: str) -> str:
    if not field[0]:
        return ""
    end = field.find(b"\0")
    if end != -1:
        field = field[:end]
    return field.decode(encoding, errors)


def parse_header(
    cls: type[_Info], buf: bytes | bytearray, encoding: str, errors: str
) -> _Info | None:
    """``cls.frombuf(buf, ...)`` as ``tarfile`` computes it, for the common
    header: octal numbers, the unsigned checksum, no old GNU sparse map.
    None for anything else (an end-of-archive block, a bad checksum, ...):
    the caller then lets ``tarfile`` parse it, errors included."""
    if len(buf) != tarfile.BLOCKSIZE:
        return None
    fields = _HEADER.unpack(buf)
    kind = fields[7]
    if kind == tarfile.GNUTYPE_SPARSE:
        return None
    try:
        mode, uid, gid, size, mtime, chksum, devmajor, devminor = map(
            _numbers.__getitem__, fields[1:7] + fields[13:15]
        )
    except ValueError:
        return None
    if chksum != 256 + _byte_sum(buf) - sum(buf[_CHKSUM_FIELD]):
        return None
    obj = cls()
    obj.name = _text(fields[0], encoding, errors)
    obj.mode, obj.uid, obj.gid, obj.size, obj.mtime = mode, uid, gid, size, mtime
    obj.chksum = chksum
    obj.type = kind
    obj.linkname = _text(fields[8], encoding, errors)
    obj.uname = _text(fields[11], encoding, errors)
    obj.gname = _text(fields[12], encoding, errors)
    obj.devmajor, obj.devminor = devmajor, devminor
    prefix = _text(fields[15], encoding, errors)
    # As tarfile: a V7 directory is a regular file named with a trailing
    # slash; directories lose trailing slashes; ustar's prefix is prepended.
    if obj.type == tarfile.AREGTYPE and obj.name.endswith("/"):
        obj.type = tarfile.DIRTYPE
    if obj.isdir():
        obj.name = obj.name.rstrip("/")
    if prefix and obj.type not in tarfile.GNU_TYPES:
        obj.name = prefix + "/" + obj.name
    return obj
