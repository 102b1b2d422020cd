"""How deeply a JSON text nests, measured without parsing it.

``json.loads`` recurses once per level: a request nested 100,000 levels
deep would end in a ``RecursionError`` (and a traceback) before any
validation could name the problem. Concourse requests nest a handful of
levels; anything past ``MAX_REQUEST_DEPTH`` is refused up front.
"""

from __future__ import annotations

MAX_REQUEST_DEPTH = 64


def nested_deeper_than(text: str, limit: int = MAX_REQUEST_DEPTH) -> bool:
    """Whether ``[`` / ``{`` outside strings nest more than ``limit`` deep in
    ``text``. Malformed JSON may give either answer; the parser then says
    what is wrong with it."""
    if text.count("[") + text.count("{") <= limit:
        return False  # not enough brackets to be that deep: no need to scan
    depth = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > limit:
                return True
        elif character in "]}":
            depth -= 1
    return False
