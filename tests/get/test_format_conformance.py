"""The built-in formats pass the format conformance suite, and the suite
catches formats that misbehave."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tarfile
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from registry_image.core import hookimpl
from registry_image.core.errors import ResourceError
from registry_image.core.fetch import FetchedImage
from registry_image.core.unpack import Unpacker, apply_layer
from registry_image.plugins.formats import oci, oci_layout, rootfs
from registry_image.testing.conformance import (
    format_conformance_tests,
    keeps_blobs,
    run_format_conformance,
    unpacks_rootfs,
)
from registry_image.testing.readback import docker_archive
from registry_image.testing.readback import oci_layout as oci_layout_reader

test_rootfs_conformance = format_conformance_tests(
    rootfs.RootfsFormat, rootfs, promises=[unpacks_rootfs("rootfs")]
)
test_oci_conformance = format_conformance_tests(
    oci.OciFormat, oci, promises=[keeps_blobs(docker_archive("image.tar"))]
)
test_oci_layout_conformance = format_conformance_tests(
    oci_layout.OciLayoutFormat, oci_layout, promises=[keeps_blobs(oci_layout_reader("oci"))]
)


# Enough for each mutant to be caught by the check aimed at it (they are
# deterministic in CI's derandomized profile).
MUTANT_EXAMPLES = 30


class _Plugin:
    def __init__(self, format_class: type) -> None:
        self.format_class = format_class

    @hookimpl
    def registry_image_register_formats(self) -> list[type]:
        return [self.format_class]


class SwallowsErrors:
    name: ClassVar[str] = "swallows"

    def write(self, image: FetchedImage, dest: Path) -> None:
        for _, opened in image.layer_streams():
            try:
                with opened as stream:
                    (dest / "layer").write_bytes(stream.read())
            except ResourceError:
                pass


class WritesBeside:
    name: ClassVar[str] = "beside"

    def write(self, image: FetchedImage, dest: Path) -> None:
        (dest / "ok").write_text("ok")
        (dest.parent / "escaped").write_text("oops")


class WritesNothing:
    name: ClassVar[str] = "nothing"

    def write(self, image: FetchedImage, dest: Path) -> None:
        pass


class BadName(WritesNothing):
    name: ClassVar[str] = "Bad Name"


class ClimbsOut:
    """Writes each regular file at its name under DEST/rootfs, ``..`` and all.
    (To keep this test safe it never writes above DEST's parent.)"""

    name: ClassVar[str] = "climbs"

    def write(self, image: FetchedImage, dest: Path) -> None:
        fence = str(dest.parent) + os.sep
        for _, opened in image.layer_streams():
            with opened as stream:
                blob = stream.read()
            with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
                for member in tar:
                    target = os.path.normpath(dest / "rootfs" / member.name.lstrip("/"))
                    if member.isfile() and target.startswith(fence):
                        # It never raises, so only the sandbox can catch it.
                        with contextlib.suppress(OSError):
                            os.makedirs(os.path.dirname(target), exist_ok=True)
                            with open(target, "wb") as file:
                                file.write(b"written")


class GunzipsItself:
    """Decompresses layers with the gzip module and lets its errors out."""

    name: ClassVar[str] = "gunzips"

    def write(self, image: FetchedImage, dest: Path) -> None:
        for number, (_, opened) in enumerate(image.layer_streams()):
            with opened as stream:
                blob = stream.read()
            (dest / f"layer{number}.tar").write_bytes(gzip.decompress(blob))


class NamesFilesAtRandom:
    name: ClassVar[str] = "random"

    def write(self, image: FetchedImage, dest: Path) -> None:
        (dest / uuid.uuid4().hex).write_bytes(image.manifest.content)


class AppliesLayersBackwards:
    """Confined, clean errors, repeatable: only the tree is wrong."""

    name: ClassVar[str] = "backwards"

    def write(self, image: FetchedImage, dest: Path) -> None:
        layers = []
        for layer, opened in image.layer_streams():
            with opened as stream:
                layers.append((layer.label, stream.read()))
        (dest / "rootfs").mkdir()
        with Unpacker(dest / "rootfs") as unpacker:
            for label, blob in reversed(layers):
                apply_layer(unpacker, io.BytesIO(blob), label)
            unpacker.finish()


class LayoutDroppingLastLayer:
    """An OCI layout whose manifest is right but whose last layer is empty."""

    name: ClassVar[str] = "dropping"

    def write(self, image: FetchedImage, dest: Path) -> None:
        oci_layout.OciLayoutFormat().write(image, dest)
        if image.layers:
            last = image.layers[-1].digest.partition(":")[2]
            (dest / "oci" / "blobs" / "sha256" / last).write_bytes(b"")


class EmptyLayout:
    """Writes the files of a layout with nothing in them."""

    name: ClassVar[str] = "empty"

    def write(self, image: FetchedImage, dest: Path) -> None:
        (dest / "oci").mkdir()
        (dest / "oci" / "index.json").write_text("")


@pytest.mark.parametrize(
    ("format_class", "failing_check"),
    [
        (LayoutDroppingLastLayer, r"check_keeps_blobs: layer \d+ read back differs"),
        (EmptyLayout, "check_keeps_blobs: EmptyLayout: the output does not read back"),
        (oci_layout.OciLayoutFormat, "check_declares_how_its_output_is_read_back"),
    ],
)
def test_the_suite_reads_the_output_back(
    tmp_path: Path, format_class: Any, failing_check: str
) -> None:
    promises = (
        [] if format_class is oci_layout.OciLayoutFormat else [keeps_blobs(oci_layout_reader())]
    )
    with pytest.raises(AssertionError, match=f"^{failing_check}"):
        run_format_conformance(
            format_class,
            _Plugin(format_class),
            tmp_path,
            promises=promises,
            max_examples=MUTANT_EXAMPLES,
        )


@pytest.mark.parametrize(
    ("format_class", "failing_check"),
    [
        (SwallowsErrors, "check_refuses_damaged_blobs"),
        (WritesBeside, "check_writes_a_single_image: sandbox"),
        (WritesNothing, "check_writes_a_single_image"),
        (BadName, "check_declares_a_name"),
        (ClimbsOut, "check_any_layer_stack_stays_inside_dest: sandbox"),
        (GunzipsItself, "check_corrupt_layers_fail_cleanly"),
        (NamesFilesAtRandom, "check_is_repeatable"),
        (AppliesLayersBackwards, "check_unpacks_rootfs"),
    ],
)
def test_the_suite_catches_misbehaving_formats(
    tmp_path: Path, format_class: Any, failing_check: str
) -> None:
    with pytest.raises(AssertionError, match=f"^{failing_check}"):
        run_format_conformance(
            format_class,
            _Plugin(format_class),
            tmp_path,
            promises=[unpacks_rootfs()],
            max_examples=MUTANT_EXAMPLES,
        )
