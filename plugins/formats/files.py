"""Small JSON files the built-in formats write, byte for byte as the Go
resource writes them (Go's ``json.Encoder``: compact, map keys sorted,
``&``, ``<``, ``>`` escaped, a trailing newline), so scripts that compare or
parse them keep working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registry_image.core.fetch import FetchedImage

_GO_HTML_ESCAPES = {
    "&": "\\u0026",
    "<": "\\u003c",
    ">": "\\u003e",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_json(value: Any) -> str:
    """``value`` encoded as Go's ``json.Encoder.Encode`` would (dict keys sorted)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for character, escape in _GO_HTML_ESCAPES.items():
        text = text.replace(character, escape)
    return text + "\n"


def write_labels(image: FetchedImage, dest: Path) -> None:
    """``labels.json``: the image config's labels (``{}`` when it has none)."""
    (dest / "labels.json").write_text(go_json(image.labels), encoding="utf-8")
