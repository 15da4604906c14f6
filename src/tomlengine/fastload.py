"""A fast reader for the plainest TOML files, with ``tomllib`` as the judge of everything else.

Config files are mostly ``[table]`` headers and ``key = "string"`` lines. :func:`fast_loads`
reads a file in which *every* line is one of a small set of forms (below), in one regular
expression match per line, and returns exactly what ``tomllib.loads`` would; for any other line,
or any rule it does not check itself (redefined tables, duplicate keys, keys that cross values),
it returns None and the caller parses with ``tomllib``. It never accepts a text ``tomllib``
rejects: the test suite checks both on generated files.

The forms: blank lines; comments; ``[a.b-c.d_e]`` headers of bare keys; ``key = value`` with a
bare key and a basic string without escapes, a literal string, ``true``/``false`` or a decimal
integer; each with optional spaces and a trailing comment.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["fast_loads"]

_COMMENT: Final = r"(?:#[^\x00-\x08\x0a-\x1f\x7f]*)?"
_LINE_RE: Final = re.compile(
    r"[ \t]*(?:"
    r"\[(?P<header>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\]"
    r"|(?P<key>[A-Za-z0-9_-]+)[ \t]*=[ \t]*(?:"
    r"\"(?P<basic>[^\"\\\x00-\x08\x0a-\x1f\x7f]*)\""
    r"|'(?P<literal>[^'\x00-\x08\x0a-\x1f\x7f]*)'"
    r"|(?P<bool>true|false)"
    r"|(?P<int>[+-]?(?:0|[1-9](?:_?[0-9])*))"
    r")"
    r")?[ \t]*" + _COMMENT
)


def fast_loads(text: str) -> dict[str, Any] | None:
    """``tomllib.loads(text)`` for the plainest files; None when ``tomllib`` must decide."""
    if "\r" in text:
        return None
    root: dict[str, Any] = {}
    current = root
    defined: set[str] = set()  # headers seen: a table is opened by a header at most once
    match = _LINE_RE.fullmatch
    for line in text.split("\n"):
        found = match(line)
        if found is None:
            return None
        key = found.group("key")
        if key is not None:
            if key in current:
                return None
            if (basic := found.group("basic")) is not None:
                current[key] = basic
            elif (literal := found.group("literal")) is not None:
                current[key] = literal
            elif (flag := found.group("bool")) is not None:
                current[key] = flag == "true"
            else:
                current[key] = int(found.group("int"))
            continue
        header = found.group("header")
        if header is not None:
            if header in defined:
                return None
            defined.add(header)
            table = root
            for part in header.split("."):
                child = table.setdefault(part, {})
                if not isinstance(child, dict):
                    return None  # the header crosses a value
                table = child
            current = table
    return root
