"""Conformance checks every ``in`` format plugin must pass.

A format plugin (built-in or third-party) runs them against itself::

    from tests.conformance import format_conformance_tests
    import my_plugin

    test_conformance = format_conformance_tests(my_plugin.MyFormat, my_plugin)

or, outside pytest, ``run_format_conformance(MyFormat, my_plugin, workdir)``.
Each check is a function ``check(format_class, plugin, workdir)`` that raises
``AssertionError`` when the format misbehaves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from registry_image.core.errors import ResourceError
from registry_image.core.fetch import FetchedImage, fetch_image
from registry_image.core.formats import ImageFormat
from registry_image.core.models import Platform, Tag, Version
from registry_image.core.plugins import Plugins, new_manager

from tests.conformance.source import MemorySource
from tests.harness.oci_builder import Entry, ImageSpec, build_image, build_index

Check = Callable[[type[ImageFormat], Any, Path], None]
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LAYERS = [
    [Entry.dir("etc"), Entry.file("etc/hello", b"hello\n"), Entry.symlink("link", "/etc/hello")],
    [Entry.file("bin", b"\x7fELF", 0o755), Entry.whiteout("etc/hello")],
]


@attrs.frozen
class Sample:
    """A fetched image and the source it came from."""

    image: FetchedImage
    source: MemorySource


def single_image(workdir: Path, *, damaged: bool = False) -> Sample:
    layout = workdir / "sample-single"
    built = build_image(layout, LAYERS, config={"Labels": {"a": "b"}, "Env": ["X=1"]})
    source = MemorySource.from_layout(layout)
    image = _fetch(source, built.manifest_digest)
    if damaged:
        source = source.damaged(set(built.layer_digests))
        image = attrs.evolve(image, source=source)
    return Sample(image, source)


def multi_arch_image(workdir: Path) -> Sample:
    layout = workdir / "sample-index"
    built = build_index(
        layout,
        [
            ImageSpec(LAYERS, architecture="amd64"),
            ImageSpec([[Entry.file("arm", b"arm")]], architecture="arm64"),
        ],
    )
    source = MemorySource.from_layout(layout)
    return Sample(_fetch(source, built.index_digest, Platform("linux", "amd64")), source)


def _fetch(source: MemorySource, digest: str, platform: Platform | None = None) -> FetchedImage:
    version = Version(tag=Tag("1.0"), digest=digest)
    return fetch_image(
        source, repository="registry.test/sample", version=version, platform=platform
    )


def _tree(directory: Path) -> dict[str, tuple[int, int, float]]:
    found = {}
    for parent, dirnames, filenames in os.walk(directory):
        for name in [".", *dirnames, *filenames]:
            path = Path(parent) / name
            info = path.lstat()
            found[str(path.relative_to(directory))] = (info.st_mode, info.st_size, info.st_mtime)
    return found


def _write_confined(format_class: type[ImageFormat], sample: Sample, workdir: Path) -> Path:
    """Write into a fresh ``dest`` and check nothing beside it changed."""
    sentinel = workdir / "beside"
    sentinel.mkdir(parents=True, exist_ok=True)
    (sentinel / "file").write_bytes(b"untouched")
    before = _tree(workdir)
    dest = workdir / "dest"
    dest.mkdir()
    format_class().write(sample.image, dest)
    after = {k: v for k, v in _tree(workdir).items() if k != "dest" and not k.startswith("dest/")}
    expected = {k: v for k, v in before.items() if k != "." and k != "dest"}
    after.pop(".", None)
    assert after == expected, f"{format_class.__name__} wrote outside its destination"
    return dest


# -- the checks ---------------------------------------------------------------


def check_declares_a_name(format_class: type[ImageFormat], plugin: Any, workdir: Path) -> None:
    """``name`` is a short lower-case identifier, ``write`` a method."""
    name = getattr(format_class, "name", None)
    assert isinstance(name, str) and NAME.match(name), f"bad format name {name!r}"
    assert callable(getattr(format_class, "write", None)), "no write method"


def check_registered_by_its_plugin(
    format_class: type[ImageFormat], plugin: Any, workdir: Path
) -> None:
    """The plugin's ``registry_image_register_formats`` hook provides the class."""
    plugins = Plugins(*new_manager([plugin], entry_points=False))
    assert plugins.format(format_class.name) is format_class


def check_writes_a_single_image(
    format_class: type[ImageFormat], plugin: Any, workdir: Path
) -> None:
    """Writes something, and only inside the destination."""
    dest = _write_confined(format_class, single_image(workdir), workdir)
    assert any(dest.iterdir()), f"{format_class.__name__} wrote nothing"


def check_writes_a_multi_arch_image(
    format_class: type[ImageFormat], plugin: Any, workdir: Path
) -> None:
    """An index (multi-platform) version works too, confined as well."""
    dest = _write_confined(format_class, multi_arch_image(workdir), workdir)
    assert any(dest.iterdir()), f"{format_class.__name__} wrote nothing for an index"


def check_refuses_damaged_blobs(
    format_class: type[ImageFormat], plugin: Any, workdir: Path
) -> None:
    """Layers whose bytes do not match their digest fail the write with a
    ``ResourceError``, unless the format never reads layers at all."""
    sample = single_image(workdir, damaged=True)
    dest = workdir / "dest"
    dest.mkdir()
    try:
        format_class().write(sample.image, dest)
    except ResourceError:
        return
    layers = {layer.digest for layer in sample.image.layers}
    read = layers & set(sample.source.opened)
    assert not read, f"{format_class.__name__} read damaged layers {sorted(read)} and did not fail"


def check_is_repeatable(format_class: type[ImageFormat], plugin: Any, workdir: Path) -> None:
    """The same image written twice gives the same file names, types and sizes."""
    sample = single_image(workdir)
    trees = []
    for attempt in ("one", "two"):
        dest = workdir / attempt
        dest.mkdir()
        format_class().write(sample.image, dest)
        trees.append({path: (mode, size) for path, (mode, size, _) in _tree(dest).items()})
    assert trees[0] == trees[1], f"{format_class.__name__} is not repeatable"


FORMAT_CHECKS: tuple[Check, ...] = (
    check_declares_a_name,
    check_registered_by_its_plugin,
    check_writes_a_single_image,
    check_writes_a_multi_arch_image,
    check_refuses_damaged_blobs,
    check_is_repeatable,
)


def run_format_conformance(format_class: type[ImageFormat], plugin: Any, workdir: Path) -> None:
    """Run every check (each in its own subdirectory of ``workdir``); the
    first failure raises ``AssertionError`` naming its check."""
    for check in FORMAT_CHECKS:
        directory = workdir / check.__name__
        directory.mkdir(parents=True)
        try:
            check(format_class, plugin, directory)
        except AssertionError as exc:
            raise AssertionError(f"{check.__name__}: {exc}") from exc


def format_conformance_tests(format_class: type[ImageFormat], plugin: Any) -> Callable[..., None]:
    """A pytest test function running every check against ``format_class``
    (registered by ``plugin``), one parametrized case per check."""

    @pytest.mark.parametrize("check", FORMAT_CHECKS, ids=lambda check: check.__name__)
    def test_format_conformance(check: Check, tmp_path: Path) -> None:
        check(format_class, plugin, tmp_path)

    return test_format_conformance
