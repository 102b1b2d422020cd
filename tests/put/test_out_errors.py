"""``out`` refuses bad requests with the Go resource's messages, before it
contacts any registry (the repository here points at a closed port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from registry_image.testing.oci_builder import Entry, build_image, docker_save_tar

from tests.harness.resource import run_resource

NOWHERE = "127.0.0.1:9/nothing/here"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A task output holding one docker save tarball, ``image.tar``."""
    src = tmp_path / "src"
    src.mkdir()
    built = build_image(tmp_path / "layout", [[Entry.file("f", b"x")]])
    docker_save_tar(src / "image.tar", built, None)
    return src


def out(src: Path, params: dict[str, Any], **source: Any) -> str:
    request = {"source": {"repository": NOWHERE, **source}, "params": params}
    result = run_resource("out", request, str(src))
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    return result.error_line.removeprefix("error: ")


def test_glob_matching_nothing(src: Path) -> None:
    assert out(src, {"image": "*.oci"}, tag="t") == "no files match glob '*.oci'"


def test_glob_matching_several(src: Path) -> None:
    (src / "other.tar").write_bytes((src / "image.tar").read_bytes())
    message = out(src, {"image": "*.tar"}, tag="t")
    assert message == (
        f"too many files/directories match glob '*.tar': [{src}/image.tar {src}/other.tar]"
    )


def test_glob_matches_hidden_files_like_go(src: Path) -> None:
    (src / ".hidden.tar").write_bytes(b"")
    assert out(src, {"image": "*.tar"}, tag="t").startswith("too many files/directories")


def test_invalid_semantic_version(src: Path) -> None:
    message = out(src, {"image": "image.tar", "version": "hoogily-boogily"})
    assert message == 'invalid semantic version: "hoogily-boogily"'


def test_version_that_fails_to_parse(src: Path) -> None:
    message = out(src, {"image": "image.tar", "version": "1.0.0-rc.01"})
    assert message == "failed to parse version: version segment starts with 0"


def test_version_is_checked_before_the_glob(src: Path) -> None:
    message = out(src, {"image": "missing.tar", "version": "nope"})
    assert message == 'invalid semantic version: "nope"'


def test_no_tag_at_all(src: Path) -> None:
    message = out(src, {"image": "image.tar", "bump_aliases": True})
    assert message == "no tag specified - need either 'version:' in params or 'tag:' in source"


def test_tag_prefix_without_additional_tags(src: Path) -> None:
    message = out(src, {"image": "image.tar", "tag_prefix": "v"}, tag="t")
    assert message == "tag_prefix can only be used when additional_tags are specified"


def test_tag_prefix_with_an_empty_additional_tags_file(src: Path) -> None:
    (src / "tags").write_text(" \n")
    message = out(src, {"image": "image.tar", "tag_prefix": "v", "additional_tags": "tags"})
    assert message == "tag_prefix can only be used when additional_tags are specified"


def test_missing_additional_tags_file(src: Path) -> None:
    message = out(src, {"image": "image.tar", "additional_tags": "tags"}, tag="t")
    path = f"{src}/tags"
    assert message == (
        f'could not parse additional tags: failed to read file at "{path}": '
        f"open {path}: no such file or directory"
    )


def test_image_that_cannot_be_read(src: Path) -> None:
    (src / "junk.tar").write_bytes(b"not a tar at all" * 100)
    message = out(src, {"image": "junk.tar"}, tag="t")
    assert message.startswith(f"could not load image from path 'junk.tar': {src}/junk.tar is not")


def test_directory_that_is_no_layout(src: Path) -> None:
    (src / "dir").mkdir()
    message = out(src, {"image": "dir"}, tag="t")
    assert message == (
        f"could not load image from path 'dir': {src}/dir is not an OCI image layout: "
        "it has no index.json"
    )


def test_invalid_tag(src: Path) -> None:
    assert out(src, {"image": "image.tar"}, tag="a b") == "source.tag: invalid tag 'a b'"


def test_additional_tag_that_is_no_tag(src: Path) -> None:
    (src / "tags").write_text("good bad/tag")
    message = out(src, {"image": "image.tar", "additional_tags": "tags"})
    assert message == "tag to push: invalid tag 'bad/tag'"


def test_unknown_param(src: Path) -> None:
    message = out(src, {"image": "image.tar", "imagee": "x"}, tag="t")
    assert message == "invalid request: params: unknown field(s): imagee"


def test_missing_image_param(src: Path) -> None:
    message = out(src, {}, tag="t")
    assert message == "invalid request: params.image: required field missing"


def test_no_source_directory(src: Path) -> None:
    request = {"source": {"repository": NOWHERE, "tag": "t"}, "params": {"image": "x"}}
    result = run_resource("out", request)
    assert result.returncode == 1
    assert result.error_line == ("error: usage: out SRC (the directory holding the task's outputs)")
