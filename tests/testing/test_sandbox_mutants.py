"""The conformance sandbox catches formats that write outside DEST without
raising, every time, by its own message naming what they touched.

Three mutants each write their real output into DEST and one file outside:
at an absolute path, at ``DEST/../..``, and through a symlink they plant in
DEST. Each is run through the whole suite with 10 hypothesis seeds, in the
namespace sandbox and in the snapshot fallback (``REGISTRY_IMAGE_SANDBOX=diff``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from registry_image.core import hookimpl
from registry_image.core.fetch import FetchedImage
from registry_image.testing.confine import FORCE_VARIABLE
from registry_image.testing.conformance import run_format_conformance

SEEDS = range(10)
Escape = Callable[[Path, Path], Path]
"""(DEST, a directory outside it) -> the file the mutant writes."""


def _absolute(dest: Path, elsewhere: Path) -> Path:
    return Path(os.path.abspath(elsewhere / "absolute"))


def _climbing(dest: Path, elsewhere: Path) -> Path:
    return dest / ".." / ".." / "climbed"


def _through_symlink(dest: Path, elsewhere: Path) -> Path:
    (dest / "planted").symlink_to(elsewhere, target_is_directory=True)
    return dest / "planted" / "through"


def _mutant(escape: Escape, elsewhere: Path) -> type:
    class EscapingFormat:
        name: ClassVar[str] = "escaping"

        def write(self, image: FetchedImage, dest: Path) -> None:
            (dest / "manifest.json").write_bytes(image.manifest.content)
            # A mutant that hides its failure: only the sandbox can tell.
            with contextlib.suppress(OSError):
                escape(dest, elsewhere).write_bytes(b"escaped")

    return EscapingFormat


class _Plugin:
    def __init__(self, format_class: type) -> None:
        self.format_class = format_class

    @hookimpl
    def registry_image_register_formats(self) -> list[type]:
        return [self.format_class]


def _expected_path(escape: Escape, dest: Path, elsewhere: Path) -> str:
    if escape is _climbing:
        return str(dest.parent.parent / "climbed")
    return str(elsewhere / ("absolute" if escape is _absolute else "through"))


@pytest.mark.parametrize("mode", ["namespace", "diff"])
@pytest.mark.parametrize(
    "escape", [_absolute, _climbing, _through_symlink], ids=lambda e: e.__name__
)
def test_every_seeded_run_catches_the_escape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, escape: Escape, mode: str
) -> None:
    if mode == "diff":
        monkeypatch.setenv(FORCE_VARIABLE, "diff")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    mutant = _mutant(escape, elsewhere)
    caught: list[int] = []
    for seed in SEEDS:
        workdir = tmp_path / f"seed{seed}"
        with pytest.raises(AssertionError) as failure:
            run_format_conformance(mutant, _Plugin(mutant), workdir, max_examples=5, seed=seed)
        message = str(failure.value)
        assert message.startswith("check_writes_a_single_image: sandbox ("), message
        assert "EscapingFormat wrote outside DEST" in message, message
        dest = workdir / "check_writes_a_single_image" / "write" / "dest"
        assert _expected_path(escape, dest, elsewhere) in message, message
        caught.append(seed)
    assert caught == list(SEEDS)
