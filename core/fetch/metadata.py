"""Image labels and annotations that ``in`` adds to its metadata.

``source.label_regex`` selects config labels and ``source.annotation_regex``
manifest annotations by key (an unanchored search, as Go's
``regexp.MatchString``); each selected entry becomes a metadata field, sorted
by key, labels before annotations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..models import MetadataField, Source


def compile_regex(pattern: str, field: str) -> re.Pattern[str]:
    """``pattern`` compiled; ``ConfigError`` naming ``field`` if invalid."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{field}: invalid regex pattern {pattern!r}: {exc}") from None


def matching_fields(
    values: Mapping[str, Any] | None, regex: re.Pattern[str]
) -> list[MetadataField]:
    """The string entries of ``values`` whose key ``regex`` finds, sorted by key."""
    if not values:
        return []
    return [
        MetadataField(name=key, value=values[key])
        for key in sorted(values)
        if isinstance(key, str) and isinstance(values[key], str) and regex.search(key)
    ]


def image_metadata(
    source: Source, labels: Mapping[str, str] | None, annotations: Mapping[str, str] | None
) -> list[MetadataField]:
    """The metadata fields ``source`` asks for from an image config's
    ``labels`` and its image manifest's ``annotations``. Nothing when
    neither regex is set."""
    fields: list[MetadataField] = []
    if source.label_regex:
        regex = compile_regex(source.label_regex, "source.label_regex")
        fields += matching_fields(labels, regex)
    if source.annotation_regex:
        regex = compile_regex(source.annotation_regex, "source.annotation_regex")
        fields += matching_fields(annotations, regex)
    return fields
