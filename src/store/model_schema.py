"""The config model's schema tables: the nested structs of `ConfigToml` as type descriptors.
Internal to `chamberlain.store.model`."""

from __future__ import annotations

from typing import Any, Final

from chamberlain.store.model_shapes import (
    _APP_TOOL_APPROVAL,
    _KEYMAP_DEFAULT,
    _decode_approval_policy,
    _decode_features,
    _decode_keymap,
    _decode_microphone_channel,
    _decode_notifications,
    _decode_scroll_speed,
    _decode_web_search_tool,
    _record,
)
from chamberlain.store.model_spec import (
    _BOOL,
    _PATH,
    _STR,
    _Any,
    _Ctx,
    _Custom,
    _Enum,
    _Int,
    _Map,
    _opt,
    _plain,
    _s,
    _Seq,
    _Struct,
)

_ALLOW_DENY: Final = _Enum(("allow", "deny"))
_REVIEWER: Final = _Enum(("user", "auto_review", "guardian_subagent"))


_SANDBOX_MODE: Final = _Enum(("read-only", "workspace-write", "danger-full-access"))
_WEB_SEARCH_MODE: Final = _Enum(("disabled", "cached", "indexed", "live"))


_SUMMARY: Final = _Enum(("auto", "concise", "detailed", "none"))
_VERBOSITY: Final = _Enum(("low", "medium", "high"))


_PERSONALITY: Final = _Enum(("none", "friendly", "pragmatic"))
_WINDOWS: Final = _s(
    "WindowsToml", 2, _opt("sandbox", _Enum(("elevated", "unelevated", "mxc"))), _opt("allow_mxc", _BOOL)
)
_ANALYTICS: Final = _s("AnalyticsConfigToml", 1, _opt("enabled", _BOOL))


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
