"""The config model: the reference's `ConfigToml` deserialize-then-serialize step.

`render_config` validates the merged TOML of the enabled layers (plain Python data, as tomlkit's
``unwrap()`` gives it) against the model of codex-cli 0.169.0 and returns the ``config`` object that
``config/read`` reports (before requirement pins and the runtime feature overlay), with serde's exact
error wording. `unknown_keys` lists the keys of one layer that the model ignores.

Every fact below was observed on the reference binary (``config/read`` on crafted files); the schema
is a table of small type descriptors interpreted by one decoder, not a chain of special cases.
Quirks worth knowing, all observed:

* a TOML datetime reads as its TOML text wherever a string is expected (``model = 1979-05-27``
  yields ``"1979-05-27"``), but is not a string for enums (``unit variant, expected string only``);
* an enum given a non-string reports ``invalid type: unit variant, expected string only``;
* a struct may be written as an array (serde's positional form): ``[]`` gives the defaults when
  every field has one, else ``invalid length 0, expected struct X with N elements``;
* errors below a flattened or buffered part of a struct are reported at the struct's path
  (``features``, ``apps``, ``agents``, ``hooks``, ``plugins``, three ``tui`` members);
* an error inside a sequence element is reported at the sequence's path, without an index;
* relative paths in path-typed members are joined to the directory of the config file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Final, Union

import msgspec
from chamberlain.errors import ConfigModelError
from chamberlain.serde_text import invalid_type, missing_field, one_of, unknown_variant
from chamberlain.serde_walk import expecting, first_error, type_info
from msgspec import Meta

__all__ = ["render_config", "unknown_keys", "toml_datetime_text"]


# --------------------------------------------------------------------------------------------
# Values


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


def _toml_kind(value: Any) -> str:
    """toml's name of a value's type (``expected table, found integer``)."""
    if isinstance(value, _Datetime):
        return "datetime"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "table"


# --------------------------------------------------------------------------------------------
# Type descriptors


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
    renames = dict(spec.renames)
    if isinstance(value, str) and not isinstance(value, _Datetime):
        if value in spec.variants:
            return renames.get(value, value)
        raise _fail(unknown_variant(value, spec.variants), ctx, path)
    if ctx.buffered:
        if isinstance(value, dict) and len(value) != 1:
            raise _fail("invalid value: map, expected map with a single key", ctx, path)
        if not isinstance(value, dict):
            raise _fail(invalid_type(value, "string or map"), ctx, path)
    if isinstance(value, dict):
        if len(value) != 1:
            found = "found 0 elements" if not value else "more than 1 element"
            raise _fail(f"wanted exactly 1 element, {found}", ctx, path)
        ((variant, payload),) = value.items()
        if variant not in spec.variants:
            raise _fail(unknown_variant(variant, spec.variants), ctx, path)
        if not isinstance(payload, dict):
            raise _fail(f"expected table, found {_toml_kind(payload)}", ctx, path)
        return {renames.get(variant, variant): _plain(payload)}
    raise _fail("invalid type: unit variant, expected string only", ctx, path)


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


# --------------------------------------------------------------------------------------------
# Custom shapes


def _untagged_error(name: str) -> str:
    return f"data did not match any variant of untagged enum {name}"


def _decode_workspace_ids(value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(value, str):
        if "," in value:
            raise _fail(_WORKSPACE_ID_COMMAS, ctx, path)
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise _fail(_untagged_error("Repr"), ctx, path)


_WORKSPACE_ID_COMMAS: Final = (
    "forced_chatgpt_workspace_id must be a single workspace ID string or a TOML list of strings; "
    "comma-separated strings are not supported. Use `forced_chatgpt_workspace_id = "
    '["123e4567-e89b-42d3-a456-426614174000", "123e4567-e89b-42d3-a456-426614174001"]` instead.'
)


def _decode_web_search_tool(value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(value, bool):
        return None  # `web_search = true|false` is accepted and dropped
    try:
        return _decode(_WEB_SEARCH_TOOL, value, ctx, path)
    except ConfigModelError:
        raise _fail(_untagged_error("WebSearchToolConfigInput"), ctx, path) from None


def _decode_notifications(value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise _fail(_untagged_error("Notifications"), ctx, path)


def _decode_microphone_channel(value: Any, ctx: _Ctx, path: str) -> Any:
    def channel(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**16

    if channel(value) or (isinstance(value, list) and all(channel(v) for v in value)):
        return _plain(value)
    raise _fail(_untagged_error("MicrophoneChannels"), ctx, path)


def _decode_scroll_speed(value: Any, ctx: _Ctx, path: str) -> Any:
    speed = _decode(_F64(), value, ctx, path)
    if not (math.isfinite(speed) and speed > 0):
        raise _fail("tui.mouse_scroll_speed must be a finite positive number", ctx, path)
    return speed


def _record(name: str, arity: int, required: tuple[str, ...] = (), *, closed: bool = False) -> _Custom:
    """A struct not modelled field by field: shape and required fields checked, passed through."""

    def decode(value: Any, ctx: _Ctx, path: str) -> Any:
        if isinstance(value, list):
            if not required and not value:
                return {}
            count = "element" if arity == 1 else "elements"
            raise _fail(
                f"invalid length {len(value)}, expected struct {name} with {arity} {count}", ctx, path
            )
        if not isinstance(value, dict):
            raise _fail(invalid_type(value, f"struct {name}"), ctx, path)
        if closed:
            for k in value:
                if k not in required:
                    raise _fail(f"unknown field `{k}`, expected {one_of(required)}", ctx, path)
        for k in required:
            if k not in value:
                raise _fail(missing_field(k), ctx, path)
        return _plain(value)

    return _Custom(decode)


def _decode_enterprise_auth(value: Any, ctx: _Ctx, path: str) -> Any:
    rendered = _record("McpEnterpriseManagedAuthConfig", 1, ("idp",), closed=True).fn(value, ctx, path)
    idp_path = _join(path, "idp")
    idp = value["idp"]
    if not isinstance(idp, dict):
        raise _fail(invalid_type(idp, "struct McpServerIdpOAuthConfig"), ctx, idp_path)
    if "issuer" not in idp:
        raise _fail(missing_field("issuer"), ctx, idp_path)
    return rendered


def _decode_feature_toml(value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return _plain(value)
    raise _fail(_untagged_error("FeatureToml"), ctx, path)


def _decode_approval_policy(value: Any, ctx: _Ctx, path: str) -> Any:
    rendered = _decode_enum(_APPROVAL_ENUM, value, ctx, path)
    if isinstance(rendered, dict):
        payload = value["granular"]
        for name in ("sandbox_approval", "rules", "mcp_elicitations"):
            if name not in payload:
                raise _fail(missing_field(name), ctx, path)
        return {"granular": _decode(_GRANULAR, payload, ctx, path)}
    return rendered


def _decode_thread_store(value: Any, ctx: _Ctx, path: str) -> Any:
    if not isinstance(value, (dict, list)):
        raise _fail(invalid_type(value, "internally tagged enum ThreadStoreToml"), ctx, path)
    items = value if isinstance(value, dict) else {}
    if isinstance(value, list):
        if not value:
            raise _fail(missing_field("type"), ctx, path)
        tag = value[0]
    else:
        if "type" not in items:
            raise _fail(missing_field("type"), ctx, path)
        tag = items["type"]
    if not isinstance(tag, str) or isinstance(tag, _Datetime):
        raise _fail(invalid_type(tag, "variant identifier"), ctx, path)
    if tag == "local":
        return {"type": "local"}
    if tag == "in_memory":
        if "id" not in items:
            raise _fail(missing_field("id"), ctx, path)
        return {"type": "in_memory", "id": _decode(_Str(), items["id"], ctx, _join(path, "id"))}
    raise _fail(unknown_variant(tag, ("local", "in_memory")), ctx, path)


def _decode_keymap(value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(value, list) and value:
        raise _fail(invalid_type(value[0], "struct TuiGlobalKeymap"), ctx, path)
    if isinstance(value, list):
        return _plain(_KEYMAP_DEFAULT)
    if not isinstance(value, dict):
        raise _fail(invalid_type(value, "struct TuiKeymap"), ctx, path)
    out: dict[str, Any] = {}
    for section, actions in _KEYMAP_SECTIONS:
        given = value.get(section)
        rendered: dict[str, Any] = {a: None for a in actions.split()}
        if isinstance(given, dict):
            for k, v in given.items():
                if k in rendered:
                    rendered[k] = _plain(v)
        elif given is not None:
            raise _fail(invalid_type(given, "a map"), ctx, _join(path, section))
        out[section] = rendered
    return out


# -- MCP servers -------------------------------------------------------------------------------

_MCP_STDIO_ONLY: Final = ("args", "env", "env_vars", "cwd")
_MCP_HTTP_ONLY: Final = (
    "url",
    "bearer_token_env_var",
    "http_headers",
    "env_http_headers",
    "oauth",
    "oauth_resource",
    "auth",
)


def _decode_mcp_server(value: Any, ctx: _Ctx, path: str) -> Any:
    if isinstance(value, list) and not value:
        raise _fail("invalid length 0, expected struct RawMcpServerConfig with 30 elements", ctx, path)
    if not isinstance(value, dict):
        raise _fail(invalid_type(value, "struct RawMcpServerConfig"), ctx, path)
    raw: dict[str, Any] = {}
    for name, spec in _MCP_FIELDS:
        if name in value:
            raw[name] = _decode(spec, value[name], ctx, _join(path, name))
    if "command" in raw:
        for name in _MCP_HTTP_ONLY:
            if name in raw:
                raise _fail(f"{name} is not supported for stdio", ctx, path)
        out: dict[str, Any] = {"command": raw["command"], "args": raw.get("args", [])}
        if "env" in raw:
            out["env"] = raw["env"]
        if raw.get("env_vars"):
            out["env_vars"] = raw["env_vars"]
        if "cwd" in raw:
            out["cwd"] = raw["cwd"]
    elif "url" in raw:
        for name in _MCP_STDIO_ONLY:
            if name in raw:
                raise _fail(f"{name} is not supported for streamable_http", ctx, path)
        out = {"url": raw["url"]}
        for name in ("bearer_token_env_var", "http_headers", "env_http_headers", "auth"):
            if name in raw:
                out[name] = raw[name]
    else:
        raise _fail("invalid transport", ctx, path)
    out["environment_id"] = raw.get("environment_id", "local")
    out["enabled"] = raw.get("enabled", True)
    if raw.get("required"):
        out["required"] = True
    if raw.get("supports_parallel_tool_calls"):
        out["supports_parallel_tool_calls"] = True
    startup = raw.get("startup_timeout_sec")
    if startup is None and "startup_timeout_ms" in raw:
        startup = raw["startup_timeout_ms"] / 1000.0
    for secs in (startup, raw.get("tool_timeout_sec")):
        if secs is not None and (secs < 0 or math.isnan(secs) or math.isinf(secs)):
            reason = "value is negative" if secs < 0 else "value is either too big or NaN"
            raise _fail(f"cannot convert float seconds to Duration: {reason}", ctx, path)
    if startup is not None:
        out["startup_timeout_sec"] = startup
    out["tool_timeout_sec"] = raw.get("tool_timeout_sec")
    for name in (
        "default_tools_approval_mode",
        "enabled_tools",
        "disabled_tools",
        "scopes",
        "oauth",
        "oauth_resource",
        "tools",
    ):
        if name in raw:
            out[name] = raw[name]
    return out


_APP_TOOL_APPROVAL: Final = _Enum(("auto", "prompt", "writes", "approve"))

_MCP_FIELDS: Final[tuple[tuple[str, _Spec], ...]] = (
    ("command", _Str()),
    ("args", _Seq(_Str())),
    ("env", _Map(_Str())),
    ("env_vars", _Seq(_Any())),
    ("cwd", _Str()),
    ("url", _Str()),
    ("bearer_token_env_var", _Str()),
    ("http_headers", _Map(_Str())),
    ("env_http_headers", _Map(_Str())),
    ("environment_id", _Str()),
    ("experimental_environment", _Str()),
    ("enabled", _Bool()),
    ("required", _Bool()),
    ("supports_parallel_tool_calls", _Bool()),
    ("startup_timeout_sec", _F64()),
    ("startup_timeout_ms", _Int("u64")),
    ("tool_timeout_sec", _F64()),
    ("default_tools_approval_mode", _APP_TOOL_APPROVAL),
    ("enabled_tools", _Seq(_Str())),
    ("disabled_tools", _Seq(_Str())),
    ("scopes", _Seq(_Str())),
    ("oauth", _Any()),
    ("oauth_resource", _Str()),
    ("auth", _Enum(("oauth", "chatgpt", "ema_auth"))),
    ("tools", _Any()),
)


_MCP_FIELD_NAMES: Final = frozenset(name for name, _ in _MCP_FIELDS)


# -- model providers ---------------------------------------------------------------------------

_RESERVED_PROVIDER_IDS: Final = ("amazon-bedrock", "openai", "ollama", "lmstudio")


def _decode_model_providers(value: Any, ctx: _Ctx, path: str) -> Any:
    if not isinstance(value, dict):
        raise _fail(invalid_type(value, "a map"), ctx, path)
    reserved = [k for k in value if k in _RESERVED_PROVIDER_IDS]
    if reserved:
        ids = ", ".join(f"`{k}`" for k in reserved)
        raise _fail(
            f"model_providers contains reserved built-in provider IDs: {ids}. Built-in providers "
            f"cannot be overridden. Rename your custom provider (for example, `{reserved[0]}-custom`).",
            ctx,
            path,
        )
    out: dict[str, Any] = {}
    for key, entry in value.items():
        entry_path = _join(path, key)
        if isinstance(entry, dict) and entry.get("wire_api") == "chat":
            raise _fail(_WIRE_API_CHAT, ctx, _join(entry_path, "wire_api"))
        rendered = _decode(_MODEL_PROVIDER, entry, ctx, entry_path)
        if not rendered["name"]:
            raise _fail(f"model_providers.{key}: provider name must not be empty", ctx, path)
        out[key] = rendered
    return out


_WIRE_API_CHAT: Final = (
    '`wire_api = "chat"` is no longer supported.\nHow to fix: set `wire_api = "responses"` in your '
    "provider config.\nMore info: https://github.com/openai/codex/discussions/7782"
)


# -- features ----------------------------------------------------------------------------------


def _decode_features(value: Any, ctx: _Ctx, path: str) -> Any:
    if not isinstance(value, dict):
        raise _fail(invalid_type(value, "struct FeaturesToml"), ctx, path)
    out: dict[str, Any] = {"network_proxy": None}
    if "network_proxy" in value:
        out["network_proxy"] = _decode_feature_toml(value["network_proxy"], ctx, _join(path, "network_proxy"))
    inner = ctx.capped(path)
    for key in sorted(k for k in value if k != "network_proxy"):
        out[key] = _decode(_Bool(), value[key], inner, _join(path, key))
    return out


# --------------------------------------------------------------------------------------------
# Schema tables


def _s(name: str, arity: int | None, *fields: _Field, all_default: bool = False, **kw: Any) -> _Struct:
    return _Struct(name, tuple(fields), arity, all_default, **kw)


def _opt(name: str, spec: _Spec, default: Any = None, **kw: Any) -> _Field:
    return _Field(name, spec, default, **kw)


_STR: Final = _Str()
_BOOL: Final = _Bool()
_PATH: Final = _Path()
_ALLOW_DENY: Final = _Enum(("allow", "deny"))
_REVIEWER: Final = _Enum(("user", "auto_review", "guardian_subagent"))
_APPROVAL_ENUM: Final = _Enum(
    ("untrusted", "on-failure", "on-request", "granular", "never"), renames=(("on-failure", "on-request"),)
)
_GRANULAR: Final = _s(
    "GranularApprovalConfig",
    None,
    _opt("sandbox_approval", _BOOL, None),
    _opt("rules", _BOOL, None),
    _opt("skill_approval", _BOOL, False),
    _opt("request_permissions", _BOOL, False),
    _opt("mcp_elicitations", _BOOL, None),
)
_SANDBOX_MODE: Final = _Enum(("read-only", "workspace-write", "danger-full-access"))
_WEB_SEARCH_MODE: Final = _Enum(("disabled", "cached", "indexed", "live"))
_SUMMARY: Final = _Enum(("auto", "concise", "detailed", "none"))
_VERBOSITY: Final = _Enum(("low", "medium", "high"))
_PERSONALITY: Final = _Enum(("none", "friendly", "pragmatic"))
_WINDOWS: Final = _s(
    "WindowsToml", 2, _opt("sandbox", _Enum(("elevated", "unelevated", "mxc"))), _opt("allow_mxc", _BOOL)
)
_ANALYTICS: Final = _s("AnalyticsConfigToml", 1, _opt("enabled", _BOOL))

_WEB_SEARCH_TOOL: Final = _s(
    "WebSearchToolConfig",
    None,
    _opt("context_size", _Enum(("low", "medium", "high"))),
    _opt("allowed_domains", _Seq(_STR)),
    _opt(
        "location",
        _s(
            "WebSearchLocation",
            None,
            _opt("country", _STR),
            _opt("region", _STR),
            _opt("city", _STR),
            _opt("timezone", _STR),
        ),
    ),
)
_TOOLS_FIELDS: Final = (
    _opt("client_search_provider", _Enum(("standalone", "search_mcp"))),
    _opt("web_search", _Custom(_decode_web_search_tool)),
    _opt(
        "experimental_request_user_input",
        _s("ExperimentalRequestUserInput", 1, _opt("enabled", _BOOL, True), all_default=True),
    ),
    _opt("update_plan", _s("UpdatePlanToolConfig", 1, _opt("enabled", _BOOL, False), all_default=True)),
)
_TOOLS_TYPED: Final = _Struct("ToolsToml", _TOOLS_FIELDS, 4, output=("web_search",))
_TOOLS_PROFILE: Final = _Struct("ToolsToml", _TOOLS_FIELDS, 4)

_APP_CONFIG: Final = _s(
    "AppConfig",
    9,
    _opt("enabled", _BOOL, True),
    _opt("omit_tools_from", _Seq(_Enum(("code_mode", "deferred", "direct")))),
    _opt("approvals_reviewer", _REVIEWER),
    _opt("destructive_enabled", _BOOL),
    _opt("open_world_enabled", _BOOL),
    _opt("default_tools_approval_mode", _APP_TOOL_APPROVAL),
    _opt("default_tools_enabled", _BOOL),
    _opt(
        "tools",
        _Map(
            _s(
                "AppToolConfig",
                2,
                _opt("enabled", _BOOL),
                _opt("approval_mode", _APP_TOOL_APPROVAL),
                all_default=True,
            ),
            name="AppToolsConfig",
        ),
    ),
    _opt(
        "links",
        _Map(
            _s(
                "AppLinkConfig",
                2,
                _opt("approvals_reviewer", _REVIEWER),
                _opt("default_tools_approval_mode", _APP_TOOL_APPROVAL),
                all_default=True,
            ),
            name="AppLinksConfig",
        ),
    ),
    all_default=True,
)
_APPS: Final = _Struct(
    "AppsConfigToml",
    (
        _opt(
            "_default",
            _s(
                "AppsDefaultConfig",
                5,
                _opt("enabled", _BOOL, True),
                _opt("approvals_reviewer", _REVIEWER),
                _opt("destructive_enabled", _BOOL, True),
                _opt("open_world_enabled", _BOOL, True),
                _opt("default_tools_approval_mode", _APP_TOOL_APPROVAL),
                all_default=True,
            ),
        ),
    ),
    None,
    extra=_APP_CONFIG,
)

_ORIGIN_POLICY: Final = _s(
    "BrowserUseOriginPolicyConfigToml",
    4,
    _opt("access", _ALLOW_DENY),
    _opt("downloads", _ALLOW_DENY),
    _opt("uploads", _ALLOW_DENY),
    _opt("full_cdp_access", _ALLOW_DENY),
)
_BROWSER_USE: Final = _s(
    "BrowserUseConfigToml",
    3,
    _opt("allow_history_access", _BOOL),
    _opt("default_origin_policy", _ORIGIN_POLICY),
    _opt("origins", _Map(_ORIGIN_POLICY)),
)
_COMPUTER_USE: Final = _s(
    "ComputerUseConfigToml",
    3,
    _opt("default_app_access", _ALLOW_DENY),
    _opt("macos", _s("ComputerUseMacosConfigToml", 1, _opt("bundle_ids", _Map(_ALLOW_DENY)))),
    _opt(
        "windows",
        _s(
            "ComputerUseWindowsConfigToml",
            2,
            _opt("aumids", _Map(_ALLOW_DENY)),
            _opt(
                "exes",
                _Seq(
                    _record(
                        "ComputerUseWindowsExeConfigToml", 4, ("publisher_name", "product_name", "access")
                    )
                ),
            ),
        ),
    ),
)
_FEATURE_TOGGLE: Final = _s("FeatureToggleToml", 1, _opt("enabled", _BOOL))

_SANDBOX_WORKSPACE_WRITE: Final = _s(
    "SandboxWorkspaceWrite",
    4,
    _opt("writable_roots", _Seq(_PATH), []),
    _opt("network_access", _BOOL, False),
    _opt("exclude_tmpdir_env_var", _BOOL, False),
    _opt("exclude_slash_tmp", _BOOL, False),
    all_default=True,
)
_HISTORY: Final = _s(
    "History",
    2,
    _opt("persistence", _Enum(("save-all", "none")), "save-all"),
    _opt("max_bytes", _Int("usize")),
    all_default=True,
)
_SHELL_ENVIRONMENT_POLICY: Final = _s(
    "ShellEnvironmentPolicyTomlRaw",
    7,
    _opt("inherit", _Enum(("core", "all", "none"))),
    _opt("ignore_default_excludes", _BOOL),
    _opt("exclude", _Seq(_STR)),
    _opt("set", _Map(_STR)),
    _opt("include_only", _Seq(_STR)),
    _opt("filters", _Map(_Any())),
    _opt("experimental_use_profile", _BOOL),
)
_EXPORTER: Final = _Enum(("none", "statsig", "otlp-http", "otlp-grpc"))
_OTEL: Final = _s(
    "OtelConfigToml",
    11,
    _opt(
        "tool_result", _s("ToolResultLogConfig", 1, _opt("max_bytes", _Int("usize"), 2048), all_default=True)
    ),
    _opt("log_sse_deltas", _BOOL),
    _opt("log_user_prompt", _BOOL),
    _opt("log_agent_responses", _BOOL),
    _opt("log_guardian_assessments", _BOOL),
    _opt("environment", _STR),
    _opt("exporter", _EXPORTER),
    _opt("trace_exporter", _EXPORTER),
    _opt("metrics_exporter", _EXPORTER),
    _opt("span_attributes", _Map(_STR)),
    _opt("tracestate", _Map(_Map(_STR))),
)
_MEMORIES: Final = _s(
    "MemoriesToml",
    15,
    _opt("version", _Enum(("v1", "v2"))),
    _opt("dual_write", _BOOL),
    _opt("disable_on_external_context", _BOOL),
    _opt("generate_memories", _BOOL),
    _opt("use_memories", _BOOL),
    _opt("dedicated_tools", _BOOL),
    _opt("max_raw_memories_for_consolidation", _Int("usize")),
    _opt("max_unused_days", _Int("i64")),
    _opt("max_rollout_age_days", _Int("i64")),
    _opt("max_rollouts_per_startup", _Int("usize")),
    _opt("min_rollout_idle_hours", _Int("i64")),
    _opt("min_rate_limit_remaining_percent", _Int("i64")),
    _opt("extract_model", _STR),
    _opt("consolidation_model", _STR),
    _opt("consolidation_service_tier", _STR),
)
_AGENTS: Final = _Struct(
    "AgentsToml",
    (
        _opt("enabled", _BOOL),
        _opt("max_concurrent_threads_per_session", _Int("usize")),
        _opt("max_depth", _Int("i32")),
        _opt("default_subagent_model", _STR),
        _opt("default_subagent_reasoning_effort", _STR),
        _opt("job_max_runtime_seconds", _Int("u64")),
        _opt("interrupt_message", _BOOL),
    ),
    None,
    extra=_s(
        "AgentRoleToml",
        3,
        _opt("description", _STR),
        _opt("config_file", _PATH),
        _opt("nickname_candidates", _Seq(_STR)),
    ),
)
_AUTO_REVIEW: Final = _s(
    "AutoReviewToml",
    5,
    _opt("timeout_ms", _Int("u32")),
    _opt("circuit_break_action", _Enum(("default", "strict"))),
    _opt("policy", _STR),
    _opt("experimental_conversation_history_prompt", _STR),
    _opt("conversation_history_max_output_tokens", _Int("a nonzero usize")),
)
_REALTIME: Final = _s(
    "RealtimeToml",
    4,
    _opt("version", _Enum(("v1", "v2", "v3"))),
    _opt("type", _Enum(("conversational", "transcription"))),
    _opt("transport", _Enum(("webrtc", "websocket"))),
    _opt(
        "voice",
        _Enum(
            tuple(
                "alloy arbor ash aube ballad breeze bubbie cedar coral cove echo ember haetsal hanul "
                "himari juniper leher maple marin miko neer porto rindo rio rivage sage selva shimmer "
                "sol sonna spruce tinta vale verse viola".split()
            )
        ),
    ),
)
_AUDIO: Final = _s(
    "RealtimeAudioToml",
    3,
    _opt("microphone_channel", _Custom(_decode_microphone_channel)),
    _opt("microphone", _STR),
    _opt("speaker", _STR),
)
_GHOST_SNAPSHOT: Final = _s(
    "GhostSnapshotToml",
    3,
    _opt("ignore_large_untracked_files", _Int("i64")),
    _opt("ignore_large_untracked_dirs", _Int("i64")),
    _opt("disable_warnings", _BOOL),
)
_NOTICE: Final = _s(
    "Notice",
    9,
    _opt("hide_gov_cloud_guidance", _BOOL),
    _opt("hide_full_access_warning", _BOOL),
    _opt("hide_world_writable_warning", _BOOL),
    _opt("fast_default_opt_out", _BOOL),
    _opt("hide_rate_limit_model_nudge", _BOOL),
    _opt("hide_gpt5_1_migration_prompt", _BOOL),
    _opt("hide_gpt-5.1-codex-max_migration_prompt", _BOOL),
    _opt("model_migrations", _Map(_STR), {}),
    _opt(
        "external_config_migration_prompts",
        _s(
            "ExternalConfigMigrationPrompts",
            4,
            _opt("home", _BOOL),
            _opt("home_last_prompted_at", _Int("i64")),
            _opt("projects", _Map(_BOOL), {}),
            _opt("project_last_prompted_at", _Map(_Int("i64")), {}),
        ),
        {"home": None, "home_last_prompted_at": None, "projects": {}, "project_last_prompted_at": {}},
    ),
)
_HOOK_EVENTS: Final = (
    "PreModelRequest PostModelRequest PreToolUse PermissionRequest PostToolUse PreCompact PostCompact "
    "SessionStart SessionEnd UserPromptSubmit SubagentStart SubagentStop Stop Interrupt"
).split()


def _decode_hook_handler(value: Any, ctx: _Ctx, path: str) -> Any:
    """A hook handler; ``type = "command"`` gains its serialized defaults, others pass through."""
    if isinstance(value, dict) and value.get("type") == "command":
        out = {"type": "command", "command": value.get("command")}
        for name, default in (
            ("commandWindows", None),
            ("timeout", None),
            ("async", False),
            ("statusMessage", None),
        ):
            out[name] = value.get(name, default)
        return _plain(out)
    return _plain(value)


_MATCHER_GROUP: Final = _s(
    "MatcherGroup",
    2,
    _opt("matcher", _STR),
    _opt("hooks", _Seq(_Custom(_decode_hook_handler)), []),
    all_default=True,
)
_HOOKS: Final = _Struct(
    "HooksToml", tuple(_opt(e, _Seq(_MATCHER_GROUP), [], capped=True) for e in _HOOK_EVENTS), None
)

_KEYMAP_SECTIONS: Final[tuple[tuple[str, str], ...]] = (
    (
        "global",
        "leader change_host focus_main_composer focus_sidebar_content focus_sidebar_tabs hide_pane "
        "close_sidebar_tab sidebar_up sidebar_down focus_pane_left focus_pane_right minimize_pane_width "
        "maximize_pane_width equalize_pane_widths resize_panes move_divider_left move_divider_right "
        "toggle_pane_zoom open_agents open_transcript find_transcript select_transcript focus_activity "
        "open_external_editor copy clear_terminal submit queue toggle_shortcuts toggle_vim_mode "
        "toggle_fast_mode toggle_raw_output toggle_side_conversation",
    ),
    (
        "chat",
        "open_presets toggle_voice toggle_voice_mute interrupt_turn decrease_reasoning_effort "
        "increase_reasoning_effort previous_permission_mode next_permission_mode edit_queued_message "
        "prompt_stack_back skip_question",
    ),
    ("composer", "submit queue toggle_shortcuts history_search_previous history_search_next"),
    (
        "editor",
        "insert_newline move_left move_right move_up move_down move_word_left move_word_right "
        "move_line_start move_line_end delete_backward delete_forward delete_backward_word "
        "delete_forward_word kill_line_start kill_whole_line kill_line_end yank",
    ),
    (
        "vim_normal",
        "enter_insert append_after_cursor append_line_end insert_line_start open_line_below "
        "open_line_above enter_replace_mode move_left move_right move_up move_down move_word_forward "
        "move_word_backward move_word_end move_line_start move_line_end find_forward find_backward "
        "till_forward till_backward jump_top jump_bottom delete_char replace_char repeat_last_change "
        "substitute_char delete_to_line_end change_to_line_end yank_line paste_after "
        "start_delete_operator start_yank_operator start_change_operator undo redo cancel_operator",
    ),
    (
        "vim_operator",
        "delete_line yank_line motion_left motion_right motion_up motion_down motion_word_forward "
        "motion_word_backward motion_word_end motion_line_start motion_line_end motion_find_forward "
        "motion_find_backward motion_till_forward motion_till_backward motion_jump_top "
        "motion_jump_bottom select_inner_text_object select_around_text_object cancel",
    ),
    ("vim_search", "forward backward next previous"),
    (
        "vim_text_object",
        "word big_word parentheses brackets braces double_quote single_quote backtick cancel",
    ),
    (
        "pager",
        "scroll_up scroll_down page_up page_down half_page_up half_page_down jump_top jump_bottom "
        "close close_transcript find",
    ),
    ("list", "move_up move_down move_left move_right page_up page_down jump_top jump_bottom accept cancel"),
    (
        "agents",
        "resume search new_task new_worktree fork rename stop archive delete hide toggle_pin toggle_grouping",
    ),
    (
        "approval",
        "open_fullscreen open_thread approve approve_for_session approve_for_prefix deny decline cancel",
    ),
)
_KEYMAP_DEFAULT: Final = {s: {a: None for a in actions.split()} for s, actions in _KEYMAP_SECTIONS}
_ALWAYS_AUTO_NEVER: Final = _Enum(("auto", "always", "never"))
_TUI: Final = _Struct(
    "Tui",
    (
        _opt("default_hosts", _Map(_Map(_STR)), {}),
        _opt("notifications", _Custom(_decode_notifications), True, capped=True),
        _opt("notification_method", _Enum(("auto", "osc9", "osc777", "bel")), "auto", capped=True),
        _opt("notification_condition", _Enum(("unfocused", "always")), "unfocused", capped=True),
        _opt("animations", _BOOL, True),
        _opt("screen_reader_detection_done", _BOOL),
        _opt(
            "effects",
            _s(
                "TuiEffects",
                6,
                *(
                    _opt(n, _BOOL, True)
                    for n in ("starfield", "shimmer", "welcome", "effort", "progress", "title")
                ),
                all_default=True,
            ),
            {n: True for n in ("starfield", "shimmer", "welcome", "effort", "progress", "title")},
        ),
        _opt(
            "rendering",
            _s(
                "TuiRendering",
                4,
                *(_opt(n, _BOOL, True) for n in ("mermaid", "math", "tables", "lists")),
                all_default=True,
            ),
            {n: True for n in ("mermaid", "math", "tables", "lists")},
        ),
        _opt("show_tooltips", _BOOL, True),
        _opt("show_server_version_notice", _BOOL, True),
        _opt("auto_recap", _BOOL, True),
        _opt("disable_paste_burst", _BOOL),
        _opt("vim_mode_default", _BOOL, False),
        _opt("question_esc_back", _BOOL, True),
        _opt("raw_output_mode", _BOOL, False),
        _opt("fullscreen_transcript", _BOOL, True),
        _opt("collapse_turn_details", _BOOL, False),
        _opt("sidebar_width_percent", _Int("u8")),
        _opt("mouse_scroll_speed", _Custom(_decode_scroll_speed)),
        _opt("copy_on_select", _ALWAYS_AUTO_NEVER, "auto"),
        _opt("copy_on_select_clear_selection", _BOOL, False),
        _opt("right_click_paste", _Enum(("auto", "on", "off")), "auto"),
        _opt("alternate_screen", _ALWAYS_AUTO_NEVER, "auto"),
        _opt("status_line", _Seq(_STR)),
        _opt("status_line_use_colors", _BOOL, True),
        _opt("terminal_title", _Seq(_STR)),
        _opt("theme", _STR),
        _opt("pet", _STR),
        _opt("pet_anchor", _Enum(("composer", "screen-bottom")), "composer"),
        _opt("session_picker_view", _Enum(("comfortable", "dense"))),
        _opt("agents_overview_grouping", _Enum(("project", "status", "model")), "project"),
        _opt("resume_cwd", _Enum(("current", "session"))),
        _opt("keymap", _Custom(_decode_keymap), _KEYMAP_DEFAULT),
        _opt("presets", _Map(_record("QuickDial", 2, ("input",))), {}),
        _opt("model_availability_nux", _Map(_Int("u32"), name="ModelAvailabilityNuxConfig", capped=True), {}),
        _opt("terminal_resize_reflow_max_rows", _Int("usize")),
    ),
    None,
)
_PROFILE: Final = _s(
    "ConfigProfile",
    30,
    _opt("model", _STR),
    _opt("service_tier", _STR),
    _opt("model_provider", _STR),
    _opt("approval_policy", _Custom(_decode_approval_policy)),
    _opt("approvals_reviewer", _REVIEWER),
    _opt("sandbox_mode", _SANDBOX_MODE),
    _opt("model_reasoning_effort", _STR),
    _opt("plan_mode_reasoning_effort", _STR),
    _opt("model_reasoning_summary", _SUMMARY),
    _opt("model_verbosity", _VERBOSITY),
    _opt("model_catalog_json", _PATH),
    _opt("personality", _PERSONALITY),
    _opt("chatgpt_base_url", _STR),
    _opt("model_instructions_file", _PATH),
    _opt("js_repl_node_path", _PATH),
    _opt("js_repl_node_module_dirs", _Seq(_PATH)),
    _opt("experimental_compact_prompt_file", _PATH),
    *(
        _opt(n, _BOOL)
        for n in (
            "include_permissions_instructions",
            "include_apps_instructions",
            "include_collaboration_mode_instructions",
            "include_environment_context",
            "include_environment_context_time",
            "experimental_use_unified_exec_tool",
        )
    ),
    _opt("tools", _TOOLS_PROFILE),
    _opt("web_search", _WEB_SEARCH_MODE),
    _opt("analytics", _ANALYTICS),
    _opt(
        "tui",
        _s("ProfileTui", 1, _opt("session_picker_view", _Enum(("comfortable", "dense"))), all_default=True),
    ),
    _opt("windows", _WINDOWS),
    _opt("features", _Custom(_decode_features)),
    _opt("oss_provider", _STR),
)
_MODEL_PROVIDER: Final = _s(
    "ModelProviderInfo",
    24,
    _opt("name", _STR, ""),
    *(
        _opt(n, _STR)
        for n in (
            "base_url",
            "model_catalog_url",
            "env_key",
            "env_key_instructions",
            "experimental_bearer_token",
        )
    ),
    *(_opt(n, _Any()) for n in ("auth", "gateway_oauth", "aws", "project_id", "location", "credential_file")),
    _opt("wire_api", _Enum(("responses",)), "responses"),
    _opt("capabilities", _Any()),
    _opt("query_params", _Map(_STR)),
    _opt("http_headers", _Map(_STR)),
    _opt("env_http_headers", _Map(_STR)),
    *(
        _opt(n, _Int("u64"))
        for n in (
            "request_max_retries",
            "stream_max_retries",
            "stream_idle_timeout_ms",
            "websocket_connect_timeout_ms",
        )
    ),
    _opt("requires_openai_auth", _BOOL, False),
    _opt("supports_websockets", _BOOL, False),
    _opt("supports_standalone_web_search", _BOOL, False),
)
_MARKETPLACE: Final = _s(
    "MarketplaceConfig",
    6,
    _opt("last_updated", _STR),
    _opt("last_revision", _STR),
    _opt("source_type", _Enum(("git", "local"))),
    _opt("source", _STR),
    _opt("ref", _STR),
    _opt("sparse_paths", _Seq(_STR)),
    all_default=True,
)
_SKILLS: Final = _s(
    "SkillsConfig",
    2,
    _opt("bundled", _s("BundledSkillsConfig", 1, _opt("enabled", _BOOL)), skip_none=True),
    _opt("config", _Seq(_Any()), skip_none=True),
    all_default=True,
)
_PLUGIN: Final = _s("PluginConfig", 1, _opt("enabled", _BOOL, skip_none=True), all_default=True)
_TOOL_SUGGEST: Final = _s(
    "ToolSuggestConfig",
    2,
    _opt("discoverables", _Seq(_record("ToolSuggestDiscoverable", 2, ("type",))), []),
    _opt("disabled_tools", _Seq(_record("ToolSuggestDisabledTool", 2, ("type",))), []),
    all_default=True,
)


@dataclass(frozen=True)
class _Member:
    name: str
    spec: _Spec
    default: Any = None


# The 27 typed members of the wire `Config`, in their fixed order (spec §4.3).
_TYPED: Final[tuple[_Member, ...]] = (
    _Member("model", _STR),
    _Member("review_model", _STR),
    _Member("model_context_window", _Int("i64")),
    _Member("model_auto_compact_token_limit", _Int("i64")),
    _Member("model_auto_compact_token_limit_scope", _Enum(("total", "body_after_prefix"))),
    _Member("model_provider", _STR),
    _Member("approval_policy", _Custom(_decode_approval_policy)),
    _Member("approvals_reviewer", _REVIEWER),
    _Member("sandbox_mode", _SANDBOX_MODE),
    _Member("sandbox_workspace_write", _SANDBOX_WORKSPACE_WRITE),
    _Member("forced_chatgpt_workspace_id", _Custom(_decode_workspace_ids)),
    _Member("forced_login_method", _Enum(("chatgpt", "api"))),
    _Member("web_search", _WEB_SEARCH_MODE),
    _Member("client_search_provider", _Null()),
    _Member("tools", _TOOLS_TYPED),
    _Member("instructions", _STR),
    _Member("developer_instructions", _STR),
    _Member("compact_prompt", _STR),
    _Member("model_reasoning_effort", _STR),
    _Member("model_reasoning_summary", _SUMMARY),
    _Member("model_verbosity", _VERBOSITY),
    _Member("service_tier", _STR),
    _Member("analytics", _ANALYTICS),
    _Member("apps", _APPS),
    _Member("browser_use", _BROWSER_USE),
    _Member("computer_use", _COMPUTER_USE),
    _Member("desktop", _Map(_Any())),
)

# The other members, in the order the reference emitted them once on a fresh home (its order is a
# hash map's and varies between runs).
_REST: Final[tuple[_Member, ...]] = (
    _Member("mcp_oauth_callback_url", _STR),
    _Member("realtime", _REALTIME),
    _Member("auto_review", _AUTO_REVIEW),
    _Member("mcp_oauth_credentials_store", _Enum(("auto", "file", "keyring")), "auto"),
    _Member("projects", _Map(_s("ProjectConfig", 1, _opt("trust_level", _Enum(("trusted", "untrusted")))))),
    _Member("experimental_thread_store_endpoint", _STR),
    _Member("allow_login_shell", _BOOL, True),
    _Member("otel", _OTEL),
    _Member("history", _HISTORY, {"persistence": "save-all", "max_bytes": None}),
    _Member("sqlite_home", _PATH),
    _Member("profile", _STR),
    _Member("responses_api_metadata", _Map(_STR)),
    _Member("include_collaboration_mode_instructions", _BOOL, True),
    _Member("experimental_realtime_start_instructions", _STR),
    _Member("plugins", _Map(_PLUGIN, name="PluginsConfigToml", capped=True), {}),
    _Member("file_opener", _Enum(("vscode", "vscode-insiders", "windsurf", "cursor", "none")), "vscode"),
    _Member("audio", _AUDIO),
    _Member("background_terminal_max_timeout", _Int("u64"), 300000),
    _Member("log_dir", _PATH),
    _Member("ghost_snapshot", _GHOST_SNAPSHOT),
    _Member("allow_symlinked_codex_home", _BOOL),
    _Member("show_raw_agent_reasoning", _BOOL),
    _Member("plan_mode_reasoning_effort", _STR),
    _Member("include_environment_context_time", _BOOL, True),
    _Member("include_permissions_instructions", _BOOL, True),
    _Member("mcp_oauth_callback_port", _Int("u16")),
    _Member("model_instructions_file", _PATH),
    _Member("feedback", _s("FeedbackConfigToml", 1, _opt("enabled", _BOOL))),
    _Member("tool_output_token_limit", _Int("usize")),
    _Member("cli_auth_credentials_store", _Enum(("file", "keyring", "auto", "ephemeral")), "file"),
    _Member("experimental_realtime_ws_backend_prompt", _STR),
    _Member("openai_base_url", _STR),
    _Member("experimental_realtime_ws_base_url", _STR),
    _Member("agents", _AGENTS),
    _Member("personality", _PERSONALITY),
    _Member("experimental_realtime_ws_model", _STR),
    _Member("experimental_use_unified_exec_tool", _BOOL),
    _Member("project_doc_max_bytes", _Int("usize"), 32768),
    _Member("model_catalog_json", _PATH),
    _Member("skills", _SKILLS),
    _Member("project_root_markers", _Seq(_STR), [".git"]),
    _Member("mcp_servers", _Map(_Custom(_decode_mcp_server)), {}),
    _Member("experimental_compact_prompt_file", _PATH),
    _Member("experimental_thread_store", _Custom(_decode_thread_store)),
    _Member("model_providers", _Custom(_decode_model_providers), {}),
    _Member("apps_mcp_product_sku", _STR),
    _Member("mcp_optional_startup_grace_ms", _Int("u64")),
    _Member("model_post_turn_compact_threshold_percent", _Int("u8")),
    _Member(
        "orchestrator",
        _s("OrchestratorToml", 2, _opt("skills", _FEATURE_TOGGLE), _opt("mcp", _FEATURE_TOGGLE)),
    ),
    _Member("include_apps_instructions", _BOOL, True),
    _Member("experimental_realtime_webrtc_call_base_url", _STR),
    _Member("tool_suggest", _TOOL_SUGGEST),
    _Member("memories", _MEMORIES),
    _Member("goals", _s("GoalsToml", 1, _opt("max_goal_token_budget", _Int("a nonzero u64")))),
    _Member("chatgpt_base_url", _STR, "https://chatgpt.com/backend-api/"),
    _Member("suppress_unstable_features_warning", _BOOL),
    _Member("features", _Custom(_decode_features), {}),
    _Member("daybreak", _BOOL),
    _Member("include_environment_context", _BOOL, True),
    _Member("oss_provider", _STR),
    _Member("cloud", _s("CloudToml", 1, _opt("skills", _FEATURE_TOGGLE))),
    _Member("thread_unload_delay_secs", _Int("u64")),
    _Member("tui", _TUI),
    _Member("profiles", _Map(_PROFILE), {}),
    _Member("hide_agent_reasoning", _BOOL, False),
    _Member("project_doc_fallback_filenames", _Seq(_STR), []),
    _Member("notify", _Seq(_STR)),
    _Member("mcp_enterprise_managed_auth", _Custom(_decode_enterprise_auth)),
    _Member(
        "shell_environment_policy",
        _SHELL_ENVIRONMENT_POLICY,
        {n.name: None for n in _SHELL_ENVIRONMENT_POLICY.fields},
    ),
    _Member("default_permissions", _STR),
    _Member("windows", _WINDOWS),
    _Member("hooks", _HOOKS),
    _Member("experimental_realtime_ws_startup_context", _STR),
    _Member("permissions", _Map(_record("PermissionProfileToml", 5), name="PermissionsToml", capped=True)),
    _Member("js_repl_node_module_dirs", _Seq(_PATH)),
    _Member("marketplaces", _Map(_MARKETPLACE), {}),
    _Member("check_for_update_on_startup", _BOOL),
    _Member("js_repl_node_path", _PATH),
    _Member("disable_paste_burst", _BOOL),
    _Member("notice", _NOTICE),
)

_MEMBERS: Final[tuple[_Member, ...]] = _TYPED + _REST
_MEMBER_NAMES: Final = frozenset(m.name for m in _MEMBERS)
_MEMBER_SPECS: Final[Mapping[str, _Spec]] = {m.name: m.spec for m in _MEMBERS}

# Keys the model accepts without rendering them (they are not unknown for the warning).
_ACCEPTED_HIDDEN: Final = frozenset({"zsh_path"})
# Structs whose unknown keys the reference ignores silently (buffered by a flattened member).
_SILENT_STRUCTS: Final = frozenset({"Tui", "AgentsToml", "HooksToml", "AppsConfigToml"})

_UNTRUSTED_REMOVED: Final = 'approval_policy = "untrusted" is no longer supported; remove this setting'


# --------------------------------------------------------------------------------------------
# API


def render_config(merged: dict[str, Any], *, base_dir: str | None = None) -> dict[str, Any]:
    """Validate ``merged`` and return the ``config`` object of ``config/read``.

    ``base_dir`` is the directory relative paths are resolved against (the reference uses the
    directory of the config file, ``$CODEX_HOME`` for the user layer); ``None`` keeps them as given.
    Raises `ConfigModelError` with serde's wording. ``features`` holds only what the layers set
    (plus ``network_proxy: null`` once a ``[features]`` table exists); the caller overlays the
    runtime feature keys.
    """
    value = _prepare(merged)
    ctx = _Ctx(base_dir)
    out: dict[str, Any] = {}
    for member in _MEMBERS:
        if member.name in value:
            out[member.name] = _plain(_decode(member.spec, value[member.name], ctx, member.name))
        else:
            out[member.name] = _plain(member.default)
    tools = value.get("tools")
    if isinstance(tools, dict) and "client_search_provider" in tools:
        # the wire member reports the effective `tools.client_search_provider`
        out["client_search_provider"] = tools["client_search_provider"]
    if out["approval_policy"] == "untrusted":
        raise ConfigModelError(_UNTRUSTED_REMOVED, None)
    return out


def unknown_keys(layer: dict[str, Any]) -> list[str]:
    """Dotted paths of the keys of one layer that the model ignores, sorted like the reference.

    Covers unknown top-level keys, unknown ``[features]`` names and unknown keys inside the modelled
    nested tables whose unknown keys the reference ignores.
    """
    found: list[str] = []
    for key, val in layer.items():
        if key == "features":
            if isinstance(val, dict):
                found.extend(f"features.{k}" for k in val if k not in _KNOWN_FEATURES)
            continue
        if key not in _MEMBER_NAMES and key not in _ACCEPTED_HIDDEN:
            found.append(key)
            continue
        if key in _MEMBER_SPECS:
            _unknown_in(_MEMBER_SPECS[key], val, key, found)
    return sorted(found)


def _unknown_in(spec: _Spec, value: Any, path: str, found: list[str]) -> None:
    if isinstance(spec, _Custom) and spec.fn is _decode_mcp_server and isinstance(value, dict):
        found.extend(_join(path, k) for k in value if k not in _MCP_FIELD_NAMES)
    elif isinstance(spec, _Struct) and isinstance(value, dict) and spec.name not in _SILENT_STRUCTS:
        fields = {f.name: f.spec for f in spec.fields}
        for k, v in value.items():
            if k in fields:
                _unknown_in(fields[k], v, _join(path, k), found)
            elif spec.extra is not None:
                _unknown_in(spec.extra, v, _join(path, k), found)
            else:
                found.append(_join(path, k))
    elif isinstance(spec, _Map) and isinstance(value, dict):
        for k, v in value.items():
            _unknown_in(spec.value, v, _join(path, k), found)


def _load_feature_names() -> frozenset[str]:
    data = json.loads(resources.files("chamberlain.data").joinpath("features.json").read_text("utf-8"))
    return frozenset(str(f["name"]) for f in data["features"])


# Legacy `[features]` keys the reference still accepts without a warning (observed: `connectors`;
# `apps_mcp_gateway` is reported as unknown).
_LEGACY_FEATURE_ALIASES: Final[frozenset[str]] = frozenset({"connectors"})
_KNOWN_FEATURES: Final[frozenset[str]] = _load_feature_names() | _LEGACY_FEATURE_ALIASES
