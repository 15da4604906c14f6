"""The wording of serde's error messages, which the reference returns verbatim.

Only text formatting: callers decide *which* error applies. Values are plain Python data as decoded
from JSON or unwrapped from TOML (dict, list, str, bool, int, float, datetime/date/time, None).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "unexpected",
    "invalid_type",
    "missing_field",
    "unknown_variant",
    "one_of",
    "rust_float",
    "rust_float_display",
    "rust_debug_str",
]


_DEBUG_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def rust_debug_str(s: str) -> str:
    """Rust's ``{:?}`` of a str: double quotes, with \\", \\\\, \\n, \\r, \\t, \\0 and \\u{..} escapes."""
    out = ['"']
    for ch in s:
        escaped = _DEBUG_ESCAPES.get(ch)
        if escaped is None and (ord(ch) < 0x20 or ord(ch) == 0x7F):
            escaped = f"\\u{{{ord(ch):x}}}"
        out.append(ch if escaped is None else escaped)
    out.append('"')
    return "".join(out)


def _digits(f: float) -> tuple[str, int]:
    """The shortest round-trip digits of ``abs(f)`` (no leading or trailing zeros) and the position
    of the decimal point relative to them: ``1.5`` is ("15", 1), ``0.001`` is ("1", -2)."""
    _sign, digits, exponent = Decimal(repr(abs(f))).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).lstrip("0")
    stripped = text.rstrip("0")
    return stripped, len(stripped) + exponent + (len(text) - len(stripped))


def rust_float(f: float) -> str:
    """serde's display of an f64 (``floating point `…```), the shortest round-trip text laid out as
    ``ryu`` does with a signed exponent: 1.5, 3.0, 1e+16, 1000000000000000.0, 0.00001, 1e-7, inf."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        return sign + "0.0"
    digits, point = _digits(f)
    n = len(digits)
    if n <= point <= 16:
        return f"{sign}{digits}{'0' * (point - n)}.0"
    if 0 < point <= 16:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    exp = point - 1
    mantissa = digits if n == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp)}"


def rust_float_display(f: float) -> str:
    """Rust's ``Display`` of a finite f64: never an exponent, no ``.0`` on whole numbers."""
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if f == 0:
        return sign + "0"
    digits, point = _digits(f)
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    if point > 0:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{sign}0.{'0' * -point}{digits}"


def unexpected(value: Any, *, json_null: str = "null") -> str:
    """serde's ``Unexpected`` display for a value (``string "x"``, ``integer `5```, ``map`` …)."""
    if value is None:
        return json_null
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{rust_float(value)}`"
    if isinstance(value, str):
        return f"string {rust_debug_str(value)}"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, (list, tuple)):
        return "sequence"
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        # toml's deserializer exposes a datetime as a one-entry map.
        return "map"
    return "unit value"


def invalid_type(value: Any, expected: str) -> str:
    return f"invalid type: {unexpected(value)}, expected {expected}"


def missing_field(name: str) -> str:
    return f"missing field `{name}`"


def one_of(names: Sequence[str]) -> str:
    """serde's ``OneOf`` display: `a`, `a` or `b`, one of `a`, `b`, `c`; no variants: 'there are no variants'."""
    if not names:
        return "there are no variants"
    if len(names) == 1:
        return f"`{names[0]}`"
    if len(names) == 2:
        return f"`{names[0]}` or `{names[1]}`"
    return "one of " + ", ".join(f"`{n}`" for n in names)


def unknown_variant(variant: str, expected: Sequence[str]) -> str:
    return f"unknown variant `{variant}`, expected {one_of(expected)}"
