"""Every hook spec is exercised by some test: a new hook without a test fails."""

from __future__ import annotations

import inspect
from pathlib import Path

from registry_image.core import hookspecs

TESTS = Path(__file__).resolve().parents[1]


def test_every_hook_has_a_test() -> None:
    hooks = [
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("registry_image_")
    ]
    assert len(hooks) >= 3
    sources = "\n".join(
        path.read_text()
        for path in TESTS.rglob("test_*.py")
        if path.resolve() != Path(__file__).resolve()
    )
    untested = [name for name in hooks if name not in sources]
    assert untested == [], f"hooks without a test: {untested}"
