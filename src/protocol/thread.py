"""Wire Structs of the minimal thread surface (spec config.md §10.2): ``thread/start``,
``thread/read``, ``thread/loaded/list``, the ``thread/started`` notification and Chamberlain's
diagnostics method ``chamberlain/thread/effectiveConfig``; and the builders that turn the
registry's domain values (``actors/thread_config.py``) into them. The only place that knows their
JSON names.

Members are in the reference's order where it is known (the replay tool sorts keys, so the order
is not part of the compared wire).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from chamberlain import REFERENCE_VERSION
from chamberlain.protocol.messages import U32
from msgspec import UNSET, Meta, Struct, UnsetType

if TYPE_CHECKING:
    from chamberlain.actors.thread_config import LoadedThread, SandboxSettings

__all__ = [
    "EXPERIMENTAL_START_MEMBERS",
    "Environment",
    "GranularApproval",
    "LoadedListResponse",
    "ThreadEffectiveConfigParams",
    "ThreadLoadedListParams",
    "ThreadReadParams",
    "ThreadReadResponse",
    "ThreadStartParams",
    "ThreadStartResponse",
    "ThreadStartedNotification",
    "ThreadWarningNotification",
    "WireThread",
    "read_result",
    "start_result",
    "wire_thread",
]

# unit-variant enums with the reference's declaration order (its serde errors list them so; a
# bare Literal loses it): the ``variants`` meta of ``serde_walk.variants``
SandboxMode = Annotated[
    Literal["read-only", "workspace-write", "danger-full-access"],
    Meta(extra={"variants": ("read-only", "workspace-write", "danger-full-access")}),
]
ApprovalsReviewer = Annotated[
    Literal["user", "auto_review", "guardian_subagent"],
    Meta(extra={"variants": ("user", "auto_review", "guardian_subagent")}),
]
Personality = Annotated[
    Literal["none", "friendly", "pragmatic"], Meta(extra={"variants": ("none", "friendly", "pragmatic")})
]
ThreadStartSource = Annotated[Literal["startup", "clear"], Meta(extra={"variants": ("startup", "clear")})]

#: thread/start members the reference accepts only with ``capabilities.experimentalApi``, by
#: their wire name (its refusal names them ``thread/start.<name>``).
EXPERIMENTAL_START_MEMBERS: Final = (
    "allowProviderModelFallback", "daybreakEnabled", "dynamicTools", "environments",
    "experimentalRawEvents", "historyMode", "mockExperimentalField", "multiAgentMode", "permissions",
    "projectId", "runtimeWorkspaceRoots", "selectedCapabilityRoots",
)


class _Params(Struct, rename="camel"):
    """Request params: camelCase members, unknown members ignored."""


class ThreadStartParams(_Params):
    cwd: str | None = None
    model: str | None = None
    model_provider: str | None = None
    service_tier: str | None = None
    #: ``untrusted`` | ``on-request`` | ``never`` | ``{"granular": {…}}``, checked by the builder
    #: (the reference's serde wording names a variant a Literal cannot).
    approval_policy: Any = UNSET
    approvals_reviewer: ApprovalsReviewer | None = None
    sandbox: SandboxMode | None = None
    config: dict[str, Any] | None = None
    base_instructions: str | None = None
    developer_instructions: str | None = None
    personality: Personality | None = None
    ephemeral: bool | None = None
    service_name: str | None = None
    session_start_source: ThreadStartSource | None = None
    thread_source: str | None = None
    # experimental members (EXPERIMENTAL_START_MEMBERS): decoded as is, refused by the builder
    allow_provider_model_fallback: Any = UNSET
    daybreak_enabled: Any = UNSET
    dynamic_tools: Any = UNSET
    environments: Any = UNSET
    experimental_raw_events: Any = UNSET
    history_mode: Any = UNSET
    mock_experimental_field: Any = UNSET
    multi_agent_mode: Any = UNSET
    permissions: Any = UNSET
    project_id: Any = UNSET
    runtime_workspace_roots: Any = UNSET
    selected_capability_roots: Any = UNSET


#: ThreadHistoryMode: how a thread's history is read back.
HISTORY_MODES: Final = ("legacy", "paginated")


class LegacyDynamicToolSpec(Struct, rename="camel"):
    """One ``dynamicTools`` entry as the reference decodes it (its struct name is in its errors):
    ``name`` and ``description`` first, then ``inputSchema`` for a function (the default type) or
    ``tools`` for a namespace. Chamberlain runs no turns, so the tools are never called."""

    name: str
    description: str
    input_schema: Any = UNSET
    type: str = "function"
    tools: Any = UNSET
    defer_loading: bool | None = None


class GranularApproval(Struct, forbid_unknown_fields=False):
    """``{"granular": {…}}`` of AskForApproval (snake_case members, the reference's order)."""

    sandbox_approval: bool
    rules: bool
    mcp_elicitations: bool
    skill_approval: bool = False
    request_permissions: bool = False


class ThreadReadParams(_Params):
    thread_id: str
    include_turns: bool = False


class ThreadLoadedListParams(_Params):
    cursor: str | None = None
    limit: U32 | None = None


class ThreadEffectiveConfigParams(_Params):
    thread_id: str


# -- results ------------------------------------------------------------------------------------


class _Result(Struct, rename="camel", omit_defaults=False):
    pass


class Environment(_Result):
    cwd: str
    environment_id: str
    runtime_workspace_roots: list[str]


class ThreadStatus(_Result):
    type: str = "idle"


class WireThread(_Result):
    id: str
    session_id: str
    forked_from_id: None
    parent_thread_id: None
    attached_to_thread_id: None
    preview: str
    ephemeral: bool
    model: str
    model_provider: str
    reasoning_effort: str | None
    created_at: int
    updated_at: int
    recency_at: int
    status: ThreadStatus
    path: str | None
    cwd: str
    cli_version: str
    source: str
    thread_source: str | None
    originator: str
    agent_nickname: None
    agent_role: None
    git_info: None
    name: None
    project_id: None
    section: None
    section_entered_at: None
    daybreak_enabled: None
    environments: list[Environment]
    can_accept_direct_input: bool
    history_mode: str
    extra: None
    turns: list[Any]


class ActivePermissionProfile(_Result):
    id: str
    extends: None = None


class ReadOnlySandbox(Struct, tag_field="type", tag="readOnly", rename="camel", omit_defaults=False):
    network_access: bool = False


class WorkspaceWriteSandbox(Struct, tag_field="type", tag="workspaceWrite", rename="camel", omit_defaults=False):
    writable_roots: list[str]
    network_access: bool
    exclude_tmpdir_env_var: bool
    exclude_slash_tmp: bool


class DangerFullAccessSandbox(Struct, tag_field="type", tag="dangerFullAccess"):
    pass


SandboxPolicy = ReadOnlySandbox | WorkspaceWriteSandbox | DangerFullAccessSandbox


class ThreadStartResponse(_Result):
    thread: WireThread
    model: str
    model_provider: str
    service_tier: str | None
    cwd: str
    instruction_sources: list[str]
    approval_policy: Any
    approvals_reviewer: str
    sandbox: SandboxPolicy
    active_permission_profile: ActivePermissionProfile | None
    reasoning_effort: str | None
    runtime_workspace_roots: list[str]
    disabled_plugin_ids: list[str]
    multi_agent_mode: str


class ThreadStartedNotification(_Result):
    thread: WireThread


class ThreadWarningNotification(_Result):
    """``warning``: the unknown keys of a new thread's layers."""

    message: str
    thread_id: str


class ThreadReadResponse(_Result):
    thread: WireThread
    read_state: None = None


class LoadedListResponse(_Result):
    data: list[str]
    next_cursor: str | None


# -- builders -----------------------------------------------------------------------------------


def wire_thread(t: LoadedThread) -> WireThread:
    s = t.settings
    return WireThread(
        id=t.id, session_id=t.id, forked_from_id=None, parent_thread_id=None, attached_to_thread_id=None,
        preview="", ephemeral=t.ephemeral, model=s.model, model_provider=s.model_provider,
        reasoning_effort=s.reasoning_effort, created_at=t.created_at, updated_at=t.created_at,
        recency_at=t.created_at, status=ThreadStatus(), path=t.path, cwd=t.cwd, cli_version=REFERENCE_VERSION,
        source="vscode", thread_source=t.thread_source, originator=t.originator, agent_nickname=None,
        agent_role=None, git_info=None, name=None, project_id=None, section=None, section_entered_at=None,
        daybreak_enabled=None, environments=[Environment(t.cwd, "local", list(s.runtime_workspace_roots))],
        can_accept_direct_input=True,
        history_mode=t.history_mode, extra=None, turns=[],
    )


def _sandbox(s: SandboxSettings) -> SandboxPolicy:
    match s.mode:
        case "workspace-write":
            return WorkspaceWriteSandbox(
                list(s.writable_roots), s.network_access, s.exclude_tmpdir_env_var, s.exclude_slash_tmp
            )
        case "danger-full-access":
            return DangerFullAccessSandbox()
        case _:
            return ReadOnlySandbox(False)


def start_result(t: LoadedThread) -> ThreadStartResponse:
    s = t.settings
    profile = None if s.sandbox.profile is None else ActivePermissionProfile(s.sandbox.profile)
    return ThreadStartResponse(
        thread=wire_thread(t), model=s.model, model_provider=s.model_provider, service_tier=s.service_tier,
        cwd=t.cwd, instruction_sources=list(s.instruction_sources), approval_policy=s.approval_policy,
        approvals_reviewer=s.approvals_reviewer, sandbox=_sandbox(s.sandbox), active_permission_profile=profile,
        reasoning_effort=s.reasoning_effort, runtime_workspace_roots=list(s.runtime_workspace_roots),
        disabled_plugin_ids=[], multi_agent_mode="explicitRequestOnly",
    )


def read_result(t: LoadedThread) -> ThreadReadResponse:
    return ThreadReadResponse(wire_thread(t))


def unset_or_none(value: Any) -> bool:
    return value is UNSET or value is None or isinstance(value, UnsetType)
