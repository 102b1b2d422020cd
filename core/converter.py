"""JSON <-> models, strictly.

A private cattrs converter: unknown keys are rejected, strings are not coerced
from numbers (except ``tag``), booleans are not coerced from strings, and
every error names the field path, e.g. ``source.platform.architecture:
expected a string, got a number``. Values are never echoed: they may be secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception as cattrs_format_exception

from .errors import ConfigError, PluginError
from .models import NOT_FROM_JSON, Source, Tag

T = TypeVar("T")


class _WrongType(ValueError):
    """A value of the wrong JSON type; its message is shown as is."""


class JsonNumber:
    """A JSON number with a fraction or an exponent, kept as its exact text
    (``1.10`` stays ``"1.10"``): no model field is a float, and a tag that
    YAML wrote as a number means the number's text, as in the Go resource."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | JsonNumber):
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
    if isinstance(value, int | JsonNumber):
        return str(value)
    raise _WrongType(f"expected a string or number, got {_json_type(value)}")


def _structure_str_tuple(value: Any, _: type) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _WrongType(f"expected a list of strings, got {_json_type(value)}")
    for item in value:
        if not isinstance(item, str):
            raise _WrongType(f"expected a list of strings, got {_json_type(item)} in it")
    return tuple(value)


def _not_from_json(model: type) -> set[str]:
    """Fields that plugins' declared keys fill, never JSON keys of their own
    (``Source.extensions``, ``GetParams.format_params``)."""
    return {field.name for field in attrs.fields(model) if field.metadata.get(NOT_FROM_JSON)}


def json_keys(model: type) -> set[str]:
    """The JSON keys of ``model`` (lower case, as matched)."""
    hidden = _not_from_json(model)
    return {field.name.lower() for field in attrs.fields(model) if field.name not in hidden}


def _case_insensitive_keys(converter: cattrs.Converter) -> None:
    """Match keys to fields as Go's encoding/json does, so every pipeline
    that works with the Go resource works here: an exact match first, else a
    case-insensitive one (``Repository`` fills ``repository``)."""

    def factory(model: type) -> Callable[[Any, type], Any]:
        hidden = _not_from_json(model)
        overrides = {name: override(omit=True) for name in hidden}
        structure_fields: Callable[[Any, type], Any] = make_dict_structure_fn(
            model,
            converter,
            _cattrs_forbid_extra_keys=True,
            **overrides,  # type: ignore[arg-type]
        )
        names = {field.name for field in attrs.fields(model)} - hidden
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


def _describe(exc: Exception, path: str = "$") -> str:
    lines = cattrs.transform_error(exc, path=path, format_exception=_format_exception)
    described = []
    for line in lines:
        message, _, path = line.rpartition(" @ ")
        path = path.removeprefix("$").lstrip(".") or "request"
        described.append(f"{path}: {message}")
    return "; ".join(described)


def structure(data: Any, model: type[T], *, path: str = "$") -> T:
    """Build ``model`` from plain data; ``ConfigError`` naming each bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid request: expected a JSON object, got {_json_type(data)}")
    try:
        return _converter.structure(data, model)
    except Exception as exc:  # cattrs raises ClassValidationError and friends
        raise ConfigError(f"invalid request: {_describe(exc, path)}") from None


def check_declared_keys(
    declared: Sequence[type], core: type = Source, what: str = "source"
) -> None:
    """``PluginError`` when a plugin declares a key the core or another
    plugin already owns (keys compare case-insensitively)."""
    owners = dict.fromkeys(json_keys(core), "the resource")
    for fields_class in declared:
        owner = f"{fields_class.__module__}.{fields_class.__qualname__}"
        for key in json_keys(fields_class):
            if key in owners:
                raise PluginError(f"{what}.{key} is declared by both {owners[key]} and {owner}")
            owners[key] = owner


def _take(values: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """Remove and return the items of ``values`` whose key (lower case) is in ``keys``."""
    taken = {key: item for key, item in values.items() if str(key).lower() in keys}
    for key in taken:
        del values[key]
    return taken


def _member(data: dict[str, Any], name: str) -> str | None:
    """The key of ``data`` that means ``name`` (exact, else case-insensitive)."""
    if name in data:
        return name
    return next((key for key in data if str(key).lower() == name), None)


def structure_request(
    data: Any,
    model: type[T],
    *,
    source_fields: Sequence[type] = (),
    format_params: Callable[[str], type | None] = lambda _: None,
) -> T:
    """``structure`` with the keys plugins own: ``source`` keys declared by
    ``source_fields`` classes, and ``params`` keys of the selected format's
    params class (``format_params(name)``), each validated as strictly as the
    core's and attached to ``Source.extensions`` / ``GetParams.format_params``."""
    if not isinstance(data, dict):
        return structure(data, model)
    data = dict(data)
    extensions: dict[type, dict[str, Any]] = {}
    source_key = _member(data, "source")
    if source_key is not None and isinstance(data[source_key], dict):
        source = data[source_key] = dict(data[source_key])
        for fields_class in source_fields:
            extensions[fields_class] = _take(source, json_keys(fields_class))
    params_class = None
    params_key = _member(data, "params")
    if (
        params_key is not None
        and isinstance(data[params_key], dict)
        and "params" in json_keys(model)
    ):
        from .steps import GetParams

        params = data[params_key] = dict(data[params_key])
        name_key = _member(params, "format")
        name = params.get(name_key, GetParams.format) if name_key else GetParams.format
        params_class = format_params(name) if isinstance(name, str) else None
        own = _take(params, json_keys(params_class)) if params_class is not None else {}
    request = structure(data, model)
    if extensions:
        structured: dict[type, Any] = {
            fields_class: structure(values, fields_class, path="$.source")
            for fields_class, values in extensions.items()
        }
        source_value = request.source  # type: ignore[attr-defined]
        request = attrs.evolve(  # type: ignore[misc]
            request, source=attrs.evolve(source_value, extensions=structured)
        )
    if params_class is not None:
        params_value = request.params  # type: ignore[attr-defined]
        request = attrs.evolve(  # type: ignore[misc]
            request,
            params=attrs.evolve(
                params_value, format_params=structure(own, params_class, path="$.params")
            ),
        )
    return request


def unstructure(instance: Any) -> Any:
    """Plain data for a model, ready for ``json.dumps``."""
    return _converter.unstructure(instance)


def parse_request(
    text: str,
    model: type[T],
    *,
    source_fields: Sequence[type] = (),
    format_params: Callable[[str], type | None] = lambda _: None,
) -> T:
    """Parse the JSON request on stdin into ``model`` (see ``structure_request``
    for the keys plugins own).

    Numbers are kept as their exact text (``42.10`` stays ``"42.10"`` when it
    is a tag)."""
    try:
        data = json.loads(text, parse_float=JsonNumber)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid request: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise ConfigError("invalid request: JSON nested too deeply") from None
    return structure_request(data, model, source_fields=source_fields, format_params=format_params)


def dump_response(instance: Any) -> str:
    """The JSON text of a response model."""
    return json.dumps(unstructure(instance))
