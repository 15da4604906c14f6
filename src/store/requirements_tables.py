"""Readers of the nested requirement tables (network, hooks, computer and browser use, otel,
application, model providers) and their emptiness rules. Internal to
`chamberlain.store.requirements`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from chamberlain.errors import RequirementsError
from chamberlain.serde_text import invalid_type, missing_field
from chamberlain.store.requirements_names import (
    ALLOW_DENY,
    HOOK_EVENTS_AFTER_DIRS,
    HOOK_EVENTS_BEFORE_DIRS,
    LIFETIME_VARIANTS,
    MODEL_PROVIDER_FIELDS,
    OTEL_FIELDS,
    RESERVED_PROVIDER_IDS,
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
    _struct,
    _table,
    _uint,
    _variant,
)

_NETWORK_KEYS: Final = (
    "enabled",
    "http_port",
    "socks_port",
    "allow_upstream_proxy",
    "dangerously_allow_non_loopback_proxy",
    "dangerously_allow_all_unix_sockets",
    "domains",
    "allowed_domains",
    "managed_allowed_domains_only",
    "denied_domains",
    "unix_sockets",
    "allow_unix_sockets",
    "allow_local_binding",
    "review_domains",
)
_DOMAINS_CONFLICT: Final = (
    "`domains` cannot be combined with legacy `allowed_domains` or `denied_domains` in managed network "
    "requirements"
)
_UNIX_CONFLICT: Final = (
    "`unix_sockets` cannot be combined with legacy `allow_unix_sockets` in managed network requirements"
)


def _merge_legacy(
    rules: dict[str, str] | None, allowed: list[str] | None, denied: list[str] | None, path: str, conflict: str
) -> dict[str, str] | None:
    """A ``name -> allow|deny`` table, or the one the legacy allow/deny lists spell (not both)."""
    if rules is not None and (allowed is not None or denied is not None):
        raise _SerdeError(conflict, path)
    if rules is not None:
        return rules
    legacy = {name: "allow" for name in allowed or []}
    legacy.update({name: "deny" for name in denied or []})
    return legacy or None


def _network(v: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    t = _struct(v, path, "RawNetworkRequirementsToml", _NETWORK_KEYS, unknown)

    def b(key: str) -> Any:
        return _opt(t, key, path, _bool)

    def strs(key: str) -> list[str] | None:
        raw = _opt(t, key, path, _seq)
        return None if raw is None else [_str(x, _join(path, key)) for x in raw]

    def perm_map(key: str, variants: Sequence[str]) -> dict[str, str] | None:
        raw = _opt(t, key, path, _map)
        if raw is None:
            return None
        return {k: _variant(x, variants, _join(path, key)) for k, x in raw.items()}

    read = (perm_map("domains", ALLOW_DENY), strs("allowed_domains"), strs("denied_domains"))
    read_unix = (perm_map("unix_sockets", ALLOW_DENY), strs("allow_unix_sockets"))
    domains = _merge_legacy(*read, path, _DOMAINS_CONFLICT)
    unix = _merge_legacy(*read_unix, None, path, _UNIX_CONFLICT)
    domains_sorted = None if domains is None else dict(sorted(domains.items()))
    unix_sorted = None if unix is None else dict(sorted(unix.items()))

    def pick(m: dict[str, str] | None, want: str) -> list[str] | None:
        if m is None:
            return None
        picked = [k for k, p in m.items() if p == want]
        return picked or None

    return {
        "enabled": b("enabled"),
        "httpPort": _opt(t, "http_port", path, lambda x, p: _uint(x, p, 16)),
        "socksPort": _opt(t, "socks_port", path, lambda x, p: _uint(x, p, 16)),
        "allowUpstreamProxy": b("allow_upstream_proxy"),
        "dangerouslyAllowNonLoopbackProxy": b("dangerously_allow_non_loopback_proxy"),
        "dangerouslyAllowAllUnixSockets": b("dangerously_allow_all_unix_sockets"),
        "domains": domains_sorted,
        "reviewDomains": strs("review_domains"),
        "managedAllowedDomainsOnly": b("managed_allowed_domains_only"),
        "allowedDomains": pick(domains_sorted, "allow"),
        "deniedDomains": pick(domains_sorted, "deny"),
        "unixSockets": unix_sorted,
        "allowUnixSockets": pick(unix_sorted, "allow"),
        "allowLocalBinding": b("allow_local_binding"),
    }


def _hook_handler(v: Any, path: str) -> dict[str, Any]:
    h = _map(v, path)
    if "type" not in h:
        raise _SerdeError(missing_field("type"), path)
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


def _hooks_empty(h: Mapping[str, Any]) -> bool:
    return (
        h["managedDir"] is None
        and h["windowsManagedDir"] is None
        and all(not h[e] for e in HOOK_EVENTS_BEFORE_DIRS + HOOK_EVENTS_AFTER_DIRS)
    )


def _computer_use(v: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    t = _struct(v, path, "ComputerUseRequirementsToml", _COMPUTER_USE_KEYS, unknown)
    macos = None
    if "macos" in t:
        mp = _join(path, "macos")
        m = _struct(t["macos"], mp, "ComputerUseMacosRequirementsToml", ("bundle_ids",), unknown)
        ids = _opt(m, "bundle_ids", mp, _map)
        macos = {
            "bundleIds": None
            if ids is None
            else {k: _variant(x, ALLOW_DENY, _join(mp, "bundle_ids")) for k, x in sorted(ids.items())}
        }
    windows = None
    if "windows" in t:
        wp = _join(path, "windows")
        w = _struct(t["windows"], wp, "ComputerUseWindowsRequirementsToml", ("aumids", "exes"), unknown)
        aumids = _opt(w, "aumids", wp, _map)
        exes = _opt(w, "exes", wp, _seq)
        exes_out = None
        if exes is not None:
            exes_out = []
            ep = _join(wp, "exes")
            for e in exes:
                em = _map(e, ep)
                for req in ("access", "product_name", "publisher_name"):
                    if req not in em:
                        raise _SerdeError(missing_field(req), ep)
                exes_out.append(
                    {
                        "publisherName": _str(em["publisher_name"], ep),
                        "productName": _str(em["product_name"], ep),
                        "binaryName": None if "binary_name" not in em else _str(em["binary_name"], ep),
                        "access": _variant(em["access"], ALLOW_DENY, ep),
                    }
                )
        windows = {
            "aumids": None
            if aumids is None
            else {k: _variant(x, ALLOW_DENY, _join(wp, "aumids")) for k, x in sorted(aumids.items())},
            "exes": exes_out,
        }
    return {
        "allowLockedComputerUse": _opt(t, "allow_locked_computer_use", path, _bool),
        "allowPersistentApproval": _opt(t, "allow_persistent_approval", path, _bool),
        "defaultAppAccess": _opt(t, "default_app_access", path, lambda x, p: _variant(x, ALLOW_DENY, p)),
        "macos": macos,
        "windows": windows,
    }


def _computer_use_empty(c: Mapping[str, Any]) -> bool:
    macos, windows = c["macos"], c["windows"]
    return (
        c["allowLockedComputerUse"] is None
        and c["allowPersistentApproval"] is None
        and c["defaultAppAccess"] is None
        and (macos is None or not macos["bundleIds"])
        and (windows is None or (not windows["aumids"] and not windows["exes"]))
    )


_COMPUTER_USE_KEYS: Final = (
    "allow_locked_computer_use",
    "allow_persistent_approval",
    "default_app_access",
    "macos",
    "windows",
)
_BROWSER_USE_KEYS: Final = (
    "extension",
    "allow_webmcp",
    "allow_history_access",
    "disable_auto_review",
    "allow_global_persistent_approval",
    "default_origin_policy",
    "origins",
)
_ORIGIN_KEYS: Final = (
    ("access", "access"),
    ("downloads", "downloads"),
    ("uploads", "uploads"),
    ("full_cdp_access", "fullCdpAccess"),
    ("auto_review", "autoReview"),
    ("persistent_approval", "persistentApproval"),
    ("access_approval_lifetime", "accessApprovalLifetime"),
)


def _origin_policy(v: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    t = _struct(v, path, "BrowserUseOriginPolicyToml", [k for k, _ in _ORIGIN_KEYS], unknown)
    out: dict[str, Any] = {}
    for key, wire in _ORIGIN_KEYS:
        if key == "persistent_approval":
            out[wire] = _opt(t, key, path, _bool)
        elif key == "access_approval_lifetime":
            out[wire] = _opt(t, key, path, lambda x, p: _variant(x, LIFETIME_VARIANTS, p))
        else:
            out[wire] = _opt(t, key, path, lambda x, p: _variant(x, ALLOW_DENY, p))
    return out


def _browser_use(v: Any, path: str, unknown: list[str]) -> dict[str, Any]:
    t = _struct(v, path, "BrowserUseRequirementsToml", _BROWSER_USE_KEYS, unknown)
    extension = None
    if "extension" in t:
        xp = _join(path, "extension")
        x = _struct(t["extension"], xp, "BrowserUseExtensionRequirementsToml", ("request_headers",), unknown)
        headers = _opt(x, "request_headers", xp, _seq)
        hp = _join(xp, "request_headers")
        out_headers = None
        if headers is not None:
            out_headers = []
            for h in headers:
                hm = _map(h, hp)
                for req in ("name", "value"):
                    if req not in hm:
                        raise _SerdeError(missing_field(req), hp)
                out_headers.append({"name": _str(hm["name"], hp), "value": _str(hm["value"], hp)})
        extension = {"requestHeaders": out_headers}
    origins = _opt(t, "origins", path, _map)
    return {
        "extension": extension,
        "allowWebmcp": _opt(t, "allow_webmcp", path, _bool),
        "allowHistoryAccess": _opt(t, "allow_history_access", path, _bool),
        "disableAutoReview": _opt(t, "disable_auto_review", path, _bool),
        "allowGlobalPersistentApproval": _opt(t, "allow_global_persistent_approval", path, _bool),
        "defaultOriginPolicy": None
        if "default_origin_policy" not in t
        else _origin_policy(t["default_origin_policy"], _join(path, "default_origin_policy"), unknown),
        "origins": None
        if origins is None
        else {k: _origin_policy(o, _join(path, "origins"), unknown) for k, o in sorted(origins.items())},
    }


def _all_none(m: Mapping[str, Any] | None) -> bool:
    return m is None or all(x is None for x in m.values())


def _browser_use_empty(b: Mapping[str, Any]) -> bool:
    scalars = ("allowWebmcp", "allowHistoryAccess", "disableAutoReview", "allowGlobalPersistentApproval")
    return (
        b["extension"] is None
        and all(b[k] is None for k in scalars)
        and _all_none(b["defaultOriginPolicy"])
        and (b["origins"] is None or all(_all_none(o) for o in b["origins"].values()))
    )


def _otel_exporter(v: Any, path: str) -> Any:
    if isinstance(v, str):
        return _variant(v, ("none", "statsig", "otlp-http", "otlp-grpc"), path)
    t = _map(v, path)
    if len(t) != 1:
        raise _SerdeError(invalid_type(v, "enum OtelExporterKind"), path)
    kind, body = next(iter(t.items()))
    kind = _variant(kind, ("none", "statsig", "otlp-http", "otlp-grpc"), path)
    b = _map(body, path)
    if "endpoint" not in b:
        raise _SerdeError(missing_field("endpoint"), path)
    headers = {} if "headers" not in b else {k: "[redacted]" for k in _map(b["headers"], path)}
    tls = None
    if b.get("tls") is not None:
        tt = _map(b["tls"], path)
        tls = {
            k: (None if k not in tt else _str(tt[k], path))
            for k in ("ca-certificate", "client-certificate", "client-private-key")
        }
    out: dict[str, Any] = {"endpoint": _str(b["endpoint"], path), "headers": headers}
    if kind == "otlp-http":
        out["protocol"] = (
            "binary" if "protocol" not in b else _variant(b["protocol"], ("binary", "json"), path)
        )
    out["tls"] = tls
    return {kind: out}


def _otel(v: Any, path: str) -> dict[str, Any]:
    t = _struct(v, path, "OtelRequirementsToml", OTEL_FIELDS, None)
    out: dict[str, Any] = {}
    for key in OTEL_FIELDS:
        p = _join(path, key)
        if key not in t:
            out[key] = None
        elif key == "tool_result":
            tr = _map(t[key], p)
            if "max_bytes" not in tr:
                raise _SerdeError(missing_field("max_bytes"), p)
            out[key] = {"max_bytes": _uint(tr["max_bytes"], p, 64)}
        elif key.startswith("log_"):
            out[key] = _bool(t[key], p)
        elif key == "environment":
            out[key] = _str(t[key], p)
        elif key.endswith("exporter"):
            out[key] = _otel_exporter(t[key], p)
        elif key == "span_attributes":
            out[key] = {k: _str(x, p) for k, x in _map(t[key], p).items()}
        else:  # tracestate
            out[key] = {
                k: {kk: _str(xx, p) for kk, xx in _map(x, p).items()} for k, x in _map(t[key], p).items()
            }
    return out


def _application(v: Any, path: str) -> dict[str, Any]:
    t = _struct(v, path, "ApplicationRequirementsToml", ("network", "storage"), None)
    network = None
    if "network" in t:
        np_ = _join(path, "network")
        n = _struct(t["network"], np_, "ApplicationNetworkRequirementsToml", ("enabled", "domains"), None)
        doms = _opt(n, "domains", np_, _map) or {}
        network = {
            "enabled": True if "enabled" not in n else _bool(n["enabled"], _join(np_, "enabled")),
            "domains": {k: _variant(x, ALLOW_DENY, _join(np_, "domains")) for k, x in sorted(doms.items())},
        }
    storage = None
    if "storage" in t:
        sp = _join(path, "storage")
        s = _struct(
            t["storage"], sp, "ApplicationStorageRequirementsToml",
            ("default_project_parent", "projectless_workspace_root"), None,
        )
        storage = {
            "defaultProjectParent": _opt(s, "default_project_parent", sp, _str),
            "projectlessWorkspaceRoot": _opt(s, "projectless_workspace_root", sp, _str),
        }
    return {"network": network, "storage": storage}


def _model_providers(v: Any, path: str) -> dict[str, Any]:
    t = _map(v, path)
    reserved = [k for k in t if k in RESERVED_PROVIDER_IDS]
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
    return out
