"""The engine's document model: a lossless mirror of the parts of ``toml_edit``'s model that
config writes touch.

Comments and blank lines belong to the key or header *below* them (``prefix``); a table remembers
the position of its header; a new table inherits the position of the table visited before it when
the document is rendered. Every text the parser read is kept verbatim, so rendering an unedited
document gives back its text byte for byte; an edit replaces or removes items, and only their bytes
change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias, cast

from chamberlain.tomlengine.values import key_repr, value_repr

__all__ = ["ArrayOfTables", "Document", "Entry", "Table", "document_from_plain", "item_from_plain"]

DEFAULT_KEY_SUFFIX: Final = " "
DEFAULT_VALUE_PREFIX: Final = " "
DEFAULT_TABLE_PREFIX: Final = "\n"


@dataclass(slots=True)
class Entry:
    """One ``key = value`` line. ``None`` decor means "the default" (new items)."""

    prefix: str | None = None  # comment/blank lines above + indentation
    #: the key as written; None = generated. Below dotted tables only the last part (with the
    #: spacing after its '.'): the parts before it are the dotted tables' own (first mention).
    key_text: str | None = None
    key_suffix: str | None = None  # spacing before '='
    value_prefix: str | None = None  # spacing after '='
    value_text: str = ""
    value_suffix: str | None = None  # spacing + trailing comment
    #: the rendered line, kept after the first render (an entry's text never changes once shown)
    line: str | None = None


@dataclass(slots=True)
class Table:
    implicit: bool = False
    dotted: bool = False
    position: int | None = None
    header_prefix: str | None = None  # comment/blank lines above the header + indentation
    header_text: str | None = None  # "[a . b]" as written; None = generated
    header_suffix: str | None = None  # spacing + comment after the header
    items: dict[str, Item] = field(default_factory=dict)
    #: a dotted table's key part as first written, with the spacing before the next '.'
    #: (None = generated), and the spacing after the '.' before it (shown when not the first part)
    dotted_text: str | None = None
    dotted_prefix: str = ""


@dataclass(slots=True)
class ArrayOfTables:
    tables: list[Table] = field(default_factory=list)


Item: TypeAlias = "Entry | Table | ArrayOfTables"
#: the dotted tables between a header table and a line: (key, table) each
_Parents: TypeAlias = "list[tuple[str, Table]]"


@dataclass(slots=True)
class Document:
    root: Table
    trailing: str
    #: an edit created, converted or removed a table since the last settle (else only entries
    #: were set, listed in ``_new_entries`` with their key path below their header table).
    _reshaped: bool = False
    _new_entries: list[tuple[str, Entry]] = field(default_factory=list)
    #: the last render showed a header of a table inside a dotted table: the one shape whose text
    #: the reference may refuse to read back (:class:`~chamberlain.tomlengine.DuplicateKeyError`).
    header_in_dotted: bool = False

    # -- edits -------------------------------------------------------------------------------

    def set_path(self, segments: list[str], item: Entry | Table) -> bool:
        """Put ``item`` at ``segments`` (formatting of what was there is kept). False when the
        reference's editor skips the path (it runs through an array of tables)."""
        *parents, last = segments
        parent = self._descend(parents, create=True)
        if parent is None:
            return False
        existing = parent.items.get(last)
        if existing is not None:
            _preserve_decor(existing, item, top=True)
        parent.items[last] = item
        if self._reshaped or not isinstance(item, Entry) or not isinstance(existing, (Entry, type(None))):
            self._reshaped = True
        elif parent.implicit and not parent.dotted:
            self._reshaped = True  # a table that showed no header may show one now
        elif existing is None and not _place_after_lines(parent, last):
            self._reshaped = True  # the table's first line, below subtables: a full settle orders it
        else:
            self._new_entries.append((last, item))
        return True

    def clear_path(self, segments: list[str]) -> None:
        *parents, last = segments
        parent = self._descend(parents, create=False)
        if parent is not None and parent.items.pop(last, None) is not None:
            self._reshaped = True

    def _descend(self, segments: list[str], *, create: bool) -> Table | None:
        current = self.root
        for segment in segments:
            item = current.items.get(segment)
            if item is None:
                if not create:
                    return None
                item = Table(implicit=True)
                current.items[segment] = item
                self._reshaped = True
            elif isinstance(item, Entry):
                if item.value_text.startswith("{"):
                    item = _inline_to_table(item.value_text)
                elif create:
                    item = Table(implicit=True)
                else:
                    return None
                current.items[segment] = item
                self._reshaped = True
            elif isinstance(item, ArrayOfTables):
                return None
            current = item
        return current

    # -- rendering ---------------------------------------------------------------------------

    def render(self) -> str:
        out: list[str] = []
        first_table = True
        for table, path, is_array in self._tables_in_order():
            values: list[tuple[_Parents, str, Entry]] = []
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
                    header = ".".join(key_repr(key) for key in path)
                    out.append(f"[[{header}]]" if is_array else f"[{header}]")
                out.append(table.header_suffix or "")
                out.append("\n")
            out.extend(_render_entry(parents, key, entry) for parents, key, entry in values)
        out.append(self.trailing)
        return "".join(out)

    def settle(self) -> None:
        """Make this model what ``parse(self.render())`` would give, without scanning the text:
        tables that render a header become explicit and are numbered in render order, defaults
        are written into the decor, and implicit tables that render nothing are dropped. A settled
        model can take the next request's edits in place of a fresh parse (saves the scan).
        When the edits only set key/value lines in existing tables, only those lines are settled."""
        new_entries, self._new_entries = self._new_entries, []
        if not self._reshaped:
            for key, entry in new_entries:
                _settle_entry(key, entry)
                entry.prefix, entry.value_suffix = entry.prefix or "", entry.value_suffix or ""
            return
        self._reshaped = False
        _drop_empty_implicit(self.root)
        position = 0
        first_table = True
        for table, path, is_array in self._tables_in_order():
            values: list[tuple[_Parents, str, Entry]] = []
            _collect_values(table, [], values)
            if not path:
                first_table = first_table and not values
            elif is_array or not (table.implicit and not values):
                position += 1
                if table.header_prefix is None:
                    table.header_prefix = "" if first_table else DEFAULT_TABLE_PREFIX
                first_table = False
                if table.header_text is None:
                    header = ".".join(key_repr(key) for key in path)
                    table.header_text = f"[[{header}]]" if is_array else f"[{header}]"
                table.header_suffix = table.header_suffix or ""
                table.position = position
                table.implicit = False
            else:
                table.position = None  # implicit and not shown: a parse would give it no position
            for _, key, entry in values:
                if entry.key_text is None or entry.key_suffix is None or entry.value_prefix is None:
                    _settle_entry(key, entry)
                if entry.prefix is None or entry.value_suffix is None:
                    entry.prefix, entry.value_suffix = entry.prefix or "", entry.value_suffix or ""
        _reorder_as_parsed(self.root)

    def _tables_in_order(self) -> list[tuple[Table, list[str], bool]]:
        """Every header-bearing table with its path, sorted by position (a table without one
        takes the position of the table visited before it; ties keep visiting order)."""
        visited: list[tuple[int, Table, list[str], bool]] = []
        last_position = 0
        self.header_in_dotted = False
        stack: list[tuple[Table, list[str], bool, bool]] = [(self.root, [], False, False)]
        while stack:
            table, path, is_array, in_dotted = stack.pop()
            if not table.dotted:
                if table.position is not None:
                    last_position = table.position
                visited.append((last_position, table, path, is_array))
                self.header_in_dotted = self.header_in_dotted or in_dotted
            below_dotted = in_dotted or table.dotted
            children: list[tuple[Table, list[str], bool, bool]] = []
            for key, item in table.items.items():
                if isinstance(item, Table):
                    children.append((item, [*path, key], False, below_dotted))
                elif isinstance(item, ArrayOfTables):
                    children.extend((element, [*path, key], True, below_dotted) for element in item.tables)
            stack.extend(reversed(children))
        visited.sort(key=lambda entry: entry[0])
        return [(table, path, is_array) for _, table, path, is_array in visited]


def _inline_to_table(value_text: str) -> Table:
    from chamberlain.tomlengine.scanner import table_from_inline  # the scanner builds this model

    return cast(Table, table_from_inline(value_text))


def _is_line(item: Item) -> bool:
    """A key/value line of its table, or a dotted table of them (both sit at the table's header)."""
    return type(item) is Entry or (type(item) is Table and item.dotted)


def _place_after_lines(table: Table, key: str) -> bool:
    """Move the entry just added at ``key`` (the last item) to where a parse of the rendered text
    puts it: after the table's other key/value lines, before subtables whose headers come later.
    False when the table has no other line (then only a full settle knows its place)."""
    items = table.items
    order = reversed(items)
    next(order)
    previous = next(order, None)
    if previous is None or _is_line(items[previous]):
        return True
    names = list(items)
    lines = [index for index, name in enumerate(names[:-1]) if _is_line(items[name])]
    if not lines:
        return False
    cut = lines[-1] + 1
    table.items = {name: items[name] for name in [*names[:cut], key, *names[cut:-1]]}
    return True


def _drop_empty_implicit(table: Table) -> bool:
    """Drop implicit tables (and dotted ones) that hold nothing; True when ``table`` is empty."""
    for key, item in [(k, i) for k, i in table.items.items() if type(i) is Table]:
        if _drop_empty_implicit(item) and (item.implicit or item.dotted):
            del table.items[key]
    return not table.items


def _reorder_as_parsed(table: Table, header_at: float | None = None) -> float:
    """Order ``table``'s items as a parse inserts them - by first mention in the text: key/value
    lines (and dotted tables) where the table's own header is, each subtable at its first header
    in its subtree - and return the first position this table's subtree mentions. A dotted
    table's lines are where the header of the table holding it is (``header_at``)."""
    own: float = table.position if table.position is not None else math.inf
    if header_at is not None:
        own = header_at
    if all(type(item) is Entry for item in table.items.values()):
        return own
    ranked: list[tuple[float, int, str, Item]] = []
    first = own
    for index, (key, item) in enumerate(table.items.items()):
        if isinstance(item, Entry):
            at = own
        elif isinstance(item, Table) and item.dotted:
            _reorder_as_parsed(item, own)
            at = own
        elif isinstance(item, Table):
            at = _reorder_as_parsed(item)
        else:
            at = min((_reorder_as_parsed(element) for element in item.tables), default=math.inf)
        first = min(first, at)
        ranked.append((at, index, key, item))
    ranked.sort(key=lambda row: (row[0], row[1]))
    table.items = {key: item for _, _, key, item in ranked}
    return first


def _settle_entry(key: str, entry: Entry) -> None:
    if entry.key_text is None:
        entry.key_text = key_repr(key)
    if entry.key_suffix is None:
        entry.key_suffix = DEFAULT_KEY_SUFFIX
    if entry.value_prefix is None:
        entry.value_prefix = DEFAULT_VALUE_PREFIX


def _collect_values(table: Table, parents: _Parents, out: list[tuple[_Parents, str, Entry]]) -> None:
    """The key/value lines of ``table`` in order, dotted ones included: (dotted parents, key, entry)."""
    for key, item in table.items.items():
        if type(item) is Entry:
            out.append((parents, key, item))
        elif type(item) is Table and item.dotted:
            _collect_values(item, [*parents, (key, item)], out)


def _key_text(parents: _Parents, key: str, entry: Entry) -> str:
    """The key of a line as the reference writes it: each dotted table's part as first written
    (the spacing after a '.' shown for all but the first part), then the entry's own part."""
    leaf = key_repr(key) if entry.key_text is None else entry.key_text
    if not parents:
        return leaf
    parts = []
    for index, (name, table) in enumerate(parents):
        text = key_repr(name) if table.dotted_text is None else table.dotted_text
        parts.append(text if index == 0 else table.dotted_prefix + text)
    return ".".join([*parts, leaf])


def _render_entry(parents: _Parents, key: str, entry: Entry) -> str:
    if entry.line is not None:
        return entry.line
    key_text = _key_text(parents, key, entry)
    key_suffix = DEFAULT_KEY_SUFFIX if entry.key_suffix is None else entry.key_suffix
    value_prefix = DEFAULT_VALUE_PREFIX if entry.value_prefix is None else entry.value_prefix
    prefix, suffix = entry.prefix or "", entry.value_suffix or ""
    entry.line = f"{prefix}{key_text}{key_suffix}={value_prefix}{entry.value_text}{suffix}\n"
    return entry.line


def _preserve_decor(existing: Item, replacement: Item, *, top: bool) -> None:
    """Copy the formatting of ``existing`` onto ``replacement`` (the reference's `preserve_decor`)."""
    if isinstance(existing, Table) and isinstance(replacement, Table):
        if not existing.dotted:
            replacement.header_prefix = existing.header_prefix
            replacement.header_text = existing.header_text
            replacement.header_suffix = existing.header_suffix
        for key, old in existing.items.items():
            new = replacement.items.get(key)
            if new is None:
                continue
            if isinstance(old, Entry) and isinstance(new, Entry):
                new.prefix = old.prefix
                new.key_suffix = old.key_suffix
            _preserve_decor(old, new, top=False)
    elif isinstance(existing, Entry) and isinstance(replacement, Entry):
        replacement.value_prefix = existing.value_prefix
        replacement.value_suffix = existing.value_suffix
        if top:  # the key itself stays in its table: its text and decor are kept
            replacement.prefix = existing.prefix
            replacement.key_text = existing.key_text
            replacement.key_suffix = existing.key_suffix


def item_from_plain(value: Any) -> Entry | Table:
    """A new item for a plain value: tables become (header) tables, anything else one entry."""
    if isinstance(value, dict):
        table = Table()
        for key, child in value.items():
            table.items[key] = item_from_plain(child)
        return table
    return Entry(value_text=value_repr(value))


def document_from_plain(data: dict[str, Any]) -> Document:
    """A new document holding ``data`` (the text the reference would write for it)."""
    root = Table(position=0)
    for key, value in data.items():
        root.items[key] = item_from_plain(value)
    return Document(root=root, trailing="")
