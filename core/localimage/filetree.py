"""Read-only access to the files of a directory or of an uncompressed tar.

An OCI layout may come as a directory or as a tar file, and a ``docker save``
tarball is a tar: the readers see both through one interface, find a member
by its slash-separated name, read small members whole and open big ones at
an offset without reading what comes before.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from pathlib import Path
from typing import BinaryIO, Protocol

import attrs

from ..errors import ImageError

MAX_LINK_HOPS = 16


class Section(io.RawIOBase):
    """The ``length`` bytes of ``file`` from ``start`` on, as a stream."""

    def __init__(self, file: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        self._file = file
        self._remaining = length
        file.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._remaining)
        if wanted <= 0:
            return 0
        count = self._file.readinto(view[:wanted])  # type: ignore[attr-defined]
        if not count:
            raise ImageError("file ended early (truncated or changed while reading)")
        self._remaining -= count
        return int(count)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


@attrs.frozen
class Member:
    """One file of a tree: its size and how to open it at an offset."""

    name: str
    size: int
    path: Path
    start: int = 0

    def open(self, offset: int = 0) -> BinaryIO:
        """A stream over the member's bytes from ``offset`` on."""
        if not 0 <= offset <= self.size:
            raise ValueError(f"offset {offset} outside {self.name} ({self.size} bytes)")
        file = self.path.open("rb")
        section = Section(file, self.start + offset, self.size - offset)
        return io.BufferedReader(section, buffer_size=256 * 1024)

    def read(self, limit: int) -> bytes:
        """The whole member, refusing one larger than ``limit`` bytes."""
        if self.size > limit:
            raise ImageError(f"{self.name} is {self.size} bytes, more than the {limit} expected")
        with self.open() as stream:
            return stream.read()


class FileTree(Protocol):
    """Files found by slash-separated relative names."""

    description: str

    def find(self, name: str) -> Member | None:
        """The regular file ``name`` (links followed), or None."""


def _normalise(name: str) -> str | None:
    """``name`` as a clean relative path; ``..`` cannot climb above the
    top (it is clamped there, as for an absolute path). None for the top."""
    clean = posixpath.normpath("/" + name).lstrip("/")
    return clean or None


class DirTree:
    """The files under a directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def find(self, name: str) -> Member | None:
        clean = _normalise(name)
        if clean is None:
            return None
        path = self.root / clean
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        return Member(clean, stat.st_size, path)


class TarTree:
    """The members of an uncompressed tar file, indexed once by name; symbolic
    and hard links between members are followed (``docker save`` writes some)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)
        self._members: dict[str, tarfile.TarInfo] = {}
        try:
            with tarfile.open(path, mode="r:") as tar:
                for info in tar:
                    clean = _normalise(info.name)
                    if clean is not None:
                        self._members[clean] = info
        except (tarfile.TarError, OSError) as exc:
            raise ImageError(
                f"{path} is not a readable tar file ({_tar_problem(path, exc)})"
            ) from None

    def names(self) -> list[str]:
        return list(self._members)

    def find(self, name: str) -> Member | None:
        clean = _normalise(name)
        for _ in range(MAX_LINK_HOPS):
            if clean is None:
                return None
            info = self._members.get(clean)
            if info is None:
                return None
            if info.issym():
                clean = _normalise(posixpath.join(posixpath.dirname(clean), info.linkname))
            elif info.islnk():
                clean = _normalise(info.linkname)
            elif info.isreg():
                if info.sparse:
                    raise ImageError(f"{self.path}: sparse member {clean} is not supported")
                return Member(clean, info.size, self.path, info.offset_data)
            else:
                return None
        raise ImageError(f"{self.path}: too many links to follow for {name}")


def _tar_problem(path: Path, exc: BaseException) -> str:
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except OSError as error:
        return os.strerror(error.errno or 0) if error.errno else str(error)
    if magic.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed; give the uncompressed tar"
    if magic == b"\x28\xb5\x2f\xfd":
        return "it is zstd-compressed; give the uncompressed tar"
    return str(exc) or type(exc).__name__
