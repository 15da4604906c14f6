"""Request params as the reference sees them: JSON numbers with serde_json's ``arbitrary_precision``.

Observed on codex-cli 0.169.0 (``tests/test_params_decode.py``):

* an integer literal in the 64-bit range is an integer; in the 128-bit range but beyond 64 bits it
  fails the whole params, wherever it stands (``invalid type: integer `N` as u128, expected any
  value``, ``… as i128 …``); beyond 128 bits it is an *arbitrary-precision number*;
* a float literal is a float only when it is finite and its text (``e`` lowercased, ``+`` written
  for a positive exponent) is the shortest text of that float (``1.5``, ``1e+16``, ``0.00001``) or
  Rust's plain display of it (``0.0000001``); any other (``1E2``, ``1.50``, ``1e400``, ``1e-400``)
  is an arbitrary-precision number;
* an arbitrary-precision number reads as the one-entry map ``{"$serde_json::private::Number":
  text}``: ``invalid type: map, expected …`` where a typed member wants it, and that table where the
  params carry free JSON (a ``config/value/write`` value is written as that table);
* duplicate members: the last value wins, at the position of the first (no error).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from chamberlain.serde_text import rust_float, rust_float_display

__all__ = ["NUMBER_KEY", "BigIntegerError", "load", "fast_path_safe", "is_float_text_exact"]

NUMBER_KEY: Final = "$serde_json::private::Number"
_I64_MIN: Final = -(2**63)
_U64_MAX: Final = 2**64 - 1
_I128_MIN: Final = -(2**127)
_U128_MAX: Final = 2**128 - 1
#: More digits than any 128-bit integer has: never converted to a Python int.
_MAX_128_DIGITS: Final = 39
#: A digit run this long may be an integer beyond 64 bits; shorter ones never are.
_LONG_DIGITS: Final = re.compile(rb"[0-9]{20}")


class BigIntegerError(ValueError):
    """An integer literal in the 128-bit range beyond 64 bits; ``str()`` is the reference's text."""


def fast_path_safe(raw: bytes) -> bool:
    """True when no number in ``raw`` can be beyond 64 bits (a typed decode then agrees with the
    reference for every integer)."""
    return _LONG_DIGITS.search(raw) is None


def _number(text: str) -> dict[str, str]:
    return {NUMBER_KEY: text}


def _parse_int(text: str) -> int | dict[str, str]:
    if len(text.lstrip("-")) > _MAX_128_DIGITS:
        return _number(text)
    value = int(text)
    if _I64_MIN <= value <= _U64_MAX:
        return value
    if 0 < value <= _U128_MAX:
        raise BigIntegerError(f"invalid type: integer `{value}` as u128, expected any value")
    if _I128_MIN <= value < 0:
        raise BigIntegerError(f"invalid type: integer `{value}` as i128, expected any value")
    return _number(text)


def _normalized(text: str) -> str:
    """serde_json's text of a float literal: ``e`` lowercased, a ``+`` for an unsigned exponent."""
    mantissa, e, exponent = text.replace("E", "e").partition("e")
    if e and exponent[:1] not in ("+", "-"):
        exponent = "+" + exponent
    return mantissa + e + exponent


def is_float_text_exact(text: str, value: float) -> bool:
    return math.isfinite(value) and text in (rust_float(value), rust_float_display(value))


def parse_float(text: str) -> float | dict[str, str]:
    """A float literal as the reference reads it: a float, or an arbitrary-precision number."""
    norm = _normalized(text)
    value = float(norm)
    if "e" not in norm and norm == repr(value):
        return value  # Python's repr lays out 1e-4 <= |x| < 1e16 exactly as serde_json does
    return value if is_float_text_exact(norm, value) else _number(norm)


def load(raw: bytes) -> Any:
    """Decode valid JSON ``raw`` as the reference reads params. Raises `BigIntegerError` for the
    first 128-bit integer in document order."""
    return json.loads(raw, parse_int=_parse_int, parse_float=parse_float)
