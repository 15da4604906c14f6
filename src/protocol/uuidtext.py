"""Parse a UUID the way the reference's ``uuid`` crate does, with its error wording."""

from __future__ import annotations

import string
from typing import Final

__all__ = ["UuidError", "parse_uuid"]

_HEX: Final = frozenset(string.hexdigits)
_GROUPS: Final = (8, 4, 4, 4, 12)


class UuidError(ValueError):
    pass


def parse_uuid(text: str) -> str:
    """Simple, hyphenated, ``urn:uuid:`` or braced forms; returns the lowercase hyphenated form."""
    body, offset = text, 0
    if body.startswith("urn:uuid:"):
        body, offset = body[9:], 9
    elif body.startswith("{") and body.endswith("}"):
        body, offset = body[1:-1], 1
    for i, ch in enumerate(body):
        if ch not in _HEX and ch != "-":
            raise UuidError(
                "invalid character: expected an optional prefix of `urn:uuid:` followed by "
                f"[0-9a-fA-F-], found `{ch}` at {i + offset + 1}"
            )
    if "-" not in body:
        if len(body) != 32:
            raise UuidError(f"invalid length: expected length 32 for simple format, found {len(body)}")
        hexed = body.lower()
    else:
        groups = body.split("-")
        if len(groups) != 5:
            raise UuidError(f"invalid group count: expected 5, found {len(groups)}")
        for i, (group, want) in enumerate(zip(groups, _GROUPS, strict=True)):
            if len(group) != want:
                raise UuidError(f"invalid group length in group {i}: expected {want}, found {len(group)}")
        hexed = "".join(groups).lower()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
