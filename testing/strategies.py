"""Hypothesis strategies for layer stacks: lists of layers, each a list of
:class:`~registry_image.testing.oci_builder.Entry`.

- :func:`layer_stacks`: files, directories, symlinks, hard links, FIFOs,
  sparse files, whiteouts and opaque markers over a few names, so that
  entries often meet (replace, link to, white out) what earlier ones wrote;
  PAX and GNU layers; long and non-UTF-8 names; ``user.*`` and
  ``security.capability`` xattrs; large uids and gids; sub-second mtimes.
  About nine stacks in ten apply; the others mostly cannot (a hard link to
  nothing, a file where a directory must be):
  :func:`registry_image.testing.model.failure` says which and why.
  :func:`describe` labels a stack for hypothesis statistics.
- :func:`hostile_stacks`: names and link targets aiming at ``../outside``
  (see :func:`registry_image.testing.trees.sandbox`), absolute paths, ``..``
  and whiteouts of parents, for checking that writes stay confined.
"""

from __future__ import annotations

import copy
import os
import struct

import attrs
from hypothesis import event
from hypothesis import strategies as st

from .model import Model, ModelError, ModelUnsafe, failure, predict
from .oci_builder import Entry, GnuLayer

Stack = list[list[Entry]]

components = st.sampled_from(["a", "b", "c"])
# Rare names: long ones (a path over 100 bytes needs a PAX ``path`` record or
# a GNU ``././@LongLink``), non-UTF-8 ones (PAX ``hdrcharset=BINARY``), Unicode.
rare_components = st.sampled_from(["L" * 120, "caf\udce9", "\u00e9t\u00e9", "x\udcff\udcfe"])
any_components = st.one_of(components, components, components, components, rare_components)
relative_names = st.lists(any_components, min_size=1, max_size=3).map("/".join)
prefixes = st.sampled_from(["", "./", "/"])
dir_names = st.tuples(prefixes, relative_names).map("".join)
# Leaves mostly get names of their own, sometimes a directory's (a conflict).
leaf_names = st.tuples(
    prefixes,
    st.lists(any_components, max_size=2).map(lambda parts: "".join(p + "/" for p in parts)),
    st.sampled_from(["f", "g", "f", "g", "a", "M" * 110]),
).map("".join)
modes = st.sampled_from([0o644, 0o755, 0o600, 0o603, 0o4755, 0o2750, 0o000])
dir_modes = st.sampled_from([0o755, 0o700, 0o1777, 0o2775, 0o555])
whole_mtimes = st.sampled_from([0, 1000, 86400 * 365, 1_700_000_000])
# Fractions exact in binary, and small enough that seconds * 1e9 is exact:
# a PAX ``mtime`` record; GNU headers hold whole seconds only.
fractional_mtimes = st.sampled_from([0.5, 1000.25, 86400.75])
# 2**21 and above do not fit the 7 octal digits of a ustar header: a PAX
# record, or GNU base-256.
owners = st.sampled_from([0, 1000, 0, 1000, 65534, 2**21 + 7, 2**31 - 5])
link_targets = st.one_of(
    relative_names,
    relative_names.map(lambda n: "/" + n),
    relative_names.map(lambda n: "../" + n),
    st.sampled_from(["/", ".", "..", "../..", "a/..", "nowhere", "T" * 150]),
)
# A valid VFS_CAP_REVISION_2 value: magic|effective, then permitted and
# inheritable, low and high words (cap_net_bind_service permitted).
CAPABILITY = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)
user_xattrs = st.tuples(
    st.sampled_from(["user.a", "user.mime_type"]), st.binary(min_size=1, max_size=16)
)
KINDS = [
    "file",
    "file",
    "dir",
    "dir",
    "symlink",
    "hardlink",
    "hardlink",
    "hardlink",
    "whiteout",
    "opaque",
    "fifo",
]
# Devices are not generated: the unprivileged handling of device nodes is
# being changed on another branch (they will be skipped, with trusted.*
# xattrs dropped); add chardev here and to the model when that lands.


@attrs.define
class _State:
    """What the stack so far has made, to aim later entries at it."""

    model: Model = attrs.field(factory=Model)
    seen: list[str] = attrs.field(factory=list)

    def paths(self, kind: str | None = None) -> list[str]:
        return [
            "/".join(path)
            for path, node in self.model.tree.items()
            if kind is None or node.kind == kind
        ]

    def linked(self, name: str) -> bool:
        node = self.model.tree.get(tuple(name.split("/")))
        return node is not None and sum(n is node for n in self.model.tree.values()) > 1


def _mtime(draw: st.DrawFn, gnu: bool) -> float:
    if gnu or draw(st.integers(0, 4)):
        return draw(whole_mtimes)
    return draw(fractional_mtimes)


def _xattrs(draw: st.DrawFn, gnu: bool) -> tuple[tuple[str, bytes], ...]:
    if gnu or draw(st.integers(0, 3)):
        return ()
    chosen = dict(draw(st.lists(user_xattrs, max_size=2)))
    if draw(st.integers(0, 2)) == 0:
        chosen["security.capability"] = CAPABILITY
    return tuple(sorted(chosen.items()))


@st.composite
def _sparse_file(draw: st.DrawFn, name: str, mode: int, uid: int, gid: int) -> Entry:
    """A GNU sparse member: up to 3 data regions in a file of up to 64 KiB of holes."""
    size = draw(st.integers(1, 65536))
    offsets = sorted(set(draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=3))))
    content = bytearray(size)
    regions = []
    for number, offset in enumerate(offsets):
        limit = offsets[number + 1] if number + 1 < len(offsets) else size
        length = draw(st.integers(1, limit - offset))
        content[offset : offset + length] = draw(st.binary(min_size=length, max_size=length))
        regions.append((offset, length))
    return Entry.file(
        name,
        bytes(content),
        mode,
        uid=uid,
        gid=gid,
        mtime=draw(whole_mtimes),
        sparse=tuple(regions),
    )


@st.composite
def entries(
    draw: st.DrawFn, state: _State, gnu: bool = False, upper: frozenset[str] = frozenset()
) -> Entry:
    """One entry; names, link targets and whiteouts often reuse what the
    stack so far holds; hard links mostly point at files that exist, often
    at ones already linked (groups of three or more); whiteouts often aim at
    a linked path of a lower layer (``upper``: this layer's paths)."""
    kind = draw(st.sampled_from(KINDS))
    files = state.paths("file")
    linked = [path for path in files if state.linked(path)]
    lower_linked = [path for path in linked if path not in upper]
    if kind == "hardlink" and not files and draw(st.integers(0, 4)):
        kind = "file"  # mostly link to something that exists
    existing = state.paths() or state.seen
    earlier = st.sampled_from(existing) if existing else relative_names
    mtime = _mtime(draw, gnu)
    if kind == "dir":
        name = draw(st.one_of(dir_names, dir_names, earlier))
        return Entry.dir(
            name,
            draw(dir_modes),
            uid=draw(owners),
            gid=draw(owners),
            mtime=mtime,
            xattrs=_xattrs(draw, gnu),
        )
    if kind in ("whiteout", "opaque"):
        if kind == "whiteout" and lower_linked and draw(st.integers(0, 9)) < 7:
            earlier = st.sampled_from(lower_linked)
        name = draw(earlier).strip("/") or "a"
        marker = Entry.whiteout if kind == "whiteout" else Entry.opaque
        return marker(name, mtime=mtime)
    name = draw(st.one_of(leaf_names, leaf_names, earlier))
    if kind == "hardlink" and draw(st.booleans()):
        name = draw(st.sampled_from(["h1", "h2", "a/h3", "b/c/h4"]))  # a new path, usually
    if kind == "file":
        mode, uid, gid = draw(modes), draw(owners), draw(owners)
        if gnu and draw(st.integers(0, 3)) == 0:
            return draw(_sparse_file(name, mode, uid, gid))
        return Entry.file(
            name,
            draw(st.binary(max_size=64)),
            mode,
            uid=uid,
            gid=gid,
            mtime=mtime,
            xattrs=_xattrs(draw, gnu),
        )
    if kind == "symlink":
        target = draw(st.one_of(link_targets, earlier))
        return Entry.symlink(name, target, uid=draw(owners), mtime=mtime)
    if kind == "hardlink":
        if linked and draw(st.integers(0, 9)) < 7:
            to = st.sampled_from(linked)
        else:
            to = st.sampled_from(files) if files else earlier
        target = draw(st.one_of(to, to, to.map(lambda n: "/" + n), link_targets))
        return Entry.hardlink(name, target, mtime=mtime)
    return Entry.fifo(name, draw(modes), mtime=mtime)


@st.composite
def layer_stacks(draw: st.DrawFn) -> Stack:
    """1-4 layers of 0-6 entries each, PAX or (one in five) GNU tar.

    Most stacks (about nine in ten) apply: each entry the model would refuse
    is redrawn as a fresh file. The rest are left as drawn, and most of those
    fail, as unsafe or malformed. :func:`describe` labels each stack for
    hypothesis statistics (``pytest --hypothesis-show-statistics``).
    """
    state = _State()
    free = draw(st.integers(0, 9)) == 0
    stack: Stack = []
    if draw(st.integers(0, 5)) == 0:
        # A hard-link group of three or four, then a whiteout of one of its
        # paths: the rest of the group must survive (later layers may go on).
        group = draw(
            st.lists(
                st.sampled_from(["g1", "g2", "d/g3", "L" * 110]),
                min_size=2,
                max_size=3,
                unique=True,
            )
        )
        first = Entry.file("g0", draw(st.binary(max_size=16)), draw(modes))
        stack.append([first, *(Entry.hardlink(name, "g0") for name in group)])
        stack.append([Entry.whiteout(draw(st.sampled_from(["g0", *group])))])
        for prelude in stack:
            state.model.apply_layer(prelude)
            state.seen.extend(entry.name for entry in prelude)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        gnu = draw(st.integers(0, 4)) == 0
        layer: list[Entry] = GnuLayer() if gnu else []
        upper: set[tuple[str, ...]] = set()
        for number in range(draw(st.integers(0, 6))):
            written = frozenset("/".join(path) for path in upper)
            entry = draw(entries(state, gnu, written))
            trial = copy.deepcopy(state.model)
            trial_upper = set(upper)
            try:
                trial.apply_entry(entry, trial_upper)
            except (ModelError, ModelUnsafe):
                if not free:
                    entry = Entry.file(f"fresh{len(stack)}-{number}", b"fresh")
                    trial = copy.deepcopy(state.model)
                    trial_upper = set(upper)
                    trial.apply_entry(entry, trial_upper)
            state.model, upper = trial, trial_upper
            state.seen.append(entry.name)
            layer.append(entry)
        stack.append(layer)
    for label in describe(stack):
        event(label)
    return stack


def describe(stack: Stack) -> list[str]:
    """Labels for what ``stack`` exercises (its hard cases and its outcome)."""
    outcome = failure(stack)
    labels = [f"stack: {'applies' if outcome is None else 'fails, ' + outcome}"]
    model = predict(stack)
    entries_ = [entry for layer in stack for entry in layer]
    if model is not None and model.link_groups():
        labels.append("hard-link group in the result")
    if outcome is None and _group_survives_a_whiteout(stack):
        labels.append("hard-link group survives a whiteout of one of its paths")
    checks = {
        "GNU layer": any(isinstance(layer, GnuLayer) for layer in stack),
        "long name or link target (> 100 bytes)": any(
            len(os.fsencode(e.name)) > 100 or len(os.fsencode(e.linkname)) > 100 for e in entries_
        ),
        "non-UTF-8 name": any(_not_utf8(e.name) or _not_utf8(e.linkname) for e in entries_),
        "xattr user.*": any(k.startswith("user.") for e in entries_ for k, _ in e.xattrs),
        "xattr security.capability": any(
            k == "security.capability" for e in entries_ for k, _ in e.xattrs
        ),
        "FIFO": any(e.kind == "fifo" for e in entries_),
        "sparse file": any(e.sparse for e in entries_),
        "uid or gid >= 2**21": any(max(e.uid, e.gid) >= 2**21 for e in entries_),
        "sub-second mtime": any(e.mtime != int(e.mtime) for e in entries_),
        "whiteout or opaque marker": any(".wh." in e.name for e in entries_),
    }
    labels += [label for label, present in checks.items() if present]
    return labels


def _group_survives_a_whiteout(stack: Stack) -> bool:
    """Whether a whiteout removes one path of a hard-link group and the
    inode stays at two paths or more."""
    model = Model()
    for layer in stack:
        upper: set[tuple[str, ...]] = set()
        for entry in layer:
            before = {id(node) for node in model.tree.values()}
            groups = _group_sizes(model)
            model.apply_entry(entry, upper)
            if ".wh." not in entry.name:
                continue
            after = _group_sizes(model)
            if any(1 < after.get(key, 0) < size for key, size in groups.items() if key in before):
                return True
    return False


def _group_sizes(model: Model) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for node in model.tree.values():
        if node.kind == "file":
            sizes[id(node)] = sizes.get(id(node), 0) + 1
    return sizes


def _not_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


hostile_components = st.sampled_from(["..", ".", "a", "b", "outside", "secret", ""])
hostile_names = st.tuples(
    st.sampled_from(["", "/", "./", "../"]),
    st.lists(hostile_components, min_size=1, max_size=4).map("/".join),
).map("".join)
hostile_targets = st.one_of(
    hostile_names,
    st.sampled_from(
        ["/", "..", "../..", "../outside", "/outside", "../outside/secret", "../../../.."]
    ),
)


@st.composite
def hostile_entries(draw: st.DrawFn) -> Entry:
    kind = draw(
        st.sampled_from(
            ["file", "dir", "symlink", "symlink", "hardlink", "whiteout", "opaque", "fifo"]
        )
    )
    name = draw(hostile_names)
    if kind == "file":
        return Entry.file(name, b"pwned", draw(modes))
    if kind == "dir":
        return Entry.dir(name, 0o777)
    if kind == "symlink":
        return Entry.symlink(name, draw(hostile_targets))
    if kind == "hardlink":
        return Entry.hardlink(name, draw(hostile_targets))
    if kind == "whiteout":
        return Entry.whiteout(name)
    if kind == "opaque":
        return Entry.opaque(name)
    return Entry.fifo(name)


def hostile_stacks() -> st.SearchStrategy[Stack]:
    """1-3 layers of 0-8 hostile entries each."""
    return st.lists(st.lists(hostile_entries(), max_size=8), min_size=1, max_size=3)
