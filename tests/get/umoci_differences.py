"""The intended differences between our ``rootfs`` and ``umoci raw unpack``
(umoci 0.4.7), as code: the differential tests on generated stacks filter
or exempt exactly these, each documented in the README's "Conformance"
section, under "Intended differences from umoci".

Stack-level (the generated stack is changed or dropped, see
:func:`for_umoci` and :func:`stack_differences`):

- ``SPARSE``: umoci refuses old-GNU sparse members (typeflag ``S``); we
  unpack them. :func:`for_umoci` writes such members as plain files (the
  layer stays GNU).
- ``SELF_LINK``: a hard link naming itself (``a`` -> ``a``, over a lower
  layer's ``a``): we keep the file; umoci removes it, then fails to link.
- ``PARENT_MTIME``: an entry whose missing parent directories are created
  inside an existing directory ``D`` (e.g. ``D/new/f``): umoci does not
  restore ``D``'s mtime afterwards; we keep the mtime of ``D``'s entry.
- ``DIR_XATTRS``: an entry for a directory that exists already: we add its
  xattrs to those the directory has (as containerd does); umoci replaces them.

Path-level (compared differently, see :func:`comparable`):

- implicit directories (made for a path, with no entry of their own) have
  no mtime to compare, and here their mode is 0755 minus the umask;
- as an ordinary user, owners are the caller's in both (not compared);
  umoci ``--rootless`` records the tar owner in a ``user.rootlesscontainers``
  xattr, which we do not write; and it cannot set ``user.*`` xattrs on an
  entry whose mode denies its owner write (it sets them after the mode),
  which we set first.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import attrs
from registry_image.testing.model import Inode, Model, ModelError, ModelUnsafe, clean
from registry_image.testing.oci_builder import Entry, GnuLayer

SPARSE = "old-GNU sparse member"
SELF_LINK = "hard link naming itself"
PARENT_MTIME = "implicit directory made inside an existing directory"
DIR_XATTRS = "directory entry over a directory with other xattrs"

ROOTLESS_XATTR = "user.rootlesscontainers"

Stack = Sequence[Sequence[Entry]]
View = dict[str, tuple[object, ...]]


def for_umoci(stack: Stack) -> list[list[Entry]]:
    """``stack`` with every sparse member written as a plain file (``SPARSE``)."""
    return [_same_layer_type(layer, [attrs.evolve(e, sparse=()) for e in layer]) for layer in stack]


def _same_layer_type(layer: Sequence[Entry], entries: list[Entry]) -> list[Entry]:
    return GnuLayer(entries) if isinstance(layer, GnuLayer) else entries


def stack_differences(stack: Stack) -> set[str]:
    """Which stack-level intended differences ``stack`` meets (it must apply)."""
    found: set[str] = set()
    model = Model()
    # Directories whose mtime umoci loses, by id (the values keep them alive).
    lost_mtime: dict[int, Inode] = {}
    for layer in stack:
        upper: set[tuple[str, ...]] = set()
        for entry in layer:
            if entry.sparse:
                found.add(SPARSE)
            if entry.kind == "hardlink" and _same_path(entry.name, entry.linkname):
                found.add(SELF_LINK)
            before = set(model.tree)
            named = _entry_node(model, entry) if entry.kind == "dir" else None
            old_xattrs = dict(named.xattrs) if named is not None else {}
            model.apply_entry(entry, upper)
            for path in set(model.tree) - before:
                node, parent = model.tree[path], model.tree.get(path[:-1])
                implicit = node.kind == "dir" and node.mtime is None
                if (
                    implicit
                    and parent is not None
                    and path[:-1] in before
                    and parent.mtime is not None
                ):
                    lost_mtime[id(parent)] = parent
            if named is not None and named.kind == "dir":
                lost_mtime.pop(id(named), None)  # its entry sets its mtime again
                if set(old_xattrs) - {key for key, _ in entry.xattrs}:
                    found.add(DIR_XATTRS)
    if any(node is lost_mtime.get(id(node)) for node in model.tree.values()):
        found.add(PARENT_MTIME)
    return found


def _same_path(name: str, target: str) -> bool:
    try:
        return clean(name) == clean(target)
    except ModelUnsafe:
        return False


def _entry_node(model: Model, entry: Entry) -> Inode | None:
    """What is at the path ``entry`` names, before it applies."""
    try:
        parts = clean(entry.name)
        parent = model.resolve_dir(parts[:-1], create=False)
    except (ModelError, ModelUnsafe):
        return None
    if parent is None or not parts:
        return None
    return model.tree.get((*parent, parts[-1]))


@functools.cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def comparable(view: View, model: Model, root: Path, *, umoci: bool, rootless: bool) -> View:
    """``view`` (from :meth:`Model.observed`) with the path-level intended
    differences taken out: umoci's implicit directories' mode less the umask
    (as we make them) and, as an ordinary user, umoci's
    ``user.rootlesscontainers`` and the ``user.*`` xattrs of paths their owner
    may not write."""
    result: View = {}
    for path, (kind, mode, uid, gid, content, link, mtime, xattrs) in view.items():
        node = model.tree.get(tuple(path.split("/")))
        if umoci and node is not None and node.kind == "dir" and node.mtime is None:
            mode = cast(int, mode) & ~_umask()
        pairs = cast(tuple[tuple[str, bytes], ...], xattrs)
        kept = tuple(x for x in pairs if not (umoci and x[0] == ROOTLESS_XATTR))
        if rootless and not root.joinpath(path).lstat().st_mode & stat.S_IWUSR:
            kept = tuple(x for x in kept if not x[0].startswith("user."))
        result[path] = (kind, mode, uid, gid, content, link, mtime, kept)
    return result
