"""Hypothesis strategies for layer stacks: lists of layers, each a list of
:class:`~registry_image.testing.oci_builder.Entry`.

- :func:`layer_stacks`: files, directories, symlinks, hard links, FIFOs,
  whiteouts and opaque markers over a few short names, so that entries
  often meet (replace, link to, white out) what earlier ones wrote. Some
  stacks cannot be applied (a hard link to nothing, a file where a
  directory must be); :func:`registry_image.testing.model.predict` says which.
- :func:`hostile_stacks`: names and link targets aiming at ``../outside``
  (see :func:`registry_image.testing.trees.sandbox`), absolute paths, ``..``
  and whiteouts of parents, for checking that writes stay confined.
"""

from __future__ import annotations

from hypothesis import strategies as st

from .oci_builder import Entry

Stack = list[list[Entry]]

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
def layer_stacks(draw: st.DrawFn) -> Stack:
    """1-4 layers of 0-6 entries each."""
    seen: list[str] = []
    files: list[str] = []
    return [
        draw(st.lists(entries(seen, files), max_size=6))
        for _ in range(draw(st.integers(min_value=1, max_value=4)))
    ]


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
