"""Every hook spec is exercised by some test: a new hook without a test fails."""

from __future__ import annotations

import ast
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
    used: set[str] = set()
    for path in TESTS.rglob("*.py"):
        if path.resolve() != Path(__file__).resolve():
            used |= _code_names(ast.parse(path.read_text()))
    untested = [name for name in hooks if name not in used]
    assert untested == [], f"hooks without a test: {untested}"


def _code_names(tree: ast.AST) -> set[str]:
    """Names a module uses in code (a hookimpl it defines, a hook it calls),
    not in comments or strings."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Name):
            names.add(node.id)
    return names


def test_a_hook_named_only_in_a_comment_or_string_does_not_count() -> None:
    source = '# registry_image_a\nx = "registry_image_b"\ndef registry_image_c(): pass\n'
    assert _code_names(ast.parse(source)) >= {"registry_image_c"}
    assert not {"registry_image_a", "registry_image_b"} & _code_names(ast.parse(source))
