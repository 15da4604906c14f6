"""The pure core of config writes: apply one keyPath edit to a TOML document, preserving format.

The reference (codex 0.169.0) does each edit in two steps, and so does this module:

1. **Plain merge** (spec §5.5) on the document's plain data: walk the parents (creating tables,
   replacing non-table parents that have further parents), then ``replace``/``upsert``/clear. The
   value at the edited path before and after decides whether anything changes; an equal value is
   no change at all (the document is not touched, not even re-rendered).
2. **Document edit** on a format-preserving model of the file that mirrors ``toml_edit``'s
   (comments and blank lines belong to the key or header *below* them; tables carry their header
   position; new tables inherit the position of the table visited before them): either set the new
   value at the path (existing decor - comment lines above, spacing, trailing comment - is copied
   onto the new items recursively) or remove the key.

The model is parsed from ``doc.as_string()`` and, after the edit, rendered and parsed back into
``doc`` in place, so ``doc.unwrap()`` and :func:`render` always agree with each other.

Where the reference prints a cosmetic quirk (``t= "scalar"`` for a table replaced by a scalar,
``[x ]`` for a scalar replaced by a table) this module follows the spec's rules instead (§5.8).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias

import tomlkit

__all__ = ["EditError", "ValueRangeError", "apply_edit", "render"]

NON_TABLE_PARENT: Final = "cannot set value on non-table parent"
NULL_VALUE: Final = "invalid value: invalid type: null, expected any valid TOML value"
U64_TOO_LARGE: Final = "invalid value: u64 value was too large"
EMPTY_PATH: Final = "keyPath must not be empty"

I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1
U64_MAX: Final = 2**64 - 1

BARE_KEY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
DEFAULT_KEY_SUFFIX: Final = " "
DEFAULT_VALUE_PREFIX: Final = " "
DEFAULT_TABLE_PREFIX: Final = "\n"

Strategy: TypeAlias = Literal["replace", "upsert"]


class EditError(Exception):
    """An edit the reference refuses; ``str()`` is the reference's exact message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValueRangeError(EditError):
    """An integer outside u64/i64 range. The reference refuses it while *decoding the request*
    (``-32600 "Invalid request: <message>"``, no ``data``), before any edit of the batch runs."""


# --------------------------------------------------------------------------------------------
# Public API


def apply_edit(doc: tomlkit.TOMLDocument, segments: list[str], value: Any, strategy: Strategy) -> None:
    """Apply one edit to ``doc`` in place (``value`` is decoded JSON; ``None`` clears the key)."""
    if not segments:
        raise EditError(EMPTY_PATH)
    if value is not None:
        _check_json_value(value)
    plain: dict[str, Any] = doc.unwrap()
    before = copy.deepcopy(_value_at_path(plain, segments))
    if value is None:
        _clear_plain(plain, segments)
    else:
        _merge_plain(plain, segments, value, strategy)
    after = _value_at_path(plain, segments)
    if _same_value(before, after):
        return
    # the reference re-renders the whole file with "\n" line ends (CRLF files come back as LF)
    model = _parse_document(doc.as_string().replace("\r\n", "\n"))
    if after is _MISSING:
        model.clear_path(segments)
    else:
        model.set_path(segments, _item_from_plain(after))
    _replace_contents(doc, model.render())


def render(doc: tomlkit.TOMLDocument) -> str:
    """The file bytes (as text) for ``doc``."""
    return doc.as_string()


# --------------------------------------------------------------------------------------------
# Step 1: the plain merge (spec §5.5), mirroring the reference's `apply_merge`/`clear_path`


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()
_INDEX_RE: Final = re.compile(r"[+-]?[0-9]+")


def check_request_range(value: Any) -> None:
    """Raise :class:`ValueRangeError` for an integer outside i64/u64 anywhere in ``value``: the
    reference refuses such a request while decoding it, before any edit runs."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value > U64_MAX:
            raise ValueRangeError(f"invalid type: integer `{value}` as u128, expected any value")
        if value < I64_MIN:
            raise ValueRangeError(f"invalid type: integer `{value}` as i128, expected any value")
    elif isinstance(value, dict):
        for item in value.values():
            check_request_range(item)
    elif isinstance(value, list):
        for item in value:
            check_request_range(item)


def _check_json_value(value: Any) -> None:
    if value is None:
        raise EditError(NULL_VALUE)
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value > U64_MAX:
            raise ValueRangeError(f"invalid type: integer `{value}` as u128, expected any value")
        if value < I64_MIN:
            raise ValueRangeError(f"invalid type: integer `{value}` as i128, expected any value")
        if value > I64_MAX:
            raise EditError(U64_TOO_LARGE)
    elif isinstance(value, dict):
        for item in value.values():
            _check_json_value(item)
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item)


def _value_at_path(root: Any, segments: list[str]) -> Any:
    current = root
    for segment in segments:
        if isinstance(current, dict):
            if segment not in current:
                return _MISSING
            current = current[segment]
        elif isinstance(current, list):
            if not _INDEX_RE.fullmatch(segment):
                return _MISSING
            index = int(segment)
            if not 0 <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def _merge_plain(root: dict[str, Any], segments: list[str], value: Any, strategy: Strategy) -> None:
    *parents, last = segments
    holder: dict[str, Any] | None = None
    holder_key = ""
    current: Any = root
    for segment in parents:
        if not isinstance(current, dict):
            # a non-table parent with further parents is replaced by an empty table
            assert holder is not None
            current = {}
            holder[holder_key] = current
        holder, holder_key = current, segment
        current = current.setdefault(segment, {})
    if not isinstance(current, dict):
        raise EditError(NON_TABLE_PARENT)
    existing = current.get(last, _MISSING)
    if strategy == "upsert" and isinstance(existing, dict) and isinstance(value, dict):
        _deep_merge(existing, value)
    else:
        current[last] = copy.deepcopy(value)


def _deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> None:
    for key, value in overlay.items():
        existing = base.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            _deep_merge(existing, value)
        else:
            base[key] = copy.deepcopy(value)


def _clear_plain(root: dict[str, Any], segments: list[str]) -> None:
    *parents, last = segments
    current: Any = root
    for segment in parents:
        if not isinstance(current, dict) or segment not in current:
            return
        current = current[segment]
    if isinstance(current, dict):
        current.pop(last, None)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time):
        return "time"
    return type(value).__name__


def _same_value(a: Any, b: Any) -> bool:
    """Typed equality: 1, 1.0 and true differ; -0.0 and 0.0 differ (the reference rewrites)."""
    if a is _MISSING or b is _MISSING:
        return a is b
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind == "table":
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if kind == "array":
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if kind == "float":
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return bool(a == b and math.copysign(1.0, a) == math.copysign(1.0, b))
    return bool(a == b)


# --------------------------------------------------------------------------------------------
# Step 2: the format-preserving document model (a small mirror of toml_edit's)


@dataclass
class _Entry:
    """One ``key = value`` line. ``None`` decor means "the default" (new items)."""

    prefix: str | None = None  # comment/blank lines above + indentation
    key_text: str | None = None  # raw (possibly dotted) key as written; None = generated
    key_suffix: str | None = None  # spacing before '='
    value_prefix: str | None = None  # spacing after '='
    value_text: str = ""
    value_suffix: str | None = None  # spacing + trailing comment


@dataclass
class _Table:
    implicit: bool = False
    dotted: bool = False
    position: int | None = None
    header_prefix: str | None = None  # comment/blank lines above the header + indentation
    header_text: str | None = None  # "[a . b]" as written; None = generated
    header_suffix: str | None = None  # spacing + comment after the header
    items: dict[str, _Item] = field(default_factory=dict)


@dataclass
class _ArrayOfTables:
    tables: list[_Table] = field(default_factory=list)


_Item: TypeAlias = "_Entry | _Table | _ArrayOfTables"


@dataclass
class _Document:
    root: _Table
    trailing: str

    # -- edits -------------------------------------------------------------------------------

    def set_path(self, segments: list[str], item: _Entry | _Table) -> None:
        *parents, last = segments
        parent = self._descend(parents, create=True)
        if parent is None:  # the reference silently skips paths through an array of tables
            return
        existing = parent.items.get(last)
        if existing is not None:
            _preserve_decor(existing, item, top=True)
        parent.items[last] = item

    def clear_path(self, segments: list[str]) -> None:
        *parents, last = segments
        parent = self._descend(parents, create=False)
        if parent is not None:
            parent.items.pop(last, None)

    def _descend(self, segments: list[str], *, create: bool) -> _Table | None:
        current = self.root
        for segment in segments:
            item = current.items.get(segment)
            if item is None:
                if not create:
                    return None
                item = _Table(implicit=True)
                current.items[segment] = item
            elif isinstance(item, _Entry):
                if item.value_text.startswith("{"):
                    item = _table_from_inline(item.value_text)
                elif create:
                    item = _Table(implicit=True)
                else:
                    return None
                current.items[segment] = item
            elif isinstance(item, _ArrayOfTables):
                return None
            current = item
        return current

    # -- rendering ---------------------------------------------------------------------------

    def render(self) -> str:
        visited: list[tuple[int, _Table, list[str], bool]] = []
        last_position = 0

        def visit(table: _Table, path: list[str], is_array: bool) -> None:
            nonlocal last_position
            if not table.dotted:
                if table.position is not None:
                    last_position = table.position
                visited.append((last_position, table, path, is_array))
            for key, item in table.items.items():
                if isinstance(item, _Table):
                    visit(item, [*path, key], False)
                elif isinstance(item, _ArrayOfTables):
                    for element in item.tables:
                        visit(element, [*path, key], True)

        visit(self.root, [], False)
        visited.sort(key=lambda entry: entry[0])  # stable: ties keep visiting order
        out: list[str] = []
        first_table = True
        for _, table, path, is_array in visited:
            values: list[tuple[list[str], _Entry]] = []
            _collect_values(table, [], values)
            if not path:
                if values:
                    first_table = False
            elif is_array or not (table.implicit and not values):
                default_prefix = "" if first_table else DEFAULT_TABLE_PREFIX
                first_table = False
                out.append(default_prefix if table.header_prefix is None else table.header_prefix)
                if table.header_text is not None:
                    out.append(table.header_text)
                else:
                    header = ".".join(_key_repr(key) for key in path)
                    out.append(f"[[{header}]]" if is_array else f"[{header}]")
                out.append(table.header_suffix or "")
                out.append("\n")
            for key_path, entry in values:
                out.append(_render_entry(key_path, entry))
        out.append(self.trailing)
        return "".join(out)


def _collect_values(table: _Table, path: list[str], out: list[tuple[list[str], _Entry]]) -> None:
    for key, item in table.items.items():
        if isinstance(item, _Entry):
            out.append(([*path, key], item))
        elif isinstance(item, _Table) and item.dotted:
            _collect_values(item, [*path, key], out)


def _render_entry(key_path: list[str], entry: _Entry) -> str:
    key = entry.key_text if entry.key_text is not None else ".".join(_key_repr(k) for k in key_path)
    key_suffix = DEFAULT_KEY_SUFFIX if entry.key_suffix is None else entry.key_suffix
    value_prefix = DEFAULT_VALUE_PREFIX if entry.value_prefix is None else entry.value_prefix
    prefix, suffix = entry.prefix or "", entry.value_suffix or ""
    return f"{prefix}{key}{key_suffix}={value_prefix}{entry.value_text}{suffix}\n"


def _preserve_decor(existing: _Item, replacement: _Item, *, top: bool) -> None:
    """Copy the formatting of ``existing`` onto ``replacement`` (the reference's `preserve_decor`)."""
    if isinstance(existing, _Table) and isinstance(replacement, _Table):
        if not existing.dotted:
            replacement.header_prefix = existing.header_prefix
            replacement.header_text = existing.header_text
            replacement.header_suffix = existing.header_suffix
        for key, old in existing.items.items():
            new = replacement.items.get(key)
            if new is None:
                continue
            if isinstance(old, _Entry) and isinstance(new, _Entry):
                new.prefix = old.prefix
                new.key_suffix = old.key_suffix
            _preserve_decor(old, new, top=False)
    elif isinstance(existing, _Entry) and isinstance(replacement, _Entry):
        replacement.value_prefix = existing.value_prefix
        replacement.value_suffix = existing.value_suffix
        if top:  # the key itself stays in its table: its text and decor are kept
            replacement.prefix = existing.prefix
            replacement.key_text = existing.key_text
            replacement.key_suffix = existing.key_suffix


def _replace_contents(doc: tomlkit.TOMLDocument, text: str) -> None:
    """Make ``doc`` the parse of ``text``, in place (callers hold a reference to ``doc``)."""
    fresh = tomlkit.parse(text)
    doc.__dict__.clear()
    doc.__dict__.update(fresh.__dict__)
    dict.clear(doc)
    dict.update(doc, dict.items(fresh))


# --------------------------------------------------------------------------------------------
# Plain data -> model items, with the reference's canonical value rendering


def _item_from_plain(value: Any) -> _Entry | _Table:
    if isinstance(value, dict):
        table = _Table()
        for key, child in value.items():
            table.items[key] = _item_from_plain(child)
        return table
    return _Entry(value_text=_value_repr(value))


def _value_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_repr(value)
    if isinstance(value, str):
        return _string_repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value_repr(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        pairs = ", ".join(f"{_key_repr(k)} = {_value_repr(v)}" for k, v in value.items())
        return "{ " + pairs + " }"
    if isinstance(value, dt.datetime):
        return f"{_date_repr(value.date())}T{_time_repr(value.timetz())}"
    if isinstance(value, dt.date):
        return _date_repr(value)
    if isinstance(value, dt.time):
        return _time_repr(value)
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def _float_repr(value: float) -> str:
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    # Rust's `{}` for f64: the shortest round-trip digits, never in exponent form
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def _date_repr(value: dt.date) -> str:
    return f"{value.year:04}-{value.month:02}-{value.day:02}"


def _time_repr(value: dt.time) -> str:
    text = f"{value.hour:02}:{value.minute:02}:{value.second:02}"
    if value.microsecond:
        text += "." + f"{value.microsecond * 1000:09}".rstrip("0")
    offset = value.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds()) // 60
        if minutes == 0:
            # tomlkit names the zone of `Z` "UTC"; an explicit +00:00 offset is printed as such
            text += "Z" if value.tzname() == "UTC" else "+00:00"
        else:
            sign = "-" if minutes < 0 else "+"
            text += f"{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"
    return text


def _has_escape_codes(text: str) -> bool:
    return any((ord(ch) < 0x20 and ch not in "\t\n") or ch == "\x7f" for ch in text)


def _max_run(text: str, quote: str) -> int:
    best = run = 0
    for ch in text:
        run = run + 1 if ch == quote else 0
        best = max(best, run)
    return best


def _escape_basic(text: str, *, multiline: bool) -> str:
    out: list[str] = []
    quotes = 0
    for ch in text:
        if ch == '"':
            quotes += 1
            if not multiline or quotes == 3:
                out.append('\\"')
                quotes = 0
            else:
                out.append('"')
            continue
        quotes = 0
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\n" if multiline else "\\n")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _string_repr(text: str) -> str:
    """The reference's choice: basic, literal, multi-line basic, multi-line literal, escaped."""
    newline = "\n" in text
    lead = "\n" if newline else ""
    clean = not _has_escape_codes(text)
    backslash = "\\" in text
    single_quotes = _max_run(text, "'")
    double_quotes = _max_run(text, '"')
    if clean and not backslash and not double_quotes and not newline:
        return '"' + _escape_basic(text, multiline=False) + '"'
    if clean and not single_quotes and not newline:
        return "'" + text + "'"
    if clean and not backslash and double_quotes <= 2:
        return '"""' + lead + _escape_basic(text, multiline=True) + '"""'
    if clean and single_quotes <= 2:
        return "'''" + lead + text + "'''"
    if newline:
        return '"""' + lead + _escape_basic(text, multiline=True) + '"""'
    return '"' + _escape_basic(text, multiline=False) + '"'


def _key_repr(key: str) -> str:
    if key and all(ch in BARE_KEY_CHARS for ch in key):
        return key
    clean = not _has_escape_codes(key) and "\n" not in key
    if clean and "\\" not in key and '"' not in key:
        return '"' + _escape_basic(key, multiline=False) + '"'
    if clean and "'" not in key:
        return "'" + key + "'"
    return '"' + _escape_basic(key, multiline=False) + '"'


# --------------------------------------------------------------------------------------------
# Text -> model. The input is valid TOML (the caller parsed it with tomlkit), so the scanner only
# has to find where things end, not to validate.

_BARE_SCALAR_END: Final = frozenset(" \t\r\n,]}#")
_SPACE_DATETIME_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)

    def char(self, i: int) -> str:
        return self.text[i] if i < self.size else ""

    def skip_ws(self, i: int) -> int:
        while i < self.size and self.text[i] in " \t":
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
        ch = self.char(i)
        if ch == '"':
            j = i + 1
            while self.text[j] != '"':
                j += 2 if self.text[j] == "\\" else 1
            end = j + 1
        elif ch == "'":
            end = self.text.index("'", i + 1) + 1
        else:
            end = i
            while end < self.size and self.text[end] in BARE_KEY_CHARS:
                end += 1
            if end == i:
                raise ValueError(f"expected a key at offset {i}")
        raw = self.text[i:end]
        name = raw if ch not in "\"'" else next(iter(tomllib.loads(f"{raw} = 0")))
        return end, name

    def scan_key(self, i: int) -> tuple[int, list[str]]:
        """A possibly dotted key starting at ``i``: (end of its last part, names)."""
        names: list[str] = []
        while True:
            i = self.skip_ws(i)
            end, name = self.scan_simple_key(i)
            names.append(name)
            after = self.skip_ws(end)
            if self.char(after) != ".":
                return end, names
            i = after + 1

    def scan_value(self, i: int) -> int:
        text = self.text
        if text.startswith('"""', i):
            j = i + 3
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
            j = i + 1
            while True:
                j = self.skip_ws_comments_newlines(j)
                if text[j] == "]":
                    return j + 1
                if text[j] == ",":
                    j += 1
                    continue
                j = self.scan_value(j)
        if ch == "{":
            j = i + 1
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
        j = i
        if _SPACE_DATETIME_RE.match(text, i):
            j = i + 11
        while j < self.size and text[j] not in _BARE_SCALAR_END:
            j += 1
        return j


def _parse_document(text: str) -> _Document:
    scan = _Scanner(text)
    root = _Table(position=0)
    current = root
    position = 0
    pending: list[str] = []
    pos = 0
    while pos < scan.size:
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
        key_end, names = scan.scan_key(start)
        equals = scan.skip_ws(key_end)
        value_start = scan.skip_ws(equals + 1)
        value_end = scan.scan_value(value_start)
        content_end, pos = scan.line_end(value_end)
        entry = _Entry(
            prefix=prefix,
            key_text=text[start:key_end],
            key_suffix=text[key_end:equals],
            value_prefix=text[equals + 1 : value_start],
            value_text=text[value_start:value_end],
            value_suffix=text[value_end:content_end],
        )
        _dotted_parent(current, names[:-1]).items[names[-1]] = entry
    return _Document(root=root, trailing="".join(pending))


def _open_header(root: _Table, names: list[str], is_array: bool, position: int) -> _Table:
    parent = root
    for name in names[:-1]:
        item = parent.items.get(name)
        if item is None:
            item = _Table(implicit=True)
            parent.items[name] = item
        if isinstance(item, _ArrayOfTables):
            item = item.tables[-1]
        if not isinstance(item, _Table):
            raise ValueError(f"header path crosses a value at {name!r}")
        parent = item
    last = names[-1]
    existing = parent.items.get(last)
    if is_array:
        if not isinstance(existing, _ArrayOfTables):
            existing = _ArrayOfTables()
            parent.items[last] = existing
        table = _Table(position=position)
        existing.tables.append(table)
        return table
    if isinstance(existing, _Table):
        existing.implicit = False
        existing.position = position
        return existing
    table = _Table(position=position)
    parent.items[last] = table
    return table


def _dotted_parent(table: _Table, names: list[str]) -> _Table:
    for name in names:
        item = table.items.get(name)
        if not isinstance(item, _Table):
            item = _Table(implicit=True, dotted=True)
            table.items[name] = item
        table = item
    return table


def _table_from_inline(value_text: str) -> _Table:
    """An inline table turned into an (implicit) standard table: keys are re-spelled, each value
    keeps its text and the spacing after '=', trailing decor is dropped (the reference's)."""
    scan = _Scanner(value_text)
    table = _Table(implicit=True)
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
        entry = _Entry(
            value_prefix=value_text[equals + 1 : value_start],
            value_text=value_text[value_start:value_end],
        )
        _dotted_parent(table, names[:-1]).items[names[-1]] = entry
        j = value_end
