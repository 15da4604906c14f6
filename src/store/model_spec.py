"""The config model's engine: TOML values as serde sees them, the type descriptors of the
schema, and the one decoder that interprets them (scalar leaves through the shared serde walker).
Internal to `chamberlain.store.model`."""

from __future__ import annotations

import datetime as _dt
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Union

import msgspec
from chamberlain.errors import ConfigModelError
from chamberlain.serde_text import invalid_type
from chamberlain.serde_walk import expecting, first_error, toml_enum_error, type_info
from msgspec import Meta


class _Datetime(str):
    """A TOML datetime seen through serde: reads as its text, but is not a string for enums."""

    __slots__ = ()


def toml_datetime_text(value: _dt.datetime | _dt.date | _dt.time) -> str:
    """The reference's display of a TOML datetime (``1979-05-27T07:32:00Z``, ``07:32:00.5``)."""

    def clock(t: _dt.time | _dt.datetime) -> str:
        text = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        if t.microsecond:
            text += "." + f"{t.microsecond:06d}".rstrip("0")
        return text

    if isinstance(value, _dt.datetime):
        text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{clock(value)}"
        offset = value.utcoffset()
        if offset is not None:
            minutes = int(offset.total_seconds()) // 60
            if minutes == 0:
                text += "Z"
            else:
                sign = "+" if minutes > 0 else "-"
                text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return text
    if isinstance(value, _dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return clock(value)


def _prepare(value: Any) -> Any:
    """Turn datetimes into `_Datetime` text, recursively (also makes a private copy)."""
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return _Datetime(toml_datetime_text(value))
    if isinstance(value, Mapping):
        return {str(k): _prepare(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepare(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """JSON-ready deep copy (also of defaults): `_Datetime` back to plain str."""
    if isinstance(value, _Datetime):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class _Str:
    pass


@dataclass(frozen=True)
class _Bool:
    pass


@dataclass(frozen=True)
class _F64:
    pass


@dataclass(frozen=True)
class _Path:
    """``AbsolutePathBuf``: relative paths are joined to the config directory and normalized."""


@dataclass(frozen=True)
class _Any:
    """Free-form data, passed through (``serde_json::Value`` or a type not worth modelling)."""


@dataclass(frozen=True)
class _Null:
    """Accepted and ignored: always rendered as ``null``."""


@dataclass(frozen=True)
class _Int:
    kind: str  # serde's expected text: "i64", "u16", "a nonzero u64", ...


@dataclass(frozen=True)
class _Enum:
    variants: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()  # accepted alias -> rendered variant
    struct_variants: tuple[tuple[str, str], ...] = ()  # newtype variants holding a struct: (name, struct)


@dataclass(frozen=True)
class _Seq:
    item: _Spec


@dataclass(frozen=True)
class _Map:
    value: _Spec
    name: str | None = None  # a struct wrapping a flattened map: "expected struct <name>"
    capped: bool = False  # errors inside are reported at the map's own path


@dataclass(frozen=True)
class _Field:
    name: str
    spec: _Spec
    default: Any = None
    capped: bool = False  # errors inside are reported at the enclosing struct's path
    skip_none: bool = False  # omitted from the output when null


@dataclass(frozen=True)
class _Struct:
    name: str
    fields: tuple[_Field, ...]
    arity: int | None = None  # "with N elements" in the positional form; None: no positional form
    all_default: bool = False  # `[]` yields the defaults
    extra: _Spec | None = None  # flattened map of the remaining keys
    extra_capped: bool = True
    output: tuple[str, ...] | None = None  # members rendered (typed wire members drop some)


@dataclass(frozen=True)
class _Custom:
    fn: Callable[[Any, _Ctx, str], Any]


_Spec = Union[_Str, _Bool, _F64, _Path, _Any, _Null, _Int, _Enum, _Seq, _Map, _Struct, _Custom]  # noqa: UP007


@dataclass(frozen=True)
class _Ctx:
    base_dir: str | None
    cap: str | None = None  # when set, errors are reported at this path
    buffered: bool = False  # inside a flattened part: serde's buffered-content wording applies

    def at(self, path: str) -> str:
        return self.cap if self.cap is not None else path

    def capped(self, path: str, *, buffered: bool = False) -> _Ctx:
        if self.cap is not None:
            return _Ctx(self.base_dir, self.cap, self.buffered or buffered)
        return _Ctx(self.base_dir, path, buffered)


def _int(kind: str, low: int, high: int | None) -> Any:
    """serde's integer ``kind`` as a msgspec type (msgspec bounds stop at i64; TOML integers are
    i64, so the u64 upper bound never binds)."""
    return expecting(Annotated[int, Meta(ge=low, le=high)], kind)


_INT_TYPES: Final[dict[str, Any]] = {
    "i64": _int("i64", -(2**63), 2**63 - 1),
    "i32": _int("i32", -(2**31), 2**31 - 1),
    "u64": _int("u64", 0, None),
    "usize": _int("usize", 0, None),
    "u32": _int("u32", 0, 2**32 - 1),
    "u16": _int("u16", 0, 2**16 - 1),
    "u8": _int("u8", 0, 2**8 - 1),
    "a nonzero u64": _int("a nonzero u64", 1, None),
    "a nonzero usize": _int("a nonzero usize", 1, None),
}
_PATH_STRING: Final = expecting(str, "path string")


def _check(tp: Any, value: Any, ctx: _Ctx, path: str) -> Any:
    """``value`` as msgspec type ``tp``; on failure the shared walker's serde text at ``path``."""
    try:
        return msgspec.convert(value, tp)
    except msgspec.ValidationError:
        err = first_error(value, type_info(tp))
        raise _fail(err.detail if err else invalid_type(value, "a value"), ctx, path) from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _FileError(ConfigModelError):
    """A model error that the reference words or places differently when it reads one file.

    ``detail`` and ``path`` are what the toml deserializer reports for the file alone (the startup
    warning and the feature methods: its own wording, the position of the value itself); ``str()``
    is the text for the merged config (``config/read``, writes), whose path stops at a buffered part
    (``in `features```)."""

    def __init__(self, shown: ConfigModelError, *, path: str | None = None, detail: str | None = None) -> None:
        super().__init__(detail if detail is not None else shown.detail, path if path is not None else shown.path)
        self.shown = shown

    def __str__(self) -> str:
        return str(self.shown)


def located(exc: ConfigModelError, path: str) -> ConfigModelError:
    """``exc`` located at the value at ``path`` (for a file) while its text keeps serde's path."""
    shown = exc.shown if isinstance(exc, _FileError) else exc
    return _FileError(shown, path=path, detail=exc.detail)


def _fail(detail: str, ctx: _Ctx, path: str) -> ConfigModelError:
    return ConfigModelError(detail, ctx.at(path))


def _decode(spec: _Spec, value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(spec, _Str):
        return _check(str, value, ctx, path)
    if isinstance(spec, _Bool):
        return _check(bool, value, ctx, path)
    if isinstance(spec, _Int):
        return _check(_INT_TYPES[spec.kind], value, ctx, path)
    if isinstance(spec, _F64):
        return _check(float, value, ctx, path)
    if isinstance(spec, _Path):
        return _absolute(str(_check(_PATH_STRING, value, ctx, path)), ctx.base_dir)
    if isinstance(spec, _Any):
        return value
    if isinstance(spec, _Null):
        return None
    if isinstance(spec, _Enum):
        return _decode_enum(spec, value, ctx, path)
    if isinstance(spec, _Seq):
        if not isinstance(value, list):
            raise _fail(invalid_type(value, "a sequence"), ctx, path)
        inner = ctx.capped(path)
        return [_decode(spec.item, item, inner, path) for item in value]
    if isinstance(spec, _Map):
        if not isinstance(value, dict):
            expected = f"struct {spec.name}" if spec.name else "a map"
            raise _fail(invalid_type(value, expected), ctx, path)
        inner = ctx.capped(path) if spec.capped else ctx
        return {k: _decode(spec.value, v, inner, _join(path, k)) for k, v in value.items()}
    if isinstance(spec, _Struct):
        return _decode_struct(spec, value, ctx, path)
    return spec.fn(value, ctx, path)


def _absolute(text: str, base_dir: str | None) -> str:
    if not posixpath.isabs(text) and base_dir is not None:
        text = posixpath.join(base_dir, text)
    if not posixpath.isabs(text):
        return text
    normalized = posixpath.normpath(text)
    return "/" + normalized.lstrip("/") if normalized.startswith("//") else normalized


def _decode_enum(spec: _Enum, value: Any, ctx: _Ctx, path: str) -> Any:
    """An enum read from TOML (the shared walker's `toml_enum_error`): a unit variant reads as its
    name also in table form (``{ live = {} }``); a struct variant keeps its table."""
    renames = dict(spec.renames)
    if ctx.buffered and type(value) is not str:
        if isinstance(value, dict) and len(value) != 1:
            raise _fail("invalid value: map, expected map with a single key", ctx, path)
        if not isinstance(value, dict):
            raise _fail(invalid_type(value, "string or map"), ctx, path)
    structs = dict(spec.struct_variants)
    if type(value) is str and value in structs:
        raise _fail("invalid type: unit variant, expected newtype variant", ctx, path)
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in structs:
        ((variant, payload),) = value.items()
        if not isinstance(payload, dict):
            raise _fail(invalid_type(payload, f"struct {structs[variant]}"), ctx, path)
        return {renames.get(variant, variant): _plain(payload)}
    err = toml_enum_error(value, spec.variants, {})
    if err is not None:
        exc = _fail(err.detail, ctx, path)
        # read from the file alone, the toml crate words a value that is no enum itself
        raise _FileError(exc, detail=_NOT_AN_ENUM) if err.detail == _UNIT_ONLY else exc
    name = next(iter(value)) if isinstance(value, dict) else str(value)
    return renames.get(name, name)


def _decode_struct(spec: _Struct, value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(value, list) and spec.arity is not None:
        return _decode_positional(spec, value, ctx, path)
    if not isinstance(value, dict):
        raise _fail(invalid_type(value, f"struct {spec.name}"), ctx, path)
    out: dict[str, Any] = {}
    known = {f.name for f in spec.fields}
    for f in spec.fields:
        if f.name in value:
            inner = ctx.capped(path, buffered=True) if f.capped else ctx
            out[f.name] = _decode(f.spec, value[f.name], inner, _join(path, f.name))
        else:
            out[f.name] = _plain(f.default)
    if spec.extra is not None:
        inner = ctx.capped(path, buffered=True) if spec.extra_capped else ctx
        for k, v in value.items():
            if k not in known:
                out[k] = _decode(spec.extra, v, inner, _join(path, k))
    return _shape(spec, out)


def _decode_positional(spec: _Struct, items: list[Any], ctx: _Ctx, path: str) -> Any:
    inner = ctx.capped(path)
    out: dict[str, Any] = {}
    for i, f in enumerate(spec.fields):
        if i < len(items):
            out[f.name] = _decode(f.spec, items[i], inner, path)
        elif spec.all_default:
            out[f.name] = _plain(f.default)
        else:
            raise _fail(
                f"invalid length {len(items)}, expected struct {spec.name} with {spec.arity} "
                + ("element" if spec.arity == 1 else "elements"),
                ctx,
                path,
            )
    return _shape(spec, out)


def _shape(spec: _Struct, out: dict[str, Any]) -> dict[str, Any]:
    skip = {f.name for f in spec.fields if f.skip_none}
    shaped = {k: v for k, v in out.items() if not (k in skip and v is None)}
    if spec.output is not None:
        return {k: shaped[k] for k in spec.output}
    return shaped


def _s(name: str, arity: int | None, *fields: _Field, all_default: bool = False, **kw: Any) -> _Struct:
    return _Struct(name, tuple(fields), arity, all_default, **kw)


def _opt(name: str, spec: _Spec, default: Any = None, **kw: Any) -> _Field:
    return _Field(name, spec, default, **kw)


_NOT_AN_ENUM: Final = "wanted string or table"
_UNIT_ONLY: Final = "invalid type: unit variant, expected string only"
_STR: Final = _Str()
_BOOL: Final = _Bool()


_PATH: Final = _Path()
