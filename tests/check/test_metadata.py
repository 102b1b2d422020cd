"""core.fetch.metadata: labels and annotations for ``in``'s metadata."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_image.core.errors import ConfigError
from registry_image.core.fetch.metadata import compile_regex, image_metadata, matching_fields
from registry_image.core.models import MetadataField, Source

CONFIG = {
    "org.opencontainers.image.version": "1.2.3",
    "org.opencontainers.image.source": "https://example.test/repo",
    "maintainer": "someone",
    "com.example.build": "42",
}
MANIFEST = {
    "org.opencontainers.image.created": "2024-01-01T00:00:00Z",
    "com.example.signed": "yes",
}


def fields(*pairs: tuple[str, str]) -> list[MetadataField]:
    return [MetadataField(name, value) for name, value in pairs]


def test_labels_then_annotations_each_sorted_by_key() -> None:
    source = Source(repository="x", label_regex="^org\\.opencontainers", annotation_regex="example")
    assert image_metadata(source, CONFIG, MANIFEST) == fields(
        ("org.opencontainers.image.source", "https://example.test/repo"),
        ("org.opencontainers.image.version", "1.2.3"),
        ("com.example.signed", "yes"),
    )


def test_unanchored_search_like_go() -> None:
    source = Source(repository="x", label_regex="image")
    assert [f.name for f in image_metadata(source, CONFIG, MANIFEST)] == [
        "org.opencontainers.image.source",
        "org.opencontainers.image.version",
    ]


def test_nothing_without_regexes_or_values() -> None:
    assert image_metadata(Source(repository="x"), CONFIG, MANIFEST) == []
    both = Source(repository="x", label_regex=".", annotation_regex=".")
    assert image_metadata(both, {}, {}) == []
    assert image_metadata(both, None, None) == []


@pytest.mark.parametrize("field", ["label_regex", "annotation_regex"])
def test_invalid_regex_names_the_field(field: str) -> None:
    source = Source(repository="x", **{field: "a("})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"^source.{field}: invalid regex pattern 'a\\('"):
        image_metadata(source, CONFIG, MANIFEST)


def test_compile_regex_error() -> None:
    with pytest.raises(ConfigError) as raised:
        compile_regex("[", "source.tag_regex")
    assert str(raised.value).startswith("source.tag_regex: invalid regex pattern '['")


@given(
    st.dictionaries(st.text(max_size=8), st.text(max_size=8)),
    st.sampled_from(["", "a", "^b", "c$"]),
)
def test_matching_fields_is_the_sorted_filtered_map(values: dict[str, str], pattern: str) -> None:
    found = matching_fields(values, re.compile(pattern))
    assert [f.name for f in found] == sorted(k for k in values if re.search(pattern, k))
    assert all(values[f.name] == f.value for f in found)
