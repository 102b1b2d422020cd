"""Apply layer tarballs to a root directory, in order, safely.

Semantics (those of the OCI image spec, umoci and Docker):

- ``.wh.NAME`` deletes NAME from lower layers; ``.wh..wh..opq`` deletes the
  lower-layer contents of its directory. Whiteouts never touch what the same
  layer adds, whatever their position in the layer, so an opaque marker acts
  on the whole layer. Neither marker is created.
- An existing path is replaced by a new entry unless both are directories
  (then only the metadata changes), so a file replacing a symlink never
  writes through it.
- Hard links link to a path already in the root (absolute link names are
  resolved inside it); they are real links, so a link whose target a later
  layer deletes stays a regular file.
- Symlinks are created as written: absolute or dangling targets are fine,
  since nothing ever follows them out of the root (see ``paths``).
- FIFOs are created; device nodes never are (as the Go resource): they are
  skipped, and counted in the layer's log line.
- Extended attributes are set, except ``trusted.*`` (what an overlay
  filesystem built on the rootfs would obey) and any the process may not
  set (``EPERM``, ``ENOTSUP``...): those are dropped, logged at debug level.
- Sparse files are written sparse: holes are skipped, never filled with zeros.
- The entries and apparent bytes of a whole get are counted against its
  caps (``limits``) before anything is written.
- Owners are applied only as root, before the mode (chown clears setuid and
  setgid) and before extended attributes; mtimes are kept, and a
  directory's mtime is that of its own entry: adding or deleting children
  later never changes it.

Anything that would write, delete or chmod outside the root raises
``UnsafeLayerError`` naming the layer and entry; anything malformed raises
``ImageError``; a cap exceeded raises ``LimitError``, a full disk
``DiskFullError``. No entry is ever skipped silently.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import BinaryIO, Self, TypeVar, cast

import attrs

from ..diskfull import disk_full_error, is_disk_full
from ..errors import ImageError, Interrupted, ResourceError, UnsafeLayerError
from .compression import LayerFormatError, Readable
from .limits import UnpackBudget, UnpackLimits, active_limits
from .paths import DIR_FLAGS, EntryError, Located, Root, UnsafeEntryError, clean_name
from .pipeline import Pipe, PipeFailed
from .tarstream import ForwardReader, parse_header

log = logging.getLogger(__name__)
_T = TypeVar("_T")

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# aufs bookkeeping names (.wh..wh.plnk, .wh..wh.aufs): not whiteouts, never created.
AUFS_META_PREFIX = ".wh..wh."
COPY_BUFFER = 1024 * 1024
FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
XATTR_PREFIX = "SCHILY.xattr."
# Never applied: trusted.overlay.* would change what an overlay mount of the
# rootfs shows, and nothing else in trusted.* belongs to an image.
DROPPED_XATTR_PREFIXES = ("trusted.",)
# setxattr failures that mean "not allowed or not supported here": dropped.
# Anything else (a full disk) is an error.
_XATTR_REFUSED = frozenset(
    {errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL, errno.ERANGE}
    | {errno.E2BIG}
)
# Not in typeshed: a header with a bad checksum, a header cut short.
_CORRUPT_HEADER: tuple[type[Exception], ...] = (
    tarfile.InvalidHeaderError,  # type: ignore[attr-defined]
    tarfile.TruncatedHeaderError,  # type: ignore[attr-defined]
)


@attrs.define
class LayerStats:
    """What applying one layer did, for logs."""

    entries: int = 0
    bytes_written: int = 0
    whiteouts: int = 0
    skipped_devices: int = 0


class _StrictTarInfo(tarfile.TarInfo):
    """Makes a corrupt or cut-off header an error: ``tarfile`` alone takes it
    for the end of the archive, which would drop the rest of a layer."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        parsed = parse_header(cls, buf, encoding, errors)
        return parsed if parsed is not None else super().frombuf(buf, encoding, errors)

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile_)
        except _CORRUPT_HEADER as exc:
            raise LayerFormatError(f"corrupt tar header ({exc})") from None


class Unpacker:
    """Applies layers to ``root`` (an existing, normally empty directory).

    Use as a context manager; call ``apply_layer`` for each layer in order,
    then ``finish``. ``privileged`` (default: running as root) decides
    whether owners are applied. ``limits`` (default: ``active_limits()``)
    caps what all the layers together may unpack.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        privileged: bool | None = None,
        limits: UnpackLimits | None = None,
    ) -> None:
        self._root = Root(root)
        self.privileged = os.geteuid() == 0 if privileged is None else privileged
        self.budget = UnpackBudget(limits or active_limits())
        # Unprivileged, a read-only directory would stop later writes into it:
        # such directories stay writable until ``finish``.
        # path text -> (path, mode); forgotten when the path is removed.
        self._deferred_modes: dict[str, tuple[tuple[str, ...], int]] = {}
        self._upper: set[str] = set()
        # Directories this layer changed -> their (atime, mtime) before.
        self._dir_times: dict[str, tuple[int, int]] = {}
        self._umask = process_umask()
        self._layer = ""
        self._where = ""
        self._pipe: Pipe | None = None

    def __enter__(self) -> Unpacker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._root.close()

    # -- layers -------------------------------------------------------------

    def apply_layer(self, stream: Readable, layer: str) -> LayerStats:
        """Apply one uncompressed tar stream; ``layer`` names it in errors.

        Reads the tar up to its end-of-archive marker; the caller drains and
        verifies the rest of the stream.
        """
        self._layer = layer
        self._upper = set()
        stats = LayerStats()
        pipe = self._pipe = Pipe()
        try:
            try:
                self._read_entries(stream, pipe, stats)
            except PipeFailed:
                pass  # the applier's failure is raised below
            except BaseException as exc:
                # What was sent before the failing entry still lands, as it
                # would one entry at a time; a signal stops at once.
                if isinstance(exc, Exception) and not isinstance(exc, Interrupted):
                    pipe.close()
                else:
                    pipe.abort()
                if pipe.failure is None:
                    if isinstance(exc, Exception):
                        raise _in_context(exc, self._where) from None
                    raise
            pipe.close()
            if pipe.failure is not None:  # an earlier entry than the reader's error
                failed, where = pipe.failure
                if isinstance(failed, Exception):
                    raise _in_context(failed, where) from None
                raise failed
        finally:
            pipe.abort()
            self._upper = set()
            self._dir_times.clear()
        if stats.skipped_devices:
            log.info(
                "%s: %d device nodes skipped (never created, as the Go resource does)",
                layer,
                stats.skipped_devices,
            )
        return stats

    def _read_entries(self, stream: Readable, pipe: Pipe, stats: LayerStats) -> None:
        """Parse the tar and read each entry's data (this thread); the
        applying thread writes them, in order."""
        layer = self._layer
        self._where = f"{layer}: at the start"
        first = stream.read(tarfile.BLOCKSIZE)
        if not first:
            return  # an empty blob: an empty layer
        reader = ForwardReader(first, stream)
        with tarfile.open(
            fileobj=cast(BinaryIO, reader),
            mode="r:",
            tarinfo=_StrictTarInfo,
            encoding="utf-8",
            errors="surrogateescape",
        ) as tar:
            while (member := tar.next()) is not None:
                # tarfile keeps every member it read; memory must stay flat.
                tar.members.clear()  # type: ignore[attr-defined]
                self._where = where = f"{layer}: entry {member.name!r}"
                self.budget.add_entry()
                self._send(tar, reader, member, pipe, stats, where)
                self._where = f"{layer}: after entry {member.name!r}"
        pipe.send(self._restore_dir_times, self._where)

    def _send(
        self,
        tar: tarfile.TarFile,
        reader: ForwardReader,
        member: tarfile.TarInfo,
        pipe: Pipe,
        stats: LayerStats,
        where: str,
    ) -> None:
        """Queue one entry, and the data of a regular file, for the applier."""
        parts = clean_name(member.name)
        if not (parts and member.isreg() and not parts[-1].startswith(WHITEOUT_PREFIX)):
            pipe.send(partial(self._apply_entry, parts, member, stats, None), where)
            return
        self.budget.add_bytes(member.size)
        if member.sparse is not None:
            regions = _sparse_regions(member)
            pipe.send(partial(self._apply_entry, parts, member, stats, b""), where)
            _send_sparse(tar, member, regions, pipe)
            return
        # The data follows the header: read it straight from the stream
        # (tarfile then skips only the padding).
        reader.seek(member.offset_data)
        if member.size <= COPY_BUFFER:
            data = _read_data(reader, member.size)
            pipe.send(partial(self._apply_entry, parts, member, stats, data), where, len(data))
            return
        pipe.send(partial(self._apply_entry, parts, member, stats, None), where)
        left = member.size
        while left:
            chunk = _read_data(reader, min(COPY_BUFFER, left))
            pipe.send_chunk(chunk, len(chunk))
            left -= len(chunk)
        pipe.end_chunks()

    def finish(self) -> None:
        """Apply the directory modes held back while unprivileged."""
        for path, mode in reversed(self._deferred_modes.values()):
            located = self._root.locate(path, create=False)
            if located is not None:
                os.fchmod(located.fd, mode)
        self._deferred_modes.clear()
        self._root.invalidate()
        self._root.release()

    # -- entries ------------------------------------------------------------

    def _apply_entry(
        self,
        parts: tuple[str, ...],
        member: tarfile.TarInfo,
        stats: LayerStats,
        data: bytes | None,
    ) -> None:
        """Apply one entry (the applying thread). A regular file's data is
        ``data`` when it came whole, else the chunks that follow in the pipe."""
        try:
            self._dispatch(parts, member, stats, data)
        finally:
            self._root.release()
        stats.entries += 1

    def _dispatch(
        self,
        parts: tuple[str, ...],
        member: tarfile.TarInfo,
        stats: LayerStats,
        data: bytes | None,
    ) -> None:
        if not parts:
            self._apply_root(member)
            return
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            stats.whiteouts += 1
            self._whiteout(parts[:-1], base)
            return
        if member.ischr() or member.isblk():
            stats.skipped_devices += 1
            log.debug("%s: skipping device %s", self._layer, member.name)
            return
        parent = self._root.locate(parts[:-1], create=True)
        assert parent is not None
        self._mark_upper(parent, base)
        self._touch(parent.fd, parent.path_text)
        if member.isdir():
            self._make_dir(parent, base, member)
        elif member.isreg():
            stats.bytes_written += self._write_file(parent, base, member, data)
        elif member.issym():
            self._create(parent, base, lambda: os.symlink(member.linkname, base, dir_fd=parent.fd))
            self._set_link_metadata(parent.fd, base, member)
        elif member.islnk():
            self._hardlink(parent, base, member)
        elif member.isfifo():
            self._make_fifo(parent, base, member)
        else:
            raise EntryError(f"unsupported tar entry type {member.type!r}")

    def _create(self, parent: Located, base: str, make: Callable[[], _T]) -> _T:
        """``make()`` a new node at ``base`` (it fails when anything is
        there); when something is, replace it: remove it, then ``make()``."""
        try:
            return make()
        except FileExistsError:
            self._replace(parent, base)
            return make()

    def _touch(self, fd: int, path: str) -> None:
        """The directory ``fd`` (at ``path``) is about to change: its times
        are restored at the end of the layer (``_restore_dir_times``)."""
        if path not in self._dir_times:
            info = os.fstat(fd)
            self._dir_times[path] = (info.st_atime_ns, info.st_mtime_ns)

    def _retouch(self, fd: int, path: str) -> None:
        """The directory's own entry set its times: restore those."""
        if path in self._dir_times:
            del self._dir_times[path]
            self._touch(fd, path)

    def _restore_dir_times(self) -> None:
        """Changing a directory's children does not change its times: put
        back those of every directory this layer changed."""
        # Sorted, siblings follow each other: their parent stays resolved.
        for path in sorted(self._dir_times):
            times = self._dir_times[path]
            if not path:
                os.utime(self._root.fd, ns=times)
                continue
            above, _, name = path.rpartition("/")
            parent = self._root.locate(tuple(above.split("/")) if above else (), create=False)
            if parent is None:
                continue
            # A directory until removed (which drops its record): never followed.
            with suppress(FileNotFoundError):
                os.utime(name, ns=times, dir_fd=parent.fd, follow_symlinks=False)
        self._dir_times.clear()
        self._root.release()

    def _mark_upper(self, parent: Located, base: str) -> None:
        """Record the path and its ancestors as this layer's (whiteouts spare them)."""
        self._upper.add(parent.child_text(base))
        path = parent.path
        while path:
            text = "/".join(path)
            if text in self._upper:
                break
            self._upper.add(text)
            path = path[:-1]

    def _apply_root(self, member: tarfile.TarInfo) -> None:
        if not member.isdir():
            raise UnsafeEntryError("refusing to replace the root directory with a non-directory")
        self._set_metadata(self._root.fd, member, directory=True, path=())
        self._retouch(self._root.fd, "")

    def _replace(self, parent: Located, base: str, *, keep_dir: bool = False) -> bool:
        """Remove whatever is at ``base``; a directory is kept if ``keep_dir``.
        True when a directory was kept."""
        try:
            info = os.lstat(base, dir_fd=parent.fd)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(info.st_mode):
            if keep_dir:
                return True
            shutil.rmtree(base, dir_fd=parent.fd)
        else:
            os.unlink(base, dir_fd=parent.fd)
        self._removed(parent.child_text(base), directory=stat.S_ISDIR(info.st_mode))
        return False

    def _removed(self, path: str, *, directory: bool) -> None:
        """Bookkeeping after ``path`` (and all below it) was removed."""
        self._root.invalidate()
        if not directory:
            return  # only directories have deferred modes and times
        below = path + "/"
        for kept in (self._deferred_modes, self._dir_times):
            for key in [k for k in kept if k == path or k.startswith(below)]:
                del kept[key]

    def _make_dir(self, parent: Located, base: str, member: tarfile.TarInfo) -> None:
        try:
            os.mkdir(base, 0o700, dir_fd=parent.fd)
        except FileExistsError:
            if not self._replace(parent, base, keep_dir=True):
                os.mkdir(base, 0o700, dir_fd=parent.fd)
        fd = os.open(base, DIR_FLAGS, dir_fd=parent.fd)
        try:
            self._set_metadata(fd, member, directory=True, path=(*parent.path, base))
            self._retouch(fd, parent.child_text(base))
        finally:
            os.close(fd)

    def _write_file(
        self, parent: Located, base: str, member: tarfile.TarInfo, data: bytes | None
    ) -> int:
        mode = stat.S_IMODE(member.mode)
        # Created with its mode when the umask keeps it whole: no chmod then.
        # Not when its owner cannot write it and PAX headers may carry user.*
        # xattrs: setting those needs write permission (which root has
        # anyway), so the mode then comes after them.
        exact = (
            self._umask is not None
            and mode & ~self._umask == mode & 0o777 == mode
            and (mode & stat.S_IWUSR != 0 or not member.pax_headers)
        )
        created = mode if exact else 0o600
        fd = self._create(
            parent, base, lambda: os.open(base, FILE_FLAGS, created, dir_fd=parent.fd)
        )
        try:
            pipe = self._pipe
            assert pipe is not None
            if member.sparse is not None:
                written = _write_sparse(pipe, fd, member.size)
            elif data is not None:
                written = _write_all(fd, data)
            else:
                written = 0
                while (chunk := pipe.take()) is not None:
                    written += _write_all(fd, cast(bytes, chunk))
            self._set_metadata(fd, member, directory=False, path=(), mode_set=exact)
        finally:
            os.close(fd)
        return written

    def _hardlink(self, parent: Located, base: str, member: tarfile.TarInfo) -> None:
        target_parts = clean_name(member.linkname)
        if not target_parts:
            raise EntryError("hard link to the root directory")
        target_dir = self._root.locate(target_parts[:-1], create=False)
        target = target_parts[-1]
        try:
            if target_dir is None:
                raise FileNotFoundError
            target_info = os.lstat(target, dir_fd=target_dir.fd)
        except FileNotFoundError:
            raise EntryError(f"hard link target {member.linkname!r} does not exist") from None
        if stat.S_ISDIR(target_info.st_mode):
            raise EntryError(f"hard link target {member.linkname!r} is a directory")
        try:
            existing = os.lstat(base, dir_fd=parent.fd)
        except FileNotFoundError:
            pass
        else:
            if (existing.st_dev, existing.st_ino) == (target_info.st_dev, target_info.st_ino):
                return  # already that very file (e.g. a link to itself)
        self._replace(parent, base)
        os.link(
            target,
            base,
            src_dir_fd=target_dir.fd,
            dst_dir_fd=parent.fd,
            follow_symlinks=False,
        )

    def _make_fifo(self, parent: Located, base: str, member: tarfile.TarInfo) -> None:
        self._create(parent, base, lambda: os.mkfifo(base, 0o600, dir_fd=parent.fd))
        # We just made this node and nothing else writes here: it is not a
        # symlink, so naming it is safe (FIFOs cannot be opened without a reader).
        if self.privileged:
            os.chown(base, member.uid, member.gid, dir_fd=parent.fd, follow_symlinks=False)
        os.chmod(base, stat.S_IMODE(member.mode), dir_fd=parent.fd)
        _set_times(base, member, dir_fd=parent.fd)

    # -- metadata -----------------------------------------------------------

    def _set_metadata(
        self,
        fd: int,
        member: tarfile.TarInfo,
        *,
        directory: bool,
        path: tuple[str, ...],
        mode_set: bool = False,
    ) -> None:
        """Owner, then extended attributes, then mode (unless ``mode_set``:
        created with it, no setuid or setgid bit for a chown to clear), then
        times (on an open fd)."""
        mode = stat.S_IMODE(member.mode)
        if self.privileged:
            os.fchown(fd, member.uid, member.gid)
        _set_xattrs(fd, member, self._layer)
        if directory and not self.privileged:
            key = "/".join(path)
            self._deferred_modes.pop(key, None)
            if mode & 0o700 != 0o700:
                self._deferred_modes[key] = (path, mode)
                mode |= 0o700
        if not mode_set:
            os.fchmod(fd, mode)
        _set_times(fd, member)

    def _set_link_metadata(self, dir_fd: int, name: str, member: tarfile.TarInfo) -> None:
        if self.privileged:
            os.chown(name, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
        _set_times(name, member, dir_fd=dir_fd)

    # -- whiteouts ----------------------------------------------------------

    def _whiteout(self, parent_parts: tuple[str, ...], marker: str) -> None:
        if marker != OPAQUE_MARKER and marker.startswith(AUFS_META_PREFIX):
            log.debug("%s: ignoring aufs metadata %s", self._layer, marker)
            return
        name = marker[len(WHITEOUT_PREFIX) :]
        if marker != OPAQUE_MARKER and name in ("", ".", ".."):
            raise UnsafeEntryError(f"whiteout of {name or 'an empty name'!r} is not allowed")
        directory = self._root.locate(parent_parts, create=False)
        if directory is None:
            return  # nothing below to delete
        self._touch(directory.fd, directory.path_text)
        if marker == OPAQUE_MARKER:
            self._remove_lower_children(directory.fd, directory.path_text)
            return
        try:
            info = os.lstat(name, dir_fd=directory.fd)
        except FileNotFoundError:
            return
        self._remove_lower(directory.fd, name, directory.child_text(name), info)

    def _remove_lower(self, dir_fd: int, name: str, path: str, info: os.stat_result) -> None:
        """Remove ``name`` unless this layer wrote it; then only its lower children."""
        if path not in self._upper:
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(name, dir_fd=dir_fd)
            else:
                os.unlink(name, dir_fd=dir_fd)
            self._removed(path, directory=stat.S_ISDIR(info.st_mode))
            return
        if stat.S_ISDIR(info.st_mode):
            fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            try:
                self._touch(fd, path)
                self._remove_lower_children(fd, path)
            finally:
                os.close(fd)

    def _remove_lower_children(self, dir_fd: int, path: str) -> None:
        with os.scandir(dir_fd) as entries:
            children = [(entry.name, entry.stat(follow_symlinks=False)) for entry in entries]
        for name, info in children:
            self._remove_lower(dir_fd, name, f"{path}/{name}" if path else name, info)


def _in_context(exc: Exception, where: str) -> Exception:
    """The error to report for ``exc`` raised at ``where`` (layer and entry)."""
    if isinstance(exc, Interrupted):
        return exc  # a signal, not about this entry
    if is_disk_full(exc):
        return disk_full_error(cast(OSError, exc), where)
    if isinstance(exc, UnsafeEntryError):
        return UnsafeLayerError(f"{where}: {exc}")
    if isinstance(exc, LayerFormatError | tarfile.TarError | EOFError):
        return LayerFormatError(f"{where}: {_tar_reason(exc)}")
    if isinstance(exc, ResourceError):
        return type(exc)(f"{where}: {exc}")
    if isinstance(exc, OSError):
        return ImageError(f"{where}: {exc.strerror or exc}")
    if isinstance(exc, ValueError | OverflowError):
        return ImageError(f"{where}: {exc}")
    return exc


def _tar_reason(exc: Exception) -> str:
    if isinstance(exc, tarfile.ReadError) and "unexpected end of data" in str(exc):
        return "the tar data ends early"
    if isinstance(exc, tarfile.TarError):
        return f"not a valid tar archive ({exc})"
    return str(exc)


def _read_data(reader: ForwardReader, size: int) -> bytes:
    """``size`` bytes of a member's data; an error if the tar ends first."""
    data = reader.read(size)
    if len(data) != size:
        raise tarfile.ReadError("unexpected end of data")
    return data


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return len(data)


def _sparse_regions(member: tarfile.TarInfo) -> list[tuple[int, int]]:
    """The data regions of a sparse member, checked."""
    # tarfile lists empty regions too (at the end, and GNU's padding): no data.
    sparse = cast(list[tuple[int, int]], member.sparse)  # typeshed: list[int]
    regions = [(offset, size) for offset, size in sparse if size]
    end = 0
    for offset, size in regions:
        if offset < end or size < 0 or offset + size > member.size:
            raise EntryError("invalid sparse map")
        end = offset + size
    return regions


def _send_sparse(
    tar: tarfile.TarFile, member: tarfile.TarInfo, regions: list[tuple[int, int]], pipe: Pipe
) -> None:
    """Send only the data regions of a sparse member, as (offset, bytes)."""
    # The unbuffered view of the member: reading region by region only ever
    # moves forward in the (streamed) archive.
    source = cast(BinaryIO, cast(io.BufferedReader, tar.extractfile(member)).raw)
    for offset, size in regions:
        source.seek(offset)
        position = offset
        while position < offset + size:
            chunk = source.read(min(COPY_BUFFER, offset + size - position))
            if not chunk:
                raise EntryError(f"tar data ends inside the sparse file at {position}")
            pipe.send_chunk((position, chunk), len(chunk))
            position += len(chunk)
    pipe.end_chunks()


def _write_sparse(pipe: Pipe, fd: int, size: int) -> int:
    """Write the (offset, bytes) regions that follow in ``pipe``, then extend
    the file to its apparent ``size``: the holes stay holes. The bytes written."""
    written = 0
    while (item := pipe.take()) is not None:
        position, chunk = cast(tuple[int, bytes], item)
        view = memoryview(chunk)
        while view:
            count = os.pwrite(fd, view, position)
            view, position = view[count:], position + count
        written += len(chunk)
    os.ftruncate(fd, size)
    return written


def _set_times(target: int | str, member: tarfile.TarInfo, *, dir_fd: int | None = None) -> None:
    mtime_ns = int(member.mtime * 1_000_000_000)
    try:
        if isinstance(target, int):
            os.utime(target, ns=(mtime_ns, mtime_ns))
        else:
            os.utime(target, ns=(mtime_ns, mtime_ns), dir_fd=dir_fd, follow_symlinks=False)
    except (OverflowError, ValueError):
        log.debug("mtime %r out of range, left as is", member.mtime)


def _set_xattrs(fd: int, member: tarfile.TarInfo, layer: str) -> None:
    for key, value in member.pax_headers.items():
        if not key.startswith(XATTR_PREFIX):
            continue
        name = key[len(XATTR_PREFIX) :]
        if name.startswith(DROPPED_XATTR_PREFIXES):
            log.debug("%s: %s: xattr %s dropped (never applied)", layer, member.name, name)
            continue
        try:
            os.setxattr(fd, name, value.encode("utf-8", "surrogateescape"))
        except OSError as exc:
            if exc.errno not in _XATTR_REFUSED:
                raise
            log.debug("%s: %s: xattr %s dropped (%s)", layer, member.name, name, exc.strerror)


def process_umask() -> int | None:
    """This process's umask (Linux: ``/proc/self/status``), without
    changing it (other threads may be creating files); None when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return None
