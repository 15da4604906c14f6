"""The config model: the reference's `ConfigToml` deserialize-then-serialize step.

`render_config` validates the merged TOML of the enabled layers (plain Python data, as tomlkit's
``unwrap()`` gives it) against the model of codex-cli 0.169.0 and returns the ``config`` object that
``config/read`` reports (before requirement pins and the runtime feature overlay), with serde's exact
error wording. `unknown_keys` lists the keys of one layer that the model ignores.

Every fact below was observed on the reference binary (``config/read`` on crafted files); the schema
is a tree of msgspec Structs (`model_schema`, hand-written members in `model_shapes`) read with
``msgspec.convert``; when convert refuses, the shared serde walker finds and words the first error
in document order. Quirks worth knowing, all observed:

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

from typing import Any, Final

from chamberlain.errors import ConfigModelError
from chamberlain.serde_walk import type_info, unknown_fields
from chamberlain.store import model_schema as s
from chamberlain.store.features import BY_NAME
from chamberlain.store.model_shapes import (
    ApprovalPolicy,
    Features,
    McpEnterpriseManagedAuthConfig,
    McpServer,
    ModelProviders,
    ThreadStore,
    WorkspaceIds,
)
from chamberlain.store.model_spec import (
    AT_SELF,
    I64,
    NONZERO_U64,
    U8,
    U16,
    U64,
    USIZE,
    AbsPath,
    _prepare,
    enum,
    factory,
    meta,
    opt,
    read_as,
    same,
    struct,
    struct_text,
    table,
)

_TOGGLE: Final = s._TOGGLE
# The members of the wire `Config`: the 27 typed ones in their fixed order (spec §4.3), then the
# others in the order the reference emitted them once on a fresh home (its order is a hash map's).
ConfigToml: Final = struct(
    "ConfigToml",
    opt("model review_model", str),
    opt("model_context_window model_auto_compact_token_limit", I64),
    opt("model_auto_compact_token_limit_scope", enum("total body_after_prefix")),
    opt("model_provider", str),
    opt("approval_policy", ApprovalPolicy),
    opt("approvals_reviewer", s.REVIEWER),
    opt("sandbox_mode", s.SANDBOX_MODE),
    opt("sandbox_workspace_write", s._SANDBOX_WORKSPACE_WRITE),
    opt("forced_chatgpt_workspace_id", WorkspaceIds),
    opt("forced_login_method", enum("chatgpt api")),
    opt("web_search", s.WEB_SEARCH_MODE),
    opt("client_search_provider", Any),  # accepted and ignored (see `render_config`)
    opt("tools", s.TOOLS),
    opt("instructions developer_instructions compact_prompt model_reasoning_effort", str),
    opt("model_reasoning_summary", s.SUMMARY),
    opt("model_verbosity", s.VERBOSITY),
    opt("service_tier", str),
    opt("analytics", s.ANALYTICS),
    opt("apps", s.AppsConfigToml),
    opt("browser_use", s._BROWSER_USE),
    opt("computer_use", s._COMPUTER_USE),
    opt("desktop", dict[str, Any]),
    opt("mcp_oauth_callback_url", str),
    opt("realtime", s._REALTIME),
    opt("auto_review", s._AUTO_REVIEW),
    ("mcp_oauth_credentials_store", enum("auto file keyring"), "auto"),
    opt("projects", table(struct("ProjectConfig", opt("trust_level", enum("trusted untrusted"))))),
    opt("experimental_thread_store_endpoint", str),
    ("allow_login_shell", bool, True),
    opt("otel", s._OTEL),
    ("history", s._HISTORY, factory(s._HISTORY)),
    opt("sqlite_home", AbsPath),
    opt("profile", str),
    opt("responses_api_metadata", dict[str, str]),
    ("include_collaboration_mode_instructions", bool, True),
    opt("experimental_realtime_start_instructions", str),
    ("plugins", meta(table(s._PLUGIN), struct_text("PluginsConfigToml"), AT_SELF), {}),
    ("file_opener", enum("vscode vscode-insiders windsurf cursor none"), "vscode"),
    opt("audio", s._AUDIO),
    ("background_terminal_max_timeout", U64, 300000),
    opt("log_dir", AbsPath),
    opt("ghost_snapshot", s._GHOST_SNAPSHOT),
    opt("allow_symlinked_codex_home show_raw_agent_reasoning", bool),
    opt("plan_mode_reasoning_effort", str),
    same("include_environment_context_time include_permissions_instructions", bool, True),
    opt("mcp_oauth_callback_port", U16),
    opt("model_instructions_file", AbsPath),
    opt("feedback", struct("FeedbackConfigToml", opt("enabled", bool))),
    opt("tool_output_token_limit", USIZE),
    ("cli_auth_credentials_store", enum("file keyring auto ephemeral"), "file"),
    opt("experimental_realtime_ws_backend_prompt openai_base_url experimental_realtime_ws_base_url", str),
    opt("agents", s.AgentsToml),
    opt("personality", s.PERSONALITY),
    opt("experimental_realtime_ws_model", str),
    opt("experimental_use_unified_exec_tool", bool),
    ("project_doc_max_bytes", USIZE, 32768),
    opt("model_catalog_json", AbsPath),
    opt("skills", s._SKILLS),
    ("project_root_markers", list[str], factory(lambda: [".git"])),
    ("mcp_servers", dict[str, McpServer], {}),
    opt("experimental_compact_prompt_file", AbsPath),
    opt("experimental_thread_store", ThreadStore),
    ("model_providers", ModelProviders, factory(lambda: ModelProviders({}))),
    opt("apps_mcp_product_sku", str),
    opt("mcp_optional_startup_grace_ms", U64),
    opt("model_post_turn_compact_threshold_percent", U8),
    opt("orchestrator", struct("OrchestratorToml", opt("skills mcp", _TOGGLE))),
    ("include_apps_instructions", bool, True),
    opt("experimental_realtime_webrtc_call_base_url", str),
    opt("tool_suggest", s._TOOL_SUGGEST),
    opt("memories", s._MEMORIES),
    opt("goals", struct("GoalsToml", opt("max_goal_token_budget", NONZERO_U64))),
    ("chatgpt_base_url", str, "https://chatgpt.com/backend-api/"),
    opt("suppress_unstable_features_warning", bool),
    ("features", Features, factory(lambda: Features({}))),
    opt("daybreak", bool),
    ("include_environment_context", bool, True),
    opt("oss_provider", str),
    opt("cloud", struct("CloudToml", opt("skills", _TOGGLE))),
    opt("thread_unload_delay_secs", U64),
    opt("tui", s._TUI),
    ("profiles", table(s._PROFILE), {}),
    ("hide_agent_reasoning", bool, False),
    ("project_doc_fallback_filenames", list[str], []),
    opt("notify", list[str]),
    opt("mcp_enterprise_managed_auth", McpEnterpriseManagedAuthConfig),
    ("shell_environment_policy", s._SHELL_ENVIRONMENT_POLICY, factory(s._SHELL_ENVIRONMENT_POLICY)),
    opt("default_permissions", str),
    opt("windows", s.WINDOWS),
    opt("hooks", s._HOOKS),
    opt("experimental_realtime_ws_startup_context", str),
    opt("permissions", meta(table(s.PermissionProfileToml), struct_text("PermissionsToml"), AT_SELF)),
    opt("js_repl_node_module_dirs", list[AbsPath]),
    ("marketplaces", table(s._MARKETPLACE), {}),
    opt("check_for_update_on_startup", bool),
    opt("js_repl_node_path", AbsPath),
    opt("disable_paste_burst", bool),
    opt("notice", s._NOTICE),
)


_CONFIG: Final = type_info(ConfigToml)
_MEMBER_NAMES: Final = frozenset(ConfigToml.__struct_encode_fields__)
# Keys the model accepts without rendering them (they are not unknown for the warning).
_ACCEPTED_HIDDEN: Final = frozenset({"zsh_path"})
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
    out: dict[str, Any] = read_as(ConfigToml, value, "", base_dir)
    tools = value.get("tools")
    # the wire member reports the effective `tools.client_search_provider`
    searched = isinstance(tools, dict) and "client_search_provider" in tools
    out["client_search_provider"] = tools["client_search_provider"] if searched else None
    if out["tools"] is not None:
        out["tools"] = {"web_search": out["tools"]["web_search"]}  # the typed member drops the others
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
        elif key not in _MEMBER_NAMES:
            if key not in _ACCEPTED_HIDDEN:
                found.append(key)
        else:
            unknown_fields({key: val}, _CONFIG, "", found)
    return sorted(found)


# Legacy `[features]` keys the reference still accepts without a warning (observed: `connectors`;
# `apps_mcp_gateway` is reported as unknown).
_LEGACY_FEATURE_ALIASES: Final[frozenset[str]] = frozenset({"connectors"})
_KNOWN_FEATURES: Final[frozenset[str]] = frozenset(BY_NAME) | _LEGACY_FEATURE_ALIASES
