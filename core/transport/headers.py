"""HTTP header values the registry client reads: ``Link``, ``Retry-After``,
``Content-Range``."""

from __future__ import annotations

import contextlib
import email.utils
import re
import time

import attrs

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_LINK_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*"?([^";,]*)"?')
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.ASCII)


def link_targets(value: str | None) -> dict[str, str]:
    """``rel`` -> URL of an RFC 8288 ``Link`` header (the first of each rel)."""
    found: dict[str, str] = {}
    for url, params in _LINK.findall(value or ""):
        for name, param in _LINK_PARAM.findall(params):
            if name.lower() == "rel":
                for rel in param.split():
                    found.setdefault(rel.lower(), url.strip())
    return found


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` value (seconds or an HTTP date);
    None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, OverflowError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    return None


@attrs.frozen
class ContentRange:
    """A ``Content-Range: bytes first-last/total`` value (total None for ``*``)."""

    first: int
    last: int
    total: int | None

    @classmethod
    def parse(cls, value: str | None) -> ContentRange | None:
        match = _CONTENT_RANGE.fullmatch((value or "").strip())
        if not match:
            return None
        first, last, total = match.groups()
        parsed = cls(int(first), int(last), None if total == "*" else int(total))
        return parsed if parsed.first <= parsed.last else None
