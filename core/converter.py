"""JSON <-> models, strictly.

A private cattrs converter: unknown keys are rejected, strings are not coerced
from numbers (except ``tag``), booleans are not coerced from strings, and
every error names the field path, e.g. ``source.platform.architecture:
expected a string, got a number``. Values are never echoed: they may be secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn
from cattrs.v import format_exception as cattrs_format_exception

from .errors import ConfigError
from .models import Tag

T = TypeVar("T")


class _WrongType(ValueError):
    """A value of the wrong JSON type; its message is shown as is."""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise _WrongType(f"expected a string, got {_json_type(value)}")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise _WrongType(f"expected true or false, got {_json_type(value)}")
    return value


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _WrongType(f"expected a whole number, got {_json_type(value)}")
    return value


def _structure_tag(value: Any, _: type) -> str:
    # The Go resource keeps the raw JSON text of a non-string tag, so YAML's
    # `tag: 1.10` or `tag: true` mean the tags "1.10" and "true".
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    raise _WrongType(f"expected a string or number, got {_json_type(value)}")


def _structure_str_tuple(value: Any, _: type) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _WrongType(f"expected a list of strings, got {_json_type(value)}")
    for item in value:
        if not isinstance(item, str):
            raise _WrongType(f"expected a list of strings, got {_json_type(item)} in it")
    return tuple(value)


def _case_insensitive_keys(converter: cattrs.Converter) -> None:
    """Match keys to fields as Go's encoding/json does, so every pipeline
    that works with the Go resource works here: an exact match first, else a
    case-insensitive one (``Repository`` fills ``repository``)."""

    def factory(model: type) -> Callable[[Any, type], Any]:
        structure_fields: Callable[[Any, type], Any] = make_dict_structure_fn(
            model, converter, _cattrs_forbid_extra_keys=True
        )
        names = {field.name for field in attrs.fields(model)}
        folded = {name.lower(): name for name in names}

        def structure(value: Any, type_: type) -> Any:
            if isinstance(value, dict) and not names.issuperset(value):
                renamed = {}
                for key, item in value.items():
                    name = key if key in names else folded.get(str(key).lower(), key)
                    if name not in value or name == key:
                        renamed[name] = item
                value = renamed
            return structure_fields(value, type_)

        return structure

    converter.register_structure_hook_factory(attrs.has, factory)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, prefer_attrib_converters=False)
    _case_insensitive_keys(converter)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(Tag, _structure_tag)
    converter.register_structure_hook_func(
        lambda type_: type_ == tuple[str, ...], _structure_str_tuple
    )
    converter.register_unstructure_hook(Tag, str)
    return converter


_converter = _make_converter()


def _format_exception(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, _WrongType):
        return str(exc)
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown field(s): {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, AttributeError | TypeError) and not isinstance(exc, _WrongType):
        return "expected an object"
    return cattrs_format_exception(exc, type_)


def _describe(exc: Exception) -> str:
    lines = cattrs.transform_error(exc, path="$", format_exception=_format_exception)
    described = []
    for line in lines:
        message, _, path = line.rpartition(" @ ")
        path = path.removeprefix("$").lstrip(".") or "request"
        described.append(f"{path}: {message}")
    return "; ".join(described)


def structure(data: Any, model: type[T]) -> T:
    """Build ``model`` from plain data; ``ConfigError`` naming each bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid request: expected a JSON object, got {_json_type(data)}")
    try:
        return _converter.structure(data, model)
    except Exception as exc:  # cattrs raises ClassValidationError and friends
        raise ConfigError(f"invalid request: {_describe(exc)}") from None


def unstructure(instance: Any) -> Any:
    """Plain data for a model, ready for ``json.dumps``."""
    return _converter.unstructure(instance)


def parse_request(text: str, model: type[T]) -> T:
    """Parse the JSON request on stdin into ``model``.

    Numbers are kept as their exact text (``42.10`` stays ``"42.10"`` when it
    is a tag)."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid request: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    return structure(data, model)


def dump_response(instance: Any) -> str:
    """The JSON text of a response model."""
    return json.dumps(unstructure(instance))
