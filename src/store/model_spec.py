"""The config model's engine: TOML values as serde sees them, the building blocks of the schema's
msgspec Structs (integer kinds, toml enums, buffered members, paths, hand-written `Shape` members)
and `read_as`, which checks a value with the shared serde walker and renders it with
``msgspec.convert``. Internal to `chamberlain.store.model`."""

from __future__ import annotations

import datetime as _dt
import functools
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal, Optional, TypeAlias

import msgspec
from chamberlain import tomlengine
from chamberlain.errors import ConfigModelError
from chamberlain.serde_text import invalid_type
from chamberlain.serde_walk import SerdeError, first_error, positional_to_map, toml_enum, type_info
from msgspec import Meta


class _Datetime(str):
    """A TOML datetime seen through serde: reads as its text, but is not a string for enums."""

    __slots__ = ()


def _prepare(value: Any) -> Any:
    """Turn datetimes into `_Datetime` text, recursively (also makes a private copy)."""
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return _Datetime(tomlengine.value_repr(value))
    if isinstance(value, Mapping):
        return {str(k): _prepare(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepare(v) for v in value]
    return value


class Shape:
    """A member serde reads with hand-written logic: a subclass names its ``read(value, path)``,
    which returns the rendered value or raises `ConfigModelError`. The shared walker checks it in
    document order (``serde_check``); `read_as` renders it (the instance holds the result)."""

    __slots__ = ("value",)
    read: Callable[[Any, str], Any]

    def __init_subclass__(cls, read: Callable[[Any, str], Any] | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if read is not None:
            cls.read = staticmethod(read)

    def __init__(self, value: Any) -> None:
        self.value = value

    @classmethod
    def render(cls, value: Any, base_dir: str | None) -> Any:
        return cls.read(value, "")

    @classmethod
    def serde_check(cls, value: Any, path: str) -> SerdeError | None:
        try:
            cls.read(value, path)
        except ConfigModelError as exc:
            return SerdeError(exc.detail, path if exc.path is None else exc.path, exc)
        return None


def shape(name: str, read: Callable[[Any, str], Any]) -> Any:
    """A `Shape` named ``name`` that ``read`` checks and renders."""
    return type(name, (Shape,), {"__slots__": ()}, read=read)


def _read_path(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ConfigModelError(invalid_type(value, "path string"), path)
    return value


class AbsPath(Shape, read=_read_path):
    """``AbsolutePathBuf``: relative paths are joined to the config directory and normalized."""

    @classmethod
    def render(cls, value: Any, base_dir: str | None) -> Any:
        return _absolute(_read_path(value, ""), base_dir)


# serde's integer kinds (msgspec bounds stop at i64; TOML integers are i64, so no u64 bound binds)
I64: TypeAlias = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1, extra={"expected": "i64"})]
I32: TypeAlias = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1, extra={"expected": "i32"})]
U64: TypeAlias = Annotated[int, Meta(ge=0, le=None, extra={"expected": "u64"})]
USIZE: TypeAlias = Annotated[int, Meta(ge=0, le=None, extra={"expected": "usize"})]
U32: TypeAlias = Annotated[int, Meta(ge=0, le=2**32 - 1, extra={"expected": "u32"})]
U16: TypeAlias = Annotated[int, Meta(ge=0, le=2**16 - 1, extra={"expected": "u16"})]
U8: TypeAlias = Annotated[int, Meta(ge=0, le=2**8 - 1, extra={"expected": "u8"})]
NONZERO_U64: TypeAlias = Annotated[int, Meta(ge=1, le=None, extra={"expected": "a nonzero u64"})]
NONZERO_USIZE: TypeAlias = Annotated[int, Meta(ge=1, le=None, extra={"expected": "a nonzero usize"})]


def enum(names: str, *, buffered: bool = False) -> Any:
    """A toml enum of the unit variants ``names`` (space-separated, in declaration order)."""
    variants = tuple(names.split())
    return Annotated[Literal.__getitem__(variants), toml_enum(variants, buffered=buffered)]


Field: TypeAlias = tuple[str, Any, Any]


def opt(names: str, tp: Any) -> list[Field]:
    """Members ``names`` (space-separated) of type ``tp``, each an ``Option`` (default ``None``)."""
    return [(n, Optional[tp], None) for n in names.split()]  # noqa: UP045 (a runtime type)


def struct(name: str, *fields: Field | list[Field], default: bool = False, positional: bool = True, **kw: Any) -> Any:
    """A msgspec Struct named as the Rust type. ``default``: Rust's ``#[serde(default)]`` on the
    struct (``[]`` gives the defaults); ``positional=False``: no positional form; ``kw``: class
    flags (``silent=True``: its unknown keys are not reported) and Struct options."""
    flat = [f for group in fields for f in (group if isinstance(group, list) else [group])]
    # a TOML key that is no Python name is an attribute under another name
    flat = [
        f if f[0].isidentifier() else (_ATTR.sub("_", f[0]), f[1], msgspec.field(default=f[2], name=f[0])) for f in flat
    ]
    ns = {"serde_default": default, "serde_positional": positional, "serde_silent": kw.pop("silent", False)}
    return msgspec.defstruct(name, flat, namespace=ns, **kw)


def same(names: str, tp: Any, default: Any) -> list[Field]:
    """Members ``names`` (space-separated) of type ``tp``, each defaulting to ``default``."""
    return [(n, tp, default) for n in names.split()]


def seq(tp: Any) -> Any:
    """``list[tp]`` for a runtime type ``tp``."""
    return list[tp]


def table(tp: Any) -> Any:
    """``dict[str, tp]`` for a runtime type ``tp``."""
    return dict[str, tp]


def meta(tp: Any, *metas: Meta) -> Any:
    """``Annotated[tp, *metas]`` for a runtime type ``tp``."""
    return Annotated.__class_getitem__((tp, *metas))  # type: ignore[attr-defined]


def factory(fn: Callable[[], Any]) -> Any:
    """A default built per read (a non-empty list or table, a struct's defaults)."""
    return msgspec.field(default_factory=fn)


#: serde reads the member through a buffer: its errors are reported at the enclosing struct's path.
AT_PARENT: Final = Meta(extra={"cap": "parent"})
#: serde reads the member through a buffer: its errors are reported at its own path.
AT_SELF: Final = Meta(extra={"cap": True})


def struct_text(name: str) -> Meta:
    """A map that serde reads as a struct wrapping it (``expected struct <name>``)."""
    return Meta(extra={"expected": f"struct {name}"})


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


def model_error(err: SerdeError) -> ConfigModelError:
    """The walker's first error as the exception the model raises."""
    if isinstance(err.cause, ConfigModelError) and err.path == err.cause.path:
        return err.cause
    # the toml crate words an over-long positional form as an array's
    detail = _TOO_LONG.sub(r"\1, expected fewer elements in array", err.detail)
    exc = ConfigModelError(detail, err.path)
    # read from the file alone, the toml crate words a value that is no enum itself
    return _FileError(exc, detail=_NOT_AN_ENUM) if err.detail == _UNIT_ONLY else exc


def _shape_hook(base_dir: str | None, tp: type, value: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, Shape):
        return tp(tp.render(value, base_dir))
    raise NotImplementedError  # msgspec's hook protocol: "not a type this hook converts"


def _unshape(value: Any) -> Any:
    if isinstance(value, Shape):
        return value.value  # to_builtins walks it on (copies it, `_Datetime` to str)
    if isinstance(value, str):
        return str(value)  # a `_Datetime`
    raise NotImplementedError  # msgspec's hook protocol: "not a type this hook converts"


def read_as(tp: Any, value: Any, path: str = "", base_dir: str | None = None) -> Any:
    """``value`` (prepared by `_prepare`) read as ``tp`` and rendered as plain data; raises
    `ConfigModelError` with the shared walker's serde text for the first error.

    ``msgspec.convert`` reads a value in its plain spelling directly; only when it refuses (an
    error, or one of serde's other spellings) does the walker run, in document order."""
    hook = functools.partial(_shape_hook, base_dir)
    try:
        obj = msgspec.convert(value, tp, dec_hook=hook)
    except (msgspec.ValidationError, ConfigModelError):
        info = type_info(tp)
        err = first_error(value, info, path)
        if err is not None:
            raise model_error(err) from None
        obj = msgspec.convert(positional_to_map(value, info), tp, dec_hook=hook)
    return msgspec.to_builtins(obj, enc_hook=_unshape)


def _absolute(text: str, base_dir: str | None) -> str:
    if not posixpath.isabs(text) and base_dir is not None:
        text = posixpath.join(base_dir, text)
    if not posixpath.isabs(text):
        return text
    normalized = posixpath.normpath(text)
    return "/" + normalized.lstrip("/") if normalized.startswith("//") else normalized


_ATTR: Final = re.compile(r"\W")
_TOO_LONG: Final = re.compile(r"^(invalid length \d+), expected \d+ elements? in sequence$")
_NOT_AN_ENUM: Final = "wanted string or table"
_UNIT_ONLY: Final = "invalid type: unit variant, expected string only"
