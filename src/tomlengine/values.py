"""Canonical TOML spelling of plain values and keys, as the reference's ``toml_edit`` prints them."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Final

__all__ = ["BARE_KEY_CHARS", "key_repr", "value_repr"]

BARE_KEY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def value_repr(value: Any) -> str:
    """One value as the reference writes it (inline tables and arrays on one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_repr(value)
    if isinstance(value, str):
        return _string_repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(value_repr(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        pairs = ", ".join(f"{key_repr(k)} = {value_repr(v)}" for k, v in value.items())
        return "{ " + pairs + " }"
    if isinstance(value, dt.datetime):
        return f"{_date_repr(value.date())}T{_time_repr(value.timetz())}"
    if isinstance(value, dt.date):
        return _date_repr(value)
    if isinstance(value, dt.time):
        return _time_repr(value)
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def key_repr(key: str) -> str:
    """One key segment: bare when it can be, else a basic string, else a literal string."""
    if key and all(ch in BARE_KEY_CHARS for ch in key):
        return key
    clean = not _has_escape_codes(key) and "\n" not in key
    if clean and "\\" not in key and '"' not in key:
        return '"' + _escape_basic(key, multiline=False) + '"'
    if clean and "'" not in key:
        return "'" + key + "'"
    return '"' + _escape_basic(key, multiline=False) + '"'


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


_BASIC_ESCAPES: Final = {"\\": "\\\\", "\b": "\\b", "\t": "\\t", "\f": "\\f", "\r": "\\r"}


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
        if ch in _BASIC_ESCAPES:
            out.append(_BASIC_ESCAPES[ch])
        elif ch == "\n":
            out.append("\n" if multiline else "\\n")
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
