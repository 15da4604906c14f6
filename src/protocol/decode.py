"""Typed decoding of request params with the reference's (serde's) error wording.

The fast path is one typed ``msgspec`` decode (free JSON members get the reference's number
reading through ``float_hook``). Only when it fails, or when the params hold a digit run long
enough to be an integer beyond 64 bits, do we read the params as the reference does
(`chamberlain.protocol.jsonvalue`) and walk the target type with the shared serde walker
(`chamberlain.serde_walk`) to find the first error in serde's order and wording
(``invalid type: string "yes", expected a boolean``, ``missing field `edits```, ``unknown variant
`merge`, expected `replace` or `upsert```).

Nothing but `ParamsError` leaves this module for any JSON text.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import msgspec
from chamberlain.protocol import jsonvalue
from chamberlain.serde_text import invalid_type, missing_field
from chamberlain.serde_walk import first_error, positional_to_map, type_info

__all__ = [
    "ParamsError", "decode_params", "decode_unit_params", "decode_value", "load_params", "NO_PARAMS", "MAX_FRAME_DEPTH",
    "too_deep",
]

NO_PARAMS: Final = b"null"
#: The reference drops a frame (no reply) whose arrays/objects nest this deep or deeper.
MAX_FRAME_DEPTH: Final = 128
_RECURSION_TEXT: Final = "recursion limit exceeded"


class ParamsError(Exception):
    """Params that do not decode; ``str()`` is the serde text (the caller prefixes ``Invalid request: ``)."""


@functools.cache
def _decoder(tp: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(tp, float_hook=jsonvalue.parse_float)


def too_deep(frame: bytes, limit: int = MAX_FRAME_DEPTH) -> bool:
    """True when ``frame`` nests arrays/objects ``limit`` deep or deeper (outside strings). The
    reference drops such a frame without a reply; classify it as not-a-message before decoding."""
    if frame.count(b"[") + frame.count(b"{") < limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in frame:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth >= limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _load(raw: bytes) -> Any:
    if too_deep(raw, MAX_FRAME_DEPTH - 1):
        raise ParamsError(_RECURSION_TEXT)
    try:
        return jsonvalue.load(raw)
    except jsonvalue.BigIntegerError as exc:
        raise ParamsError(str(exc)) from None
    except RecursionError:
        raise ParamsError(_RECURSION_TEXT) from None
    except ValueError as exc:  # not JSON: classify() lets no such params through
        raise ParamsError(str(exc)) from None


def decode_params(raw: bytes | None, tp: Any) -> Any:
    """Decode required params of Struct type ``tp``. ``raw`` is None when ``params`` was absent."""
    if raw is None or raw == NO_PARAMS:
        raise ParamsError(missing_field("params"))
    if jsonvalue.fast_path_safe(raw):
        try:
            return _decoder(tp).decode(raw)
        except (msgspec.ValidationError, RecursionError):
            pass
    return decode_value(_load(raw), tp)


def load_params(raw: bytes | None) -> Any:
    """Required params read as the reference reads JSON (for decoders of their own, such as an
    internally tagged enum); absent or ``null`` is ``missing field `params```."""
    if raw is None or raw == NO_PARAMS:
        raise ParamsError(missing_field("params"))
    return _load(raw)


def decode_value(value: Any, tp: Any) -> Any:
    """A loaded JSON value as ``tp``, or ParamsError with serde's text for the first error."""
    info = type_info(tp)
    err = first_error(value, info)
    if err is not None:
        raise ParamsError(err.detail)
    try:
        return msgspec.convert(positional_to_map(value, info), tp)
    except (msgspec.ValidationError, RecursionError) as exc:  # a case the walker does not model
        raise ParamsError(str(exc)) from None


def decode_unit_params(raw: bytes | None) -> None:
    """Methods without params accept an absent ``params``, ``null`` and ``{}``; anything else is
    ``invalid type: <what>, expected unit``."""
    if raw is None or raw == NO_PARAMS or raw == b"{}":
        return
    value = _load(raw)
    if value is None or value == {}:
        return
    raise ParamsError(invalid_type(value, "unit"))
