"""Typed decoding of request params with the reference's (serde's) error wording.

The fast path is one typed ``msgspec`` decode. Only when it fails do we decode the params
generically and walk the target type the way serde would, to find the first error in serde's
order and word it as serde does (``invalid type: string "yes", expected a boolean``,
``missing field `edits```, ``unknown variant `merge`, expected `replace` or `upsert```).
"""

from __future__ import annotations

import functools
from typing import Any, Final

import msgspec
from chamberlain.serde_text import invalid_type, missing_field, unexpected, unknown_variant
from msgspec import inspect as mi

__all__ = ["ParamsError", "decode_params", "decode_unit_params", "NO_PARAMS"]

NO_PARAMS: Final = b"null"
_I64_MIN: Final = -(2**63)
_U64_MAX: Final = 2**64 - 1


class ParamsError(Exception):
    """Params that do not decode; ``str()`` is the serde text (the caller prefixes ``Invalid request: ``)."""


@functools.cache
def _decoder(tp: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(tp)


@functools.cache
def _info(tp: Any) -> mi.Type:
    return mi.type_info(tp)


def decode_params(raw: bytes | None, tp: Any) -> Any:
    """Decode required params of Struct type ``tp``. ``raw`` is None when ``params`` was absent."""
    if raw is None or raw == NO_PARAMS:
        raise ParamsError(missing_field("params"))
    try:
        return _decoder(tp).decode(raw)
    except msgspec.ValidationError:
        pass
    value = msgspec.json.decode(raw)
    info = _info(tp)
    err = _first_error(value, info)
    if err is None and isinstance(value, list) and isinstance(info, mi.StructType):
        # serde also accepts a struct as a positional sequence; msgspec does not.
        return msgspec.convert(dict(zip((f.encode_name for f in info.fields), value, strict=False)), tp)
    raise ParamsError(err or "invalid params")


def decode_unit_params(raw: bytes | None) -> None:
    """Methods without params accept an absent ``params``, ``null`` and ``{}``; anything else is
    ``invalid type: <what>, expected unit``."""
    if raw is None or raw == NO_PARAMS:
        return
    value = msgspec.json.decode(raw)
    if value is None or value == {}:
        return
    raise ParamsError(invalid_type(value, "unit"))


def _first_error(value: Any, t: mi.Type) -> str | None:  # noqa: C901 - one case per type kind
    match t:
        case mi.AnyType():
            return None
        case mi.UnionType(types=types):
            if value is None and any(isinstance(x, mi.NoneType) for x in types):
                return None
            inner = [x for x in types if not isinstance(x, mi.NoneType)]
            return _first_error(value, inner[0]) if len(inner) == 1 else None
        case mi.NoneType():
            return None if value is None else invalid_type(value, "unit")
        case mi.BoolType():
            return None if isinstance(value, bool) else invalid_type(value, "a boolean")
        case mi.StrType():
            return None if isinstance(value, str) else invalid_type(value, "a string")
        case mi.IntType():
            return _int_error(value, t)
        case mi.LiteralType(values=values):
            return _enum_error(value, [str(v) for v in values])
        case mi.ListType(item_type=item):
            if not isinstance(value, list):
                return invalid_type(value, "a sequence")
            for v in value:
                err = _first_error(v, item)
                if err:
                    return err
            return None
        case mi.DictType(value_type=vt):
            if not isinstance(value, dict):
                return invalid_type(value, "a map")
            for v in value.values():
                err = _first_error(v, vt)
                if err:
                    return err
            return None
        case mi.StructType():
            return _struct_error(value, t)
    return None


def _int_error(value: Any, t: mi.IntType) -> str | None:
    lo = t.ge if t.ge is not None else _I64_MIN
    hi = t.le if t.le is not None else _U64_MAX
    name = "u32" if (t.ge == 0 and t.le == 2**32 - 1) else "i64"
    if isinstance(value, bool) or not isinstance(value, int):
        return invalid_type(value, name)
    if not lo <= value <= hi:
        return f"invalid value: {unexpected(value)}, expected {name}"
    return None


def _enum_error(value: Any, variants: list[str]) -> str | None:
    if isinstance(value, str):
        return None if value in variants else unknown_variant(value, variants)
    if isinstance(value, dict):
        if len(value) != 1:
            return f"invalid value: {unexpected(value)}, expected map with a single key"
        (key,) = value
        return unknown_variant(key, variants) if key not in variants else None
    return invalid_type(value, "string or map")


def _struct_error(value: Any, t: mi.StructType) -> str | None:
    name = t.cls.__name__
    fields = t.fields
    if isinstance(value, list):
        if len(value) > len(fields):
            return f"invalid length {len(value)}, expected {len(fields)} elements in sequence"
        for v, f in zip(value, fields, strict=False):
            err = _first_error(v, f.type)
            if err:
                return err
        if len(value) < len(fields):
            return f"invalid length {max(len(value), 1)}, expected struct {name} with {len(fields)} elements"
        return None
    if not isinstance(value, dict):
        return invalid_type(value, f"struct {name}")
    by_name = {f.encode_name: f for f in fields}
    for key, v in value.items():
        known = by_name.get(key)
        if known is not None:
            err = _first_error(v, known.type)
            if err:
                return err
    for f in fields:
        if f.required and f.encode_name not in value:
            return missing_field(f.encode_name)
    return None
