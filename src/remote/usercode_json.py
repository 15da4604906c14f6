"""Reading the device user-code answer (spec account.md §6.3 step 1) with the reference's errors.

The reference decodes the body with serde_json into a struct of ``device_auth_id``, ``user_code``
(alias ``usercode``) and an optional ``interval`` that must be a *string* holding an unsigned
integer; its decode errors reach the client verbatim after ``failed to request device code: ``,
positions included (``missing field `user_code` at line 1 column 24``). This module reproduces
those texts for the failures a fake or a broken issuer produces (checked case by case on the
binary). Positions are serde_json's: the line and byte column after the last character read,
where a character serde_json only peeked at counts as read.
"""

from __future__ import annotations

import json
from typing import Any, Final

from chamberlain.serde_text import invalid_type, missing_field

__all__ = ["decode_user_code", "json_error_text"]

FIELDS: Final = ("device_auth_id", "user_code", "interval")
ALIASES: Final = {"usercode": "user_code"}
STRUCT: Final = "struct UserCodeResp"
_U64_MAX: Final = 2**64 - 1
_IDENTS: Final = {"n": "null", "t": "true", "f": "false"}
_DECODER: Final = json.JSONDecoder()


class _Fail(ValueError):
    pass


def _fail(text: str, message: str, consumed: int) -> _Fail:
    """``message`` at serde_json's position after reading ``text[:consumed]``."""
    line_start = text.rfind("\n", 0, consumed) + 1
    line = text.count("\n", 0, consumed) + 1
    column = len(text[line_start:consumed].encode())
    return _Fail(f"{message} at line {line} column {column}")


def _ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n\r":
        i += 1
    return i


def _syntax(text: str, i: int) -> _Fail:
    if i >= len(text):
        return _fail(text, "EOF while parsing a value", i)
    ident = _IDENTS.get(text[i])
    if ident is not None:
        k = 0
        while k < len(ident) and i + k < len(text) and text[i + k] == ident[k]:
            k += 1
        if i + k >= len(text):
            return _fail(text, "EOF while parsing a value", i + k)
        return _fail(text, "expected ident", i + k + 1)
    return _fail(text, "expected value", i + 1)


def json_error_text(text: str, error: json.JSONDecodeError) -> str:
    """serde_json's text for a document Python's json rejected, placed at the offending character."""
    return str(_syntax(text, error.pos))


def scalar_type_text(text: str, value: Any, expected: str) -> str:
    """serde_json's text for a whole document that is the scalar ``value``."""
    return str(_fail(text, _unexpected_type(value, expected), len(text.rstrip(" \t\n\r"))))


def _eof_or(text: str, message: str, i: int) -> _Fail:
    """``message`` about the character at ``i`` (serde_json peeks it), or the end of the input."""
    if i >= len(text):
        return _fail(text, "EOF while parsing an object", i)
    return _fail(text, message, i + 1)


def _value(text: str, i: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, i)
    except json.JSONDecodeError:
        raise _syntax(text, i) from None


def _unexpected_type(value: Any, expected: str) -> str:
    # serde_json reports a float as a plain "number"
    if isinstance(value, float):
        return f"invalid type: number, expected {expected}"
    return invalid_type(value, expected)


def _u64(text: str) -> int | str:
    """Rust's ``str::trim`` + ``parse::<u64>``: the number, or the ParseIntError text."""
    s = text.strip()
    digits = s[1:] if s.startswith("+") else s
    if not s:
        return "cannot parse integer from empty string"
    if not digits or not all("0" <= c <= "9" for c in digits):
        return "invalid digit found in string"
    number = int(digits)
    return number if number <= _U64_MAX else "number too large to fit in target type"


def _field(text: str, name: str, i: int, fields: dict[str, Any]) -> int:
    """Read the value of field ``name`` at ``text[i]`` into ``fields``; returns its end."""
    if text[i : i + 1] in ("{", "["):
        kind = "map" if text[i] == "{" else "sequence"
        raise _fail(text, f"invalid type: {kind}, expected a string", i)
    value, end = _value(text, i)
    if not isinstance(value, str):
        raise _fail(text, _unexpected_type(value, "a string"), end)
    if name == "interval":
        parsed = _u64(value)
        if isinstance(parsed, str):
            # a custom error gets its position once serde_json tried to close the object: after
            # the whitespace that follows and the closing bracket, if that is what comes next
            after = _ws(text, end)
            raise _fail(text, parsed, after + 1 if text[after : after + 1] in ("}", "]") else after)
        fields[name] = parsed
    else:
        fields[name] = value
    return end


def _object(text: str, i: int) -> tuple[dict[str, Any], int]:
    """The known fields of the object opening at ``text[i]`` and the index after its ``}``."""
    fields: dict[str, Any] = {}
    i = _ws(text, i + 1)
    if text[i : i + 1] == "}":
        return fields, i + 1
    while True:
        if text[i : i + 1] != '"':
            raise _syntax(text, i) if i >= len(text) else _fail(text, "key must be a string", i + 1)
        key, end = _value(text, i)
        name = ALIASES.get(key, key)
        if name in FIELDS and name in fields:
            raise _fail(text, f"duplicate field `{name}`", end)
        i = _ws(text, end)
        if text[i : i + 1] != ":":
            raise _eof_or(text, "expected `:`", i)
        i = _ws(text, i + 1)
        end = _field(text, name, i, fields) if name in FIELDS else _value(text, i)[1]
        i = _ws(text, end)
        if text[i : i + 1] == "}":
            return fields, i + 1
        if text[i : i + 1] != ",":
            raise _eof_or(text, "expected `,` or `}`", i)
        i = _ws(text, i + 1)
        if text[i : i + 1] == "}":
            raise _fail(text, "trailing comma", i + 1)


def _array(text: str, i: int) -> tuple[dict[str, Any], int]:
    """The struct read as a sequence, as serde's derived visitor allows."""
    fields: dict[str, Any] = {}
    i = _ws(text, i + 1)
    for name in FIELDS:
        if text[i : i + 1] == "]":
            break
        i = _ws(text, _field(text, name, i, fields))
        if text[i : i + 1] == ",":
            i = _ws(text, i + 1)
    if text[i : i + 1] != "]":
        raise _fail(text, "trailing characters", i + 1)
    if len(fields) < 2:
        raise _fail(text, f"invalid length {len(fields)}, expected {STRUCT} with 3 elements", i + 1)
    return fields, i + 1


def decode_user_code(text: str) -> tuple[str, str, int]:
    """``(device_auth_id, user_code, interval_s)``; ValueError with serde_json's text otherwise."""
    i = _ws(text, 0)
    if text[i : i + 1] == "{":
        fields, end = _object(text, i)
    elif text[i : i + 1] == "[":
        fields, end = _array(text, i)
    else:
        value, end = _value(text, i)
        raise _fail(text, _unexpected_type(value, STRUCT), end)
    for name in FIELDS[:2]:
        if name not in fields:
            raise _fail(text, missing_field(name), end)
    rest = _ws(text, end)
    if rest < len(text):
        raise _fail(text, "trailing characters", rest + 1)
    return fields["device_auth_id"], fields["user_code"], fields.get("interval", 0)
