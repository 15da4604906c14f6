"""The one serde-style error walker: run only after a typed ``msgspec`` decode or ``convert`` has
failed, it walks the plain value against the type (``msgspec.inspect``) in serde's order and words
the first error as serde does.

serde's order, as observed on codex-cli 0.169.0: members of a map in document order (the value's
order), then the missing required fields in declaration order; elements of a sequence in order.
A struct also reads from a sequence (its positional form): element *i* fills field *i*; a field
missing from a short sequence takes its default only when it has a non-``None`` default (Rust's
``#[serde(default)]``; an ``Option`` without it is ``T | None = None`` here and is required in that
form: ``invalid length <i>, expected struct <Name> with <n> elements``).

A struct declared with ``forbid_unknown_fields=True`` reports ``unknown field `x`, expected …``
(serde's ``deny_unknown_fields``). ``path`` names the dotted path of the value for callers that
report one (``in `a.b```); the walk extends it by struct members only.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from chamberlain.serde_text import invalid_type, missing_field, one_of, unexpected, unknown_variant
from msgspec import NODEFAULT, Meta
from msgspec import inspect as mi

__all__ = [
    "INT_NAMES",
    "SerdeError",
    "capped",
    "expecting",
    "first_error",
    "join_path",
    "positional_to_map",
    "struct_name",
    "toml_enum",
    "toml_enum_error",
    "toml_kind",
    "type_info",
    "unknown_fields",
    "variants",
]

_I64_MIN: Final = -(2**63)
_U64_MAX: Final = 2**64 - 1
#: serde's name of an integer type by its (ge, le) bounds; anything else reads as i64.
INT_NAMES: Final[dict[tuple[int | None, int | None], str]] = {
    (0, 2**8 - 1): "u8",
    (0, 2**16 - 1): "u16",
    (0, 2**32 - 1): "u32",
    (0, None): "u64",
    (1, 2**64 - 1): "a nonzero u64",
    (-(2**31), 2**31 - 1): "i32",
}


@dataclass(frozen=True, slots=True)
class SerdeError:
    """The first error found: serde's ``detail`` text and the dotted ``path`` it is reported at;
    ``cause``: the exception a custom type's ``serde_check`` caught, if any."""

    detail: str
    path: str
    cause: Exception | None = None


@functools.cache
def type_info(tp: Any) -> mi.Type:
    return mi.type_info(tp)


@functools.cache
def expecting(tp: Any, text: str) -> Any:
    """``tp`` whose wrong-kind values read ``invalid type: <what>, expected <text>`` (a Rust type
    with its own ``expecting``: ``path string``, ``struct Name``, an enum that wants ``a string``)."""
    return Annotated[tp, Meta(extra={"expected": text})]


@functools.cache
def variants(names: tuple[str, ...], expected: str | None = None) -> Any:
    """An enum of unit variants in declaration order (serde lists them in that order; a bare
    ``Literal`` loses it); ``expected`` as in `expecting` for values that are not strings (an
    externally tagged enum reads ``string or map``)."""
    extra: dict[str, Any] = {"variants": names}
    if expected is not None:
        extra["expected"] = expected
    return Annotated[Literal.__getitem__(names), Meta(extra=extra)]


@functools.cache
def capped(tp: Any) -> Any:
    """``tp`` whose inner errors are reported at its own path (serde reads it through a buffer)."""
    return Annotated[tp, Meta(extra={"cap": True})]


def toml_enum(names: Sequence[str], payloads: Mapping[str, Any] | None = None, *, buffered: bool = False) -> Meta:
    """The metadata of an enum read straight from TOML (`toml_enum_error`): ``names`` in
    declaration order; ``payloads`` maps a struct variant to its Struct type; ``buffered``: read
    below a flattened member (serde's buffered content words a value that is not a string)."""
    extra = {"variants": tuple(names), "toml_enum": True, "payloads": dict(payloads or {}), "buffered": buffered}
    return Meta(extra=extra)


def struct_name(t: mi.StructType) -> str:
    """serde's name of a struct (``struct ToolResultLogConfig``): the class name, or the class's
    ``serde_name`` (a ``ClassVar``) where Rust's differs (``struct variant Kind::Variant``)."""
    return str(getattr(t.cls, "serde_name", None) or f"struct {t.cls.__name__}")


def _same_kind(value: Any, t: mi.Type) -> bool:
    match t:
        case mi.StrType() | mi.LiteralType():
            return isinstance(value, str)
        case mi.BoolType():
            return isinstance(value, bool)
        case mi.IntType():
            return isinstance(value, int) and not isinstance(value, bool)
        case mi.DictType():
            return isinstance(value, dict)
        case mi.StructType():
            return isinstance(value, (dict, list))  # a struct also reads from its positional form
        case mi.ListType():
            return isinstance(value, list)
    return True


def join_path(path: str, key: str) -> str:
    """``path`` extended by a member (``a.b``), as serde words an error's place."""
    return f"{path}.{key}" if path else key


def first_error(value: Any, t: mi.Type, path: str = "") -> SerdeError | None:
    """The first error serde reports for ``value`` read as type ``t``, or None when it reads."""
    match t:
        case mi.AnyType():
            return None
        case mi.Metadata(extra={"toml_enum": True, "variants": names, "payloads": payloads, **rest}):
            return toml_enum_error(value, names, payloads, path, buffered=bool(rest.get("buffered")))
        case mi.CustomType(cls=cls) if hasattr(cls, "serde_check"):
            return cls.serde_check(value, path)  # type: ignore[no-any-return]
        case mi.Metadata(type=inner, extra=extra):
            err = _metadata_error(value, inner, extra or {}, path)
            if err is not None and (extra or {}).get("cap"):
                return SerdeError(err.detail, path)
            return err
        case mi.UnionType():
            return _union_error(value, t, path)
        case mi.NoneType():
            return None if value is None else SerdeError(invalid_type(value, "unit"), path)
        case mi.BoolType():
            return None if isinstance(value, bool) else SerdeError(invalid_type(value, "a boolean"), path)
        case mi.StrType():
            return None if isinstance(value, str) else SerdeError(invalid_type(value, "a string"), path)
        case mi.IntType():
            detail = _int_error(value, t, INT_NAMES.get((t.ge, t.le), "i64"))
            return None if detail is None else SerdeError(detail, path)
        case mi.FloatType():
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return None if ok else SerdeError(invalid_type(value, "f64"), path)
        case mi.LiteralType(values=values):
            detail = _enum_error(value, [str(v) for v in values])
            return None if detail is None else SerdeError(detail, path)
        case mi.ListType(item_type=item):
            return _seq_error(value, item, path)
        case mi.DictType(value_type=vt):
            return _map_error(value, vt, path)
        case mi.StructType():
            return _struct_error(value, t, path)
    return None


def _metadata_error(value: Any, inner: mi.Type, extra: dict[str, Any], path: str) -> SerdeError | None:
    expected = extra.get("expected")
    if expected is not None and not _same_kind(value, inner):
        return SerdeError(invalid_type(value, expected), path)
    if expected is not None and isinstance(inner, mi.IntType):
        detail = _int_error(value, inner, expected)
        return None if detail is None else SerdeError(detail, path)
    names = extra.get("variants")
    if names is not None and isinstance(value, str) and value not in names:
        return SerdeError(unknown_variant(value, names), path)
    return first_error(value, inner, path)


def _union_error(value: Any, t: mi.UnionType, path: str) -> SerdeError | None:
    if value is None and any(isinstance(x, mi.NoneType) for x in t.types):
        return None
    inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
    return first_error(value, inner[0], path) if len(inner) == 1 else None


def _int_error(value: Any, t: mi.IntType, name: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return invalid_type(value, name)
    lo = t.ge if t.ge is not None else _I64_MIN
    hi = t.le if t.le is not None else _U64_MAX
    if not lo <= value <= hi:
        return f"invalid value: {unexpected(value)}, expected {name}"
    return None


def _enum_error(value: Any, variants: list[str]) -> str | None:
    if isinstance(value, str):
        return None if value in variants else unknown_variant(value, variants)
    if isinstance(value, dict):
        if len(value) != 1:
            return f"invalid value: {unexpected(value)}, expected map with a single key"
        ((key, payload),) = value.items()
        if key not in variants:
            return unknown_variant(key, variants)
        # a unit variant in map form carries no content: null or an empty map
        return None if payload is None or payload == {} else invalid_type(payload, "unit")
    return invalid_type(value, "string or map")


#: toml's names of value kinds (``expected table, found integer``), most specific first.
_TOML_KINDS: Final[tuple[tuple[type, str], ...]] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (list, "array"),
    (dict, "table"),
)


def toml_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string" if type(value) is str else "datetime"  # a str subclass carries a TOML datetime
    return next((name for kind, name in _TOML_KINDS if isinstance(value, kind)), "datetime")


def toml_enum_error(
    value: Any, names: tuple[str, ...], payloads: Mapping[str, Any], path: str = "", *, buffered: bool = False
) -> SerdeError | None:
    """The toml crate's reading of an enum: a unit variant's name, or a one-entry table whose key
    names a variant and whose value is an empty table (a unit variant) or the variant's struct."""
    if buffered and type(value) is not str and not (isinstance(value, dict) and len(value) == 1):
        detail = "invalid value: map, expected map with a single key" if isinstance(value, dict) else None
        return SerdeError(detail or invalid_type(value, "string or map"), path)
    if type(value) is str:
        if value not in names:
            return SerdeError(unknown_variant(value, names), path)
        wrong = value in payloads
        return SerdeError("invalid type: unit variant, expected struct variant", path) if wrong else None
    if not isinstance(value, dict):
        return SerdeError("invalid type: unit variant, expected string only", path)
    if len(value) != 1:
        found = "found 0 elements" if not value else "more than 1 element"
        return SerdeError(f"wanted exactly 1 element, {found}", path)
    ((key, payload),) = value.items()
    if key not in names:
        return SerdeError(unknown_variant(key, names), path)
    if key in payloads:
        return first_error(payload, type_info(payloads[key]), path)
    if not isinstance(payload, dict):
        return SerdeError(f"expected table, found {toml_kind(payload)}", path)
    return None if not payload else SerdeError("expected empty table", path)


def _seq_error(value: Any, item: mi.Type, path: str) -> SerdeError | None:
    if not isinstance(value, list):
        return SerdeError(invalid_type(value, "a sequence"), path)
    for v in value:
        err = first_error(v, item, path)
        if err is not None:
            return err
    return None


def _map_error(value: Any, vt: mi.Type, path: str) -> SerdeError | None:
    if not isinstance(value, dict):
        return SerdeError(invalid_type(value, "a map"), path)
    for k, v in value.items():
        err = first_error(v, vt, join_path(path, str(k)))
        if err is not None:
            return err
    return None


def _has_seq_default(f: mi.Field, t: mi.StructType) -> bool:
    if getattr(t.cls, "serde_default", False):  # Rust's `#[serde(default)]` on the struct
        return not f.required
    return (f.default is not NODEFAULT and f.default is not None) or f.default_factory is not NODEFAULT


def _field_path(path: str, key: str, f: mi.Field) -> str:
    """A member marked ``{"cap": "parent"}`` (read through a buffer) reports at the struct's path."""
    parent = isinstance(f.type, mi.Metadata) and (f.type.extra or {}).get("cap") == "parent"
    return path if parent else join_path(path, key)


def _struct_error(value: Any, t: mi.StructType, path: str) -> SerdeError | None:
    if isinstance(value, list) and getattr(t.cls, "serde_positional", True):
        return _positional_error(value, t, path)
    if not isinstance(value, dict):
        return SerdeError(invalid_type(value, struct_name(t)), path)
    by_name = {f.encode_name: f for f in t.fields}
    for key, v in value.items():
        known = by_name.get(key)
        if known is None:
            if t.forbid_unknown_fields:
                names = [f.encode_name for f in t.fields]
                return SerdeError(f"unknown field `{key}`, expected {one_of(names)}", path)
            continue
        err = first_error(v, known.type, _field_path(path, key, known))
        if err is not None:
            return err
    for f in t.fields:
        if f.required and f.encode_name not in value:
            return SerdeError(missing_field(f.encode_name), path)
    return None


def _positional_error(items: list[Any], t: mi.StructType, path: str) -> SerdeError | None:
    fields = t.fields
    for v, f in zip(items, fields, strict=False):
        err = first_error(v, f.type, path)
        if err is not None:
            return err
    if len(items) > len(fields):
        noun = "element" if len(fields) == 1 else "elements"
        return SerdeError(f"invalid length {len(items)}, expected {len(fields)} {noun} in sequence", path)
    for i in range(len(items), len(fields)):
        if not _has_seq_default(fields[i], t):
            noun = "element" if len(fields) == 1 else "elements"
            detail = f"invalid length {i}, expected {struct_name(t)} with {len(fields)} {noun}"
            return SerdeError(detail, path)
    return None


def unknown_fields(value: Any, t: mi.Type, path: str, out: list[str]) -> None:
    """Append the dotted paths (map keys and sequence indices included) of the members of
    ``value`` that a struct without ``forbid_unknown_fields`` ignores; ``value`` reads as ``t``."""
    match t:
        case mi.Metadata(type=inner):
            unknown_fields(value, inner, path, out)
        case mi.UnionType(types=types):
            options = [x for x in types if not isinstance(x, mi.NoneType)]
            if len(options) == 1 and value is not None:
                unknown_fields(value, options[0], path, out)
        case mi.CustomType(cls=cls) if hasattr(cls, "serde_struct"):
            unknown_fields(value, type_info(cls.serde_struct), path, out)
        case mi.StructType() if isinstance(value, dict) and not getattr(t.cls, "serde_silent", False):
            by_name = {f.encode_name: f.type for f in t.fields}
            for k, v in value.items():
                if k in by_name:
                    unknown_fields(v, by_name[k], join_path(path, k), out)
                else:
                    out.append(join_path(path, k))
        case mi.ListType(item_type=item) if isinstance(value, list):
            for i, v in enumerate(value):
                unknown_fields(v, item, join_path(path, str(i)), out)
        case mi.DictType(value_type=vt) if isinstance(value, dict):
            for k, v in value.items():
                unknown_fields(v, vt, join_path(path, str(k)), out)


def positional_to_map(value: Any, t: mi.Type) -> Any:
    """Rewrite serde's other spellings (already checked by `first_error`) as msgspec reads them: a
    struct's positional form as a map, a unit variant's map form (``{"replace": null}``) as its name."""
    match t:
        case mi.Metadata(type=inner):
            return positional_to_map(value, inner)
        case mi.LiteralType() if isinstance(value, dict) and len(value) == 1:
            return next(iter(value))
        case mi.StructType():
            if isinstance(value, list):
                value = dict(zip((f.encode_name for f in t.fields), value, strict=False))
            if isinstance(value, dict):
                by_name = {f.encode_name: f.type for f in t.fields}
                return {k: positional_to_map(v, by_name[k]) if k in by_name else v for k, v in value.items()}
            return value
        case mi.UnionType(types=types):
            options = [x for x in types if not isinstance(x, mi.NoneType)]
            return positional_to_map(value, options[0]) if len(options) == 1 and value is not None else value
        case mi.ListType(item_type=item) if isinstance(value, list):
            return [positional_to_map(v, item) for v in value]
        case mi.DictType(value_type=vt) if isinstance(value, dict):
            return {k: positional_to_map(v, vt) for k, v in value.items()}
    return value
