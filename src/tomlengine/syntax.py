"""Wording of a syntax error the reference's ``toml`` crate reports where the stdlib and tomlkit
give no usable position: input that ends inside an array or inline table."""

from __future__ import annotations

from typing import Final

__all__ = ["unclosed_at_end"]

_CLOSERS: Final = {"[": ("]", "unclosed array, expected `]`"), "{": ("}", "unclosed inline table, expected `}`")}


def unclosed_at_end(text: str) -> tuple[int, int, str] | None:
    """When the input ends inside an array or inline table: the toml crate's position (just past
    the last character that is not blank or a comment) and wording for the innermost one."""
    stack: list[str] = []
    line, col, last = 1, 0, (1, 1)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"'":
            quote = text[i : i + 3] if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if text[j] == "\n" and len(quote) == 1:
                    return None  # an unterminated string: not this error
                j += 2 if c == '"' and text[j] == "\\" else 1
            if j >= n:
                return None
            j += len(quote)
            line, col = line + text.count("\n", i, j), (j - text.rfind("\n", 0, j) - 1)
            last, i = (line, col + 1), j
            continue
        if c == "\n":
            line, col, i = line + 1, 0, i + 1
            continue
        col += 1
        if c in _CLOSERS:
            stack.append(c)
        elif stack and c == _CLOSERS[stack[-1]][0]:
            stack.pop()
        if not c.isspace():
            last = (line, col + 1)
        i += 1
    return (*last, _CLOSERS[stack[-1]][1]) if stack else None
