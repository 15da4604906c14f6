"""The wording of serde's error messages, which the reference returns verbatim.

Only text formatting: callers decide *which* error applies. Values are plain Python data as decoded
from JSON or unwrapped from TOML (dict, list, str, bool, int, float, datetime/date/time, None).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "unexpected",
    "invalid_type",
    "missing_field",
    "unknown_variant",
    "one_of",
    "rust_float",
    "rust_debug_str",
]


def rust_debug_str(s: str) -> str:
    """Rust's ``{:?}`` of a str: double quotes, with \\", \\\\, \\n, \\r, \\t and \\u{..} escapes."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\0":
            out.append("\\0")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rust_float(f: float) -> str:
    """Rust's ``Display`` of an f64 as serde prints it in ``floating point `…``` (1.5, 3.0, inf, NaN)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e16:
        return f"{int(f)}.0" if not (f == 0 and math.copysign(1.0, f) < 0) else "-0.0"
    return repr(f)


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
