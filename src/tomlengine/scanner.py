"""Text -> document model. The input is valid TOML (the caller has parsed it with ``tomllib``), so
the scanner only finds where things end; it does not validate."""

from __future__ import annotations

import re
import tomllib
from typing import Final

from chamberlain.tomlengine.document import ArrayOfTables, Document, Entry, Table
from chamberlain.tomlengine.values import BARE_KEY_CHARS

__all__ = ["DuplicateKeyError", "parse", "table_from_inline"]

_BARE_SCALAR_END: Final = frozenset(" \t\r\n,]}#")
_SPACE_DATETIME_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:")
#: The common line, read in one match: a bare key, a scalar without spaces or escapes (basic or
#: literal string, number, boolean, datetime with ``T``), an optional comment. Anything else goes
#: through the character scanner; both give the same entry.
#: A blank or comment-only line ending in "\n" (it belongs to the next item's prefix).
_BLANK_LINE_RE: Final = re.compile(r"[ \t]*(?:#[^\r\n]*)?\n")
_SIMPLE_ENTRY_RE: Final = re.compile(
    r"""([ \t]*)([A-Za-z0-9_-]+)([ \t]*)=([ \t]*)"""
    r"""("[^"\\\n]*"|'[^'\n]*'|[A-Za-z0-9_+.:-]+)([ \t]*(?:#[^\n]*)?)(?:\n|\Z)"""
)


class DuplicateKeyError(ValueError):
    """A text ``tomllib`` reads but the reference's parser refuses: a dotted key whose table path
    ends in a table a ``[header]`` below it created (``[a.b.c]`` ... ``[a]`` ``b.x = 1``). The
    reference answers ``<path>:<line>:<column>: duplicate key``, the column of the key's last part."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(f"{line}:{column}: duplicate key")
        self.line = line
        self.column = column

    @classmethod
    def at(cls, text: str, offset: int) -> DuplicateKeyError:
        line_start = text.rfind("\n", 0, offset) + 1
        return cls(text.count("\n", 0, offset) + 1, offset - line_start + 1)


class _Scanner:
    __slots__ = ("size", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)

    def char(self, i: int) -> str:
        return self.text[i] if i < self.size else ""

    def skip_ws(self, i: int) -> int:
        text, size = self.text, self.size
        while i < size and text[i] in " \t":
            i += 1
        return i

    def skip_ws_comments_newlines(self, i: int) -> int:
        while i < self.size:
            ch = self.text[i]
            if ch in " \t\r\n":
                i += 1
            elif ch == "#":
                end = self.text.find("\n", i)
                i = self.size if end < 0 else end
            else:
                break
        return i

    def line_end(self, i: int) -> tuple[int, int]:
        """(end of the line's content, start of the next line) from ``i``."""
        end = self.text.find("\n", i)
        if end < 0:
            return self.size, self.size
        content_end = end - 1 if end > i and self.text[end - 1] == "\r" else end
        return content_end, end + 1

    def scan_simple_key(self, i: int) -> tuple[int, str]:
        text = self.text
        ch = self.char(i)
        if ch == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            end = j + 1
        elif ch == "'":
            end = text.index("'", i + 1) + 1
        else:
            end = i
            while end < self.size and text[end] in BARE_KEY_CHARS:
                end += 1
            if end == i:
                raise ValueError(f"expected a key at offset {i}")
            return end, text[i:end]
        return end, next(iter(tomllib.loads(f"{text[i:end]} = 0")))

    def scan_key(self, i: int) -> tuple[int, list[str]]:
        """A possibly dotted key starting at ``i``: (end of its last part, names)."""
        end, names, _, _ = self.scan_key_parts(i)
        return end, names

    def scan_key_parts(self, i: int) -> tuple[int, list[str], list[int], list[int]]:
        """A possibly dotted key starting at ``i``: (end of its last part, names, their starts,
        the offsets of the '.' before each name, -1 for the first)."""
        names: list[str] = []
        starts: list[int] = []
        dots = [-1]
        while True:
            i = self.skip_ws(i)
            starts.append(i)
            end, name = self.scan_simple_key(i)
            names.append(name)
            after = self.skip_ws(end)
            if self.char(after) != ".":
                return end, names, starts, dots
            dots.append(after)
            i = after + 1

    def scan_value(self, i: int) -> int:
        text = self.text
        if text.startswith('"""', i):
            return self._multiline_basic_end(i + 3)
        if text.startswith("'''", i):
            j = text.index("'''", i + 3)
            run = 3
            while run < 5 and self.char(j + run) == "'":
                run += 1
            return j + run
        ch = self.char(i)
        if ch == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            return j + 1
        if ch == "'":
            return text.index("'", i + 1) + 1
        if ch == "[":
            return self._array_end(i + 1)
        if ch == "{":
            return self._inline_table_end(i + 1)
        j = i
        if _SPACE_DATETIME_RE.match(text, i):
            j = i + 11
        while j < self.size and text[j] not in _BARE_SCALAR_END:
            j += 1
        return j

    def _multiline_basic_end(self, j: int) -> int:
        text = self.text
        while True:
            if text[j] == "\\":
                j += 2
            elif text.startswith('"""', j):
                run = 3
                while run < 5 and self.char(j + run) == '"':
                    run += 1
                return j + run
            else:
                j += 1

    def _array_end(self, j: int) -> int:
        text = self.text
        while True:
            j = self.skip_ws_comments_newlines(j)
            if text[j] == "]":
                return j + 1
            if text[j] == ",":
                j += 1
                continue
            j = self.scan_value(j)

    def _inline_table_end(self, j: int) -> int:
        text = self.text
        while True:
            j = self.skip_ws_comments_newlines(j)
            if text[j] == "}":
                return j + 1
            if text[j] == ",":
                j += 1
                continue
            j, _ = self.scan_key(j)
            j = self.skip_ws(j) + 1  # '='
            j = self.scan_value(self.skip_ws(j))


def parse(text: str) -> Document:
    """The document model of ``text`` (valid TOML); ``parse(t).render() == t``, except where the
    reference rewrites a dotted key (a table respelled after its first mention, a key through a
    table a header made). Raises :class:`DuplicateKeyError` where the reference refuses the text."""
    scan = _Scanner(text)
    root = Table(position=0)
    current = root
    position = 0
    pending: list[str] = []
    pos = 0
    simple_entry = _SIMPLE_ENTRY_RE.match
    size = scan.size
    while pos < size:
        simple = simple_entry(text, pos)
        if simple is not None and not simple.group(6).endswith("\r"):
            indent, key, key_suffix, value_prefix, value_text, value_suffix = simple.groups()
            if pending:
                indent, pending = "".join(pending) + indent, []
            current.items[key] = Entry(indent, key, key_suffix, value_prefix, value_text, value_suffix)
            pos = simple.end()
            continue
        blank = _BLANK_LINE_RE.match(text, pos)
        if blank is not None:
            pending.append(blank.group())
            pos = blank.end()
            continue
        start = scan.skip_ws(pos)
        ch = scan.char(start)
        if ch in ("", "\n", "\r", "#"):
            _, next_line = scan.line_end(start)
            pending.append(text[pos:next_line])
            pos = next_line
            continue
        prefix = "".join(pending) + text[pos:start]
        pending = []
        if ch == "[":
            is_array = text.startswith("[[", start)
            key_end, names = scan.scan_key(start + (2 if is_array else 1))
            header_end = scan.skip_ws(key_end) + (2 if is_array else 1)
            content_end, pos = scan.line_end(header_end)
            position += 1
            current = _open_header(root, names, is_array, position)
            current.header_prefix = prefix
            current.header_text = text[start:header_end]
            current.header_suffix = text[header_end:content_end]
            continue
        key_end, names, starts, dots = scan.scan_key_parts(start)
        parent = _dotted_parent(current, names[:-1], (text, starts, dots))
        if names[:-1] and not parent.dotted:
            raise DuplicateKeyError.at(text, starts[-1])
        equals = scan.skip_ws(key_end)
        value_start = scan.skip_ws(equals + 1)
        value_end = scan.scan_value(value_start)
        content_end, pos = scan.line_end(value_end)
        entry = Entry(
            prefix=prefix,
            key_text=text[dots[-1] + 1 : key_end] if len(names) > 1 else text[start:key_end],
            key_suffix=text[key_end:equals],
            value_prefix=text[equals + 1 : value_start],
            value_text=text[value_start:value_end],
            value_suffix=text[value_end:content_end],
        )
        parent.items[names[-1]] = entry
    return Document(root=root, trailing="".join(pending))


def _open_header(root: Table, names: list[str], is_array: bool, position: int) -> Table:
    parent = root
    for name in names[:-1]:
        item = parent.items.get(name)
        if item is None:
            item = Table(implicit=True)
            parent.items[name] = item
        if isinstance(item, ArrayOfTables):
            item = item.tables[-1]
        if not isinstance(item, Table):
            raise ValueError(f"header path crosses a value at {name!r}")
        parent = item
    last = names[-1]
    existing = parent.items.get(last)
    if is_array:
        if not isinstance(existing, ArrayOfTables):
            existing = ArrayOfTables()
            parent.items[last] = existing
        table = Table(position=position)
        existing.tables.append(table)
        return table
    if isinstance(existing, Table):
        existing.implicit = False
        existing.position = position
        return existing
    table = Table(position=position)
    parent.items[last] = table
    return table


def _dotted_parent(
    table: Table, names: list[str], written: tuple[str, list[int], list[int]] | None = None
) -> Table:
    """The table a key with dotted parents ``names`` goes in. A dotted table made here keeps its
    part of the key as ``written`` (text, starts and dots of the key's parts); later mentions of
    it show that text. A dotted key that runs through an implicit table a header made (``b.y.x
    = 1`` in ``[a]`` after ``[a.b.c]``) is rendered under that table's own header, as ``y.x = 1``
    (the reference's): only the dotted tables below it are part of the rendered key."""
    for index, name in enumerate(names):
        item = table.items.get(name)
        if not isinstance(item, Table):
            item = Table(implicit=True, dotted=True)
            if written is not None:
                text, starts, dots = written
                item.dotted_text = text[starts[index] : dots[index + 1]]
                item.dotted_prefix = text[dots[index] + 1 : starts[index]]
            table.items[name] = item
        table = item
    return table


def table_from_inline(value_text: str) -> Table:
    """An inline table turned into an (implicit) standard table: keys are re-spelled, each value
    keeps its text and the spacing after '=', trailing decor is dropped (the reference's)."""
    scan = _Scanner(value_text)
    table = Table(implicit=True)
    j = 1
    while True:
        j = scan.skip_ws_comments_newlines(j)
        ch = scan.char(j)
        if ch in ("}", ""):
            return table
        if ch == ",":
            j += 1
            continue
        j, names = scan.scan_key(j)
        equals = scan.skip_ws(j)
        value_start = scan.skip_ws(equals + 1)
        value_end = scan.scan_value(value_start)
        entry = Entry(
            value_prefix=value_text[equals + 1 : value_start],
            value_text=value_text[value_start:value_end],
        )
        _dotted_parent(table, names[:-1]).items[names[-1]] = entry
        j = value_end
