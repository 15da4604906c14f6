"""JSON read the way the reference's serde_json reads a backend body, for its error texts
(spec account.md §9: ``Decode error for <url>: <decoder message>; …``).

``load`` parses a body and raises ``DecodeError`` worded as serde_json words it, with serde's
position (``at line L column C``: 1-based line, column = bytes since the line start, up to the
next unread byte). Objects come back as ``JsonObject``: a dict that also keeps its members in
order with duplicates, because serde reports a duplicate field where Python would keep the last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final, final

from chamberlain.serde_text import unexpected as _serde_unexpected

__all__ = ["DecodeError", "JsonObject", "Node", "check_trailing", "load", "locate", "position_text", "unexpected"]

_WS: Final = " \t\n\r"
_LITERALS: Final = {"n": "null", "t": "true", "f": "false"}


@final
class JsonObject(dict[str, Any]):
    """A JSON object; ``pairs`` holds every member in document order, duplicates included."""

    pairs: list[tuple[str, Any]]

    @classmethod
    def of(cls, pairs: list[tuple[str, Any]]) -> JsonObject:
        obj = cls(pairs)
        obj.pairs = pairs
        return obj


class DecodeError(ValueError):
    """A serde_json error: ``message`` (no position) and ``index``, the str index serde stopped at."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.message = message
        self.index = index

    def text(self, body: str) -> str:
        return f"{self.message} at {position_text(body, self.index)}"


def position_text(body: str, index: int) -> str:
    prefix = body[:index].encode("utf-8", "surrogatepass")
    start_of_line = prefix.rfind(b"\n") + 1
    line = 1 + prefix[:start_of_line].count(b"\n")
    return f"line {line} column {len(prefix) - start_of_line}"


def unexpected(value: Any, *, buffered: bool = True) -> str:
    """serde's ``Unexpected``; through the reference's buffered decoding a number with a fraction
    is kept as serde_json's arbitrary-precision map, so it shows as ``map``."""
    if buffered and isinstance(value, float):
        return "map"
    return _serde_unexpected(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


_DECODER: Final = json.JSONDecoder(object_pairs_hook=JsonObject.of, parse_constant=_reject_constant)


def load(body: str) -> tuple[Any, int]:
    """The value of ``body`` and the index just past it; raises ``DecodeError`` for a syntax error.
    Trailing characters are the caller's to check (serde checks them after the value decoded)."""
    start = _skip_ws(body, 0)
    if start == len(body):
        raise DecodeError("EOF while parsing a value", len(body))
    try:
        value, end = _DECODER.raw_decode(body, start)
    except json.JSONDecodeError as exc:
        raise _syntax_error(body, exc) from None
    except ValueError:  # NaN / Infinity: serde accepts no such literal
        raise DecodeError("expected value", start + 1) from None
    return value, end


def check_trailing(body: str, end: int) -> None:
    rest = _skip_ws(body, end)
    if rest < len(body):
        raise DecodeError("trailing characters", rest + 1)


def _skip_ws(body: str, i: int) -> int:
    while i < len(body) and body[i] in _WS:
        i += 1
    return i


def _container(body: str, pos: int) -> str | None:
    """``{`` or ``[``: the innermost container open at ``pos``."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in body[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _eof_in(body: str, pos: int) -> DecodeError:
    kind = {"{": "an object", "[": "a list"}.get(_container(body, pos) or "", "a value")
    return DecodeError(f"EOF while parsing {kind}", len(body))


def _literal_error(body: str, pos: int) -> DecodeError:
    word = _LITERALS[body[pos]]
    for k, expected in enumerate(word[1:], start=pos + 1):
        if k >= len(body):
            return DecodeError("EOF while parsing a value", len(body))
        if body[k] != expected:
            return DecodeError("expected ident", k + 1)
    return DecodeError("expected value", pos + 1)


def _syntax_error(body: str, exc: json.JSONDecodeError) -> DecodeError:
    pos, msg = exc.pos, exc.msg
    at_eof = _skip_ws(body, pos) >= len(body)
    if msg.startswith("Unterminated string"):
        return DecodeError("EOF while parsing a string", len(body))
    if msg.startswith("Invalid control character"):
        return DecodeError("control character (\\u0000-\\u001F) found while parsing a string", pos + 1)
    if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
        return DecodeError("invalid escape", pos + 2)
    if at_eof:
        return _eof_in(body, pos)
    ch = body[pos]
    if msg == "Expecting value":
        if ch in _LITERALS:
            return _literal_error(body, pos)
        if ch in "]}":
            return DecodeError("trailing comma", pos + 1)
        return DecodeError("expected value", pos + 1)
    if msg.startswith("Expecting property name"):
        return DecodeError("trailing comma" if ch == "}" else "key must be a string", pos + 1)
    if msg.startswith("Expecting ':'"):
        return DecodeError("expected `:`", pos + 1)
    if msg.startswith("Expecting ','"):
        closer = "]" if _container(body, pos) == "[" else "}"
        return DecodeError(f"expected `,` or `{closer}`", pos + 1)
    return DecodeError("expected value", pos + 1)


@final
@dataclass(slots=True)
class Node:
    """A value of a body already known to parse, with where it lies: ``start`` is its first
    character, ``end`` the index just past it. Objects keep ``pairs`` (key, index past the key,
    value) in document order; arrays keep ``items``."""

    value: Any
    start: int
    end: int
    pairs: list[tuple[str, int, Node]] | None = None
    items: list[Node] | None = field(default=None)


def locate(body: str, i: int) -> Node:
    """The `Node` of the value starting at ``i`` (after whitespace) of a body `load` accepted."""
    i = _skip_ws(body, i)
    ch = body[i]
    if ch == "{":
        return _locate_object(body, i)
    if ch == "[":
        return _locate_array(body, i)
    value, end = _DECODER.raw_decode(body, i)
    return Node(value, i, end)


def _locate_object(body: str, start: int) -> Node:
    pairs: list[tuple[str, int, Node]] = []
    i = _skip_ws(body, start + 1)
    while body[i] != "}":
        key, key_end = json.decoder.scanstring(body, i + 1)  # type: ignore[attr-defined]
        colon = _skip_ws(body, key_end)
        child = locate(body, colon + 1)
        pairs.append((key, key_end, child))
        i = _skip_ws(body, child.end)
        if body[i] == ",":
            i = _skip_ws(body, i + 1)
    return Node(JsonObject.of([(k, n.value) for k, _e, n in pairs]), start, i + 1, pairs=pairs)


def _locate_array(body: str, start: int) -> Node:
    items: list[Node] = []
    i = _skip_ws(body, start + 1)
    while body[i] != "]":
        child = locate(body, i)
        items.append(child)
        i = _skip_ws(body, child.end)
        if body[i] == ",":
            i = _skip_ws(body, i + 1)
    return Node([n.value for n in items], start, i + 1, items=items)
