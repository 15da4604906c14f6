"""Chamberlain's TOML engine: a lossless document model edited text to text.

``parse`` reads a (valid) TOML text into a :class:`Document` whose ``render()`` gives the text
back byte for byte; ``Document.set_path``/``clear_path`` insert, replace or delete a key or a table
the way codex's ``toml_edit`` does, touching only the edited bytes. Values for validation come
from the stdlib's ``tomllib``; this package never builds plain data itself.
"""

from __future__ import annotations

from chamberlain.tomlengine.document import (
    ArrayOfTables,
    Document,
    Entry,
    Table,
    document_from_plain,
    item_from_plain,
)
from chamberlain.tomlengine.scanner import DuplicateKeyError, parse
from chamberlain.tomlengine.values import key_repr, value_repr

__all__ = [
    "ArrayOfTables",
    "Document",
    "DuplicateKeyError",
    "Entry",
    "Table",
    "document_from_plain",
    "item_from_plain",
    "key_repr",
    "parse",
    "value_repr",
]
