"""The config model's custom shapes: untagged enums, MCP servers, providers, features and the
other members serde reads with hand-written logic in the reference. Internal to
`chamberlain.store.model`."""

from __future__ import annotations

import math
from typing import Any, Final

from chamberlain.errors import ConfigModelError
from chamberlain.serde_text import invalid_type, missing_field, one_of, unknown_variant
from chamberlain.store.model_spec import (
    _BOOL,
    _F64,
    _STR,
    _Any,
    _Bool,
    _Ctx,
    _Custom,
    _Datetime,
    _decode,
    _decode_enum,
    _Enum,
    _fail,
    _Int,
    _join,
    _Map,
    _opt,
    _plain,
    _s,
    _Seq,
    _Spec,
    _Str,
    located,
)


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
            raise _fail(f"invalid length {len(value)}, expected struct {name} with {arity} {count}", ctx, path)
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


def _decode_features(value: Any, ctx: _Ctx, path: str) -> Any:
    if not isinstance(value, dict):
        raise _fail(invalid_type(value, "struct FeaturesToml"), ctx, path)
    read: dict[str, Any] = {}
    inner = ctx.capped(path)
    for key, item in value.items():  # in document order, as serde reads them
        if key == "network_proxy":
            read[key] = _decode_feature_toml(item, ctx, _join(path, key))
            continue
        try:
            read[key] = _decode(_Bool(), item, inner, _join(path, key))
        except ConfigModelError as exc:  # placed at the value in a file, named `features` in the text
            raise located(exc, _join(path, key)) from None
    out: dict[str, Any] = {"network_proxy": read.pop("network_proxy", None)}
    out.update(sorted(read.items()))
    return out


_APPROVAL_ENUM: Final = _Enum(
    ("untrusted", "on-failure", "on-request", "granular", "never"),
    renames=(("on-failure", "on-request"),),
    struct_variants=(("granular", "GranularApprovalConfig"),),
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
