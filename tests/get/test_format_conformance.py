"""The built-in formats pass the format conformance suite, and the suite
catches formats that misbehave."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from registry_image.core import hookimpl
from registry_image.core.errors import ResourceError
from registry_image.core.fetch import FetchedImage
from registry_image.plugins.formats import oci, oci_layout, rootfs

from tests.conformance import format_conformance_tests, run_format_conformance

test_rootfs_conformance = format_conformance_tests(rootfs.RootfsFormat, rootfs)
test_oci_conformance = format_conformance_tests(oci.OciFormat, oci)
test_oci_layout_conformance = format_conformance_tests(oci_layout.OciLayoutFormat, oci_layout)


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


@pytest.mark.parametrize(
    ("format_class", "failing_check"),
    [
        (SwallowsErrors, "check_refuses_damaged_blobs"),
        (WritesBeside, "check_writes_a_single_image"),
        (WritesNothing, "check_writes_a_single_image"),
        (BadName, "check_declares_a_name"),
    ],
)
def test_the_suite_catches_misbehaving_formats(
    tmp_path: Path, format_class: Any, failing_check: str
) -> None:
    with pytest.raises(AssertionError, match=f"^{failing_check}: "):
        run_format_conformance(format_class, _Plugin(format_class), tmp_path)
