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

A format declares how its output is read back, with ``promises=`` (a
format declaring none fails): :func:`unpacks_rootfs` checks that a directory
of DEST is the tree the in-memory model (:mod:`registry_image.testing.model`)
predicts for any generated stack, that the write fails exactly when the
model refuses the stack, and that corrupt layers fail; :func:`keeps_blobs`
reads the blobs back with a reader (:mod:`registry_image.testing.readback`)
and compares them byte for byte with what was served.

Blobs served short or with bytes that do not match their digest must fail.

Every write runs in a confined child process (:mod:`registry_image.testing.confine`):
everything but DEST is read-only there where the kernel allows mount
namespaces, and any write outside DEST fails the check with a message
naming the path.

The generated checks run the loaded hypothesis profile's ``max_examples``
(see :mod:`registry_image.testing.profiles`) unless ``max_examples`` is given.
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
from hypothesis import HealthCheck, event, given, seed, settings
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
from ..readback import Reader
from ..strategies import Stack, hostile_stacks, layer_stacks
from ..trees import hardlink_groups, sandbox, tree_snapshot
from .source import MemorySource

# Stacks whose result depends on the order of their layers: a later file
# replaces an earlier one, a later whiteout removes what came before.
ORDER_SENSITIVE_STACKS: tuple[Stack, ...] = (
    [
        [Entry.dir("a"), Entry.file("a/f", b"first"), Entry.file("g", b"kept")],
        [Entry.file("a/f", b"second"), Entry.whiteout("g")],
    ],
)
NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
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
    max_examples: int | None = None
    """Examples per generated check; None: the loaded hypothesis profile's
    (see :mod:`registry_image.testing.profiles`)."""
    seed: int | None = None
    """Hypothesis seed for the generated checks (None: hypothesis's own)."""
    reads_back: bool = False
    """Whether a promise reads the output back."""

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


def stack_image(
    workdir: Path,
    stack: Sequence[Sequence[Entry]],
    *,
    compression: Compression = "gzip",
    **config: Any,
) -> Sample:
    """An image of ``stack``, fetched from memory."""
    layout = workdir / "layout"
    built = build_image(layout, stack, compression=compression, config=config or None)
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

    profile = settings()  # the loaded profile: derandomized in CI, longer locally

    @settings(
        profile,
        max_examples=subject.max_examples or profile.max_examples,
        deadline=None,
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
    assert isinstance(name, str) and NAME.fullmatch(name), f"bad format name {name!r}"
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


def check_refuses_truncated_blobs(subject: Subject, workdir: Path) -> None:
    """Layers served short (a connection cut mid-blob) fail the write with a
    ``ResourceError``, unless the format never reads layers at all."""
    single = single_image(workdir)
    image = single.image
    source = single.source.truncated({layer.digest for layer in image.layers})
    sample = Sample(attrs.evolve(image, source=source), source)
    with sandbox(workdir / "write", DEST) as dest:
        error = subject.write(sample.image, dest)
    if error is not None:
        return
    read = {layer.digest for layer in image.layers} & set(source.opened)
    assert not read, f"{subject.name} read truncated layers {sorted(read)} and did not fail"


def check_declares_how_its_output_is_read_back(subject: Subject, workdir: Path) -> None:
    """At least one promise reads the output back (:func:`unpacks_rootfs`,
    :func:`keeps_blobs`): a format whose output is never checked could write
    anything."""
    assert subject.reads_back, (
        f"{subject.name} declares no read-back: pass promises=[unpacks_rootfs(...)] "
        "or promises=[keeps_blobs(reader)] (see registry_image.testing.readback)"
    )


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


@st.composite
def invalid_layers(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    """A media type, and a good layer and one that is certainly no valid
    compressed tar, in either order: a gzip or zstd stream cut short, a gzip
    stream with a bit flipped past its header (the CRC covers the rest),
    compressed bytes that are not a tar, or bytes that are not compressed.
    (``corrupt_layers`` may also produce blobs that still decode, such as a
    bit flipped in a gzip mtime, or an empty blob.)"""
    compression: Compression = draw(st.sampled_from(["gzip", "zstd"]))
    good = compress(layer_tar([Entry.file("ok", b"ok")]), compression)
    data = draw(st.binary(max_size=2000))
    valid = compress(layer_tar([Entry.dir("d"), Entry.file("d/f", data)]), compression)
    kinds = ["cut", "not a tar", "garbage"] + (["flipped"] if compression == "gzip" else [])
    kind = draw(st.sampled_from(kinds))
    event(f"invalid layer: {compression} {kind}")
    if kind == "cut":
        bad = valid[: draw(st.integers(1, len(valid) - 1))]
    elif kind == "flipped":
        flipped = bytearray(valid)
        flipped[draw(st.integers(10, len(flipped) - 1))] ^= 1 << draw(st.integers(0, 7))
        bad = bytes(flipped)
    elif kind == "not a tar":
        bad = compress(b"not a tar archive\n" + draw(st.binary(max_size=2000)), compression)
    else:
        bad = b"\x00garbage" + draw(st.binary(max_size=2000))
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
    check_refuses_truncated_blobs,
    check_declares_how_its_output_is_read_back,
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
        _corrupt_layers_fail(subject, workdir)

    check_unpacks_rootfs.__name__ = f"check_unpacks_{directory}"
    check_unpacks_rootfs.reads_back = True  # type: ignore[attr-defined]
    return check_unpacks_rootfs


def _corrupt_layers_fail(subject: Subject, workdir: Path) -> None:
    """A format that unpacks layers must fail on one that is no valid
    compressed tar (cut, bits flipped, not a tar, garbage)."""

    def body(layers: tuple[str, list[bytes]]) -> None:
        with _scratch(workdir) as scratch:
            sample = raw_image(scratch, *layers)
            dest = scratch / DEST
            dest.mkdir()
            error = subject.write(sample.image, dest)
            assert error is not None, f"{subject.name} unpacked a corrupt layer without failing"

    _for_all(subject, invalid_layers(), body)


def keeps_blobs(reader: Reader) -> Check:
    """The promise of a format that stores the image's blobs: ``reader``
    (see :mod:`registry_image.testing.readback`) reads DEST back, and what it
    returns (config, layers, manifest: whichever the format keeps) is byte for
    byte what was served, for generated stacks in gzip and zstd; for layers
    that are no valid tar the write fails or keeps them unchanged too."""

    def expect(subject: Subject, sample: Sample, dest: Path) -> None:
        try:
            written = reader(dest)
        except (ValueError, KeyError, OSError) as exc:
            raise AssertionError(f"{subject.name}: the output does not read back: {exc}") from exc
        image = sample.image
        kept = [written.config, written.layers, written.manifest]
        assert any(part is not None for part in kept), "the reader returned nothing to compare"
        if written.manifest is not None:
            assert written.manifest == image.manifest.content, "the manifest read back differs"
        if written.config is not None:
            assert written.config == image.config_bytes, "the config read back differs"
        if written.layers is not None:
            served = tuple(sample.source.blobs[layer.digest] for layer in image.layers)
            assert len(written.layers) == len(served), (
                f"{len(written.layers)} layers read back, {len(served)} served"
            )
            for number, (got, want) in enumerate(zip(written.layers, served, strict=True), 1):
                assert got == want, f"layer {number} read back differs from the served blob"

    def check_keeps_blobs(subject: Subject, workdir: Path) -> None:
        def stacked(case: tuple[Stack, Compression]) -> None:
            stack, compression = case
            with _scratch(workdir) as scratch:
                sample = stack_image(scratch, stack, compression=compression)
                dest = scratch / DEST
                dest.mkdir()
                error = subject.write(sample.image, dest)
                assert error is None, f"{subject.name} failed on a valid image: {error}"
                expect(subject, sample, dest)

        def corrupt(layers: tuple[str, list[bytes]]) -> None:
            with _scratch(workdir) as scratch:
                sample = raw_image(scratch, *layers)
                dest = scratch / DEST
                dest.mkdir()
                if subject.write(sample.image, dest) is None:
                    expect(subject, sample, dest)

        compressions: st.SearchStrategy[Compression] = st.sampled_from(["gzip", "zstd"])
        _for_all(subject, st.tuples(layer_stacks(), compressions), stacked)
        _for_all(subject, corrupt_layers(), corrupt)

    check_keeps_blobs.reads_back = True  # type: ignore[attr-defined]
    return check_keeps_blobs


# -- running them -------------------------------------------------------------


def _reads_back(promises: Sequence[Check]) -> bool:
    return any(getattr(promise, "reads_back", False) for promise in promises)


def _checks(promises: Sequence[Check]) -> tuple[Check, ...]:
    return (*FORMAT_CHECKS, *promises)


def run_format_conformance(
    format_class: type[ImageFormat],
    plugin: Any,
    workdir: Path,
    *,
    promises: Sequence[Check] = (),
    max_examples: int | None = None,
    seed: int | None = None,
) -> None:
    """Run every check and promise (each in its own subdirectory of
    ``workdir``); the first failure raises ``AssertionError`` naming its check."""
    subject = Subject(format_class, plugin, max_examples, seed, _reads_back(promises))
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
    max_examples: int | None = None,
) -> Callable[..., None]:
    """A pytest test function running every check and promise against
    ``format_class`` (registered by ``plugin``), one parametrized case each."""
    subject = Subject(format_class, plugin, max_examples, None, _reads_back(promises))

    @pytest.mark.parametrize("check", _checks(promises), ids=lambda check: check.__name__)
    def test_format_conformance(check: Check, tmp_path: Path) -> None:
        check(subject, tmp_path)

    return test_format_conformance
