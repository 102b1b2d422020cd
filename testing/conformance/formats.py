"""Conformance checks for ``in`` format plugins.

A format plugin (built-in or third-party) runs them against itself::

    import my_plugin
    from registry_image.testing.conformance import format_conformance_tests

    test_conformance = format_conformance_tests(my_plugin.MyFormat, my_plugin)

or, outside pytest, ``run_format_conformance(MyFormat, my_plugin, workdir)``.
No registry is needed: images are built in memory and served by a
:class:`~registry_image.testing.conformance.source.MemorySource`.

What every format promises (:data:`FORMAT_CHECKS`):

- it has a short lower-case ``name`` and its plugin's hook registers it;
- it writes something for an image and for a multi-platform index;
- whatever the layers hold (generated stacks of files, directories,
  symlinks, hard links, whiteouts and opaque markers; hostile ones with
  ``..`` names and links pointing out; layers that are no valid compressed
  tar under their correct digest), ``write`` returns or raises a
  ``ResourceError``, never anything else, and changes nothing outside DEST;
- blobs whose bytes do not match their digest fail the write with a
  ``ResourceError``, unless the format never reads them;
- the same image written twice gives the same tree (names, types, modes,
  owners, contents, link targets; not times), or the same error.

A format promising more says so with ``promises=``: :func:`unpacks_rootfs`
checks that a directory of DEST is the tree the in-memory model
(:mod:`registry_image.testing.model`) predicts for any generated stack, and
that the write fails exactly when the model refuses the stack.

The generated checks run ``max_examples`` hypothesis examples each.

DEST sits in a sandbox that detects writes beside it, not one that prevents
them: run a format you do not trust as an unprivileged user or in a container.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from registry_image.core.errors import ResourceError
from registry_image.core.fetch import FetchedImage, fetch_image
from registry_image.core.formats import ImageFormat
from registry_image.core.models import Platform, Tag, Version
from registry_image.core.plugins import Plugins, new_manager

from ..confine import remove_tree, run_confined
from ..model import predict
from ..oci_builder import (
    Compression,
    Entry,
    ImageSpec,
    build_image,
    build_index,
    build_raw_image,
    compress,
    layer_media_type,
    layer_tar,
)
from ..strategies import Stack, hostile_stacks, layer_stacks
from ..trees import hardlink_groups, sandbox, tree_snapshot
from .source import MemorySource

MAX_EXAMPLES = 25

# Stacks whose result depends on the order of their layers: a later file
# replaces an earlier one, a later whiteout removes what came before.
ORDER_SENSITIVE_STACKS: tuple[Stack, ...] = (
    [
        [Entry.dir("a"), Entry.file("a/f", b"first"), Entry.file("g", b"kept")],
        [Entry.file("a/f", b"second"), Entry.whiteout("g")],
    ],
)
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LAYERS = [
    [Entry.dir("etc"), Entry.file("etc/hello", b"hello\n"), Entry.symlink("link", "/etc/hello")],
    [Entry.file("bin", b"\x7fELF", 0o755), Entry.whiteout("etc/hello")],
]
DEST = "dest"
T = TypeVar("T")


@attrs.frozen
class Subject:
    """The format under test, as the checks see it."""

    format_class: type[ImageFormat]
    plugin: Any
    """The module or object whose hook registers ``format_class``."""
    max_examples: int = MAX_EXAMPLES
    seed: int | None = None
    """Hypothesis seed for the generated checks (None: hypothesis's own)."""

    @property
    def name(self) -> str:
        return self.format_class.__name__

    def write(self, image: FetchedImage, dest: Path) -> ResourceError | None:
        """Write ``image`` in a confined child process (:mod:`..confine`); the
        ``ResourceError`` it raised, if any. A write outside DEST, or any
        other exception, fails the check."""
        scratch = dest.parent / f"{dest.name}-scratch"
        scratch.mkdir()
        format_class = self.format_class

        def write() -> list[str] | None:
            format_class().write(image, dest)
            return getattr(image.source, "opened", None)

        try:
            outcome = run_confined(write, dest, scratch=scratch)
        finally:
            remove_tree(scratch)
        if outcome.escapes:
            touched = "; ".join(str(escape) for escape in outcome.escapes)
            raise AssertionError(
                f"sandbox ({outcome.mode}): {self.name} wrote outside DEST {dest}: {touched}"
            )
        opened = getattr(image.source, "opened", None)
        if isinstance(opened, list) and isinstance(outcome.value, list):
            opened.extend(d for d in outcome.value if d not in opened)
        error = outcome.error
        if error is None or isinstance(error, ResourceError):
            return error
        raise AssertionError(
            f"{self.name} raised {type(error).__name__}, not a ResourceError: {error}\n"
            f"{outcome.child_traceback}"
        )


Check = Callable[[Subject, Path], None]
"""A check: raises ``AssertionError`` when the format misbehaves."""


@attrs.frozen
class Sample:
    """A fetched image and the source it came from."""

    image: FetchedImage
    source: MemorySource


# -- images -----------------------------------------------------------------


def _fetch(source: MemorySource, digest: str, platform: Platform | None = None) -> Sample:
    version = Version(tag=Tag("1.0"), digest=digest)
    image = fetch_image(
        source, repository="registry.test/sample", version=version, platform=platform
    )
    return Sample(image, source)


def stack_image(workdir: Path, stack: Sequence[Sequence[Entry]], **config: Any) -> Sample:
    """An image of ``stack`` (gzip layers), fetched from memory."""
    layout = workdir / "layout"
    built = build_image(layout, stack, config=config or None)
    return _fetch(MemorySource.from_layout(layout), built.manifest_digest)


def raw_image(workdir: Path, media_type: str, blobs: Sequence[bytes]) -> Sample:
    """An image whose layers are exactly ``blobs``, fetched from memory."""
    layout = workdir / "raw-layout"
    built = build_raw_image(layout, blobs, media_type=media_type)
    return _fetch(MemorySource.from_layout(layout), built.manifest_digest)


def single_image(workdir: Path) -> Sample:
    return stack_image(workdir / "single", LAYERS, Labels={"a": "b"}, Env=["X=1"])


def multi_arch_image(workdir: Path) -> Sample:
    layout = workdir / "index" / "layout"
    built = build_index(
        layout,
        [
            ImageSpec(LAYERS, architecture="amd64"),
            ImageSpec([[Entry.file("arm", b"arm")]], architecture="arm64"),
        ],
    )
    return _fetch(MemorySource.from_layout(layout), built.index_digest, Platform("linux", "amd64"))


def damaged(sample: Sample) -> Sample:
    """The same image, its layers served with bytes that do not match their digests."""
    source = sample.source.damaged({layer.digest for layer in sample.image.layers})
    return Sample(attrs.evolve(sample.image, source=source), source)


@contextmanager
def _scratch(workdir: Path) -> Iterator[Path]:
    """A fresh directory under ``workdir`` for one example."""
    with tempfile.TemporaryDirectory(dir=workdir, ignore_cleanup_errors=True) as directory:
        yield Path(directory)


def _for_all(
    subject: Subject,
    strategy: st.SearchStrategy[T],
    body: Callable[[T], None],
    examples: Sequence[T] = (),
) -> None:
    """Run ``body`` on ``examples`` (always, so a check never depends on luck
    for the cases it exists for) and on ``subject.max_examples`` values of
    ``strategy``."""
    for value in examples:
        body(value)

    @settings(
        max_examples=subject.max_examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: T) -> None:
        body(value)

    if subject.seed is not None:
        run = seed(subject.seed)(run)
    run()


def _repeatable_view(root: Path) -> dict[str, object]:
    """The tree under ``root`` without times."""
    return {
        path: node._replace(mtime=0) for path, node in tree_snapshot(root, with_owner=True).items()
    }


# -- the checks ---------------------------------------------------------------


def check_declares_a_name(subject: Subject, workdir: Path) -> None:
    """``name`` is a short lower-case identifier, ``write`` a method."""
    name = getattr(subject.format_class, "name", None)
    assert isinstance(name, str) and NAME.match(name), f"bad format name {name!r}"
    assert callable(getattr(subject.format_class, "write", None)), "no write method"


def check_registered_by_its_plugin(subject: Subject, workdir: Path) -> None:
    """The plugin's ``registry_image_register_formats`` hook provides the class."""
    plugins = Plugins(*new_manager([subject.plugin], entry_points=False))
    assert plugins.format(subject.format_class.name) is subject.format_class


def _writes_something(subject: Subject, sample: Sample, workdir: Path, what: str) -> None:
    with sandbox(workdir / "write", DEST) as dest:
        error = subject.write(sample.image, dest)
    assert error is None, f"{subject.name} failed on {what}: {error}"
    assert any(dest.iterdir()), f"{subject.name} wrote nothing for {what}"


def check_writes_a_single_image(subject: Subject, workdir: Path) -> None:
    """Writes something, and only inside the destination."""
    _writes_something(subject, single_image(workdir), workdir, "a plain image")


def check_writes_a_multi_arch_image(subject: Subject, workdir: Path) -> None:
    """An index (multi-platform) version works too, confined as well."""
    _writes_something(subject, multi_arch_image(workdir), workdir, "an index")


def check_refuses_damaged_blobs(subject: Subject, workdir: Path) -> None:
    """Layers whose bytes do not match their digest fail the write with a
    ``ResourceError``, unless the format never reads layers at all."""
    sample = damaged(single_image(workdir))
    with sandbox(workdir / "write", DEST) as dest:
        error = subject.write(sample.image, dest)
    if error is not None:
        return
    layers = {layer.digest for layer in sample.image.layers}
    read = layers & set(sample.source.opened)
    assert not read, f"{subject.name} read damaged layers {sorted(read)} and did not fail"


def check_any_layer_stack_stays_inside_dest(subject: Subject, workdir: Path) -> None:
    """Generated stacks, benign or hostile: a ``ResourceError`` at most, and
    nothing outside DEST changes."""

    def body(stack: Stack) -> None:
        with _scratch(workdir) as scratch:
            sample = stack_image(scratch, stack)
            with sandbox(scratch / "write", DEST) as dest:
                subject.write(sample.image, dest)

    _for_all(subject, st.one_of(layer_stacks(), hostile_stacks()), body)


@st.composite
def corrupt_layers(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    """A media type, and a good layer and a bad one (cut, bits flipped, not
    a tar, garbage) in either order."""
    compression: Compression = draw(st.sampled_from(["gzip", "zstd"]))
    good = compress(layer_tar([Entry.file("ok", b"ok")]), compression)
    data = draw(st.binary(max_size=2000))
    valid = compress(layer_tar([Entry.dir("d"), Entry.file("d/f", data)]), compression)
    kind = draw(st.sampled_from(["cut", "flipped", "not a tar", "garbage"]))
    if kind == "cut":
        bad = valid[: draw(st.integers(0, len(valid) - 1))]
    elif kind == "flipped":
        flipped = bytearray(valid)
        flipped[draw(st.integers(0, len(flipped) - 1))] ^= 1 << draw(st.integers(0, 7))
        bad = bytes(flipped)
    elif kind == "not a tar":
        bad = compress(draw(st.binary(min_size=1, max_size=2000)), compression)
    else:
        bad = draw(st.binary(max_size=2000))
    layers = [good, bad] if draw(st.booleans()) else [bad, good]
    return layer_media_type(compression), layers


def check_corrupt_layers_fail_cleanly(subject: Subject, workdir: Path) -> None:
    """Layers that do not decompress to a tar, under their correct digests:
    a ``ResourceError`` at most, and nothing outside DEST changes."""

    def body(layers: tuple[str, list[bytes]]) -> None:
        with _scratch(workdir) as scratch:
            sample = raw_image(scratch, *layers)
            with sandbox(scratch / "write", DEST) as dest:
                subject.write(sample.image, dest)

    _for_all(subject, corrupt_layers(), body)


def check_is_repeatable(subject: Subject, workdir: Path) -> None:
    """The same image written twice gives the same tree, or the same error."""

    def body(stack: Stack) -> None:
        with _scratch(workdir) as scratch:
            sample = stack_image(scratch, stack)
            outcomes: list[object] = []
            for attempt in ("one", "two"):
                dest = scratch / attempt
                dest.mkdir()
                error = subject.write(sample.image, dest)
                outcomes.append(_repeatable_view(dest) if error is None else repr(error))
            assert outcomes[0] == outcomes[1], f"{subject.name} is not repeatable"

    _for_all(subject, layer_stacks(), body)


FORMAT_CHECKS: tuple[Check, ...] = (
    check_declares_a_name,
    check_registered_by_its_plugin,
    check_writes_a_single_image,
    check_writes_a_multi_arch_image,
    check_refuses_damaged_blobs,
    check_any_layer_stack_stays_inside_dest,
    check_corrupt_layers_fail_cleanly,
    check_is_repeatable,
)


# -- promises -----------------------------------------------------------------


def unpacks_rootfs(directory: str = "rootfs") -> Check:
    """The promise of a format that applies the layers in ``DEST/directory``:
    for any generated stack it is the tree the model predicts (owners too
    when running as root), and the write fails exactly when the model
    refuses the stack."""
    with_owner = os.geteuid() == 0

    def check_unpacks_rootfs(subject: Subject, workdir: Path) -> None:
        def body(stack: Stack) -> None:
            model = predict(stack, privileged=with_owner)
            with _scratch(workdir) as scratch:
                sample = stack_image(scratch, stack)
                dest = scratch / DEST
                dest.mkdir()
                error = subject.write(sample.image, dest)
                if error is not None:
                    assert model is None, f"{subject.name} failed where the model did not: {error}"
                    return
                assert model is not None, f"{subject.name} accepted a stack the model refuses"
                root = dest / directory
                assert model.observed(root, with_owner=with_owner) == model.expected(
                    with_owner=with_owner
                ), f"{directory}/ is not the tree the model predicts"
                assert hardlink_groups(root) == model.link_groups(), "hard links differ"

        _for_all(subject, layer_stacks(), body, examples=ORDER_SENSITIVE_STACKS)

    check_unpacks_rootfs.__name__ = f"check_unpacks_{directory}"
    return check_unpacks_rootfs


# -- running them -------------------------------------------------------------


def _checks(promises: Sequence[Check]) -> tuple[Check, ...]:
    return (*FORMAT_CHECKS, *promises)


def run_format_conformance(
    format_class: type[ImageFormat],
    plugin: Any,
    workdir: Path,
    *,
    promises: Sequence[Check] = (),
    max_examples: int = MAX_EXAMPLES,
    seed: int | None = None,
) -> None:
    """Run every check and promise (each in its own subdirectory of
    ``workdir``); the first failure raises ``AssertionError`` naming its check."""
    subject = Subject(format_class, plugin, max_examples, seed)
    for check in _checks(promises):
        directory = workdir / check.__name__
        directory.mkdir(parents=True)
        try:
            check(subject, directory)
        except AssertionError as exc:
            raise AssertionError(f"{check.__name__}: {exc}") from exc


def format_conformance_tests(
    format_class: type[ImageFormat],
    plugin: Any,
    *,
    promises: Sequence[Check] = (),
    max_examples: int = MAX_EXAMPLES,
) -> Callable[..., None]:
    """A pytest test function running every check and promise against
    ``format_class`` (registered by ``plugin``), one parametrized case each."""
    subject = Subject(format_class, plugin, max_examples)

    @pytest.mark.parametrize("check", _checks(promises), ids=lambda check: check.__name__)
    def test_format_conformance(check: Check, tmp_path: Path) -> None:
        check(subject, tmp_path)

    return test_format_conformance
