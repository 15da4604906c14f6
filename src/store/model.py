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

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from chamberlain.errors import ConfigModelError
from chamberlain.store.model_schema import (
    _AGENTS,
    _ANALYTICS,
    _APPS,
    _AUDIO,
    _AUTO_REVIEW,
    _BROWSER_USE,
    _COMPUTER_USE,
    _FEATURE_TOGGLE,
    _GHOST_SNAPSHOT,
    _HISTORY,
    _HOOKS,
    _MARKETPLACE,
    _MEMORIES,
    _NOTICE,
    _OTEL,
    _PERSONALITY,
    _PLUGIN,
    _PROFILE,
    _REALTIME,
    _REVIEWER,
    _SANDBOX_MODE,
    _SANDBOX_WORKSPACE_WRITE,
    _SHELL_ENVIRONMENT_POLICY,
    _SKILLS,
    _SUMMARY,
    _TOOL_SUGGEST,
    _TOOLS_TYPED,
    _TUI,
    _VERBOSITY,
    _WEB_SEARCH_MODE,
    _WINDOWS,
)
from chamberlain.store.model_shapes import (
    _MCP_FIELD_NAMES,
    _decode_approval_policy,
    _decode_enterprise_auth,
    _decode_features,
    _decode_mcp_server,
    _decode_model_providers,
    _decode_thread_store,
    _decode_workspace_ids,
    _record,
)
from chamberlain.store.model_spec import (
    _BOOL,
    _PATH,
    _STR,
    _Any,
    _Ctx,
    _Custom,
    _decode,
    _Enum,
    _Int,
    _join,
    _Map,
    _Null,
    _opt,
    _plain,
    _prepare,
    _s,
    _Seq,
    _Spec,
    _Struct,
    toml_datetime_text,
)

__all__ = ["render_config", "unknown_keys", "toml_datetime_text"]


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
