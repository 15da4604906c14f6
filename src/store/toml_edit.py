"""The pure core of config writes: apply keyPath edits to a TOML document, preserving format.

The reference (codex 0.169.0) does each edit in two steps, and so does this module:

1. **Plain merge** (spec §5.5) on the document's plain data (from ``tomllib``): walk the parents
   (creating tables, replacing non-table parents that have further parents), then
   ``replace``/``upsert``/clear. The value at the edited path before and after decides whether
   anything changes; an equal value is no change at all (the text is not touched).
2. **Document edit** on the TOML engine's format-preserving model (:mod:`chamberlain.tomlengine`,
   a mirror of ``toml_edit``'s): either set the new value at the path (existing decor - comment
   lines above, spacing, trailing comment - is copied onto the new items recursively) or remove
   the key.

An :class:`EditDocument` is one request's document: the text is scanned into the model once, on
the first edit that changes something, and every edit of the batch works on that model. The plain
data is edited copy-on-write (the caller's parsed data is never mutated) and is the document's
data, as the reference's is: a table emptied by a removal stays in the data (and in the version
the reference reports) even where the text no longer shows it. Where the text's data may differ
(after a removal, a path through an array of tables, CR line ends) :attr:`EditDocument.exact` is
False and the caller re-reads the text for what is on disk.

Where the reference prints a cosmetic quirk (``t= "scalar"`` for a table replaced by a scalar,
``[x ]`` for a scalar replaced by a table) this module follows the spec's rules instead (§5.8).
"""

from __future__ import annotations

import math
import re
import tomllib
from typing import Any, Final, Literal, TypeAlias

from chamberlain import tomlengine
from chamberlain.store.layers import merge_values

NON_TABLE_PARENT: Final = "cannot set value on non-table parent"
NULL_VALUE: Final = "invalid value: invalid type: null, expected any valid TOML value"
U64_TOO_LARGE: Final = "invalid value: u64 value was too large"
EMPTY_PATH: Final = "keyPath must not be empty"

I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1
U64_MAX: Final = 2**64 - 1


Strategy: TypeAlias = Literal["replace", "upsert"]


class EditError(Exception):
    """An edit the reference refuses; ``str()`` is the reference's exact message."""


class ValueRangeError(EditError):
    """An integer outside u64/i64 range. The reference refuses it while *decoding the request*
    (``-32600 "Invalid request: <message>"``, no ``data``): ``protocol/jsonvalue`` answers that
    for the wire; here it only guards direct callers."""


# --------------------------------------------------------------------------------------------
# Public API


class EditDocument:
    """One request's document: the file text, its plain data and (once an edit changes something)
    the engine's model of it."""

    def __init__(
        self, text: str = "", plain: dict[str, Any] | None = None, model: tomlengine.Document | None = None
    ) -> None:
        """``model``, when given, is a settled model of ``text`` (see :meth:`settled_model`); it
        is used instead of scanning the text and is edited in place."""
        self.source = text[1:] if text.startswith("\ufeff") else text
        #: the document's data after the edits so far - what the reference's write reports the
        #: ``version`` of (shared: do not mutate); the data of :meth:`text` while ``exact``.
        self.plain: dict[str, Any] = tomllib.loads(self.source) if plain is None else plain
        self._model: tomlengine.Document | None = None
        self._given = model
        #: False once the plain data may differ from the rendered text's (then it is re-read).
        self.exact = "\r" not in text
        self._rendered: str | None = self.source

    @property
    def model(self) -> tomlengine.Document:
        if self._model is None:
            # the reference re-renders the whole file with "\n" line ends (CRLF files come back as LF)
            self._model = self._given or tomlengine.parse(self.source.replace("\r\n", "\n"))
            self._given = None
        return self._model

    @property
    def changed(self) -> bool:
        return self._model is not None

    def settled_model(self) -> tomlengine.Document | None:
        """The edited model, settled to what a parse of :meth:`text` gives (for the next request on
        that text); None when nothing was edited. The document is done with after this."""
        if self._model is None:
            return None
        self.text()
        model, self._model = self._model, None
        if model.header_in_dotted:
            # a header inside a table of dotted keys: when it renders above them, a parse reads
            # that table as a header's (rendered under a header of its own) or refuses the text
            # (:meth:`reload_error`); the next request parses the text instead
            return None
        model.settle()
        return model

    def reload_error(self) -> tomlengine.DuplicateKeyError | None:
        """The reference's refusal to read :meth:`text` back, or None. The reference writes a text
        it cannot read again when an edit puts a table with a header inside a table of dotted keys
        and the header renders above those keys (``[t.d.a]`` above ``[t]`` ``d.e = 1``): the write
        succeeds, and every later load of the file fails with ``<path>:<line>:<col>: duplicate key``."""
        text = self.text()
        if self._model is None or not self._model.header_in_dotted:
            return None
        try:
            tomlengine.parse(text)
        except tomlengine.DuplicateKeyError as exc:
            return exc
        return None

    def text(self) -> str:
        """The file text after the edits so far (the source itself when nothing changed)."""
        if self._rendered is None:
            self._rendered = self.model.render()
        return self._rendered

    def edit(self, segments: list[str], value: Any, strategy: Strategy) -> None:
        """One keyPath edit (``value`` is decoded JSON; ``None`` clears the key)."""
        if not segments:
            raise EditError(EMPTY_PATH)
        if value is not None:
            _check_json_value(value)
        plain = self.plain
        before = _value_at_path(plain, segments)
        new_plain = _clear_plain(plain, segments) if value is None else _merge_plain(plain, segments, value, strategy)
        after = _value_at_path(new_plain, segments)
        if _same_value(before, after):
            return
        self.plain = new_plain
        self._rendered = None
        if after is _MISSING:
            # a table left empty by the removal stays in the data but an implicit one is not rendered
            self.model.clear_path(segments)
            self.exact = False
        elif not self.model.set_path(segments, tomlengine.item_from_plain(after)):
            self.exact = False


# --------------------------------------------------------------------------------------------
# Step 1: the plain merge (spec §5.5), mirroring the reference's `apply_merge`/`clear_path`


_MISSING: Final = object()
_INDEX_RE: Final = re.compile(r"[+-]?[0-9]+")


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
    elif isinstance(value, (dict, list)):
        for item in value.values() if isinstance(value, dict) else value:
            _check_json_value(item)


def _value_at_path(root: Any, segments: list[str]) -> Any:
    current = root
    for segment in segments:
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and _INDEX_RE.fullmatch(segment) and 0 <= int(segment) < len(current):
            current = current[int(segment)]
        else:
            return _MISSING
    return current


def _merge_plain(root: dict[str, Any], segments: list[str], value: Any, strategy: Strategy) -> dict[str, Any]:
    """``root`` with the edit applied, copy-on-write: every table on the path is a fresh copy. A
    missing parent, or a non-table one with further parents, becomes a table."""
    head, *rest = segments
    if not rest:  # the request's value is shared, never copied: no one mutates plain data
        return {**root, head: merge_values(root.get(head), value) if strategy == "upsert" else value}
    child = root.get(head, _MISSING)
    if not isinstance(child, dict):
        if child is not _MISSING and len(rest) == 1:
            raise EditError(NON_TABLE_PARENT)
        child = {}
    return {**root, head: _merge_plain(child, rest, value, strategy)}


def _clear_plain(root: dict[str, Any], segments: list[str]) -> dict[str, Any]:
    """``root`` without the key at ``segments`` (``root`` itself when there is none), copy-on-write."""
    head, *rest = segments
    if head not in root:
        return root
    if not rest:
        return {k: v for k, v in root.items() if k != head}
    child = root[head]
    cleared = _clear_plain(child, rest) if isinstance(child, dict) else child
    return root if cleared is child else {**root, head: cleared}


def _same_value(a: Any, b: Any) -> bool:
    """Typed equality: 1, 1.0 and true differ; -0.0 and 0.0 differ (the reference rewrites)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same_value, a, b))
    if isinstance(a, float) and (math.isnan(a) or math.isnan(b)):
        return math.isnan(a) and math.isnan(b)
    return bool(a == b) and (not isinstance(a, float) or math.copysign(1.0, a) == math.copysign(1.0, b))
