"""The config model's schema: the nested structs of `ConfigToml` as msgspec Structs (field order
is serde's declaration order; a class is named as its Rust type; ``serde_positional = False``: no
positional form; ``serde_default = True``: Rust's ``#[serde(default)]`` on the struct, so ``[]``
gives the defaults). Internal to `chamberlain.store.model`."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeAlias

import msgspec
from chamberlain.errors import ConfigModelError
from chamberlain.serde_text import invalid_type
from chamberlain.serde_walk import capped
from chamberlain.store.model_shapes import (
    APP_TOOL_APPROVAL,
    APP_TOOL_APPROVAL_BUFFERED,
    ComputerUseWindowsExeConfigToml,
    MicrophoneChannel,
    WebSearchTool,
)
from chamberlain.store.model_spec import (
    AT_PARENT,
    I32,
    I64,
    NONZERO_USIZE,
    U32,
    U64,
    USIZE,
    AbsPath,
    Shape,
    _plain,
    enum,
    read_as,
    struct_text,
)

_AllowDenyL = Literal["allow", "deny"]
ALLOW_DENY: TypeAlias = Annotated[_AllowDenyL, enum(_AllowDenyL)]
_ReviewerL = Literal["user", "auto_review", "guardian_subagent"]
REVIEWER: TypeAlias = Annotated[_ReviewerL, enum(_ReviewerL)]
_REVIEWER_BUFFERED: TypeAlias = Annotated[_ReviewerL, enum(_ReviewerL, buffered=True)]
_SandboxModeL = Literal["read-only", "workspace-write", "danger-full-access"]
SANDBOX_MODE: TypeAlias = Annotated[_SandboxModeL, enum(_SandboxModeL)]
_WebSearchModeL = Literal["disabled", "cached", "indexed", "live"]
WEB_SEARCH_MODE: TypeAlias = Annotated[_WebSearchModeL, enum(_WebSearchModeL)]
_SummaryL = Literal["auto", "concise", "detailed", "none"]
SUMMARY: TypeAlias = Annotated[_SummaryL, enum(_SummaryL)]
_VerbosityL = Literal["low", "medium", "high"]
VERBOSITY: TypeAlias = Annotated[_VerbosityL, enum(_VerbosityL)]
_PersonalityL = Literal["none", "friendly", "pragmatic"]
PERSONALITY: TypeAlias = Annotated[_PersonalityL, enum(_PersonalityL)]
_ExporterL = Literal["none", "statsig", "otlp-http", "otlp-grpc"]
_EXPORTER: TypeAlias = Annotated[_ExporterL, enum(_ExporterL)]
_AlwaysAutoNeverL = Literal["auto", "always", "never"]
_ALWAYS_AUTO_NEVER: TypeAlias = Annotated[_AlwaysAutoNeverL, enum(_AlwaysAutoNeverL)]
_PickerViewL = Literal["comfortable", "dense"]
_PICKER_VIEW: TypeAlias = Annotated[_PickerViewL, enum(_PickerViewL)]
_WindowsSandboxL = Literal["elevated", "unelevated", "mxc"]
_SearchProviderL = Literal["standalone", "search_mcp"]
_OmitToolsL = Literal["code_mode", "deferred", "direct"]
_PersistenceL = Literal["save-all", "none"]
_InheritL = Literal["core", "all", "none"]
_CircuitL = Literal["default", "strict"]
_V12L = Literal["v1", "v2"]
_V123L = Literal["v1", "v2", "v3"]
_RealtimeTypeL = Literal["conversational", "transcription"]
_TransportL = Literal["webrtc", "websocket"]
_VoiceL = Literal[
    "alloy", "arbor", "ash", "aube", "ballad", "breeze", "bubbie", "cedar", "coral", "cove", "echo", "ember",
    "haetsal", "hanul", "himari", "juniper", "leher", "maple", "marin", "miko", "neer", "porto", "rindo", "rio",
    "rivage", "sage", "selva", "shimmer", "sol", "sonna", "spruce", "tinta", "vale", "verse", "viola",
]  # fmt: skip
_NotificationMethodL = Literal["auto", "osc9", "osc777", "bel"]
_NotificationConditionL = Literal["unfocused", "always"]
_RightClickL = Literal["auto", "on", "off"]
_PetAnchorL = Literal["composer", "screen-bottom"]
_GroupingL = Literal["project", "status", "model"]
_ResumeCwdL = Literal["current", "session"]
_SourceTypeL = Literal["git", "local"]


class WindowsToml(msgspec.Struct):
    sandbox: Annotated[_WindowsSandboxL, enum(_WindowsSandboxL)] | None = None
    allow_mxc: bool | None = None


class AnalyticsConfigToml(msgspec.Struct):
    enabled: bool | None = None


class FeedbackConfigToml(msgspec.Struct):
    enabled: bool | None = None


class FeatureToggleToml(msgspec.Struct):
    enabled: bool | None = None


class ExperimentalRequestUserInput(msgspec.Struct):
    serde_default: ClassVar = True
    enabled: bool = True


class UpdatePlanToolConfig(msgspec.Struct):
    serde_default: ClassVar = True
    enabled: bool = False


class ToolsToml(msgspec.Struct):
    client_search_provider: Annotated[_SearchProviderL, enum(_SearchProviderL)] | None = None
    web_search: WebSearchTool | None = None
    experimental_request_user_input: ExperimentalRequestUserInput | None = None
    update_plan: UpdatePlanToolConfig | None = None


class AppToolConfig(msgspec.Struct):
    serde_default: ClassVar = True
    enabled: bool | None = None
    approval_mode: APP_TOOL_APPROVAL_BUFFERED | None = None


class AppLinkConfig(msgspec.Struct):
    serde_default: ClassVar = True
    approvals_reviewer: _REVIEWER_BUFFERED | None = None
    default_tools_approval_mode: APP_TOOL_APPROVAL_BUFFERED | None = None


class AppConfig(msgspec.Struct):
    serde_default: ClassVar = True
    enabled: bool = True
    omit_tools_from: list[Annotated[_OmitToolsL, enum(_OmitToolsL, buffered=True)]] | None = None
    approvals_reviewer: _REVIEWER_BUFFERED | None = None
    destructive_enabled: bool | None = None
    open_world_enabled: bool | None = None
    default_tools_approval_mode: APP_TOOL_APPROVAL_BUFFERED | None = None
    default_tools_enabled: bool | None = None
    tools: Annotated[dict[str, AppToolConfig], struct_text("AppToolsConfig")] | None = None
    links: Annotated[dict[str, AppLinkConfig], struct_text("AppLinksConfig")] | None = None


class AppsDefaultConfig(msgspec.Struct):
    serde_default: ClassVar = True
    enabled: bool = True
    approvals_reviewer: REVIEWER | None = None
    destructive_enabled: bool = True
    open_world_enabled: bool = True
    default_tools_approval_mode: APP_TOOL_APPROVAL | None = None


class Flattened(Shape):
    """A struct with a flattened map of the remaining keys: its fields, then each other key read
    as ``extra`` through serde's buffer (errors at the struct's path). Its unknown keys are silent."""

    fields: ClassVar[type[msgspec.Struct]]
    extra: ClassVar[Any]

    @classmethod
    def read(cls, value: Any, path: str, base_dir: str | None = None) -> Any:
        if not isinstance(value, dict):
            raise ConfigModelError(invalid_type(value, f"struct {cls.__name__}"), path)
        known = {f for f in cls.fields.__struct_encode_fields__}
        out: dict[str, Any] = read_as(cls.fields, {k: v for k, v in value.items() if k in known}, path, base_dir)
        extra = capped(cls.extra)
        out.update((k, read_as(extra, v, path, base_dir)) for k, v in value.items() if k not in known)
        return out

    @classmethod
    def render(cls, value: Any, base_dir: str | None) -> Any:
        return cls.read(value, "", base_dir)


class _AppsFields(msgspec.Struct):
    default: AppsDefaultConfig | None = msgspec.field(default=None, name="_default")


class AppsConfigToml(Flattened):
    fields = _AppsFields
    extra = AppConfig


class BrowserUseOriginPolicyConfigToml(msgspec.Struct):
    access: ALLOW_DENY | None = None
    downloads: ALLOW_DENY | None = None
    uploads: ALLOW_DENY | None = None
    full_cdp_access: ALLOW_DENY | None = None


class BrowserUseConfigToml(msgspec.Struct):
    allow_history_access: bool | None = None
    default_origin_policy: BrowserUseOriginPolicyConfigToml | None = None
    origins: dict[str, BrowserUseOriginPolicyConfigToml] | None = None


class ComputerUseMacosConfigToml(msgspec.Struct):
    bundle_ids: dict[str, ALLOW_DENY] | None = None


class ComputerUseWindowsConfigToml(msgspec.Struct):
    aumids: dict[str, ALLOW_DENY] | None = None
    exes: list[ComputerUseWindowsExeConfigToml] | None = None


class ComputerUseConfigToml(msgspec.Struct):
    default_app_access: ALLOW_DENY | None = None
    macos: ComputerUseMacosConfigToml | None = None
    windows: ComputerUseWindowsConfigToml | None = None


class SandboxWorkspaceWrite(msgspec.Struct):
    serde_default: ClassVar = True
    writable_roots: list[AbsPath] = []
    network_access: bool = False
    exclude_tmpdir_env_var: bool = False
    exclude_slash_tmp: bool = False


class History(msgspec.Struct):
    serde_default: ClassVar = True
    persistence: Annotated[_PersistenceL, enum(_PersistenceL)] = "save-all"
    max_bytes: USIZE | None = None


class ShellEnvironmentPolicyTomlRaw(msgspec.Struct):
    inherit: Annotated[_InheritL, enum(_InheritL)] | None = None
    ignore_default_excludes: bool | None = None
    exclude: list[str] | None = None
    set: dict[str, str] | None = None
    include_only: list[str] | None = None
    filters: dict[str, Any] | None = None
    experimental_use_profile: bool | None = None


class ToolResultLogConfig(msgspec.Struct):
    serde_default: ClassVar = True
    max_bytes: USIZE = 2048


class OtelConfigToml(msgspec.Struct):
    tool_result: ToolResultLogConfig | None = None
    log_sse_deltas: bool | None = None
    log_user_prompt: bool | None = None
    log_agent_responses: bool | None = None
    log_guardian_assessments: bool | None = None
    environment: str | None = None
    exporter: _EXPORTER | None = None
    trace_exporter: _EXPORTER | None = None
    metrics_exporter: _EXPORTER | None = None
    span_attributes: dict[str, str] | None = None
    tracestate: dict[str, dict[str, str]] | None = None


class MemoriesToml(msgspec.Struct):
    version: Annotated[_V12L, enum(_V12L)] | None = None
    dual_write: bool | None = None
    disable_on_external_context: bool | None = None
    generate_memories: bool | None = None
    use_memories: bool | None = None
    dedicated_tools: bool | None = None
    max_raw_memories_for_consolidation: USIZE | None = None
    max_unused_days: I64 | None = None
    max_rollout_age_days: I64 | None = None
    max_rollouts_per_startup: USIZE | None = None
    min_rollout_idle_hours: I64 | None = None
    min_rate_limit_remaining_percent: I64 | None = None
    extract_model: str | None = None
    consolidation_model: str | None = None
    consolidation_service_tier: str | None = None


class _AgentsFields(msgspec.Struct):
    enabled: bool | None = None
    max_concurrent_threads_per_session: USIZE | None = None
    max_depth: I32 | None = None
    default_subagent_model: str | None = None
    default_subagent_reasoning_effort: str | None = None
    job_max_runtime_seconds: U64 | None = None
    interrupt_message: bool | None = None


class AgentRoleToml(msgspec.Struct):
    description: str | None = None
    config_file: AbsPath | None = None
    nickname_candidates: list[str] | None = None


class AgentsToml(Flattened):
    fields = _AgentsFields
    extra = AgentRoleToml


class AutoReviewToml(msgspec.Struct):
    timeout_ms: U32 | None = None
    circuit_break_action: Annotated[_CircuitL, enum(_CircuitL)] | None = None
    policy: str | None = None
    experimental_conversation_history_prompt: str | None = None
    conversation_history_max_output_tokens: NONZERO_USIZE | None = None


class RealtimeToml(msgspec.Struct):
    version: Annotated[_V123L, enum(_V123L)] | None = None
    type: Annotated[_RealtimeTypeL, enum(_RealtimeTypeL)] | None = None
    transport: Annotated[_TransportL, enum(_TransportL)] | None = None
    voice: Annotated[_VoiceL, enum(_VoiceL)] | None = None


class RealtimeAudioToml(msgspec.Struct):
    microphone_channel: MicrophoneChannel | None = None
    microphone: str | None = None
    speaker: str | None = None


class GhostSnapshotToml(msgspec.Struct):
    ignore_large_untracked_files: I64 | None = None
    ignore_large_untracked_dirs: I64 | None = None
    disable_warnings: bool | None = None


class ExternalConfigMigrationPrompts(msgspec.Struct):
    home: bool | None = None
    home_last_prompted_at: I64 | None = None
    projects: dict[str, bool] = {}
    project_last_prompted_at: dict[str, I64] = {}


class Notice(msgspec.Struct):
    hide_gov_cloud_guidance: bool | None = None
    hide_full_access_warning: bool | None = None
    hide_world_writable_warning: bool | None = None
    fast_default_opt_out: bool | None = None
    hide_rate_limit_model_nudge: bool | None = None
    hide_gpt5_1_migration_prompt: bool | None = None
    hide_gpt_5_1_codex_max: bool | None = msgspec.field(default=None, name="hide_gpt-5.1-codex-max_migration_prompt")
    model_migrations: dict[str, str] = {}
    external_config_migration_prompts: ExternalConfigMigrationPrompts = msgspec.field(
        default_factory=ExternalConfigMigrationPrompts
    )


def _read_hook_handler(value: Any, path: str) -> Any:
    """A hook handler; ``type = "command"`` gains its serialized defaults, others pass through."""
    if isinstance(value, dict) and value.get("type") == "command":
        defaults = {"commandWindows": None, "timeout": None, "async": False, "statusMessage": None}
        value = {"type": "command", "command": value.get("command")} | {k: value.get(k, d) for k, d in defaults.items()}
    return _plain(value)


class HookHandler(Shape, read=_read_hook_handler):
    pass


class MatcherGroup(msgspec.Struct):
    serde_default: ClassVar = True
    matcher: str | None = None
    hooks: list[HookHandler] = []


_HOOK_EVENTS: TypeAlias = Annotated[list[MatcherGroup], AT_PARENT]


class HooksToml(msgspec.Struct):
    serde_positional: ClassVar = False
    serde_silent: ClassVar = True
    PreModelRequest: _HOOK_EVENTS = []
    PostModelRequest: _HOOK_EVENTS = []
    PreToolUse: _HOOK_EVENTS = []
    PermissionRequest: _HOOK_EVENTS = []
    PostToolUse: _HOOK_EVENTS = []
    PreCompact: _HOOK_EVENTS = []
    PostCompact: _HOOK_EVENTS = []
    SessionStart: _HOOK_EVENTS = []
    SessionEnd: _HOOK_EVENTS = []
    UserPromptSubmit: _HOOK_EVENTS = []
    SubagentStart: _HOOK_EVENTS = []
    SubagentStop: _HOOK_EVENTS = []
    Stop: _HOOK_EVENTS = []
    Interrupt: _HOOK_EVENTS = []
