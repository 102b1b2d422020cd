"""Property tests of the unpacker.

1. Any generated layer stack (files, directories, symlinks, hard links,
   FIFOs, whiteouts, opaque markers) gives the tree the in-memory model
   (``tests.get.model``) predicts, or fails exactly when the model does.
2. Hostile stacks (``..`` names, absolute names, symlinks and hard links
   pointing out, whiteouts of parents) never change anything outside the
   root, whether they fail or not.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_image.core.errors import ImageError, UnsafeLayerError

from tests.get.helpers import PRIVILEGED, full_snapshot, links, snapshot, unpack
from tests.get.model import Model, ModelError, ModelUnsafe
from tests.harness.oci_builder import Entry

SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UMASK = os.umask(0)
os.umask(UMASK)

components = st.sampled_from(["a", "b", "c"])
relative_names = st.lists(components, min_size=1, max_size=3).map("/".join)
prefixes = st.sampled_from(["", "./", "/"])
dir_names = st.tuples(prefixes, relative_names).map("".join)
# Leaves mostly get names of their own, sometimes a directory's (a conflict).
leaf_names = st.tuples(
    prefixes,
    st.lists(components, max_size=2).map(lambda parts: "".join(p + "/" for p in parts)),
    st.sampled_from(["f", "g", "f", "g", "a"]),
).map("".join)
modes = st.sampled_from([0o644, 0o755, 0o600, 0o603, 0o4755, 0o2750, 0o000])
dir_modes = st.sampled_from([0o755, 0o700, 0o1777, 0o2775, 0o555])
mtimes = st.sampled_from([0, 1000, 86400 * 365, 1_700_000_000])
owners = st.sampled_from([0, 1000])
link_targets = st.one_of(
    relative_names,
    relative_names.map(lambda n: "/" + n),
    relative_names.map(lambda n: "../" + n),
    st.sampled_from(["/", ".", "..", "../..", "a/..", "nowhere"]),
)
KINDS = [
    "file",
    "file",
    "dir",
    "dir",
    "symlink",
    "hardlink",
    "hardlink",
    "whiteout",
    "opaque",
    "fifo",
]


@st.composite
def entries(draw: st.DrawFn, seen: list[str], files: list[str]) -> Entry:
    """One entry; names, link targets and whiteouts often reuse earlier names
    (``seen``); hard links mostly point at earlier files (``files``)."""
    kind = draw(st.sampled_from(KINDS))
    if kind == "hardlink" and not files and draw(st.booleans()):
        kind = "file"  # mostly link to something that exists
    earlier = st.sampled_from(seen) if seen else relative_names
    mtime = draw(mtimes)
    if kind == "dir":
        name = draw(st.one_of(dir_names, dir_names, earlier))
        entry = Entry.dir(name, draw(dir_modes), uid=draw(owners), gid=draw(owners), mtime=mtime)
    elif kind in ("whiteout", "opaque"):
        name = draw(earlier).strip("/") or "a"
        marker = Entry.whiteout if kind == "whiteout" else Entry.opaque
        entry = marker(name, mtime=mtime)
    else:
        name = draw(st.one_of(leaf_names, leaf_names, earlier))
        if kind == "file":
            content = draw(st.binary(max_size=64))
            entry = Entry.file(
                name, content, draw(modes), uid=draw(owners), gid=draw(owners), mtime=mtime
            )
        elif kind == "symlink":
            target = draw(st.one_of(link_targets, earlier))
            entry = Entry.symlink(name, target, uid=draw(owners), mtime=mtime)
        elif kind == "hardlink":
            linked = st.sampled_from(files) if files else earlier
            target = draw(st.one_of(linked, linked, linked.map(lambda n: "/" + n), link_targets))
            entry = Entry.hardlink(name, target, mtime=mtime)
        else:
            entry = Entry.fifo(name, draw(modes), mtime=mtime)
        if kind == "file":
            files.append(name)
    seen.append(name)
    return entry


@st.composite
def layer_stacks(draw: st.DrawFn) -> list[list[Entry]]:
    """1-4 layers of 0-6 entries each."""
    seen: list[str] = []
    files: list[str] = []
    return [
        draw(st.lists(entries(seen, files), max_size=6))
        for _ in range(draw(st.integers(min_value=1, max_value=4)))
    ]


def _model_tree(stack: list[list[Entry]]) -> Model | None:
    model = Model()
    try:
        for layer in stack:
            model.apply_layer(layer)
    except (ModelError, ModelUnsafe):
        return None
    return model


def _expected(model: Model, with_owner: bool) -> dict[str, tuple[object, ...]]:
    expected = {}
    for path, node in model.tree.items():
        mode = None if node.kind == "symlink" else node.mode
        if node.mtime is None:  # an implicit directory
            mode = node.mode & ~UMASK
        expected["/".join(path)] = (
            node.kind,
            mode,
            node.uid if with_owner else None,
            node.gid if with_owner else None,
            node.content if node.kind == "file" else None,
            node.target or None,
            node.mtime,
        )
    return expected


def _actual(root: Path, model: Model, with_owner: bool) -> dict[str, tuple[object, ...]]:
    actual = {}
    for path, node in snapshot(root, with_owner=with_owner).items():
        modelled = model.tree.get(tuple(path.split("/")))
        implicit = modelled is not None and modelled.mtime is None
        actual[path] = (
            node.kind,
            None if node.kind == "symlink" else node.mode,
            node.uid,
            node.gid,
            (root / path).read_bytes() if node.kind == "file" else None,
            node.link,
            None if implicit else node.mtime,
        )
    return actual


def _model_links(model: Model) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for path, node in model.tree.items():
        if node.kind == "file":
            groups.setdefault(id(node), set()).add("/".join(path))
    return {frozenset(group) for group in groups.values() if len(group) > 1}


@SETTINGS
@given(stack=layer_stacks(), privileged=st.booleans())
def test_any_layer_stack_matches_the_model(stack: list[list[Entry]], privileged: bool) -> None:
    model = _model_tree(stack)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        try:
            unpack(root, stack, privileged=privileged and PRIVILEGED)
        except (ImageError, UnsafeLayerError) as exc:
            assert model is None, f"the unpacker failed where the model did not: {exc}"
            return
        assert model is not None, "the unpacker accepted a stack the model refuses"
        with_owner = privileged and PRIVILEGED
        assert _actual(root, model, with_owner) == _expected(model, with_owner)
        assert links(root) == _model_links(model)


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


@SETTINGS
@given(stack=st.lists(st.lists(hostile_entries(), max_size=8), min_size=1, max_size=3))
def test_hostile_stacks_never_touch_anything_outside(stack: list[list[Entry]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        outside = base / "outside"
        (outside / "dir").mkdir(parents=True)
        (outside / "secret").write_bytes(b"secret")
        (outside / "dir" / "file").write_bytes(b"file")
        root = base / "root"
        root.mkdir()
        before = full_snapshot(outside)
        try:
            unpack(root, stack)
        except (ImageError, UnsafeLayerError) as exc:
            assert str(exc).startswith("layer "), f"error without its layer: {exc}"
        assert full_snapshot(outside) == before
        assert sorted(os.listdir(base)) == ["outside", "root"]
