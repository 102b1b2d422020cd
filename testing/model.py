"""A plain in-memory model of applying layers, to check the real unpacker against.

It states the semantics directly, on a dict of paths, with none of the real
unpacker's machinery (descriptors, caches, tarfile, the kernel):

- names are cleaned lexically; ``..`` above the root is unsafe;
- parent directories are resolved following symlinks *inside* the root
  (absolute targets restart at the root, ``..`` stops there), missing ones
  are created; a non-directory on the way is an error;
- an existing path is replaced unless old and new are both directories;
- ``.wh.NAME`` / ``.wh..wh..opq`` delete what lower layers have there, never
  what the same layer wrote (nor their ancestors);
- hard links share one inode; a directory's mtime is that of its own entry;
  a directory made implicitly inherits its parent's setgid bit and group.

:func:`predict` applies a stack to a fresh model; :meth:`Model.expected` and
:meth:`Model.observed` give the model's tree and a real one in one comparable
form (the mode of an implicit directory is subject to the umask, its mtime is
not predicted), :meth:`Model.link_groups` and
:func:`~registry_image.testing.trees.hardlink_groups` the hard links.
"""

from __future__ import annotations

import functools
import itertools
import os
import pathlib
import stat
from collections.abc import Sequence

import attrs

from .oci_builder import Entry
from .trees import read_content, tree_snapshot

Path = tuple[str, ...]
MAX_FOLLOWS = 40


View = dict[str, tuple[object, ...]]
"""Relative path -> (kind, mode, uid, gid, content, link target, mtime in ns, xattrs)."""

KEPT_XATTRS = ("user.", "security.capability")
"""The extended attributes compared: those a layer may carry and the
unpacker keeps (``security.*`` only with privilege)."""


class ModelUnsafe(Exception):
    """The entry would reach outside the root."""


class ModelError(Exception):
    """The entry cannot be applied (malformed for this tree)."""


@attrs.define
class Inode:
    kind: str  # file, dir, symlink, fifo
    mode: int
    uid: int
    gid: int
    mtime: float | None  # None: an implicit directory, time not specified
    content: bytes = b""
    target: str = ""
    number: int = 0
    xattrs: dict[str, bytes] = attrs.field(factory=dict)


_numbers = itertools.count(1)
# Setting security.* needs CAP_SETFCAP: whether the unpacker keeps them
# depends on who runs it, not on its ``privileged`` flag.
_SECURITY_XATTRS = os.geteuid() == 0


def clean(name: str) -> Path:
    parts: list[str] = []
    for component in name.split("/"):
        if component in ("", "."):
            continue
        if component == "..":
            if not parts:
                raise ModelUnsafe(name)
            parts.pop()
        else:
            parts.append(component)
    return tuple(parts)


@attrs.define
class Model:
    """The tree: path (tuple of names, root excluded) -> inode."""

    tree: dict[Path, Inode] = attrs.field(factory=dict)

    # -- lookups ----------------------------------------------------------

    def resolve_dir(self, parts: Path, create: bool) -> Path | None:
        resolved: list[str] = []
        pending = list(reversed(parts))
        follows = 0
        while pending:
            component = pending.pop()
            if component in ("", "."):
                continue
            if component == "..":
                if resolved:
                    resolved.pop()
                continue
            path = (*resolved, component)
            node = self.tree.get(path)
            if node is None:
                if not create:
                    return None
                # mkdir in a setgid directory inherits its setgid bit and group
                parent = self.tree.get(tuple(resolved))
                setgid = parent.mode & 0o2000 if parent is not None else 0
                gid = parent.gid if parent is not None and setgid else 0
                self.tree[path] = Inode("dir", 0o755 | setgid, 0, gid, None, number=next(_numbers))
            elif node.kind == "symlink":
                follows += 1
                if follows > MAX_FOLLOWS:
                    raise ModelError("symlink loop")
                if node.target.startswith("/"):
                    resolved = []
                pending.extend(reversed(node.target.split("/")))
                continue
            elif node.kind != "dir":
                raise ModelError(f"{'/'.join(path)} is not a directory")
            resolved.append(component)
        return tuple(resolved)

    def remove(self, path: Path) -> None:
        for key in [k for k in self.tree if k[: len(path)] == path]:
            del self.tree[key]

    def children(self, path: Path) -> list[Path]:
        return [k for k in self.tree if len(k) == len(path) + 1 and k[: len(path)] == path]

    # -- comparing with a real tree -------------------------------------------

    def expected(self, *, with_owner: bool) -> View:
        """The tree as :meth:`observed` should see it (owners None unless ``with_owner``)."""
        expected: View = {}
        for path, node in self.tree.items():
            mode = None if node.kind == "symlink" else node.mode
            if node.mtime is None:  # an implicit directory
                mode = node.mode & ~_umask()
            expected["/".join(path)] = (
                node.kind,
                mode,
                node.uid if with_owner else None,
                node.gid if with_owner else None,
                node.content if node.kind == "file" else None,
                node.target or None,
                None if node.mtime is None else mtime_ns(node.mtime),
                tuple(sorted(node.xattrs.items())),
            )
        return expected

    def observed(self, root: pathlib.Path, *, with_owner: bool) -> View:
        """The real tree under ``root``, in the form of :meth:`expected`."""
        observed: View = {}
        for path, node in tree_snapshot(root, with_owner=with_owner).items():
            modelled = self.tree.get(tuple(path.split("/")))
            implicit = modelled is not None and modelled.mtime is None
            real = root / path
            observed[path] = (
                node.kind,
                None if node.kind == "symlink" else node.mode,
                node.uid,
                node.gid,
                read_content(real) if node.kind == "file" else None,
                node.link,
                None if implicit else real.lstat().st_mtime_ns,
                read_xattrs(real),
            )
        return observed

    def link_groups(self) -> set[frozenset[str]]:
        """Groups of paths sharing one inode, two or more each."""
        groups: dict[int, set[str]] = {}
        for path, node in self.tree.items():
            if node.kind == "file":
                groups.setdefault(id(node), set()).add("/".join(path))
        return {frozenset(group) for group in groups.values() if len(group) > 1}

    # -- layers -------------------------------------------------------------

    def apply_layer(self, entries: Sequence[Entry], *, privileged: bool = True) -> None:
        upper: set[Path] = set()
        for entry in entries:
            self._apply(entry, upper, privileged)

    def apply_entry(self, entry: Entry, upper: set[Path], *, privileged: bool = True) -> None:
        """Apply one entry of the layer whose paths written so far are ``upper``
        (updated); raises :class:`ModelUnsafe` or :class:`ModelError`."""
        self._apply(entry, upper, privileged)

    def _remove_lower(self, path: Path, upper: set[Path]) -> None:
        if path not in upper:
            self.remove(path)
        elif self.tree[path].kind == "dir":
            for child in self.children(path):
                self._remove_lower(child, upper)

    def _apply(self, entry: Entry, upper: set[Path], privileged: bool) -> None:
        parts = clean(entry.name)
        if not parts:
            if entry.kind != "dir":
                raise ModelUnsafe("root replaced")
            return
        base = parts[-1]
        if base.startswith(".wh."):
            if base != ".wh..wh..opq" and base.startswith(".wh..wh."):
                return
            name = base[4:]
            if base != ".wh..wh..opq" and name in ("", ".", ".."):
                raise ModelUnsafe("whiteout of . or ..")
            directory = self.resolve_dir(parts[:-1], create=False)
            if directory is None:
                return
            if base == ".wh..wh..opq":
                for child in self.children(directory):
                    self._remove_lower(child, upper)
            elif (*directory, name) in self.tree:
                self._remove_lower((*directory, name), upper)
            return
        if entry.kind == "chardev":  # never created, as the Go resource
            return
        parent = self.resolve_dir(parts[:-1], create=True)
        assert parent is not None
        path = (*parent, base)
        for depth in range(1, len(path) + 1):
            upper.add(path[:depth])
        existing = self.tree.get(path)
        if entry.kind == "hardlink":
            self._hardlink(entry, path, existing)
            return
        xattrs = {
            key: value
            for key, value in entry.xattrs
            if key.startswith(KEPT_XATTRS) and (_SECURITY_XATTRS or not key.startswith("security."))
        }
        if existing is not None and existing.kind == "dir" and entry.kind == "dir":
            existing.mode, existing.mtime = entry.mode, entry.mtime
            existing.uid, existing.gid = entry.uid, entry.gid
            existing.xattrs.update(xattrs)
            return
        if existing is not None:
            self.remove(path)
        self.tree[path] = Inode(
            kind=entry.kind,
            mode=0o777 if entry.kind == "symlink" else entry.mode,
            uid=entry.uid,
            gid=entry.gid,
            mtime=entry.mtime,
            content=entry.content if entry.kind == "file" else b"",
            target=entry.linkname if entry.kind == "symlink" else "",
            number=next(_numbers),
            xattrs=xattrs,
        )

    def _hardlink(self, entry: Entry, path: Path, existing: Inode | None) -> None:
        target_parts = clean(entry.linkname)
        if not target_parts:
            raise ModelError("link to root")
        target_dir = self.resolve_dir(target_parts[:-1], create=False)
        target = None if target_dir is None else self.tree.get((*target_dir, target_parts[-1]))
        if target is None or target_dir is None:
            raise ModelError("hard link target missing")
        if target.kind == "dir":
            raise ModelError("hard link to a directory")
        if existing is target:
            return
        if existing is not None:
            self.remove(path)
        if (*target_dir, target_parts[-1]) not in self.tree:  # it was under ``path``
            raise ModelError("hard link target removed by the link itself")
        self.tree[path] = target


def mtime_ns(mtime: float) -> int:
    """A tar mtime in nanoseconds, converted as the unpacker converts it."""
    return int(mtime * 1_000_000_000)


def read_xattrs(path: pathlib.Path) -> tuple[tuple[str, bytes], ...]:
    """The compared extended attributes of ``path`` (not following a symlink);
    as :func:`~registry_image.testing.trees.read_content` does, an unprivileged
    owner lends itself read permission for the read (``user.*`` needs it)."""
    names = sorted(
        name for name in os.listxattr(path, follow_symlinks=False) if name.startswith(KEPT_XATTRS)
    )

    def read() -> tuple[tuple[str, bytes], ...]:
        return tuple((name, os.getxattr(path, name, follow_symlinks=False)) for name in names)

    try:
        return read()
    except PermissionError:
        mode = stat.S_IMODE(path.lstat().st_mode)
        os.chmod(path, mode | stat.S_IRUSR)
        try:
            return read()
        finally:
            os.chmod(path, mode)


def predict(stack: Sequence[Sequence[Entry]], *, privileged: bool = True) -> Model | None:
    """The model after applying every layer of ``stack``; None when applying
    it must fail (an unsafe or malformed entry)."""
    model = Model()
    try:
        for layer in stack:
            model.apply_layer(layer, privileged=privileged)
    except (ModelError, ModelUnsafe):
        return None
    return model


def failure(stack: Sequence[Sequence[Entry]]) -> str | None:
    """Why applying ``stack`` must fail: ``"unsafe"`` (it would reach outside
    the root: an ``UnsafeLayerError``), ``"malformed"`` (it cannot be applied
    to this tree: an ``ImageError``), or None when it applies."""
    model = Model()
    try:
        for layer in stack:
            model.apply_layer(layer)
    except ModelUnsafe:
        return "unsafe"
    except ModelError:
        return "malformed"
    return None


@functools.cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
