"""Where an entry lands: names cleaned lexically, parents resolved inside the root.

Confinement is about where an entry is *written*, never about where a
symlink *points*. So:

- a name is cleaned lexically (``a/./b//c`` -> ``a/b/c``, a leading ``/`` is
  dropped); a ``..`` that would climb above the root is refused;
- the directories above an entry are resolved one component at a time from an
  open descriptor of the root, with ``lstat`` and ``O_NOFOLLOW``: a symlink
  met on the way is followed *inside the root* (an absolute target starts
  again at the root, ``..`` stops at the root), as ``chroot`` would, and as
  umoci and Docker do;
- the last component of a name is never followed: it is replaced.

No path string is ever handed to the kernel relative to anything but a
directory descriptor this module opened without following a symlink, so no
write, delete or chmod can land outside the root, whatever earlier entries
or layers made of the tree.
"""

from __future__ import annotations

import os
import stat
from collections import OrderedDict

import attrs

from ..errors import ImageError, UnsafeLayerError

# As Linux's MAXSYMLINKS for one lookup (and securejoin's limit).
MAX_SYMLINK_FOLLOWS = 40
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Resolved parent directories kept open; tar entries come grouped by
# directory, so a few dozen catch nearly every lookup.
CACHE_SIZE = 64
IMPLICIT_DIR_MODE = 0o755


class EntryError(ImageError):
    """An entry cannot be applied; the applier adds the layer and entry name."""


class UnsafeEntryError(UnsafeLayerError):
    """An entry tries to reach outside the root; the applier adds the layer and name."""


def clean_name(name: str) -> tuple[str, ...]:
    """The components of a tar name relative to the root, cleaned lexically.

    ``()`` is the root itself (``.``, ``./``, ``/``). A ``..`` above the root
    raises ``UnsafeEntryError``; a NUL byte raises ``EntryError``.
    """
    if "\0" in name:
        raise EntryError("name contains a NUL byte")
    parts: list[str] = []
    for component in name.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            if not parts:
                raise UnsafeEntryError("name climbs out of the root with '..'")
            parts.pop()
        else:
            parts.append(component)
    return tuple(parts)


@attrs.frozen
class Located:
    """An open directory under the root and its symlink-free path from the root."""

    fd: int
    path: tuple[str, ...]

    @property
    def path_text(self) -> str:
        return "/".join(self.path)

    def child_text(self, name: str) -> str:
        return f"{self.path_text}/{name}" if self.path else name


class Root:
    """An open root directory that resolves parent paths safely.

    Resolved directories are cached (bounded); ``invalidate()`` must be called
    after anything under the root is removed or replaced, and ``release()``
    once the caller is done with the descriptors it was handed (descriptors
    dropped from the cache are closed only then, so a caller never uses a
    closed or reused descriptor).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.fd = os.open(path, DIR_FLAGS)
        self._cache: OrderedDict[tuple[str, ...], Located] = OrderedDict()
        self._retired: list[int] = []

    def close(self) -> None:
        self.invalidate()
        self.release()
        os.close(self.fd)

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def top(self) -> Located:
        return Located(self.fd, ())

    def invalidate(self) -> None:
        """Forget every resolution: something under the root was removed."""
        self._retired.extend(located.fd for located in self._cache.values())
        self._cache.clear()

    def release(self) -> None:
        """Close descriptors dropped from the cache since the last release."""
        retired, self._retired = self._retired, []
        for fd in retired:
            os.close(fd)

    def locate(self, parts: tuple[str, ...], *, create: bool) -> Located | None:
        """The directory ``parts`` names, resolved inside the root.

        Missing directories are made (mode 0755, the parent's mtime kept) when
        ``create``, else the answer is None. A component that exists and is
        neither a directory nor a symlink raises ``EntryError``.
        """
        if not parts:
            return self.top
        cached = self._cache.get(parts)
        if cached is not None:
            self._cache.move_to_end(parts)
            return cached
        located = self._walk(parts, create)
        if located is not None and located.fd != self.fd:
            self._cache[parts] = located
            if len(self._cache) > CACHE_SIZE:
                _, evicted = self._cache.popitem(last=False)
                self._retired.append(evicted.fd)
        return located

    def _walk(self, parts: tuple[str, ...], create: bool) -> Located | None:
        fds: list[int] = []
        names: list[str] = []
        pending = list(reversed(parts))
        follows = 0
        try:
            while pending:
                component = pending.pop()
                if component in ("", "."):
                    continue
                if component == "..":
                    if names:
                        names.pop()
                        os.close(fds.pop())
                    continue
                parent = fds[-1] if fds else self.fd
                try:
                    info = os.lstat(component, dir_fd=parent)
                except FileNotFoundError:
                    if not create:
                        return None
                    make_dir_keeping_mtime(parent, component, IMPLICIT_DIR_MODE)
                else:
                    if stat.S_ISLNK(info.st_mode):
                        follows += 1
                        if follows > MAX_SYMLINK_FOLLOWS:
                            raise EntryError("too many levels of symbolic links")
                        target = os.readlink(component, dir_fd=parent)
                        if target.startswith("/"):
                            for fd in fds:
                                os.close(fd)
                            fds.clear()
                            names.clear()
                        pending.extend(reversed(target.split("/")))
                        continue
                    if not stat.S_ISDIR(info.st_mode):
                        shown = "/".join([*names, component])
                        raise EntryError(f"{shown} is not a directory")
                fds.append(os.open(component, DIR_FLAGS, dir_fd=parent))
                names.append(component)
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        if not fds:
            return self.top
        for fd in fds[:-1]:
            os.close(fd)
        return Located(fds[-1], tuple(names))


def make_dir_keeping_mtime(parent: int, name: str, mode: int) -> None:
    """``mkdir`` in ``parent`` without changing the parent's times."""
    before = os.fstat(parent)
    os.mkdir(name, mode, dir_fd=parent)
    os.utime(parent, ns=(before.st_atime_ns, before.st_mtime_ns))
