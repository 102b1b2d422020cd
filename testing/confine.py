"""Run a function in a child process that may write only inside DEST and a scratch dir.

:func:`run_confined` forks; the child confines itself, runs the function and
sends back its outcome. Two layers, both always on:

- **Mounts** (``namespace`` mode). The child enters a private mount namespace
  (with a user namespace when not root, where the kernel allows it),
  bind-mounts DEST and the scratch dir onto themselves and makes every other
  mount read-only, recursively. No write outside DEST can succeed: it fails
  with ``EROFS``. Capabilities the user namespace granted are dropped before
  the function runs, so an unprivileged child stays unprivileged (read-only
  directories, no chown).
- **An audit hook** in the child records every write the interpreter is asked
  to make (``open`` for writing, ``mkdir``, ``rename``, ``symlink``, ``link``,
  ``chmod``, ``chown``, ``utime``, ``remove``, ...) whose path, resolved
  through symlinks as the kernel would at that moment, lies outside DEST and
  the scratch dir. So an escape is reported by name even when the format
  swallows the ``EROFS``.

Where namespaces are unavailable (``diff`` mode, or forced with
``REGISTRY_IMAGE_SANDBOX=diff``) nothing prevents the write; the audit hook
still names it, and the parent snapshots the directory around DEST (``watch``)
before and after and reports every path that changed. A write made by C code
outside ``watch`` is then not seen: run untrusted formats where namespaces
work.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import shutil
import stat
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

FORCE_VARIABLE = "REGISTRY_IMAGE_SANDBOX"
ALLOWED_DEVICES = frozenset({"/dev/null"})

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_AT_FDCWD = -100
_AT_RECURSIVE = 0x8000
_MOUNT_ATTR_RDONLY = 0x1
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (a "new" syscall)
_CAPABILITY_VERSION_3 = 0x20080522
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# audit event -> (indexes of written paths, index of their dir_fd or None)
_PATH_EVENTS: dict[str, tuple[tuple[int, ...], tuple[int | None, ...]]] = {
    "os.mkdir": ((0,), (2,)),
    "os.rmdir": ((0,), (1,)),
    "os.remove": ((0,), (1,)),
    "os.rename": ((0, 1), (2, 3)),
    "os.link": ((1,), (3,)),
    "os.symlink": ((1,), (2,)),
    "os.chmod": ((0,), (2,)),
    "os.chown": ((0,), (3,)),
    "os.utime": ((0,), (3,)),
    "os.truncate": ((0,), (None,)),
    "os.mknod": ((0,), (3,)),
    "os.mkfifo": ((0,), (2,)),
    "os.setxattr": ((0,), (None,)),
    "os.removexattr": ((0,), (None,)),
}


@attrs.frozen
class Escape:
    """One write outside DEST: what was done, and to which path."""

    operation: str
    path: str

    def __str__(self) -> str:
        return f"{self.operation} {self.path}"


@attrs.frozen
class Outcome:
    """What happened in the child."""

    value: Any
    """What the function returned (pickled back)."""
    error: BaseException | None
    """What it raised, rebuilt in the parent (type and message kept)."""
    escapes: tuple[Escape, ...]
    """Writes outside DEST, in the order seen; empty when confined."""
    mode: str
    """``namespace`` or ``diff`` (see the module docstring)."""
    child_traceback: str = ""


class SandboxBroken(RuntimeError):
    """The child died without reporting (killed, or crashed in C)."""


def run_confined(
    function: Callable[[], Any],
    dest: Path,
    *,
    scratch: Path,
    watch: Path | None = None,
) -> Outcome:
    """Run ``function`` in a child that may write only under ``dest`` and ``scratch``.

    ``watch`` (default: ``dest``'s parent) is snapshotted before and after, and
    any change under it outside ``dest`` and ``scratch`` is an escape too.
    """
    dest, scratch = dest.resolve(), scratch.resolve()
    watch = (watch or dest.parent).resolve()
    excluded = (dest, scratch)
    before = _snapshot(watch, excluded)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns
        os.close(read_end)
        _child(function, dest, scratch, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not report:
        raise SandboxBroken(f"the confined child died without a report (wait status {status})")
    result: dict[str, Any] = pickle.loads(report)
    changed = _diff(before, _snapshot(watch, excluded))
    escapes = [*result["escapes"], *(Escape("changed", path) for path in changed)]
    return Outcome(
        value=result["value"],
        error=_rebuild(result["error"]),
        escapes=tuple(dict.fromkeys(escapes)),
        mode=result["mode"],
        child_traceback=result["traceback"],
    )


# -- the child ------------------------------------------------------------------


def _child(function: Callable[[], Any], dest: Path, scratch: Path, report_fd: int) -> None:
    code = 0
    try:
        sys.dont_write_bytecode = True  # no __pycache__ writes for late imports
        mode = _confine(dest, scratch)
        tempfile.tempdir = str(scratch)
        os.environ["TMPDIR"] = str(scratch)
        escapes: list[Escape] = []
        sys.addaudithook(_AuditHook((dest, scratch), escapes))
        value, error, trace = None, None, ""
        try:
            value = function()
        except BaseException as exc:
            error, trace = exc, traceback.format_exc()
        payload = {
            "value": value,
            "error": _portable(error),
            "escapes": list(escapes),
            "mode": mode,
            "traceback": trace,
        }
        with os.fdopen(report_fd, "wb") as pipe:
            pipe.write(pickle.dumps(payload))
    except BaseException:
        traceback.print_exc()
        code = 70
    finally:
        os._exit(code)


def _confine(dest: Path, scratch: Path) -> str:
    """Make everything but ``dest`` and ``scratch`` read-only; the mode reached."""
    if os.environ.get(FORCE_VARIABLE) == "diff":
        return "diff"
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.geteuid(), os.getegid()
    as_user = uid != 0
    if libc.unshare(_CLONE_NEWNS | (_CLONE_NEWUSER if as_user else 0)) != 0:
        return "diff"
    if as_user:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make mounts private")
    for keep in (dest, scratch):
        path = os.fsencode(keep)
        _check(libc.mount(path, path, None, _MS_BIND | _MS_REC, None), f"bind {keep}")
    _set_readonly(libc, b"/", True)
    for keep in (dest, scratch):
        _set_readonly(libc, os.fsencode(keep), False)
    if as_user:
        _drop_capabilities(libc)
    return "namespace"


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def _set_readonly(libc: ctypes.CDLL, path: bytes, readonly: bool) -> None:
    attr = _MountAttr(
        _MOUNT_ATTR_RDONLY if readonly else 0, 0 if readonly else _MOUNT_ATTR_RDONLY, 0, 0
    )
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(
        _SYS_MOUNT_SETATTR,
        _AT_FDCWD,
        path,
        _AT_RECURSIVE,
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    _check(result, f"mount_setattr {path.decode(errors='replace')}")


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(libc.capset(header, data), "drop capabilities")


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"sandbox: {what}: {os.strerror(number)}")


class _AuditHook:
    """Records writes the interpreter is asked to make outside the allowed roots."""

    def __init__(self, allowed: tuple[Path, ...], escapes: list[Escape]) -> None:
        self.allowed = tuple(str(root) for root in allowed)
        self.escapes = escapes
        self.busy = False

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.busy or not (event == "open" or event in _PATH_EVENTS):
            return
        self.busy = True
        try:
            for operation, path in self._writes(event, args):
                if not self._inside(path):
                    self.escapes.append(Escape(operation, path))
        except Exception:  # never break the function under test
            pass
        finally:
            self.busy = False

    def _writes(self, event: str, args: tuple[Any, ...]) -> Iterable[tuple[str, str]]:
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            # os.open's event carries no dir_fd: a relative name there is
            # judged by the mounts and the snapshot, not here.
            if writing and (isinstance(path, int) or os.path.isabs(os.fsdecode(path))):
                follow = not (isinstance(flags, int) and flags & (os.O_NOFOLLOW | os.O_EXCL))
                yield "open for writing", _resolve(path, None, follow=follow)
            return
        indexes, dir_fds = _PATH_EVENTS[event]
        for index, dir_fd_index in zip(indexes, dir_fds, strict=True):
            dir_fd = args[dir_fd_index] if dir_fd_index is not None else None
            # The event does not say whether chmod/chown/utime follow a final
            # symlink; judging the link itself avoids blaming a format that
            # sets a link's own times (the mounts still stop the other kind).
            yield event.removeprefix("os."), _resolve(args[index], dir_fd, follow=False)

    def _inside(self, path: str) -> bool:
        if path in ALLOWED_DEVICES:
            return True
        return any(path == root or path.startswith(root + os.sep) for root in self.allowed)


def _resolve(path: Any, dir_fd: int | None, *, follow: bool) -> str:
    """The absolute path a write to ``path`` (relative to ``dir_fd``) reaches;
    ``follow``: a symlink as the last component is followed."""
    if isinstance(path, int):
        return os.readlink(f"/proc/self/fd/{path}")
    name = os.fsdecode(path)
    if not os.path.isabs(name):
        base = os.readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else os.getcwd()
        name = os.path.join(base, name)
    parent, base_name = os.path.split(os.path.normpath(name))
    resolved = os.path.join(os.path.realpath(parent), base_name)
    if follow and os.path.islink(resolved):
        return os.path.realpath(resolved)
    return resolved


def _portable(error: BaseException | None) -> tuple[type[BaseException], str, bytes | None] | None:
    """``error`` as (type, message, pickle if it round-trips)."""
    if error is None:
        return None
    pickled: bytes | None
    try:
        pickled = pickle.dumps(error)
        pickle.loads(pickled)
    except Exception:
        pickled = None
    try:
        pickle.dumps(type(error))
        kind: type[BaseException] = type(error)
    except Exception:
        kind = RuntimeError
    return kind, str(error), pickled


def _rebuild(
    portable: tuple[type[BaseException], str, bytes | None] | None,
) -> BaseException | None:
    if portable is None:
        return None
    kind, message, pickled = portable
    if pickled is not None:
        error: BaseException = pickle.loads(pickled)
        return error
    try:
        return kind(message)
    except Exception:
        return RuntimeError(f"{kind.__name__}: {message}")


# -- the parent's snapshot (the fallback's evidence) ------------------------------

_Snapshot = dict[str, tuple[int, ...]]


def _snapshot(watch: Path, excluded: tuple[Path, ...]) -> _Snapshot:
    """Every path under ``watch`` (not under ``excluded``) -> lstat facts."""
    skip = {str(path) for path in excluded}
    result: _Snapshot = {}
    for directory, dirnames, filenames in os.walk(watch):
        dirnames[:] = [name for name in dirnames if os.path.join(directory, name) not in skip]
        for name in [*dirnames, *filenames]:
            path = os.path.join(directory, name)
            if path in skip:
                continue
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            result[path] = (
                info.st_mode,
                info.st_uid,
                info.st_gid,
                info.st_size if not stat.S_ISDIR(info.st_mode) else 0,
                info.st_mtime_ns,
                info.st_ino,
                info.st_nlink if not stat.S_ISDIR(info.st_mode) else 0,
            )
    return result


def _diff(before: _Snapshot, after: _Snapshot) -> list[str]:
    return sorted(
        path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
    )


def remove_tree(path: Path) -> None:
    """Remove ``path`` even when the function left read-only directories in it."""

    def writable(function: Any, failed: str, info: Any) -> None:
        parent = os.path.dirname(failed)
        os.chmod(parent, stat.S_IRWXU)
        function(failed)

    if path.exists():
        shutil.rmtree(path, onerror=writable)


__all__ = ["Escape", "Outcome", "SandboxBroken", "remove_tree", "run_confined"]
