"""The plugin architecture's boundaries, checked on the source: the built-in
auth and transport plugins use the public API exactly as the third-party
examples do (that the core names no provider is tests/test_core_names_no_provider.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sources(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _registry_image_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = {node.module}
        elif isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
        else:
            continue
        found |= {name for name in names if name.startswith("registry_image")}
    return found


@pytest.mark.parametrize(
    "path",
    _sources("plugins/auth", "plugins/transports"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_builtin_auth_and_transport_plugins_use_only_the_public_api(path: Path) -> None:
    assert _registry_image_imports(path) <= {"registry_image.api"}


def test_the_boundary_checks_see_the_plugins() -> None:
    names = {path.name for path in _sources("plugins/auth", "plugins/transports")}
    assert {"basic.py", "bearer.py", "anonymous.py", "source.py", "http.py"} <= names
