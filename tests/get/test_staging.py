"""A failed or interrupted get leaves nothing in DEST that looks complete."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from registry_image.core import hookimpl
from registry_image.core.errors import ImageError, Interrupted
from registry_image.core.fetch import FetchedImage
from registry_image.core.plugins import Plugins, new_manager
from registry_image.resource import get as get_module
from registry_image.testing.oci_builder import Entry

from tests.get.registry_helpers import push_image
from tests.harness.registry import RunningRegistry
from tests.harness.resource import source_for


class HalfWayFormat:
    """Writes what looks like a complete rootfs and image.tar, then fails."""

    name: ClassVar[str] = "half-way"
    failure: ClassVar[Callable[[], None]]

    def write(self, image: FetchedImage, dest: Path) -> None:
        (dest / "rootfs").mkdir()
        for _, opened in image.layer_streams():
            with opened as stream:
                (dest / "rootfs" / "layer").write_bytes(stream.read())
        (dest / "image.tar").write_bytes(b"looks complete")
        (dest / "metadata.json").write_text("{}")
        type(self).failure()


class HalfWayPlugin:
    @hookimpl
    def registry_image_register_formats(self) -> list[type]:
        return [HalfWayFormat]


def _fail_with(error: BaseException) -> Callable[[], None]:
    def fail() -> None:
        raise error

    return fail


def _sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize(
    ("failure", "expected", "message"),
    [
        (_fail_with(ImageError("broken")), ImageError, "broken"),
        (_fail_with(RuntimeError("a bug")), RuntimeError, "a bug"),
        (_fail_with(KeyboardInterrupt()), KeyboardInterrupt, ""),
        # a ResourceError: the CLI reports it as one line, exit 1 (test_signals)
        (_sigterm, Interrupted, "terminated by signal; nothing was written"),
    ],
    ids=["resource-error", "bug", "ctrl-c", "sigterm"],
)
def test_failed_get_leaves_dest_empty(
    registry_anonymous: RunningRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[[], None],
    expected: type[BaseException],
    message: str,
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, [[Entry.file("f", b"f")]])
    monkeypatch.setattr(HalfWayFormat, "failure", staticmethod(failure), raising=False)
    plugins = Plugins(*new_manager([HalfWayPlugin()]))
    monkeypatch.setattr(get_module, "load_plugins", lambda: plugins)
    request: dict[str, Any] = {
        "source": source_for(registry_anonymous, repo),
        "version": {"tag": "v1", "digest": image.manifest_digest},
        "params": {"format": "half-way"},
    }
    dest = tmp_path / "dest"
    handler_before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(expected) as caught:
        get_module.run_in(json.dumps(request), [str(dest)])
    assert type(caught.value) is expected
    assert str(caught.value) == message
    assert list(dest.iterdir()) == []  # no rootfs, image.tar, digest, nor staging directory
    assert signal.getsignal(signal.SIGTERM) == handler_before


def test_success_leaves_no_staging_directory(
    registry_anonymous: RunningRegistry, tmp_path: Path
) -> None:
    repo, image = push_image(registry_anonymous, tmp_path, [[Entry.file("f", b"f")]])
    request = {
        "source": source_for(registry_anonymous, repo),
        "version": {"tag": "v1", "digest": image.manifest_digest},
    }
    dest = tmp_path / "dest"
    get_module.run_in(json.dumps(request), [str(dest)])
    assert sorted(p.name for p in dest.iterdir()) == [
        "digest",
        "labels.json",
        "metadata.json",
        "repository",
        "rootfs",
        "tag",
    ]
