"""Readers of the nested requirement tables (network, hooks, computer and browser use, otel,
application, model providers) and their emptiness rules. Internal to
`chamberlain.store.requirements`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Final, Literal, TypeAlias

import msgspec
from chamberlain.errors import RequirementsError
from chamberlain.serde_text import invalid_type, missing_field
from chamberlain.serde_walk import capped, expecting, join_path, variants
from chamberlain.store.requirements_structs import ALLOW_DENY, PATH_STRING, _read, _SerdeError
from chamberlain.store.resolve import BUILTIN_PROVIDERS
from msgspec import Meta

HOOK_EVENTS_BEFORE_DIRS: Final = ("PreModelRequest", "PostModelRequest")
HOOK_EVENTS_AFTER_DIRS: Final = (
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PreCompact",
    "PostCompact",
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "Interrupt",
)
_U64: TypeAlias = Annotated[int, Meta(ge=0)]  # TOML integers are i64: no upper bound to check
_DOMAINS_CONFLICT: Final = (
    "`domains` cannot be combined with legacy `allowed_domains` or `denied_domains` in managed network requirements"
)
_UNIX_CONFLICT: Final = (
    "`unix_sockets` cannot be combined with legacy `allow_unix_sockets` in managed network requirements"
)
_U16: TypeAlias = Annotated[int, Meta(ge=0, le=2**16 - 1)]
#: A permission map read through a buffer: errors inside are reported at the map, an enum that is
#: not a string ``expected string or map`` (serde's buffered wording).
_PERMISSIONS: TypeAlias = Annotated[
    dict[str, Annotated[Literal["allow", "deny"], Meta(extra={"variants": ALLOW_DENY})]], Meta(extra={"cap": True})
]


class RawNetworkRequirementsToml(msgspec.Struct, frozen=True):
    enabled: bool | None = None
    http_port: _U16 | None = None
    socks_port: _U16 | None = None
    allow_upstream_proxy: bool | None = None
    dangerously_allow_non_loopback_proxy: bool | None = None
    dangerously_allow_all_unix_sockets: bool | None = None
    domains: _PERMISSIONS | None = None
    allowed_domains: list[str] | None = None
    managed_allowed_domains_only: bool | None = None
    denied_domains: list[str] | None = None
    unix_sockets: _PERMISSIONS | None = None
    allow_unix_sockets: list[str] | None = None
    allow_local_binding: bool | None = None
    review_domains: list[str] | None = None


def _rules(rules: Mapping[str, str] | None, allowed: list[str] | None, denied: list[str] | None, conflict: str) -> Any:
    """A ``name -> allow|deny`` table sorted by name, or the one the legacy allow/deny lists spell
    (not both: ``conflict``)."""
    if rules is not None and (allowed is not None or denied is not None):
        raise _SerdeError(conflict, "experimental_network")
    if rules is None:
        rules = {**dict.fromkeys(allowed or [], "allow"), **dict.fromkeys(denied or [], "deny")} or None
    return None if rules is None else dict(sorted(rules.items()))


def _pick(rules: Mapping[str, str] | None, want: str) -> list[str] | None:
    return [name for name, rule in (rules or {}).items() if rule == want] or None


def _network(n: RawNetworkRequirementsToml) -> dict[str, Any]:
    domains = _rules(n.domains, n.allowed_domains, n.denied_domains, _DOMAINS_CONFLICT)
    unix = _rules(n.unix_sockets, n.allow_unix_sockets, None, _UNIX_CONFLICT)
    return {
        "enabled": n.enabled,
        "httpPort": n.http_port,
        "socksPort": n.socks_port,
        "allowUpstreamProxy": n.allow_upstream_proxy,
        "dangerouslyAllowNonLoopbackProxy": n.dangerously_allow_non_loopback_proxy,
        "dangerouslyAllowAllUnixSockets": n.dangerously_allow_all_unix_sockets,
        "domains": domains,
        "reviewDomains": n.review_domains,
        "managedAllowedDomainsOnly": n.managed_allowed_domains_only,
        "allowedDomains": _pick(domains, "allow"),
        "deniedDomains": _pick(domains, "deny"),
        "unixSockets": unix,
        "allowUnixSockets": _pick(unix, "allow"),
        "allowLocalBinding": n.allow_local_binding,
    }


class _Hook(msgspec.Struct, frozen=True, kw_only=True):
    """A hook handler: what every kind reads (the ``prompt`` and ``agent`` kinds read only this)."""

    serde_name: ClassVar[str] = "a map"
    serde_positional: ClassVar[bool] = False
    timeout: _U64 | None = None


class _CommandHook(_Hook, frozen=True, kw_only=True):
    command: str
    status_message: str | None = msgspec.field(default=None, name="statusMessage")
    command_windows: str | None = msgspec.field(default=None, name="commandWindows")
    command_windows_snake: str | None = msgspec.field(default=None, name="command_windows")
    run_async: bool = msgspec.field(default=False, name="async")
    additional_context_limit: _U64 | None = msgspec.field(default=None, name="additionalContextLimit")


class _McpToolHook(_Hook, frozen=True, kw_only=True):
    server: str
    tool: str
    input: dict[str, Any] = msgspec.field(default_factory=dict)
    status_message: str | None = msgspec.field(default=None, name="statusMessage")


_HOOK_KINDS: Final[Mapping[str, type[_Hook]]] = {
    "command": _CommandHook,
    "mcp_tool": _McpToolHook,
    "prompt": _Hook,
    "agent": _Hook,
}


class _HookGroup(msgspec.Struct, frozen=True):
    serde_name: ClassVar[str] = "a map"
    serde_positional: ClassVar[bool] = False
    matcher: str | None = None
    hooks: list[Any] = msgspec.field(default_factory=list)


def _hook_handler(v: Any, path: str) -> dict[str, Any]:
    """One handler of a hook group, internally tagged by ``type`` (errors reported at ``path``)."""
    h = _read(v, dict[str, Any], path)
    if "type" not in h:
        raise _SerdeError(missing_field("type"), path)
    if not isinstance(h["type"], str):  # an internally tagged enum reads its tag as an identifier
        raise _SerdeError(invalid_type(h["type"], "variant identifier"), path)
    kind = _read(h["type"], variants(tuple(_HOOK_KINDS)), path)
    hook = _read(h, capped(_HOOK_KINDS[kind]), path)
    match hook:
        case _CommandHook():
            return {
                "type": kind,
                "command": hook.command,
                "commandWindows": hook.command_windows if "commandWindows" in h else hook.command_windows_snake,
                "timeoutSec": hook.timeout,
                "async": hook.run_async,
                "statusMessage": hook.status_message,
                "additionalContextLimit": hook.additional_context_limit,
            }
        case _McpToolHook():
            return {
                "type": kind,
                "server": hook.server,
                "tool": hook.tool,
                "input": hook.input,
                "timeoutSec": hook.timeout,
                "statusMessage": hook.status_message,
            }
    return {"type": kind}


def _hooks(v: Any, path: str) -> dict[str, Any]:
    t = _read(v, expecting(dict[str, Any], "struct ManagedHooksRequirementsToml"), path)

    def events(name: str) -> list[dict[str, Any]]:
        groups = [_read(g, capped(_HookGroup), path) for g in _read(t.get(name, []), list[Any], path)]
        return [{"matcher": g.matcher, "hooks": [_hook_handler(x, path) for x in g.hooks]} for g in groups]

    out: dict[str, Any] = {e: events(e) for e in HOOK_EVENTS_BEFORE_DIRS}
    for key in ("managed_dir", "windows_managed_dir"):
        wire = "managedDir" if key == "managed_dir" else "windowsManagedDir"
        out[wire] = _read(t[key], PATH_STRING, join_path(path, key)) if key in t else None
    out.update((e, events(e)) for e in HOOK_EVENTS_AFTER_DIRS)
    return out


def _all_none(m: Mapping[str, Any] | None) -> bool:
    return m is None or all(x is None for x in m.values())


def _hooks_empty(h: Mapping[str, Any] | None) -> bool:
    return h is None or all(v is None or v == [] for v in h.values())


def _computer_use_empty(c: Mapping[str, Any] | None) -> bool:
    if c is None:
        return True
    macos, windows = c["macos"], c["windows"]
    return (
        all(c[k] is None for k in ("allowLockedComputerUse", "allowPersistentApproval", "defaultAppAccess"))
        and (macos is None or not macos["bundleIds"])
        and (windows is None or (not windows["aumids"] and not windows["exes"]))
    )


def _browser_use_empty(b: Mapping[str, Any] | None) -> bool:
    if b is None:
        return True
    scalars = ("extension", "allowWebmcp", "allowHistoryAccess", "disableAutoReview", "allowGlobalPersistentApproval")
    return (
        all(b[k] is None for k in scalars)
        and _all_none(b["defaultOriginPolicy"])
        and (b["origins"] is None or all(_all_none(o) for o in b["origins"].values()))
    )


#: ``is_empty`` of the wire members whose emptiness is not ``None`` (``ConfigRequirementsToml``).
EMPTINESS: Final[Mapping[str, Callable[[Any], bool]]] = {
    "computerUse": _computer_use_empty,
    "browserUse": _browser_use_empty,
    "inAppBrowser": _all_none,
    "hooks": _hooks_empty,
    "application": _all_none,
    "autoReview": lambda a: a is None or not any(a.values()),
    "models": lambda m: m is None or _all_none(m["newThread"]),
    "feedback": _all_none,
    "otel": _all_none,
}


class ModelProviderInfo(msgspec.Struct, frozen=True):
    """A provider of ``model_providers``, as ``configRequirements/read`` lists it (the members not
    typed here are shown as written)."""

    serde_name: ClassVar[str] = "a map"
    serde_positional: ClassVar[bool] = False
    name: str | None = None
    base_url: str | None = None
    model_catalog_url: str | None = None
    env_key: str | None = None
    env_key_instructions: str | None = None
    experimental_bearer_token: str | None = None
    auth: Any = None
    gateway_oauth: Any = None
    aws: Any = None
    project_id: str | None = None
    location: str | None = None
    credential_file: str | None = None
    wire_api: str = "responses"
    capabilities: Any = None
    query_params: Any = None
    http_headers: Any = None
    env_http_headers: Any = None
    request_max_retries: Any = None
    stream_max_retries: Any = None
    stream_idle_timeout_ms: Any = None
    websocket_connect_timeout_ms: Any = None
    requires_openai_auth: bool = False
    supports_websockets: bool = False
    supports_standalone_web_search: bool = False


def _model_providers(v: Any, path: str = "model_providers") -> dict[str, Any] | None:
    """The ``model_providers`` table, None when it lists none."""
    t = _read(v, dict[str, Any], path)
    reserved = [k for k in t if k in BUILTIN_PROVIDERS]
    if reserved:
        names = ", ".join(f"`{k}`" for k in reserved)
        raise RequirementsError(
            f"model_providers contains reserved built-in provider IDs: {names}. Built-in providers "
            f"cannot be overridden. Rename your custom provider (for example, `{reserved[0]}-custom`)."
        )
    out: dict[str, Any] = {}
    for pid, body in t.items():
        out[pid] = msgspec.structs.asdict(_read(body, ModelProviderInfo, join_path(path, pid)))
        if not out[pid]["name"]:
            raise RequirementsError(f"model_providers.{pid}: provider name must not be empty")
    return out or None
