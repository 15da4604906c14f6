"""The config model: the reference's `ConfigToml` deserialize-then-serialize step.

`render_config` validates the merged TOML of the enabled layers (plain Python data, as tomlkit's
``unwrap()`` gives it) against the model of codex-cli 0.169.0 and returns the ``config`` object that
``config/read`` reports (before requirement pins and the runtime feature overlay), with serde's exact
error wording. `unknown_keys` lists the keys of one layer that the model ignores.

Every fact below was observed on the reference binary (``config/read`` on crafted files); the schema
is a tree of msgspec Structs checked by the shared serde walker and rendered by ``msgspec.convert``.
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
from importlib import resources
from typing import Annotated, Any, ClassVar, Final, Literal

import msgspec
from chamberlain.errors import ConfigModelError
from chamberlain.serde_walk import type_info, unknown_fields
from chamberlain.store.model_schema import (
    _ALWAYS_AUTO_NEVER,
    _PICKER_VIEW,
    PERSONALITY,
    REVIEWER,
    SANDBOX_MODE,
    SUMMARY,
    VERBOSITY,
    WEB_SEARCH_MODE,
    AgentsToml,
    AnalyticsConfigToml,
    AppsConfigToml,
    AutoReviewToml,
    BrowserUseConfigToml,
    ComputerUseConfigToml,
    FeatureToggleToml,
    FeedbackConfigToml,
    GhostSnapshotToml,
    History,
    HooksToml,
    MemoriesToml,
    Notice,
    OtelConfigToml,
    RealtimeAudioToml,
    RealtimeToml,
    SandboxWorkspaceWrite,
    ShellEnvironmentPolicyTomlRaw,
    ToolsToml,
    WindowsToml,
)
from chamberlain.store.model_shapes import (
    KEYMAP_DEFAULT,
    ApprovalPolicy,
    Features,
    Keymap,
    McpEnterpriseManagedAuthConfig,
    McpServer,
    ModelProviders,
    Notifications,
    PermissionProfileToml,
    QuickDial,
    ScrollSpeed,
    ThreadStore,
    ToolSuggestDisabledTool,
    ToolSuggestDiscoverable,
    WorkspaceIds,
)
from chamberlain.store.model_spec import (
    AT_PARENT,
    AT_SELF,
    I64,
    NONZERO_U64,
    U8,
    U16,
    U32,
    U64,
    USIZE,
    AbsPath,
    _prepare,
    enum,
    read_as,
    struct_text,
    toml_datetime_text,
)

__all__ = ["render_config", "toml_datetime_text", "unknown_keys"]

_Effects = ("starfield", "shimmer", "welcome", "effort", "progress", "title")
_NotificationMethodL = Literal["auto", "osc9", "osc777", "bel"]
_NotificationConditionL = Literal["unfocused", "always"]
_RightClickL = Literal["auto", "on", "off"]
_PetAnchorL = Literal["composer", "screen-bottom"]
_GroupingL = Literal["project", "status", "model"]
_ResumeCwdL = Literal["current", "session"]
_SourceTypeL = Literal["git", "local"]
_TrustL = Literal["trusted", "untrusted"]
_TokenScopeL = Literal["total", "body_after_prefix"]
_LoginL = Literal["chatgpt", "api"]
_OauthStoreL = Literal["auto", "file", "keyring"]
_OpenerL = Literal["vscode", "vscode-insiders", "windsurf", "cursor", "none"]
_CliStoreL = Literal["file", "keyring", "auto", "ephemeral"]


class TuiEffects(msgspec.Struct):
    serde_default: ClassVar = True
    starfield: bool = True
    shimmer: bool = True
    welcome: bool = True
    effort: bool = True
    progress: bool = True
    title: bool = True


class TuiRendering(msgspec.Struct):
    serde_default: ClassVar = True
    mermaid: bool = True
    math: bool = True
    tables: bool = True
    lists: bool = True


class Tui(msgspec.Struct):
    serde_positional: ClassVar = False
    serde_silent: ClassVar = True
    default_hosts: dict[str, dict[str, str]] = {}
    notifications: Annotated[Notifications, AT_PARENT] = msgspec.field(default_factory=lambda: Notifications(True))
    notification_method: Annotated[_NotificationMethodL, enum(_NotificationMethodL, buffered=True), AT_PARENT] = "auto"
    notification_condition: Annotated[
        _NotificationConditionL, enum(_NotificationConditionL, buffered=True), AT_PARENT
    ] = "unfocused"
    animations: bool = True
    screen_reader_detection_done: bool | None = None
    effects: TuiEffects = msgspec.field(default_factory=TuiEffects)
    rendering: TuiRendering = msgspec.field(default_factory=TuiRendering)
    show_tooltips: bool = True
    show_server_version_notice: bool = True
    auto_recap: bool = True
    disable_paste_burst: bool | None = None
    vim_mode_default: bool = False
    question_esc_back: bool = True
    raw_output_mode: bool = False
    fullscreen_transcript: bool = True
    collapse_turn_details: bool = False
    sidebar_width_percent: U8 | None = None
    mouse_scroll_speed: ScrollSpeed | None = None
    copy_on_select: _ALWAYS_AUTO_NEVER = "auto"
    copy_on_select_clear_selection: bool = False
    right_click_paste: Annotated[_RightClickL, enum(_RightClickL)] = "auto"
    alternate_screen: _ALWAYS_AUTO_NEVER = "auto"
    status_line: list[str] | None = None
    status_line_use_colors: bool = True
    terminal_title: list[str] | None = None
    theme: str | None = None
    pet: str | None = None
    pet_anchor: Annotated[_PetAnchorL, enum(_PetAnchorL)] = "composer"
    session_picker_view: _PICKER_VIEW | None = None
    agents_overview_grouping: Annotated[_GroupingL, enum(_GroupingL)] = "project"
    resume_cwd: Annotated[_ResumeCwdL, enum(_ResumeCwdL)] | None = None
    keymap: Keymap = msgspec.field(default_factory=lambda: Keymap(KEYMAP_DEFAULT))
    presets: dict[str, QuickDial] = {}
    model_availability_nux: Annotated[dict[str, U32], struct_text("ModelAvailabilityNuxConfig"), AT_SELF] = {}
    terminal_resize_reflow_max_rows: USIZE | None = None


class ProfileTui(msgspec.Struct):
    serde_default: ClassVar = True
    session_picker_view: _PICKER_VIEW | None = None


class ConfigProfile(msgspec.Struct):
    model: str | None = None
    service_tier: str | None = None
    model_provider: str | None = None
    approval_policy: ApprovalPolicy | None = None
    approvals_reviewer: REVIEWER | None = None
    sandbox_mode: SANDBOX_MODE | None = None
    model_reasoning_effort: str | None = None
    plan_mode_reasoning_effort: str | None = None
    model_reasoning_summary: SUMMARY | None = None
    model_verbosity: VERBOSITY | None = None
    model_catalog_json: AbsPath | None = None
    personality: PERSONALITY | None = None
    chatgpt_base_url: str | None = None
    model_instructions_file: AbsPath | None = None
    js_repl_node_path: AbsPath | None = None
    js_repl_node_module_dirs: list[AbsPath] | None = None
    experimental_compact_prompt_file: AbsPath | None = None
    include_permissions_instructions: bool | None = None
    include_apps_instructions: bool | None = None
    include_collaboration_mode_instructions: bool | None = None
    include_environment_context: bool | None = None
    include_environment_context_time: bool | None = None
    experimental_use_unified_exec_tool: bool | None = None
    tools: ToolsToml | None = None
    web_search: WEB_SEARCH_MODE | None = None
    analytics: AnalyticsConfigToml | None = None
    tui: ProfileTui | None = None
    windows: WindowsToml | None = None
    features: Features | None = None
    oss_provider: str | None = None


class MarketplaceConfig(msgspec.Struct):
    serde_default: ClassVar = True
    last_updated: str | None = None
    last_revision: str | None = None
    source_type: Annotated[_SourceTypeL, enum(_SourceTypeL)] | None = None
    source: str | None = None
    ref: str | None = None
    sparse_paths: list[str] | None = None


class BundledSkillsConfig(msgspec.Struct):
    enabled: bool | None = None


class SkillsConfig(msgspec.Struct, omit_defaults=True):
    serde_default: ClassVar = True
    bundled: BundledSkillsConfig | None = None
    config: list[Any] | None = None


class PluginConfig(msgspec.Struct, omit_defaults=True):
    serde_default: ClassVar = True
    enabled: bool | None = None


class ToolSuggestConfig(msgspec.Struct):
    serde_default: ClassVar = True
    discoverables: list[ToolSuggestDiscoverable] = []
    disabled_tools: list[ToolSuggestDisabledTool] = []


class ProjectConfig(msgspec.Struct):
    trust_level: Annotated[_TrustL, enum(_TrustL)] | None = None


class OrchestratorToml(msgspec.Struct):
    skills: FeatureToggleToml | None = None
    mcp: FeatureToggleToml | None = None


class GoalsToml(msgspec.Struct):
    max_goal_token_budget: NONZERO_U64 | None = None


class CloudToml(msgspec.Struct):
    skills: FeatureToggleToml | None = None


class ConfigToml(msgspec.Struct):
    """The members of the wire ``Config``: the 27 typed ones in their fixed order (spec §4.3), then
    the others in the order the reference emitted them once on a fresh home (its order is a hash
    map's and varies between runs)."""

    model: str | None = None
    review_model: str | None = None
    model_context_window: I64 | None = None
    model_auto_compact_token_limit: I64 | None = None
    model_auto_compact_token_limit_scope: Annotated[_TokenScopeL, enum(_TokenScopeL)] | None = None
    model_provider: str | None = None
    approval_policy: ApprovalPolicy | None = None
    approvals_reviewer: REVIEWER | None = None
    sandbox_mode: SANDBOX_MODE | None = None
    sandbox_workspace_write: SandboxWorkspaceWrite | None = None
    forced_chatgpt_workspace_id: WorkspaceIds | None = None
    forced_login_method: Annotated[_LoginL, enum(_LoginL)] | None = None
    web_search: WEB_SEARCH_MODE | None = None
    client_search_provider: Any = None  # accepted and ignored (see `render_config`)
    tools: ToolsToml | None = None
    instructions: str | None = None
    developer_instructions: str | None = None
    compact_prompt: str | None = None
    model_reasoning_effort: str | None = None
    model_reasoning_summary: SUMMARY | None = None
    model_verbosity: VERBOSITY | None = None
    service_tier: str | None = None
    analytics: AnalyticsConfigToml | None = None
    apps: AppsConfigToml | None = None
    browser_use: BrowserUseConfigToml | None = None
    computer_use: ComputerUseConfigToml | None = None
    desktop: dict[str, Any] | None = None
    mcp_oauth_callback_url: str | None = None
    realtime: RealtimeToml | None = None
    auto_review: AutoReviewToml | None = None
    mcp_oauth_credentials_store: Annotated[_OauthStoreL, enum(_OauthStoreL)] = "auto"
    projects: dict[str, ProjectConfig] | None = None
    experimental_thread_store_endpoint: str | None = None
    allow_login_shell: bool = True
    otel: OtelConfigToml | None = None
    history: History = msgspec.field(default_factory=History)
    sqlite_home: AbsPath | None = None
    profile: str | None = None
    responses_api_metadata: dict[str, str] | None = None
    include_collaboration_mode_instructions: bool = True
    experimental_realtime_start_instructions: str | None = None
    plugins: Annotated[dict[str, PluginConfig], struct_text("PluginsConfigToml"), AT_SELF] = {}
    file_opener: Annotated[_OpenerL, enum(_OpenerL)] = "vscode"
    audio: RealtimeAudioToml | None = None
    background_terminal_max_timeout: U64 = 300000
    log_dir: AbsPath | None = None
    ghost_snapshot: GhostSnapshotToml | None = None
    allow_symlinked_codex_home: bool | None = None
    show_raw_agent_reasoning: bool | None = None
    plan_mode_reasoning_effort: str | None = None
    include_environment_context_time: bool = True
    include_permissions_instructions: bool = True
    mcp_oauth_callback_port: U16 | None = None
    model_instructions_file: AbsPath | None = None
    feedback: FeedbackConfigToml | None = None
    tool_output_token_limit: USIZE | None = None
    cli_auth_credentials_store: Annotated[_CliStoreL, enum(_CliStoreL)] = "file"
    experimental_realtime_ws_backend_prompt: str | None = None
    openai_base_url: str | None = None
    experimental_realtime_ws_base_url: str | None = None
    agents: AgentsToml | None = None
    personality: PERSONALITY | None = None
    experimental_realtime_ws_model: str | None = None
    experimental_use_unified_exec_tool: bool | None = None
    project_doc_max_bytes: USIZE = 32768
    model_catalog_json: AbsPath | None = None
    skills: SkillsConfig | None = None
    project_root_markers: list[str] = msgspec.field(default_factory=lambda: [".git"])
    mcp_servers: dict[str, McpServer] = {}
    experimental_compact_prompt_file: AbsPath | None = None
    experimental_thread_store: ThreadStore | None = None
    model_providers: ModelProviders = msgspec.field(default_factory=lambda: ModelProviders({}))
    apps_mcp_product_sku: str | None = None
    mcp_optional_startup_grace_ms: U64 | None = None
    model_post_turn_compact_threshold_percent: U8 | None = None
    orchestrator: OrchestratorToml | None = None
    include_apps_instructions: bool = True
    experimental_realtime_webrtc_call_base_url: str | None = None
    tool_suggest: ToolSuggestConfig | None = None
    memories: MemoriesToml | None = None
    goals: GoalsToml | None = None
    chatgpt_base_url: str = "https://chatgpt.com/backend-api/"
    suppress_unstable_features_warning: bool | None = None
    features: Features = msgspec.field(default_factory=lambda: Features({}))
    daybreak: bool | None = None
    include_environment_context: bool = True
    oss_provider: str | None = None
    cloud: CloudToml | None = None
    thread_unload_delay_secs: U64 | None = None
    tui: Tui | None = None
    profiles: dict[str, ConfigProfile] = {}
    hide_agent_reasoning: bool = False
    project_doc_fallback_filenames: list[str] = []
    notify: list[str] | None = None
    mcp_enterprise_managed_auth: McpEnterpriseManagedAuthConfig | None = None
    shell_environment_policy: ShellEnvironmentPolicyTomlRaw = msgspec.field(
        default_factory=ShellEnvironmentPolicyTomlRaw
    )
    default_permissions: str | None = None
    windows: WindowsToml | None = None
    hooks: HooksToml | None = None
    experimental_realtime_ws_startup_context: str | None = None
    permissions: Annotated[dict[str, PermissionProfileToml], struct_text("PermissionsToml"), AT_SELF] | None = None
    js_repl_node_module_dirs: list[AbsPath] | None = None
    marketplaces: dict[str, MarketplaceConfig] = {}
    check_for_update_on_startup: bool | None = None
    js_repl_node_path: AbsPath | None = None
    disable_paste_burst: bool | None = None
    notice: Notice | None = None


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


def _load_feature_names() -> frozenset[str]:
    data = json.loads(resources.files("chamberlain.data").joinpath("features.json").read_text("utf-8"))
    return frozenset(str(f["name"]) for f in data["features"])


# Legacy `[features]` keys the reference still accepts without a warning (observed: `connectors`;
# `apps_mcp_gateway` is reported as unknown).
_LEGACY_FEATURE_ALIASES: Final[frozenset[str]] = frozenset({"connectors"})
_KNOWN_FEATURES: Final[frozenset[str]] = _load_feature_names() | _LEGACY_FEATURE_ALIASES
