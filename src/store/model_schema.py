"""The config model's schema: `ConfigToml` and its nested structs as msgspec Structs, built with
`model_spec.struct` (member order is serde's declaration order; a struct is named as its Rust
type). Internal to `chamberlain.store.model`."""

from __future__ import annotations

from typing import Annotated, Any, Final

from chamberlain.store.model_shapes import (
    APP_TOOL_APPROVAL,
    KEYMAP_DEFAULT,
    ApprovalPolicy,
    Features,
    Keymap,
    MicrophoneChannel,
    Notifications,
    ScrollSpeed,
    WebSearchTool,
    flattened,
    record,
)
from chamberlain.store.model_spec import (
    AT_PARENT,
    AT_SELF,
    I32,
    I64,
    NONZERO_USIZE,
    U8,
    U32,
    U64,
    USIZE,
    AbsPath,
    enum,
    factory,
    meta,
    opt,
    same,
    seq,
    shape,
    struct,
    struct_text,
    table,
)

ALLOW_DENY: Final = enum("allow deny")
REVIEWER: Final = enum("user auto_review guardian_subagent")
SANDBOX_MODE: Final = enum("read-only workspace-write danger-full-access")
WEB_SEARCH_MODE: Final = enum("disabled cached indexed live")
SUMMARY: Final = enum("auto concise detailed none")
VERBOSITY: Final = enum("low medium high")
PERSONALITY: Final = enum("none friendly pragmatic")
_EXPORTER: Final = enum("none statsig otlp-http otlp-grpc")
_ALWAYS_AUTO_NEVER: Final = enum("auto always never")
_PICKER_VIEW: Final = enum("comfortable dense")
_VOICES: Final = (
    "alloy arbor ash aube ballad breeze bubbie cedar coral cove echo ember haetsal hanul himari juniper leher "
    "maple marin miko neer porto rindo rio rivage sage selva shimmer sol sonna spruce tinta vale verse viola"
)
# below a flattened member (`apps`, buffered by serde) a non-string enum is worded differently
_REVIEWER_BUFFERED: Final = enum("user auto_review guardian_subagent", buffered=True)
_APPROVAL_BUFFERED: Final = enum("auto prompt writes approve", buffered=True)

WINDOWS: Final = struct("WindowsToml", opt("sandbox", enum("elevated unelevated mxc")), opt("allow_mxc", bool))
ANALYTICS: Final = struct("AnalyticsConfigToml", opt("enabled", bool))
_TOGGLE: Final = struct("FeatureToggleToml", opt("enabled", bool))
TOOLS: Final = struct(
    "ToolsToml",
    opt("client_search_provider", enum("standalone search_mcp")),
    opt("web_search", WebSearchTool),
    opt(
        "experimental_request_user_input", struct("ExperimentalRequestUserInput", ("enabled", bool, True), default=True)
    ),
    opt("update_plan", struct("UpdatePlanToolConfig", ("enabled", bool, False), default=True)),
)
_APP_TOOL: Final = struct("AppToolConfig", opt("enabled", bool), opt("approval_mode", _APPROVAL_BUFFERED), default=True)
_APP_LINK: Final = struct(
    "AppLinkConfig",
    opt("approvals_reviewer", _REVIEWER_BUFFERED),
    opt("default_tools_approval_mode", _APPROVAL_BUFFERED),
    default=True,
)
_APP: Final = struct(
    "AppConfig",
    ("enabled", bool, True),
    opt("omit_tools_from", seq(enum("code_mode deferred direct", buffered=True))),
    opt("approvals_reviewer", _REVIEWER_BUFFERED),
    opt("destructive_enabled open_world_enabled", bool),
    opt("default_tools_approval_mode", _APPROVAL_BUFFERED),
    opt("default_tools_enabled", bool),
    opt("tools", meta(table(_APP_TOOL), struct_text("AppToolsConfig"))),
    opt("links", meta(table(_APP_LINK), struct_text("AppLinksConfig"))),
    default=True,
)
_APPS_DEFAULT: Final = struct(
    "AppsDefaultConfig",
    ("enabled", bool, True),
    opt("approvals_reviewer", REVIEWER),
    same("destructive_enabled open_world_enabled", bool, True),
    opt("default_tools_approval_mode", APP_TOOL_APPROVAL),
    default=True,
)


AppsConfigToml: Final = flattened(struct("AppsConfigToml", opt("_default", _APPS_DEFAULT)), _APP)

_ORIGIN: Final = struct("BrowserUseOriginPolicyConfigToml", opt("access downloads uploads full_cdp_access", ALLOW_DENY))
_BROWSER_USE: Final = struct(
    "BrowserUseConfigToml",
    opt("allow_history_access", bool),
    opt("default_origin_policy", _ORIGIN),
    opt("origins", table(_ORIGIN)),
)
ComputerUseWindowsExeConfigToml: Final = record(
    "ComputerUseWindowsExeConfigToml", arity=4, required=("publisher_name", "product_name", "access")
)
_COMPUTER_USE: Final = struct(
    "ComputerUseConfigToml",
    opt("default_app_access", ALLOW_DENY),
    opt("macos", struct("ComputerUseMacosConfigToml", opt("bundle_ids", table(ALLOW_DENY)))),
    opt(
        "windows",
        struct(
            "ComputerUseWindowsConfigToml",
            opt("aumids", table(ALLOW_DENY)),
            opt("exes", seq(ComputerUseWindowsExeConfigToml)),
        ),
    ),
)
_SANDBOX_WORKSPACE_WRITE: Final = struct(
    "SandboxWorkspaceWrite",
    ("writable_roots", list[AbsPath], []),
    same("network_access exclude_tmpdir_env_var exclude_slash_tmp", bool, False),
    default=True,
)
_HISTORY: Final = struct(
    "History", ("persistence", enum("save-all none"), "save-all"), opt("max_bytes", USIZE), default=True
)
_SHELL_ENVIRONMENT_POLICY: Final = struct(
    "ShellEnvironmentPolicyTomlRaw",
    opt("inherit", enum("core all none")),
    opt("ignore_default_excludes", bool),
    opt("exclude", list[str]),
    opt("set", dict[str, str]),
    opt("include_only", list[str]),
    opt("filters", dict[str, Any]),
    opt("experimental_use_profile", bool),
)
_OTEL: Final = struct(
    "OtelConfigToml",
    opt("tool_result", struct("ToolResultLogConfig", ("max_bytes", USIZE, 2048), default=True)),
    opt("log_sse_deltas log_user_prompt log_agent_responses log_guardian_assessments", bool),
    opt("environment", str),
    opt("exporter trace_exporter metrics_exporter", _EXPORTER),
    opt("span_attributes", dict[str, str]),
    opt("tracestate", dict[str, dict[str, str]]),
)
_MEMORIES: Final = struct(
    "MemoriesToml",
    opt("version", enum("v1 v2")),
    opt("dual_write disable_on_external_context generate_memories use_memories dedicated_tools", bool),
    opt("max_raw_memories_for_consolidation", USIZE),
    opt("max_unused_days max_rollout_age_days", I64),
    opt("max_rollouts_per_startup", USIZE),
    opt("min_rollout_idle_hours min_rate_limit_remaining_percent", I64),
    opt("extract_model consolidation_model consolidation_service_tier", str),
)


AgentsToml: Final = flattened(
    struct(
        "AgentsToml",
        opt("enabled", bool),
        opt("max_concurrent_threads_per_session", USIZE),
        opt("max_depth", I32),
        opt("default_subagent_model default_subagent_reasoning_effort", str),
        opt("job_max_runtime_seconds", U64),
        opt("interrupt_message", bool),
    ),
    struct("AgentRoleToml", opt("description", str), opt("config_file", AbsPath), opt("nickname_candidates", seq(str))),
)

_AUTO_REVIEW: Final = struct(
    "AutoReviewToml",
    opt("timeout_ms", U32),
    opt("circuit_break_action", enum("default strict")),
    opt("policy experimental_conversation_history_prompt", str),
    opt("conversation_history_max_output_tokens", NONZERO_USIZE),
)
_REALTIME: Final = struct(
    "RealtimeToml",
    opt("version", enum("v1 v2 v3")),
    opt("type", enum("conversational transcription")),
    opt("transport", enum("webrtc websocket")),
    opt("voice", enum(_VOICES)),
)
_AUDIO: Final = struct(
    "RealtimeAudioToml", opt("microphone_channel", MicrophoneChannel), opt("microphone speaker", str)
)
_GHOST_SNAPSHOT: Final = struct(
    "GhostSnapshotToml",
    opt("ignore_large_untracked_files ignore_large_untracked_dirs", I64),
    opt("disable_warnings", bool),
)
_PROMPTS: Final = struct(
    "ExternalConfigMigrationPrompts",
    opt("home", bool),
    opt("home_last_prompted_at", I64),
    ("projects", dict[str, bool], {}),
    ("project_last_prompted_at", table(I64), {}),
)
_NOTICE: Final = struct(
    "Notice",
    opt(
        "hide_gov_cloud_guidance hide_full_access_warning hide_world_writable_warning fast_default_opt_out "
        "hide_rate_limit_model_nudge hide_gpt5_1_migration_prompt hide_gpt-5.1-codex-max_migration_prompt",
        bool,
    ),
    ("model_migrations", dict[str, str], {}),
    ("external_config_migration_prompts", _PROMPTS, factory(_PROMPTS)),
)


def _read_hook_handler(value: Any, path: str) -> Any:
    """A hook handler; ``type = "command"`` gains its serialized defaults, others pass through."""
    if isinstance(value, dict) and value.get("type") == "command":
        defaults = {"commandWindows": None, "timeout": None, "async": False, "statusMessage": None}
        value = {"type": "command", "command": value.get("command")} | {k: value.get(k, d) for k, d in defaults.items()}
    return value


HookHandler: Final = shape("HookHandler", _read_hook_handler)


_MATCHER_GROUP: Final = struct("MatcherGroup", opt("matcher", str), ("hooks", seq(HookHandler), []), default=True)
_HOOK_EVENTS: Final = (
    "PreModelRequest PostModelRequest PreToolUse PermissionRequest PostToolUse PreCompact PostCompact "
    "SessionStart SessionEnd UserPromptSubmit SubagentStart SubagentStop Stop Interrupt"
)
_HOOKS: Final = struct(
    "HooksToml",
    same(_HOOK_EVENTS, meta(seq(_MATCHER_GROUP), AT_PARENT), []),
    positional=False,
    silent=True,
)
QuickDial: Final = record("QuickDial", arity=2, required=("input",))
_EFFECTS: Final = struct(
    "TuiEffects", same("starfield shimmer welcome effort progress title", bool, True), default=True
)
_RENDERING: Final = struct("TuiRendering", same("mermaid math tables lists", bool, True), default=True)
_TUI: Final = struct(
    "Tui",
    ("default_hosts", dict[str, dict[str, str]], {}),
    ("notifications", Annotated[Notifications, AT_PARENT], factory(lambda: Notifications(True))),
    ("notification_method", meta(enum("auto osc9 osc777 bel", buffered=True), AT_PARENT), "auto"),
    ("notification_condition", meta(enum("unfocused always", buffered=True), AT_PARENT), "unfocused"),
    ("animations", bool, True),
    opt("screen_reader_detection_done", bool),
    ("effects", _EFFECTS, factory(_EFFECTS)),
    ("rendering", _RENDERING, factory(_RENDERING)),
    same("show_tooltips show_server_version_notice auto_recap", bool, True),
    opt("disable_paste_burst", bool),
    ("vim_mode_default", bool, False),
    ("question_esc_back", bool, True),
    ("raw_output_mode", bool, False),
    ("fullscreen_transcript", bool, True),
    ("collapse_turn_details", bool, False),
    opt("sidebar_width_percent", U8),
    opt("mouse_scroll_speed", ScrollSpeed),
    ("copy_on_select", _ALWAYS_AUTO_NEVER, "auto"),
    ("copy_on_select_clear_selection", bool, False),
    ("right_click_paste", enum("auto on off"), "auto"),
    ("alternate_screen", _ALWAYS_AUTO_NEVER, "auto"),
    opt("status_line", list[str]),
    ("status_line_use_colors", bool, True),
    opt("terminal_title", list[str]),
    opt("theme pet", str),
    ("pet_anchor", enum("composer screen-bottom"), "composer"),
    opt("session_picker_view", _PICKER_VIEW),
    ("agents_overview_grouping", enum("project status model"), "project"),
    opt("resume_cwd", enum("current session")),
    ("keymap", Keymap, factory(lambda: Keymap(KEYMAP_DEFAULT))),
    ("presets", table(QuickDial), {}),
    ("model_availability_nux", meta(table(U32), struct_text("ModelAvailabilityNuxConfig"), AT_SELF), {}),
    opt("terminal_resize_reflow_max_rows", USIZE),
    positional=False,
    silent=True,
)
_PROFILE: Final = struct(
    "ConfigProfile",
    opt("model service_tier model_provider", str),
    opt("approval_policy", ApprovalPolicy),
    opt("approvals_reviewer", REVIEWER),
    opt("sandbox_mode", SANDBOX_MODE),
    opt("model_reasoning_effort plan_mode_reasoning_effort", str),
    opt("model_reasoning_summary", SUMMARY),
    opt("model_verbosity", VERBOSITY),
    opt("model_catalog_json", AbsPath),
    opt("personality", PERSONALITY),
    opt("chatgpt_base_url", str),
    opt("model_instructions_file js_repl_node_path", AbsPath),
    opt("js_repl_node_module_dirs", list[AbsPath]),
    opt("experimental_compact_prompt_file", AbsPath),
    opt(
        "include_permissions_instructions include_apps_instructions include_collaboration_mode_instructions "
        "include_environment_context include_environment_context_time experimental_use_unified_exec_tool",
        bool,
    ),
    opt("tools", TOOLS),
    opt("web_search", WEB_SEARCH_MODE),
    opt("analytics", ANALYTICS),
    opt("tui", struct("ProfileTui", opt("session_picker_view", _PICKER_VIEW), default=True)),
    opt("windows", WINDOWS),
    opt("features", Features),
    opt("oss_provider", str),
)
_MARKETPLACE: Final = struct(
    "MarketplaceConfig",
    opt("last_updated last_revision", str),
    opt("source_type", enum("git local")),
    opt("source ref", str),
    opt("sparse_paths", list[str]),
    default=True,
)
_SKILLS: Final = struct(
    "SkillsConfig",
    opt("bundled", struct("BundledSkillsConfig", opt("enabled", bool))),
    opt("config", list[Any]),
    default=True,
    omit_defaults=True,
)
_PLUGIN: Final = struct("PluginConfig", opt("enabled", bool), default=True, omit_defaults=True)
ToolSuggestDiscoverable: Final = record("ToolSuggestDiscoverable", arity=2, required=("type",))
ToolSuggestDisabledTool: Final = record("ToolSuggestDisabledTool", arity=2, required=("type",))
PermissionProfileToml: Final = record("PermissionProfileToml", arity=5)
_TOOL_SUGGEST: Final = struct(
    "ToolSuggestConfig",
    ("discoverables", seq(ToolSuggestDiscoverable), []),
    ("disabled_tools", seq(ToolSuggestDisabledTool), []),
    default=True,
)
