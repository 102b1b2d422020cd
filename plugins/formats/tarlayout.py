"""A tar archive laid out before its members' data is written, for the
``oci`` format's ``image.tar``."""

from __future__ import annotations

import tarfile
from typing import BinaryIO


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    return info


class TarLayout:
    """Writes a tar archive as ``tarfile`` does (PAX format), except that a
    member's data may be left as a hole to fill later (``reserve``)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.offset = 0

    def _header(self, name: str, size: int) -> None:
        header = _member(name, size).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        self._out.write(header)
        self.offset += len(header)

    def _padding(self, size: int) -> int:
        return -size % tarfile.BLOCKSIZE

    def add(self, name: str, data: bytes) -> None:
        """A member holding ``data``."""
        self._header(name, len(data))
        self._out.write(data + bytes(self._padding(len(data))))
        self.offset += len(data) + self._padding(len(data))

    def reserve(self, name: str, size: int) -> int:
        """A member of ``size`` bytes whose data is written later; its offset."""
        self._header(name, size)
        start = self.offset
        self.offset += size + self._padding(size)
        self._out.seek(self.offset)
        return start

    def close(self) -> None:
        """The end-of-archive blocks, padded to a whole record (as ``tarfile``)."""
        end = bytes(2 * tarfile.BLOCKSIZE)
        self.offset += len(end)
        end += bytes(-self.offset % tarfile.RECORDSIZE)
        self._out.write(end)
