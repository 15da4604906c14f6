"""Readers of the nested requirement tables (network, hooks, computer and browser use, otel,
application, model providers) and their emptiness rules. Internal to
`chamberlain.store.requirements`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal, TypeAlias

import msgspec
from chamberlain.errors import RequirementsError
from chamberlain.serde_text import invalid_type, missing_field
from chamberlain.store.requirements_names import (
    ALLOW_DENY,
    BUILTIN_MODEL_PROVIDERS,
    HOOK_EVENTS_AFTER_DIRS,
    HOOK_EVENTS_BEFORE_DIRS,
    MODEL_PROVIDER_FIELDS,
)
from chamberlain.store.requirements_read import (
    _bool,
    _join,
    _map,
    _opt,
    _path_string,
    _seq,
    _SerdeError,
    _str,
    _table,
    _uint,
    _variant,
)
from msgspec import Meta

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


def _merge_legacy(
    rules: Mapping[str, str] | None,
    allowed: list[str] | None,
    denied: list[str] | None,
    path: str,
    conflict: str,
) -> dict[str, str] | None:
    """A ``name -> allow|deny`` table, or the one the legacy allow/deny lists spell (not both)."""
    if rules is not None and (allowed is not None or denied is not None):
        raise _SerdeError(conflict, path)
    if rules is not None:
        return dict(rules)
    legacy = {name: "allow" for name in allowed or []}
    legacy.update({name: "deny" for name in denied or []})
    return legacy or None


def _network(n: RawNetworkRequirementsToml, path: str = "experimental_network") -> dict[str, Any]:
    domains = _merge_legacy(n.domains, n.allowed_domains, n.denied_domains, path, _DOMAINS_CONFLICT)
    unix = _merge_legacy(n.unix_sockets, n.allow_unix_sockets, None, path, _UNIX_CONFLICT)
    domains_sorted = None if domains is None else dict(sorted(domains.items()))
    unix_sorted = None if unix is None else dict(sorted(unix.items()))

    def pick(m: dict[str, str] | None, want: str) -> list[str] | None:
        picked = [k for k, p in (m or {}).items() if p == want]
        return picked or None

    return {
        "enabled": n.enabled,
        "httpPort": n.http_port,
        "socksPort": n.socks_port,
        "allowUpstreamProxy": n.allow_upstream_proxy,
        "dangerouslyAllowNonLoopbackProxy": n.dangerously_allow_non_loopback_proxy,
        "dangerouslyAllowAllUnixSockets": n.dangerously_allow_all_unix_sockets,
        "domains": domains_sorted,
        "reviewDomains": n.review_domains,
        "managedAllowedDomainsOnly": n.managed_allowed_domains_only,
        "allowedDomains": pick(domains_sorted, "allow"),
        "deniedDomains": pick(domains_sorted, "deny"),
        "unixSockets": unix_sorted,
        "allowUnixSockets": pick(unix_sorted, "allow"),
        "allowLocalBinding": n.allow_local_binding,
    }


def _hook_handler(v: Any, path: str) -> dict[str, Any]:
    h = _map(v, path)
    if "type" not in h:
        raise _SerdeError(missing_field("type"), path)
    if not isinstance(h["type"], str):  # an internally tagged enum reads its tag as an identifier
        raise _SerdeError(invalid_type(h["type"], "variant identifier"), path)
    kind = _variant(h["type"], ("command", "mcp_tool", "prompt", "agent"), path)

    def opt_str(*keys: str) -> str | None:
        for k in keys:
            if k in h:
                return _str(h[k], path)
        return None

    timeout = None if "timeout" not in h else _uint(h["timeout"], path, 64)
    if kind == "command":
        if "command" not in h:
            raise _SerdeError(missing_field("command"), path)
        limit = None if "additionalContextLimit" not in h else _uint(h["additionalContextLimit"], path, 64)
        return {
            "type": "command",
            "command": _str(h["command"], path),
            "commandWindows": opt_str("commandWindows", "command_windows"),
            "timeoutSec": timeout,
            "async": False if "async" not in h else _bool(h["async"], path),
            "statusMessage": opt_str("statusMessage"),
            "additionalContextLimit": limit,
        }
    if kind == "mcp_tool":
        for req in ("server", "tool"):
            if req not in h:
                raise _SerdeError(missing_field(req), path)
        return {
            "type": "mcp_tool",
            "server": _str(h["server"], path),
            "tool": _str(h["tool"], path),
            "input": {} if "input" not in h else _map(h["input"], path),
            "timeoutSec": timeout,
            "statusMessage": opt_str("statusMessage"),
        }
    return {"type": kind}


def _hooks(v: Any, path: str) -> dict[str, Any]:
    t = _table(v, path, "ManagedHooksRequirementsToml")

    def events(name: str) -> list[dict[str, Any]]:
        if name not in t:
            return []
        groups = []
        for g in _seq(t[name], path):
            gm = _map(g, path)
            matcher = None if "matcher" not in gm else _str(gm["matcher"], path)
            handlers = [] if "hooks" not in gm else [_hook_handler(x, path) for x in _seq(gm["hooks"], path)]
            groups.append({"matcher": matcher, "hooks": handlers})
        return groups

    out: dict[str, Any] = {e: events(e) for e in HOOK_EVENTS_BEFORE_DIRS}
    out["managedDir"] = _opt(t, "managed_dir", path, _path_string)
    out["windowsManagedDir"] = _opt(t, "windows_managed_dir", path, _path_string)
    for e in HOOK_EVENTS_AFTER_DIRS:
        out[e] = events(e)
    return out


def _all_none(m: Mapping[str, Any] | None) -> bool:
    return m is None or all(x is None for x in m.values())


def _hooks_empty(h: Mapping[str, Any] | None) -> bool:
    return h is None or all(not v for v in h.values())


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


def _model_providers(v: Any, path: str = "model_providers") -> dict[str, Any] | None:
    """The ``model_providers`` table, None when it lists none."""
    t = _map(v, path)
    reserved = [k for k in t if k in BUILTIN_MODEL_PROVIDERS]
    if reserved:
        names = ", ".join(f"`{k}`" for k in reserved)
        raise RequirementsError(
            f"model_providers contains reserved built-in provider IDs: {names}. Built-in providers "
            f"cannot be overridden. Rename your custom provider (for example, `{reserved[0]}-custom`)."
        )
    out: dict[str, Any] = {}
    for pid, body in t.items():
        p = _join(path, pid)
        b = _map(body, p)
        entry: dict[str, Any] = {}
        for key, default in MODEL_PROVIDER_FIELDS:
            if key not in b:
                entry[key] = default
            elif key in (
                "name",
                "base_url",
                "env_key",
                "env_key_instructions",
                "wire_api",
                "model_catalog_url",
                "experimental_bearer_token",
                "project_id",
                "location",
                "credential_file",
            ):
                entry[key] = _str(b[key], _join(p, key))
            elif key in ("requires_openai_auth", "supports_websockets", "supports_standalone_web_search"):
                entry[key] = _bool(b[key], _join(p, key))
            else:
                entry[key] = b[key]
        if not entry["name"]:
            raise RequirementsError(f"model_providers.{pid}: provider name must not be empty")
        out[pid] = entry
    return out or None
