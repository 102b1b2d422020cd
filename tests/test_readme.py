"""The README's configuration tables list exactly the fields the models accept."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import attrs
import pytest
from registry_image.core.converter import json_keys
from registry_image.core.models import GetParams, PutParams, Source
from registry_image.core.plugins import load_plugins

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_fields(heading: str) -> list[str]:
    """The first-column names of the table under ``heading``."""
    section = README.read_text().split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z_.]+)` \|", section, flags=re.MULTILINE)


def model_fields(model: type, prefix: str = "") -> list[str]:
    """Every field of ``model``, nested attrs classes flattened as ``a.b``."""
    names = []
    hints = typing.get_type_hints(model)
    for field in attrs.fields(model):
        if field.name.lower() not in json_keys(model):
            continue  # filled from keys plugins own, not a JSON key itself
        nested = (
            [arg for arg in typing.get_args(hints[field.name]) if attrs.has(arg)]
            if isinstance(hints[field.name], types.UnionType)
            else []
        )
        if nested:
            names += model_fields(nested[0], f"{prefix}{field.name}.")
        else:
            names.append(prefix + field.name)
    return names


@pytest.mark.parametrize(
    ("heading", "model"),
    [
        ("### source", Source),
        ("### get params (`in`)", GetParams),
        ("### put params (`out`)", PutParams),
    ],
)
def test_readme_table_matches_model(heading: str, model: type) -> None:
    documented = documented_fields(heading)
    assert len(documented) == len(set(documented)), "a field is documented twice"
    expected = model_fields(model)
    if model is Source:  # and the keys the built-in plugins own (ECR, ACR)
        expected += [
            name for fields in load_plugins().source_fields for name in model_fields(fields)
        ]
    assert sorted(documented) == sorted(expected)
