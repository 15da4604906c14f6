"""The ``keyPath`` grammar of ``config/value/write`` and ``config/batchWrite`` (spec §5.4).

A keyPath is scanned left to right one character at a time. Outside quotes ``.`` ends a segment and
``"`` may only open a segment; inside quotes ``\\`` escapes any next character and ``"`` leaves quoted
mode without ending the segment (``"q"r`` is ``qr``). Segments never index arrays.
"""

from __future__ import annotations

from typing import Final

EMPTY_PATH: Final = "keyPath must not be empty"
EMPTY_SEGMENT: Final = "keyPath segments must not be empty"
UNTERMINATED_QUOTE: Final = "unterminated quoted keyPath segment"
INVALID_QUOTE: Final = "invalid quoted keyPath segment"
UNTERMINATED_ESCAPE: Final = "unterminated escape in keyPath"

# Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` uses. Python's `str.isspace`
# differs: it also accepts U+001C..U+001F, which the reference treats as ordinary characters.
RUST_WHITESPACE: Final = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


class KeyPathError(Exception):
    """A keyPath the reference rejects; ``str()`` is the reference's exact message."""


def parse_key_path(key_path: str) -> list[str]:
    """Split ``key_path`` into segments, or raise :class:`KeyPathError` with the reference message."""
    if all(ch in RUST_WHITESPACE for ch in key_path):
        raise KeyPathError(EMPTY_PATH)
    segments: list[str] = []
    current: list[str] = []  # the characters of the segment being read
    quoted, chars = False, iter(key_path)
    for ch in chars:
        if quoted:
            if ch == '"':
                quoted = False
            elif ch == "\\":
                escaped = next(chars, None)
                if escaped is None:
                    raise KeyPathError(UNTERMINATED_ESCAPE)
                current.append(escaped)
            else:
                current.append(ch)
        elif ch == '"':
            if current:
                raise KeyPathError(INVALID_QUOTE)
            quoted = True
        elif ch == ".":
            if not current:
                raise KeyPathError(EMPTY_SEGMENT)
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise KeyPathError(UNTERMINATED_QUOTE)
    if not current:
        raise KeyPathError(EMPTY_SEGMENT)
    segments.append("".join(current))
    return segments


def quote_segment(segment: str) -> str:
    """Spell one segment so that ``parse_key_path`` reads it back unchanged.

    Bare when that is unambiguous (no ``.``, no ``"``, not all whitespace), otherwise quoted with
    ``\\`` and ``"`` escaped. An empty segment cannot be spelled: :class:`KeyPathError`.
    """
    if not segment:
        raise KeyPathError(EMPTY_SEGMENT)
    needs_quotes = "." in segment or '"' in segment or all(ch in RUST_WHITESPACE for ch in segment)
    if not needs_quotes:
        return segment
    escaped = segment.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
