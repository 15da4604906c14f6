"""The config model's hand-written members: untagged enums, MCP servers, providers, features and
the other members serde reads with custom logic in the reference, each a `Shape` whose ``read``
checks and renders it (nested structs through `read_as`). Internal to `chamberlain.store.model`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, Final

from chamberlain.errors import ConfigModelError
from chamberlain.serde_text import invalid_type, missing_field, one_of, unknown_variant
from chamberlain.serde_walk import capped, toml_enum_error
from chamberlain.store.model_spec import (
    U64,
    Shape,
    _join,
    enum,
    located,
    model_error,
    opt,
    read_as,
    same,
    shape,
    struct,
)


def _untagged(name: str, path: str) -> ConfigModelError:
    return ConfigModelError(f"data did not match any variant of untagged enum {name}", path)


def untagged(name: str, accepts: Callable[[Any], bool]) -> Any:
    """A `Shape` of an untagged enum of plain variants: a value ``accepts`` takes passes as given."""

    def read(value: Any, path: str) -> Any:
        if accepts(value):
            return value
        raise _untagged(name, path)

    return shape(name, read)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _u16(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**16


def _read_workspace_ids(value: Any, path: str) -> Any:
    if isinstance(value, str):
        if "," in value:
            raise ConfigModelError(_WORKSPACE_ID_COMMAS, path)
        return value
    if _str_list(value):
        return list(value)
    raise _untagged("Repr", path)


WorkspaceIds: Final = shape("WorkspaceIds", _read_workspace_ids)


_WORKSPACE_ID_COMMAS: Final = (
    "forced_chatgpt_workspace_id must be a single workspace ID string or a TOML list of strings; "
    "comma-separated strings are not supported. Use `forced_chatgpt_workspace_id = "
    '["123e4567-e89b-42d3-a456-426614174000", "123e4567-e89b-42d3-a456-426614174001"]` instead.'
)


_WEB_SEARCH_TOOL: Final = struct(
    "WebSearchToolConfig",
    opt("context_size", enum("low medium high")),
    opt("allowed_domains", list[str]),
    opt("location", struct("WebSearchLocation", opt("country region city timezone", str), positional=False)),
    positional=False,
)


def _read_web_search_tool(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        return None  # `web_search = true|false` is accepted and dropped
    try:
        return read_as(_WEB_SEARCH_TOOL, value, path)
    except ConfigModelError:
        raise _untagged("WebSearchToolConfigInput", path) from None


WebSearchTool: Final = shape("WebSearchTool", _read_web_search_tool)


Notifications: Final = untagged("Notifications", lambda v: isinstance(v, bool) or _str_list(v))
MicrophoneChannel: Final = untagged(
    "MicrophoneChannels", lambda v: _u16(v) or (isinstance(v, list) and all(map(_u16, v)))
)
_FEATURE_TOML: Final = untagged("FeatureToml", lambda v: isinstance(v, (bool, dict)))


def _read_scroll_speed(value: Any, path: str) -> Any:
    speed = read_as(float, value, path)
    if not (math.isfinite(speed) and speed > 0):
        raise ConfigModelError("tui.mouse_scroll_speed must be a finite positive number", path)
    return speed


ScrollSpeed: Final = shape("ScrollSpeed", _read_scroll_speed)


def record(
    name: str, arity: int, required: tuple[str, ...] = (), *, closed: bool = False, inner: Any = None
) -> Any:
    """A `Shape` of a struct not modelled field by field: its form and ``required`` fields checked
    (``closed``: no other fields; ``inner``: a check of the whole value after those), passed through."""

    def read(value: Any, path: str) -> Any:
        if isinstance(value, list):
            if not required and not value:
                return {}
            count = "element" if arity == 1 else "elements"
            raise ConfigModelError(f"invalid length {len(value)}, expected struct {name} with {arity} {count}", path)
        if not isinstance(value, dict):
            raise ConfigModelError(invalid_type(value, f"struct {name}"), path)
        for k in value if closed else ():
            if k not in required:
                raise ConfigModelError(f"unknown field `{k}`, expected {one_of(required)}", path)
        for k in required:
            if k not in value:
                raise ConfigModelError(missing_field(k), path)
        if inner is not None:
            inner(value, path)
        return value

    return shape(name, read)


def _check_idp(value: dict[str, Any], path: str) -> None:
    idp = value["idp"]
    if not isinstance(idp, dict):
        raise ConfigModelError(invalid_type(idp, "struct McpServerIdpOAuthConfig"), _join(path, "idp"))
    if "issuer" not in idp:
        raise ConfigModelError(missing_field("issuer"), _join(path, "idp"))


McpEnterpriseManagedAuthConfig: Final = record(
    "McpEnterpriseManagedAuthConfig", 1, ("idp",), closed=True, inner=_check_idp
)


_GRANULAR: Final = struct(
    "GranularApprovalConfig",
    opt("sandbox_approval rules", bool),
    same("skill_approval request_permissions", bool, False),
    opt("mcp_elicitations", bool),
    positional=False,
)


_APPROVAL_VARIANTS: Final = ("untrusted", "on-failure", "on-request", "granular", "never")


def _read_approval_policy(value: Any, path: str) -> Any:
    if type(value) is str and value == "granular":
        raise ConfigModelError("invalid type: unit variant, expected newtype variant", path)
    if isinstance(value, dict) and len(value) == 1 and "granular" in value:
        payload = value["granular"]
        if not isinstance(payload, dict):
            raise ConfigModelError(invalid_type(payload, "struct GranularApprovalConfig"), path)
        for name in ("sandbox_approval", "rules", "mcp_elicitations"):
            if name not in payload:
                raise ConfigModelError(missing_field(name), path)
        return {"granular": read_as(_GRANULAR, payload, path)}
    err = toml_enum_error(value, _APPROVAL_VARIANTS, {}, path)
    if err is not None:
        raise model_error(err)
    name = next(iter(value)) if isinstance(value, dict) else str(value)
    return "on-request" if name == "on-failure" else name


ApprovalPolicy: Final = shape("ApprovalPolicy", _read_approval_policy)


def _read_thread_store(value: Any, path: str) -> Any:
    if not isinstance(value, (dict, list)):
        raise ConfigModelError(invalid_type(value, "internally tagged enum ThreadStoreToml"), path)
    items = value if isinstance(value, dict) else {}
    if not value or (isinstance(value, dict) and "type" not in value):
        raise ConfigModelError(missing_field("type"), path)
    tag = value[0] if isinstance(value, list) else items["type"]
    if type(tag) is not str:  # a `_Datetime` is not one either
        raise ConfigModelError(invalid_type(tag, "variant identifier"), path)
    if tag == "local":
        return {"type": "local"}
    if tag == "in_memory":
        if "id" not in items:
            raise ConfigModelError(missing_field("id"), path)
        return {"type": "in_memory", "id": read_as(str, items["id"], _join(path, "id"))}
    raise ConfigModelError(unknown_variant(tag, ("local", "in_memory")), path)


ThreadStore: Final = shape("ThreadStore", _read_thread_store)


def _read_keymap(value: Any, path: str) -> Any:
    if isinstance(value, list) and value:
        raise ConfigModelError(invalid_type(value[0], "struct TuiGlobalKeymap"), path)
    if isinstance(value, list):
        return KEYMAP_DEFAULT
    if not isinstance(value, dict):
        raise ConfigModelError(invalid_type(value, "struct TuiKeymap"), path)
    out: dict[str, Any] = {}
    for section, actions in _KEYMAP_SECTIONS:
        given = value.get(section)
        rendered: dict[str, Any] = {a: None for a in actions.split()}
        if isinstance(given, dict):
            rendered.update((k, v) for k, v in given.items() if k in rendered)
        elif given is not None:
            raise ConfigModelError(invalid_type(given, "a map"), _join(path, section))
        out[section] = rendered
    return out


Keymap: Final = shape("Keymap", _read_keymap)


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
KEYMAP_DEFAULT: Final = {s: {a: None for a in actions.split()} for s, actions in _KEYMAP_SECTIONS}


def _read_features(value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigModelError(invalid_type(value, "struct FeaturesToml"), path)
    read: dict[str, Any] = {}
    for key, item in value.items():  # in document order, as serde reads them
        if key == "network_proxy":
            read[key] = _FEATURE_TOML.read(item, _join(path, key))
        elif not isinstance(item, bool):  # placed at the value in a file, named `features` in the text
            raise located(ConfigModelError(invalid_type(item, "a boolean"), path), _join(path, key))
        else:
            read[key] = item
    out: dict[str, Any] = {"network_proxy": read.pop("network_proxy", None)}
    out.update(sorted(read.items()))
    return out


Features: Final = shape("Features", _read_features)


APP_TOOL_APPROVAL: Final = enum("auto prompt writes approve")
# the members an MCP server entry may hold (rendered as given, then shaped by its transport)
_RAW_MCP_SERVER: Final = struct(
    "RawMcpServerConfig",
    opt("command", str),
    opt("args", list[str]),
    opt("env", dict[str, str]),
    opt("env_vars", list[Any]),
    opt("cwd url bearer_token_env_var", str),
    opt("http_headers env_http_headers", dict[str, str]),
    opt("environment_id experimental_environment", str),
    opt("enabled required supports_parallel_tool_calls", bool),
    opt("startup_timeout_sec", float),
    opt("startup_timeout_ms", U64),
    opt("tool_timeout_sec", float),
    opt("default_tools_approval_mode", APP_TOOL_APPROVAL),
    opt("enabled_tools disabled_tools scopes", list[str]),
    opt("oauth", Any),
    opt("oauth_resource", str),
    opt("auth", enum("oauth chatgpt ema_auth")),
    opt("tools", Any),
    omit_defaults=True,
)


_MCP_STDIO_ONLY: Final = ("args", "env", "env_vars", "cwd")
_MCP_HTTP_KEPT: Final = ("bearer_token_env_var", "http_headers", "env_http_headers", "auth")
_MCP_HTTP_ONLY: Final = ("url", *_MCP_HTTP_KEPT[:3], "oauth", "oauth_resource", "auth")  # in the reference's order
_MCP_TAIL: Final = (
    "default_tools_approval_mode", "enabled_tools", "disabled_tools", "scopes", "oauth", "oauth_resource", "tools"
)


def _mcp_transport(raw: dict[str, Any], path: str) -> dict[str, Any]:
    if "command" in raw:
        for name in _MCP_HTTP_ONLY:
            if name in raw:
                raise ConfigModelError(f"{name} is not supported for stdio", path)
        out: dict[str, Any] = {"command": raw["command"], "args": raw.get("args", [])}
        out.update((k, raw[k]) for k in ("env", "env_vars", "cwd") if k in raw and (k != "env_vars" or raw[k]))
        return out
    if "url" in raw:
        for name in _MCP_STDIO_ONLY:
            if name in raw:
                raise ConfigModelError(f"{name} is not supported for streamable_http", path)
        return {"url": raw["url"], **{k: raw[k] for k in _MCP_HTTP_KEPT if k in raw}}
    raise ConfigModelError("invalid transport", path)


def _read_mcp_server(value: Any, path: str) -> Any:
    if isinstance(value, list) and not value:
        raise ConfigModelError("invalid length 0, expected struct RawMcpServerConfig with 30 elements", path)
    if not isinstance(value, dict):
        raise ConfigModelError(invalid_type(value, "struct RawMcpServerConfig"), path)
    raw: dict[str, Any] = read_as(_RAW_MCP_SERVER, value, path)
    out = _mcp_transport(raw, path)
    out["environment_id"] = raw.get("environment_id", "local")
    out["enabled"] = raw.get("enabled", True)
    out.update((k, True) for k in ("required", "supports_parallel_tool_calls") if raw.get(k))
    startup = raw.get("startup_timeout_sec")
    if startup is None and "startup_timeout_ms" in raw:
        startup = raw["startup_timeout_ms"] / 1000.0
    for secs in (startup, raw.get("tool_timeout_sec")):
        if secs is not None and (secs < 0 or math.isnan(secs) or math.isinf(secs)):
            reason = "value is negative" if secs < 0 else "value is either too big or NaN"
            raise ConfigModelError(f"cannot convert float seconds to Duration: {reason}", path)
    if startup is not None:
        out["startup_timeout_sec"] = startup
    out["tool_timeout_sec"] = raw.get("tool_timeout_sec")
    out.update((k, raw[k]) for k in _MCP_TAIL if k in raw)
    return out


class McpServer(Shape, read=_read_mcp_server):
    serde_struct: ClassVar = _RAW_MCP_SERVER


_AWS_AUTH: Final = struct(
    "ModelProviderAwsAuthInfo", opt("profile region", str), opt("credential_export auth_refresh", Any)
)
_MODEL_PROVIDER: Final = struct(
    "ModelProviderInfo",
    ("name", str, ""),
    opt("base_url model_catalog_url env_key env_key_instructions experimental_bearer_token", str),
    opt("aws", _AWS_AUTH),
    opt("auth gateway_oauth project_id location credential_file", Any),
    ("wire_api", enum("responses"), "responses"),
    opt("capabilities", Any),
    opt("query_params http_headers env_http_headers", dict[str, str]),
    opt("request_max_retries stream_max_retries stream_idle_timeout_ms websocket_connect_timeout_ms", U64),
    same("requires_openai_auth supports_websockets supports_standalone_web_search", bool, False),
)


_RESERVED_PROVIDER_IDS: Final = ("amazon-bedrock", "openai", "ollama", "lmstudio")
#: Built-in providers a user config may adjust, in these fields only (observed on 0.169.0).
_BEDROCK_PROVIDER_IDS: Final = ("amazon-bedrock", "amazon-bedrock-runtime")
_BEDROCK_ADJUSTABLE: Final = frozenset({"base_url", "auth", "http_headers", "aws"})
_BEDROCK_ONLY: Final = (
    "{id} only supports changing `base_url`, `auth`, `http_headers`, `aws.profile`, `aws.region`, "
    "`aws.credential_export`, and `aws.auth_refresh`; other non-default provider fields are not supported"
)
_PROVIDER_DEFAULTS: Final[dict[str, Any]] = read_as(_MODEL_PROVIDER, {})


def _check_bedrock_provider(key: str, rendered: dict[str, Any], path: str) -> None:
    if any(v != _PROVIDER_DEFAULTS[k] for k, v in rendered.items() if k not in _BEDROCK_ADJUSTABLE):
        raise ConfigModelError(_BEDROCK_ONLY.format(id=_join(path, key)), path)


def _read_model_providers(value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigModelError(invalid_type(value, "a map"), path)
    reserved = [k for k in value if k in _RESERVED_PROVIDER_IDS and k not in _BEDROCK_PROVIDER_IDS]
    if reserved:
        ids = ", ".join(f"`{k}`" for k in reserved)
        raise ConfigModelError(
            f"model_providers contains reserved built-in provider IDs: {ids}. Built-in providers "
            f"cannot be overridden. Rename your custom provider (for example, `{reserved[0]}-custom`).",
            path,
        )
    out: dict[str, Any] = {}
    for key, entry in value.items():
        entry_path = _join(path, key)
        if isinstance(entry, dict) and entry.get("wire_api") == "chat":
            raise ConfigModelError(_WIRE_API_CHAT, _join(entry_path, "wire_api"))
        rendered = read_as(_MODEL_PROVIDER, entry, entry_path)
        if key in _BEDROCK_PROVIDER_IDS:
            _check_bedrock_provider(key, rendered, path)
        elif not rendered["name"]:
            raise ConfigModelError(f"model_providers.{key}: provider name must not be empty", path)
        out[key] = rendered
    return out


ModelProviders: Final = shape("ModelProviders", _read_model_providers)


_WIRE_API_CHAT: Final = (
    '`wire_api = "chat"` is no longer supported.\nHow to fix: set `wire_api = "responses"` in your '
    "provider config.\nMore info: https://github.com/openai/codex/discussions/7782"
)


def flattened(fields: Any, extra: Any) -> Any:
    """A `Shape` of a struct with a flattened map of the remaining keys, named as ``fields`` (a
    Struct): its fields, then each other key read as ``extra`` (capped: serde buffers it). Its
    unknown keys are silent."""
    known, extra, name = frozenset(fields.__struct_encode_fields__), capped(extra), fields.__name__

    def read(value: Any, path: str, base_dir: str | None = None) -> Any:
        if not isinstance(value, dict):
            raise ConfigModelError(invalid_type(value, f"struct {name}"), path)
        out: dict[str, Any] = read_as(fields, {k: v for k, v in value.items() if k in known}, path, base_dir)
        out.update((k, read_as(extra, v, path, base_dir)) for k, v in value.items() if k not in known)
        return out

    render = classmethod(lambda cls, value, base_dir: read(value, "", base_dir))
    return type(name, (Shape,), {"__slots__": (), "render": render}, read=read)
