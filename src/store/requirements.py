"""Admin requirements: ``<system>/requirements.toml`` plus the legacy ``managed_config.toml`` keys.

Everything here was observed on codex-cli 0.169.0 (``shared/spec/config.md`` §6, §9 and the probes
listed in ``tests/test_requirements.py``). The module reads one file and turns it into:

* the ``requirements`` member of ``configRequirements/read`` (:meth:`Requirements.wire`);
* exact-value pins applied to ``config/read`` (:meth:`Requirements.apply_pins`, :attr:`exact_pins`);
* feature pins checked on writes (:meth:`Requirements.check_features`);
* startup ``configWarning`` summaries (:meth:`Requirements.warnings`, :meth:`unknown_setting_lines`).

Errors, as the reference reports them:

* :class:`chamberlain.errors.RequirementsError` — the server refuses to start (``Error: <message>``);
* :class:`RequirementsParseError` (a :class:`chamberlain.errors.TomlParseError`) — the server *starts*
  with "Invalid configuration; using defaults." (details = ``str(err)``, no path/range) and every
  ``config/read`` / ``configRequirements/read`` then fails with ``-32603``
  ``failed to read configuration layers: <str(err)>``. Raised for a file that is not TOML and for an
  unknown key under ``[application]`` (the reference fails the same way for both).

Not modelled (cannot be observed offline): cloud requirements, macOS MDM; the contents of
``mcp_servers``, ``plugins``, ``apps``, ``rules``, ``permissions``, ``remote_sandbox_config`` and
``guardian_policy_config`` are accepted and make requirements "defined" but are not validated.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, final

import msgspec
import tomlkit
import tomlkit.exceptions
from chamberlain.errors import RequirementsError, TomlParseError
from chamberlain.serde_text import invalid_type, missing_field, one_of, rust_debug_str
from chamberlain.serde_walk import expecting, first_error, type_info, variants
from msgspec import Meta

__all__ = [
    "Pin",
    "Requirements",
    "RequirementsParseError",
    "load_requirements",
    "unrecognized_settings_warning",
    "REQUIREMENTS_FILE_NAME",
    "MANAGED_CONFIG_FILE_NAME",
]

REQUIREMENTS_FILE_NAME: Final = "requirements.toml"
MANAGED_CONFIG_FILE_NAME: Final = "managed_config.toml"

#: Order of the members of ``ConfigRequirements`` on the wire (§6.3).
WIRE_ORDER: Final[tuple[str, ...]] = (
    "modelProvider",
    "modelProviders",
    "allowedLoginMethods",
    "cliAuthCredentialsStore",
    "chatgptBaseUrl",
    "additionalDeveloperInstructions",
    "allowedApprovalPolicies",
    "allowedApprovalsReviewers",
    "allowedSandboxModes",
    "allowedWindowsSandboxImplementations",
    "allowedPermissionProfiles",
    "defaultPermissions",
    "allowedWebSearchModes",
    "allowManagedHooksOnly",
    "allowBrowserAndComputerUse",
    "allowAppshots",
    "allowRemoteControl",
    "computerUse",
    "browserUse",
    "inAppBrowser",
    "featureRequirements",
    "hooks",
    "enforceResidency",
    "network",
    "application",
    "autoReview",
    "models",
    "sqliteHome",
    "logDir",
    "modelCatalogJson",
    "checkForUpdateOnStartup",
    "allowLoginShell",
    "feedback",
    "otel",
)

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

APPROVAL_VARIANTS: Final = ("untrusted", "on-failure", "on-request", "granular", "never")
REVIEWER_VARIANTS: Final = ("user", "auto_review", "guardian_subagent")
SANDBOX_VARIANTS: Final = ("read-only", "workspace-write", "danger-full-access", "external-sandbox")
CONFIG_SANDBOX_VARIANTS: Final = ("read-only", "workspace-write", "danger-full-access")
WEB_SEARCH_VARIANTS: Final = ("disabled", "cached", "indexed", "live")
LOGIN_VARIANTS: Final = ("chatgpt", "api")
LOGIN_WIRE_ORDER: Final = ("api", "chatgpt")
CLI_STORE_VARIANTS: Final = ("file", "keyring", "auto", "ephemeral")
WINDOWS_SANDBOX_VARIANTS: Final = ("elevated", "unelevated")
ALLOW_DENY: Final = ("allow", "deny")
LIFETIME_VARIANTS: Final = ("turn", "thread")
BUILTIN_PERMISSION_PROFILES: Final = frozenset({":read-only", ":workspace", ":danger-full-access"})
#: Providers accepted by ``model_provider`` without a definition (observed; ``oss`` is refused).
BUILTIN_MODEL_PROVIDERS: Final = frozenset({"openai", "ollama", "lmstudio", "amazon-bedrock"})
RESERVED_PROVIDER_IDS: Final = BUILTIN_MODEL_PROVIDERS

APPROVAL_DEBUG: Final = {
    "untrusted": "UnlessTrusted",
    "on-failure": "OnFailure",
    "on-request": "OnRequest",
    "never": "Never",
}
REVIEWER_DEBUG: Final = {"user": "User", "auto_review": "AutoReview", "guardian_subagent": "AutoReview"}
SANDBOX_DEBUG: Final = {
    "read-only": "ReadOnly",
    "workspace-write": "WorkspaceWrite",
    "danger-full-access": "DangerFullAccess",
    "external-sandbox": "ExternalSandbox",
}
WEB_SEARCH_DEBUG: Final = {"disabled": "Disabled", "cached": "Cached", "indexed": "Indexed", "live": "Live"}
CLI_STORE_DEBUG: Final = {"file": "File", "keyring": "Keyring", "auto": "Auto", "ephemeral": "Ephemeral"}
#: Rust Debug of the read-only PermissionProfile the sandbox constraint falls back to.
READ_ONLY_PROFILE_DEBUG: Final = (
    "Managed { file_system: Restricted { entries: [FileSystemSandboxEntry { path: Special { value: "
    "Root }, access: Read, missing_path_behavior: None }], glob_scan_max_depth: None }, network: "
    "Restricted }"
)

#: Exact-value pins in the order the reference emits their startup warnings, with how each is
#: compared: "resolved" compares against the effective value including defaults, "configured"
#: only against a value some config layer sets.
PIN_WARNING_ORDER: Final[tuple[tuple[str, str], ...]] = (
    ("cli_auth_credentials_store", "resolved"),
    ("chatgpt_base_url", "resolved"),
    ("sqlite_home", "configured"),
    ("log_dir", "configured"),
    ("model_provider", "configured"),
    ("check_for_update_on_startup", "configured"),
    ("allow_login_shell", "configured"),
)
PIN_DEFAULTS: Final[Mapping[str, Any]] = {
    "cli_auth_credentials_store": "file",
    "chatgpt_base_url": "https://chatgpt.com/backend-api/",
}

ALLOWED_PERMISSIONS_NOTE: Final = (
    " Use [allowed_permission_profiles] and default_permissions; the old allowlist is ignored even "
    "when both forms are present."
)
UNKNOWN_SUMMARY_HEAD: Final = (
    "Codex is ignoring {n} unrecognized configuration {noun}. Check for typos or deprecated settings."
)
UNKNOWN_SUMMARY_MAX_LINES: Final = 3

MODEL_PROVIDER_FIELDS: Final[tuple[tuple[str, Any], ...]] = (
    ("name", None),
    ("base_url", None),
    ("model_catalog_url", None),
    ("env_key", None),
    ("env_key_instructions", None),
    ("experimental_bearer_token", None),
    ("auth", None),
    ("gateway_oauth", None),
    ("aws", None),
    ("project_id", None),
    ("location", None),
    ("credential_file", None),
    ("wire_api", "responses"),
    ("capabilities", None),
    ("query_params", None),
    ("http_headers", None),
    ("env_http_headers", None),
    ("request_max_retries", None),
    ("stream_max_retries", None),
    ("stream_idle_timeout_ms", None),
    ("websocket_connect_timeout_ms", None),
    ("requires_openai_auth", False),
    ("supports_websockets", False),
    ("supports_standalone_web_search", False),
)
OTEL_FIELDS: Final = (
    "tool_result",
    "log_sse_deltas",
    "log_user_prompt",
    "log_agent_responses",
    "log_guardian_assessments",
    "environment",
    "exporter",
    "trace_exporter",
    "metrics_exporter",
    "span_attributes",
    "tracestate",
)

TOP_LEVEL_KEYS: Final = frozenset(
    {
        "allowed_approval_policies",
        "allowed_approvals_reviewers",
        "allowed_sandbox_modes",
        "allowed_web_search_modes",
        "features",
        "feature_requirements",
        "enforce_residency",
        "allow_managed_hooks_only",
        "allow_appshots",
        "allow_remote_control",
        "allow_browser_and_computer_use",
        "allow_login_shell",
        "check_for_update_on_startup",
        "allowed_login_methods",
        "chatgpt_base_url",
        "model_provider",
        "cli_auth_credentials_store",
        "additional_developer_instructions",
        "sqlite_home",
        "log_dir",
        "model_catalog_json",
        "allowed_permission_profiles",
        "default_permissions",
        "windows",
        "experimental_network",
        "hooks",
        "computer_use",
        "browser_use",
        "feedback",
        "auto_review",
        "models",
        "otel",
        "model_providers",
        "application",
        "in_app_browser",
        # accepted, not on the wire (not modelled beyond "defines requirements"):
        "mcp_servers",
        "plugins",
        "apps",
        "rules",
        "permissions",
        "remote_sandbox_config",
        "guardian_policy_config",
    }
)


class RequirementsParseError(TomlParseError):
    """A requirements file the reference cannot parse *without refusing to start*.

    ``str()`` is the reference's detail text, e.g.::

        failed to parse requirements layer /etc/codex/requirements.toml: TOML parse error at line 2, column 4
          |
        2 | foo
          |    ^
        unclosed array, expected `]`

    (the toml-rs reason wording is approximated from tomlkit's; line/column come from tomlkit).
    """

    def __init__(self, path: str, line: int, column: int, reason: str, detail: str) -> None:
        super().__init__(path, line, column, reason)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


@final
@dataclass(frozen=True)
class Pin:
    """An exact-value requirement: ``value`` as ``config/read`` shows it, set by ``source_path``."""

    value: Any
    source_path: str


class _SerdeError(Exception):
    def __init__(self, detail: str, path: str | None) -> None:
        super().__init__(detail, path)
        self.detail = detail
        self.path = path

    def render(self, prefix: str) -> str:
        if self.path is None:
            return f"{prefix}{self.detail}"
        return f"{prefix}{self.detail}\nin `{self.path}`\n"


# --------------------------------------------------------------------------------------------
# typed readers (serde wording; maps and sequences do not extend the error path, struct fields do)
# --------------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _read(v: Any, tp: Any, path: str) -> Any:
    """``v`` as type ``tp`` (msgspec), or the `_SerdeError` the shared serde walker words."""
    try:
        return msgspec.convert(v, tp)
    except msgspec.ValidationError:
        err = first_error(v, type_info(tp), path)
        raise _SerdeError(err.detail if err else invalid_type(v, "a value"), err.path if err else path) from None


_U16: Final = Annotated[int, Meta(ge=0, le=2**16 - 1)]
_U64: Final = Annotated[int, Meta(ge=0)]  # TOML integers are i64: no upper bound to check
_PATH_STRING: Final = expecting(str, "path string")


def _bool(v: Any, path: str) -> bool:
    return bool(_read(v, bool, path))


def _str(v: Any, path: str) -> str:
    return str(_read(v, str, path))


def _seq(v: Any, path: str) -> list[Any]:
    return list(_read(v, list[Any], path))


def _map(v: Any, path: str) -> dict[str, Any]:
    return dict(_read(v, dict[str, Any], path))


def _path_string(v: Any, path: str) -> str:
    return str(_read(v, _PATH_STRING, path))


def _uint(v: Any, path: str, bits: int) -> int:
    return int(_read(v, _U16 if bits == 16 else _U64, path))


def _variant(v: Any, names: Sequence[str], path: str) -> str:
    return str(_read(v, variants(tuple(names), "a string"), path))


def _table(v: Any, path: str, struct: str) -> dict[str, Any]:
    return dict(_read(v, expecting(dict[str, Any], f"struct {struct}"), path))


def _opt(table: Mapping[str, Any], key: str, path: str, read: Callable[[Any, str], Any]) -> Any:
    if key not in table:
        return None
    return read(table[key], _join(path, key))


def _unknown(table: Mapping[str, Any], known: Iterable[str], path: str, out: list[str]) -> None:
    known_set = set(known)
    for key in table:
        if key not in known_set:
            out.append(_join(path, key))


def _deny_unknown(table: Mapping[str, Any], known: Sequence[str], path: str) -> None:
    for key in table:
        if key not in known:
            raise _SerdeError(f"unknown field `{key}`, expected {one_of(known)}", path)


def _resolve_path(raw: str, base: Path) -> str:
    if raw == "~" or raw.startswith("~/"):
        raw = str(Path.home()) + raw[1:]
    p = Path(raw)
    if not p.is_absolute():
        p = base / p
    return os.path.normpath(str(p))


def _file_url(path: str) -> str:
    return "file://" + urllib.parse.quote(path, safe="/:@!$&'()*+,;=-._~")


# --------------------------------------------------------------------------------------------
# members
# --------------------------------------------------------------------------------------------


def _approval_policy(v: Any, path: str) -> Any:
    if isinstance(v, dict):
        if len(v) != 1 or "granular" not in v:
            key = next(iter(v), "")
            raise _SerdeError(f"unknown variant `{key}`, expected {one_of(APPROVAL_VARIANTS)}", path)
        g = _map(v["granular"], path)
        out: dict[str, Any] = {}
        for name, default in (
            ("sandbox_approval", None),
            ("rules", None),
            ("skill_approval", False),
            ("request_permissions", False),
            ("mcp_elicitations", None),
        ):
            if name in g:
                out[name] = _bool(g[name], path)
            elif default is None:
                raise _SerdeError(missing_field(name), path)
            else:
                out[name] = default
        return {"granular": out}
    name = _variant(v, APPROVAL_VARIANTS, path)
    if name == "granular":
        raise _SerdeError("invalid type: unit variant, expected struct variant", path)
    return "on-request" if name == "on-failure" else name


def _approval_debug(value: Any) -> str:
    if isinstance(value, str):
        return APPROVAL_DEBUG[value]
    g = value["granular"]
    inner = ", ".join(f"{k}: {'true' if g[k] else 'false'}" for k in g)
    return f"Granular(GranularApprovalConfig {{ {inner} }})"


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
    t = _table(v, path, "RawNetworkRequirementsToml")
    _unknown(t, _NETWORK_KEYS, path, unknown)

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
    t = _table(v, path, "ComputerUseRequirementsToml")
    _unknown(
        t,
        ("allow_locked_computer_use", "allow_persistent_approval", "default_app_access", "macos", "windows"),
        path,
        unknown,
    )
    macos = None
    if "macos" in t:
        mp = _join(path, "macos")
        m = _table(t["macos"], mp, "ComputerUseMacosRequirementsToml")
        _unknown(m, ("bundle_ids",), mp, unknown)
        ids = _opt(m, "bundle_ids", mp, _map)
        macos = {
            "bundleIds": None
            if ids is None
            else {k: _variant(x, ALLOW_DENY, _join(mp, "bundle_ids")) for k, x in sorted(ids.items())}
        }
    windows = None
    if "windows" in t:
        wp = _join(path, "windows")
        w = _table(t["windows"], wp, "ComputerUseWindowsRequirementsToml")
        _unknown(w, ("aumids", "exes"), wp, unknown)
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
    t = _table(v, path, "BrowserUseOriginPolicyToml")
    _unknown(t, [k for k, _ in _ORIGIN_KEYS], path, unknown)
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
    t = _table(v, path, "BrowserUseRequirementsToml")
    _unknown(
        t,
        (
            "extension",
            "allow_webmcp",
            "allow_history_access",
            "disable_auto_review",
            "allow_global_persistent_approval",
            "default_origin_policy",
            "origins",
        ),
        path,
        unknown,
    )
    extension = None
    if "extension" in t:
        xp = _join(path, "extension")
        x = _table(t["extension"], xp, "BrowserUseExtensionRequirementsToml")
        _unknown(x, ("request_headers",), xp, unknown)
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
    t = _table(v, path, "OtelRequirementsToml")
    _deny_unknown(t, OTEL_FIELDS, path)
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
    t = _table(v, path, "ApplicationRequirementsToml")
    _deny_unknown(t, ("network", "storage"), path)
    network = None
    if "network" in t:
        np_ = _join(path, "network")
        n = _table(t["network"], np_, "ApplicationNetworkRequirementsToml")
        _deny_unknown(n, ("enabled", "domains"), np_)
        doms = _opt(n, "domains", np_, _map) or {}
        network = {
            "enabled": True if "enabled" not in n else _bool(n["enabled"], _join(np_, "enabled")),
            "domains": {k: _variant(x, ALLOW_DENY, _join(np_, "domains")) for k, x in sorted(doms.items())},
        }
    storage = None
    if "storage" in t:
        sp = _join(path, "storage")
        s = _table(t["storage"], sp, "ApplicationStorageRequirementsToml")
        _deny_unknown(s, ("default_project_parent", "projectless_workspace_root"), sp)
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


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------


@final
@dataclass(frozen=True)
class _AllowList:
    """An ``allowed_*`` constraint on a config field (for the "disallowed" startup warning)."""

    field_name: str  # as the reference names it in the warning
    allowed: tuple[Any, ...]
    source: str


@final
@dataclass(frozen=True)
class Requirements:
    """Parsed and merged requirements (immutable). Build with :func:`load_requirements`."""

    defined: bool = False
    members: Mapping[str, Any] = field(default_factory=dict)
    login_methods: tuple[str, ...] | None = None
    pins: Mapping[str, Pin] = field(default_factory=dict)
    feature_pin_list: tuple[tuple[str, bool], ...] = ()
    feature_source: str | None = None
    allow_lists: Mapping[str, _AllowList] = field(default_factory=dict)
    unknown_lines: tuple[str, ...] = ()

    # ---- configRequirements/read ----

    def allowed_login_methods(self, effective_config: Mapping[str, Any]) -> list[str]:
        """Effective login methods (``api`` before ``chatgpt``), narrowed by ``forced_login_method``.

        Raises RequirementsError when nothing is left (the reference refuses to start).
        """
        allowed = set(LOGIN_WIRE_ORDER if self.login_methods is None else self.login_methods)
        forced = effective_config.get("forced_login_method")
        if isinstance(forced, str):
            allowed &= {forced}
        methods: list[str] = [m for m in LOGIN_WIRE_ORDER if m in allowed]
        if not methods:
            raise RequirementsError("authentication requirements do not permit any usable login method")
        return methods

    def wire(self, effective_config: Mapping[str, Any]) -> dict[str, Any] | None:
        """The ``requirements`` member of ``configRequirements/read`` (None when nothing is defined)."""
        if not self.defined:
            return None
        out: dict[str, Any] = {}
        for name in WIRE_ORDER:
            if name == "allowedLoginMethods":
                out[name] = self.allowed_login_methods(effective_config)
            else:
                out[name] = self.members.get(name)
        return out

    # ---- pins ----

    @property
    def exact_pins(self) -> Mapping[str, Pin]:
        return self.pins

    def feature_pins(self) -> Mapping[str, bool]:
        return dict(self.feature_pin_list)

    def check_features(self, features: Mapping[str, Any]) -> str | None:
        """None when ``features`` respects the feature pins.

        Otherwise the text that follows ``Invalid configuration: `` in the write error.
        """
        for name, pinned in self.feature_pin_list:
            value = features.get(name)
            if isinstance(value, bool) and value != pinned:
                allowed = ", ".join(f"{k}={'true' if v else 'false'}" for k, v in self.feature_pin_list)
                shown = "true" if value else "false"
                return (
                    f"invalid value for `features`: `features.{name}={shown}` is not in the allowed "
                    f"set [{allowed}] (set by {self.feature_source})"
                )
        return None

    def apply_pins(self, config: dict[str, Any]) -> dict[str, Any]:
        """A copy of the ``config/read`` object with exact pins applied, and feature pins applied to
        the features it lists (a pinned feature no layer sets is not added, as on the reference)."""
        out = dict(config)
        for key, pin in self.pins.items():
            out[key] = pin.value
        if self.feature_pin_list:
            feats = dict(out.get("features") or {})
            for name, value in self.feature_pin_list:
                if name in feats:
                    feats[name] = value
            out["features"] = feats
        return out

    # ---- warnings ----

    def unknown_setting_lines(self) -> list[str]:
        """``  requirements (<path>): `<key>` is ignored.`` lines, sorted.

        The reference folds these into ONE warning together with the config layers' unknown keys
        (lines sorted as strings, at most 3 shown): build it with :func:`unrecognized_settings_warning`.
        """
        return sorted(self.unknown_lines)

    def warnings(
        self, config_before_pins: Mapping[str, Any], configured: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Pin and allow-list startup warnings, in the reference's order.

        ``config_before_pins`` is the effective config/read object before :meth:`apply_pins`;
        ``configured`` the merged config layers *without* defaults (only needed for keys whose
        config/read default is non-null — ``allow_login_shell``); it defaults to the former.
        Unknown-key lines are NOT included: see :meth:`unknown_setting_lines`.
        """
        layered = config_before_pins if configured is None else configured
        out: list[str] = []
        for key, mode in PIN_WARNING_ORDER:
            pin = self.pins.get(key)
            if pin is None:
                continue
            current = (
                config_before_pins.get(key, PIN_DEFAULTS.get(key)) if mode == "resolved" else layered.get(key)
            )
            if current is None and mode == "resolved":
                current = PIN_DEFAULTS.get(key)
            if current is None or current == pin.value:
                continue
            out.append(
                f"Configured value for `{key}` is overridden by the required value "
                f"{_pin_debug(key, pin.value)} from {pin.source_path}."
            )
        out.extend(self._disallowed_warnings(config_before_pins))
        return out

    def _disallowed_warnings(self, config: Mapping[str, Any]) -> list[str]:
        out: list[str] = []
        ap = self.allow_lists.get("approval_policy")
        if ap is not None and config.get("approval_policy") is not None:
            cur = config["approval_policy"]
            if cur == "on-failure":
                cur = "on-request"
            if cur not in ap.allowed:
                out.append(
                    _disallowed(
                        "approval_policy",
                        _approval_debug(ap.allowed[0]),
                        _approval_debug(cur),
                        [_approval_debug(a) for a in ap.allowed],
                        ap.source,
                    )
                )
        rv = self.allow_lists.get("approvals_reviewer")
        if rv is not None and config.get("approvals_reviewer") is not None:
            cur = (
                "auto_review"
                if config["approvals_reviewer"] == "guardian_subagent"
                else config["approvals_reviewer"]
            )
            if cur not in rv.allowed:
                out.append(
                    _disallowed(
                        "approvals_reviewer",
                        REVIEWER_DEBUG[rv.allowed[0]],
                        REVIEWER_DEBUG.get(cur, str(cur)),
                        [REVIEWER_DEBUG[a] for a in rv.allowed],
                        rv.source,
                    )
                )
        sb = self.allow_lists.get("sandbox_mode")
        if sb is not None and config.get("sandbox_mode") is not None:
            cur = config["sandbox_mode"]
            if cur not in sb.allowed:
                out.append(
                    "Configured value for `permission_profile` is disallowed by requirements; falling "
                    f"back to required value {READ_ONLY_PROFILE_DEBUG}. Details: invalid value for "
                    f"`sandbox_mode`: `{SANDBOX_DEBUG.get(cur, cur)}` is not in the allowed set "
                    f"[{', '.join(SANDBOX_DEBUG[a] for a in sb.allowed)}] (set by {sb.source})"
                )
        ws = self.allow_lists.get("web_search_mode")
        if ws is not None:
            cur = config.get("web_search") or "cached"
            if cur not in ws.allowed:
                fallback = next((m for m in ws.allowed if m != "disabled"), "disabled")
                out.append(
                    _disallowed(
                        "web_search_mode",
                        WEB_SEARCH_DEBUG[fallback],
                        WEB_SEARCH_DEBUG.get(cur, str(cur)),
                        [WEB_SEARCH_DEBUG[a] for a in ws.allowed],
                        ws.source,
                    )
                )
        return out

    def model_provider_error(self, known_providers: Iterable[str] = ()) -> str | None:
        """The refuse-to-start text when the pinned ``model_provider`` names no provider.

        ``known_providers`` are the ids defined by config layers (the reference also accepts
        those; not probed).
        """
        pin = self.pins.get("model_provider")
        if pin is None:
            return None
        names = set(BUILTIN_MODEL_PROVIDERS) | set(known_providers)
        mps = self.pins.get("model_providers")
        if mps is not None:
            names |= set(mps.value)
        if pin.value in names:
            return None
        return f"Model provider `{pin.value}` not found"


def _disallowed(name: str, fallback: str, candidate: str, allowed: Sequence[str], source: str) -> str:
    return (
        f"Configured value for `{name}` is disallowed by requirements; falling back to required "
        f"value {fallback}. Details: invalid value for `{name}`: `{candidate}` is not in the "
        f"allowed set [{', '.join(allowed)}] (set by {source})"
    )


def _pin_debug(key: str, value: Any) -> str:
    if key == "cli_auth_credentials_store":
        return str(CLI_STORE_DEBUG.get(value, str(value)))
    if key in ("sqlite_home", "log_dir", "model_catalog_json"):
        return f"AbsolutePathBuf({rust_debug_str(str(value))})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return rust_debug_str(value)
    return json.dumps(value)


def unrecognized_settings_warning(lines: Iterable[str]) -> str | None:
    """The single startup summary for unknown keys of all layers and requirements (§9).

    ``lines`` are ``  <layer> (<path>): `<key>` is ignored.`` strings from every source; they are
    sorted as strings and at most three are shown, then ``  ... and N more ignored settings.``
    """
    all_lines = sorted(lines)
    if not all_lines:
        return None
    n = len(all_lines)
    head = UNKNOWN_SUMMARY_HEAD.format(n=n, noun="setting" if n == 1 else "settings")
    shown = all_lines[:UNKNOWN_SUMMARY_MAX_LINES]
    parts = [head, *shown]
    rest = n - len(shown)
    if rest:
        parts.append(f"  ... and {rest} more ignored settings.")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------

_TOMLKIT_POS: Final = re.compile(r"\s+at line \d+ col \d+$")


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    try:
        data = tomlkit.parse(text).unwrap()
    except tomlkit.exceptions.ParseError as exc:
        line, col = max(exc.line, 1), max(exc.col, 0) + 1
        reason = _TOMLKIT_POS.sub("", str(exc))
        lines = text.splitlines()
        src = lines[line - 1] if line - 1 < len(lines) else ""
        pad = " " * len(str(line))
        detail = (
            f"failed to parse requirements layer {path}: TOML parse error at line {line}, "
            f"column {col}\n{pad} |\n{line} | {src}\n{pad} | {' ' * (col - 1)}^\n{reason}\n"
        )
        raise RequirementsParseError(path, line, col, reason, detail) from exc
    plain = _plain(data)
    return plain if isinstance(plain, dict) else {}


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v
    return v


def _managed_variant(v: Any, variants: Sequence[str], key: str) -> str:
    prefix = "Failed to parse config requirements as TOML: "
    if not isinstance(v, str):
        raise RequirementsError(
            _SerdeError("invalid type: unit variant, expected string only", key).render(prefix)
        )
    if v not in variants:
        raise RequirementsError(
            _SerdeError(f"unknown variant `{v}`, expected {one_of(variants)}", key).render(prefix)
        )
    return v


def _managed_approval(v: Any) -> Any:
    prefix = "Failed to parse config requirements as TOML: "
    if isinstance(v, dict):
        try:
            return _approval_policy(v, "approval_policy")
        except _SerdeError as exc:
            raise RequirementsError(exc.render(prefix)) from None
    name = _managed_variant(v, APPROVAL_VARIANTS, "approval_policy")
    return "on-request" if name == "on-failure" else name


def load_requirements(system_dir: Path, managed_config: Mapping[str, Any] | None) -> Requirements:
    """Read ``<system_dir>/requirements.toml`` and merge the legacy managed_config keys (§6.1, §6.6)."""
    req_path = system_dir / REQUIREMENTS_FILE_NAME
    managed_path = str(system_dir / MANAGED_CONFIG_FILE_NAME)
    shown = str(req_path)
    try:
        text: str | None = req_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    raw = _parse_toml(text, shown) if text is not None else {}
    try:
        return _build(raw, shown, system_dir, managed_config, managed_path)
    except _SerdeError as exc:
        message = exc.render(f"failed to parse requirements layer {shown}: ")
        if exc.path is not None and exc.path.split(".")[0] == "application":
            raise RequirementsParseError(shown, 0, 0, exc.detail, message) from None
        raise RequirementsError(message) from None


@dataclass
class _Parsed:
    """What one requirements file (plus the legacy managed_config keys) says, phase by phase."""

    raw: dict[str, Any]
    src: str
    unknown: list[str] = field(default_factory=list)
    approvals: list[Any] | None = None
    ap_src: str = ""
    reviewers: list[str] | None = None
    rv_src: str = ""
    sandboxes: list[str] | None = None
    sb_src: str = ""
    web: list[str] | None = None
    logins: list[str] | None = None
    bools: dict[str, Any] = field(default_factory=dict)
    strings: dict[str, Any] = field(default_factory=dict)
    cli_store: str | None = None
    residency: str | None = None
    paths: dict[str, Any] = field(default_factory=dict)
    resolved_paths: dict[str, str | None] = field(default_factory=dict)
    feature_list: tuple[tuple[str, bool], ...] = ()
    profiles: dict[str, bool] | None = None
    default_perm: str | None = None
    win_impls: list[str] | None = None
    tables: dict[str, Any] = field(default_factory=dict)

    def enum_list(self, key: str, names: Sequence[str]) -> list[str] | None:
        if key not in self.raw:
            return None
        return [_variant(x, names, key) for x in _seq(self.raw[key], key)]

    def scalar(self, key: str, read: Callable[[Any, str], Any]) -> Any:
        return None if key not in self.raw else read(self.raw[key], key)


_BOOL_KEYS: Final = (
    "allow_managed_hooks_only",
    "allow_appshots",
    "allow_remote_control",
    "allow_browser_and_computer_use",
    "allow_login_shell",
    "check_for_update_on_startup",
)
_STRING_KEYS: Final = ("chatgpt_base_url", "model_provider", "additional_developer_instructions")
_PATH_KEYS: Final = ("sqlite_home", "log_dir", "model_catalog_json")
_OPAQUE_KEYS: Final = ("mcp_servers", "plugins", "apps", "rules", "permissions", "remote_sandbox_config")


def _build(
    raw: dict[str, Any], src: str, system_dir: Path, managed: Mapping[str, Any] | None, managed_src: str
) -> Requirements:
    p = _Parsed(raw, src, ap_src=src, rv_src=src, sb_src=src)
    p.unknown = [key for key in raw if key not in TOP_LEVEL_KEYS]
    if "allowed_permissions" in raw:
        p.unknown.remove("allowed_permissions")
    _read_policies(p, managed, managed_src)
    _read_scalars(p, system_dir)
    _read_tables(p)
    defined = _is_defined(p)
    _validate(p)
    pins = {
        key: Pin(value, src)
        for key, value in (
            ("chatgpt_base_url", p.strings["chatgpt_base_url"]),
            ("model_provider", p.strings["model_provider"]),
            ("cli_auth_credentials_store", p.cli_store),
            ("allow_login_shell", p.bools["allow_login_shell"]),
            ("check_for_update_on_startup", p.bools["check_for_update_on_startup"]),
            ("sqlite_home", p.resolved_paths["sqlite_home"]),
            ("log_dir", p.resolved_paths["log_dir"]),
            ("model_catalog_json", p.resolved_paths["model_catalog_json"]),
            ("model_providers", p.tables["providers"] or None),
        )
        if value is not None
    }
    lines = [f"  requirements ({src}): `{k}` is ignored." for k in p.unknown]
    if "allowed_permissions" in raw:
        lines.append(f"  requirements ({src}): `allowed_permissions` is ignored.{ALLOWED_PERMISSIONS_NOTE}")
    return Requirements(
        defined=defined,
        members=_wire_members(p),
        login_methods=None if p.logins is None else tuple(p.logins),
        pins=pins,
        feature_pin_list=p.feature_list,
        feature_source=src if p.feature_list else None,
        allow_lists=_allow_lists(p),
        unknown_lines=tuple(lines),
    )


def _read_policies(p: _Parsed, managed: Mapping[str, Any] | None, managed_src: str) -> None:
    """Approval / reviewer / sandbox lists (managed_config wins per field), web search, logins."""
    raw = p.raw
    if managed is not None and "approval_policy" in managed:
        p.approvals, p.ap_src = [_managed_approval(managed["approval_policy"])], managed_src
    elif "allowed_approval_policies" in raw:
        p.approvals = [
            _approval_policy(x, "allowed_approval_policies")
            for x in _seq(raw["allowed_approval_policies"], "allowed_approval_policies")
        ]
    if managed is not None and "approvals_reviewer" in managed:
        r = _managed_variant(managed["approvals_reviewer"], REVIEWER_VARIANTS, "approvals_reviewer")
        r = "auto_review" if r == "guardian_subagent" else r
        p.reviewers, p.rv_src = (["auto_review", "user"] if r == "auto_review" else [r]), managed_src
    else:
        rl = p.enum_list("allowed_approvals_reviewers", REVIEWER_VARIANTS)
        p.reviewers = None if rl is None else ["auto_review" if x == "guardian_subagent" else x for x in rl]
    if managed is not None and "sandbox_mode" in managed:
        s = _managed_variant(managed["sandbox_mode"], CONFIG_SANDBOX_VARIANTS, "sandbox_mode")
        p.sandboxes, p.sb_src = (["read-only"] if s == "read-only" else ["read-only", s]), managed_src
    else:
        p.sandboxes = p.enum_list("allowed_sandbox_modes", SANDBOX_VARIANTS)
    p.web = p.enum_list("allowed_web_search_modes", WEB_SEARCH_VARIANTS)
    p.logins = p.enum_list("allowed_login_methods", LOGIN_VARIANTS)


def _read_scalars(p: _Parsed, system_dir: Path) -> None:
    """Scalars, paths, feature pins, permission profiles and the windows table."""
    raw = p.raw
    p.bools = {k: p.scalar(k, _bool) for k in _BOOL_KEYS}
    p.strings = {k: p.scalar(k, _str) for k in _STRING_KEYS}
    p.cli_store = p.scalar("cli_auth_credentials_store", lambda v, q: _variant(v, CLI_STORE_VARIANTS, q))
    p.residency = p.scalar("enforce_residency", lambda v, q: _variant(v, ("us",), q))
    p.paths = {k: p.scalar(k, _path_string) for k in _PATH_KEYS}
    p.resolved_paths = {k: (None if v is None else _resolve_path(v, system_dir)) for k, v in p.paths.items()}
    feat_key = next((k for k in ("features", "feature_requirements") if k in raw), None)
    if feat_key is not None:
        ft = _table(raw[feat_key], "features", "FeatureRequirementsInput")
        p.feature_list = tuple((k, _bool(v, "features")) for k, v in ft.items())
    if "allowed_permission_profiles" in raw:
        pm = _map(raw["allowed_permission_profiles"], "allowed_permission_profiles")
        p.profiles = {k: _bool(v, "allowed_permission_profiles") for k, v in pm.items()}
    p.default_perm = p.scalar("default_permissions", _str)
    if "windows" in raw:
        wt = _table(raw["windows"], "windows", "WindowsRequirementsToml")
        _unknown(wt, ("allowed_sandbox_implementations",), "windows", p.unknown)
        if "allowed_sandbox_implementations" in wt:
            wp = "windows.allowed_sandbox_implementations"
            p.win_impls = [
                _variant(x, WINDOWS_SANDBOX_VARIANTS, wp) for x in _seq(wt["allowed_sandbox_implementations"], wp)
            ]


def _small(p: _Parsed, key: str, fields: Sequence[tuple[str, str, Callable[[Any, str], Any]]]) -> Any:
    if key not in p.raw:
        return None
    t = _table(p.raw[key], key, "Requirements")
    _unknown(t, [f for f, _, _ in fields], key, p.unknown)
    return {wire: _opt(t, f, key, read) for f, wire, read in fields}


def _str_list(v: Any, path: str) -> list[str]:
    return [_str(x, path) for x in _seq(v, path)]


def _models(v: Any, unknown: list[str]) -> dict[str, Any]:
    mt = _table(v, "models", "ModelsRequirementsToml")
    _unknown(mt, ("new_thread",), "models", unknown)
    if "new_thread" not in mt:
        return {"newThread": None}
    np_ = "models.new_thread"
    nt = _table(mt["new_thread"], np_, "NewThreadModelDefaultsToml")
    _unknown(nt, ("model", "model_reasoning_effort", "service_tier"), np_, unknown)
    return {
        "newThread": {
            "model": _opt(nt, "model", np_, _str),
            "modelReasoningEffort": _opt(nt, "model_reasoning_effort", np_, _str),
            "serviceTier": _opt(nt, "service_tier", np_, _str),
        }
    }


def _read_tables(p: _Parsed) -> None:
    """The nested tables, in the order their errors are reported."""
    raw, unknown = p.raw, p.unknown

    def table(key: str, read: Callable[[Any], Any]) -> Any:
        return None if key not in raw else read(raw[key])

    t = p.tables
    t["network"] = table("experimental_network", lambda v: _network(v, "experimental_network", unknown))
    t["hooks"] = table("hooks", lambda v: _hooks(v, "hooks"))
    t["computer"] = table("computer_use", lambda v: _computer_use(v, "computer_use", unknown))
    t["browser"] = table("browser_use", lambda v: _browser_use(v, "browser_use", unknown))
    t["feedback"] = _small(p, "feedback", [("enabled", "enabled", _bool)])
    t["in_app"] = _small(
        p, "in_app_browser", [("allow_external_browser_settings_import", "allowExternalBrowserSettingsImport", _bool)]
    )
    t["auto_review"] = _small(
        p,
        "auto_review",
        [("required_on_models", "requiredOnModels", _str_list), ("ignore_rules", "ignoreRules", _str_list)],
    )
    t["models"] = table("models", lambda v: _models(v, unknown))
    t["otel"] = table("otel", lambda v: _otel(v, "otel"))
    t["application"] = table("application", lambda v: _application(v, "application"))
    t["providers"] = table("model_providers", lambda v: _model_providers(v, "model_providers"))


def _is_defined(p: _Parsed) -> bool:
    """``ConfigRequirementsToml::is_empty`` negated, as observed."""
    t, raw = p.tables, p.raw
    simple = [
        p.approvals, p.reviewers, p.sandboxes, p.web, p.logins, p.residency, p.profiles, p.default_perm,
        p.win_impls, t["network"], p.cli_store, *p.bools.values(), *p.strings.values(), *p.paths.values(),
    ]
    guardian = raw.get("guardian_policy_config")
    return (
        any(x is not None for x in simple)
        or bool(p.feature_list)
        or (t["hooks"] is not None and not _hooks_empty(t["hooks"]))
        or (t["computer"] is not None and not _computer_use_empty(t["computer"]))
        or (t["browser"] is not None and not _browser_use_empty(t["browser"]))
        or (t["feedback"] is not None and not _all_none(t["feedback"]))
        or (t["in_app"] is not None and not _all_none(t["in_app"]))
        or (t["auto_review"] is not None and any(t["auto_review"].values()))
        or (t["models"] is not None and not _all_none(t["models"]["newThread"]))
        or (t["otel"] is not None and not _all_none(t["otel"]))
        or (t["application"] is not None and not _all_none(t["application"]))
        or bool(t["providers"])
        or any(raw.get(k) not in (None, {}, []) for k in _OPAQUE_KEYS)
        or (isinstance(guardian, str) and guardian.strip() != "")
    )


def _validate(p: _Parsed) -> None:
    """The semantic checks that refuse to start."""
    if p.approvals is not None and not p.approvals:
        raise RequirementsError("field `allowed_approval_policies` cannot be empty")
    if p.reviewers is not None and not p.reviewers:
        raise RequirementsError("field `allowed_approvals_reviewers` cannot be empty")
    if p.sandboxes is not None and "read-only" not in p.sandboxes:
        listed = ", ".join(SANDBOX_DEBUG[s] for s in p.sandboxes)
        raise RequirementsError(
            f"invalid value for `allowed_sandbox_modes`: `[{listed}]` is not in the allowed set must "
            f"include 'read-only' to allow any PermissionProfile (set by {p.sb_src})"
        )
    if p.win_impls is not None and not p.win_impls:
        raise RequirementsError("field `windows.allowed_sandbox_implementations` cannot be empty")
    if p.logins is not None and not p.logins:
        raise RequirementsError("authentication requirements do not permit any usable login method")
    _check_permission_profiles(p.profiles, p.default_perm, p.raw.get("permissions"))
    if p.paths["model_catalog_json"] is not None:
        _check_model_catalog(p.resolved_paths["model_catalog_json"] or "")
    provider = p.strings["model_provider"]
    if provider is not None and provider not in set(BUILTIN_MODEL_PROVIDERS) | set(p.tables["providers"] or {}):
        raise RequirementsError(f"Model provider `{provider}` not found")


def _web_wire(p: _Parsed) -> list[str] | None:
    if p.web is None:
        return None
    return list(p.web) if "disabled" in p.web else [*p.web, "disabled"]


def _url(path: str | None) -> str | None:
    return None if path is None else _file_url(path)


def _wire_members(p: _Parsed) -> dict[str, Any]:
    t, b = p.tables, p.bools
    return {
        "modelProvider": p.strings["model_provider"],
        "modelProviders": t["providers"] or None,
        "cliAuthCredentialsStore": p.cli_store,
        "chatgptBaseUrl": p.strings["chatgpt_base_url"],
        "additionalDeveloperInstructions": p.strings["additional_developer_instructions"],
        "allowedApprovalPolicies": p.approvals,
        "allowedApprovalsReviewers": p.reviewers,
        "allowedSandboxModes": None if p.sandboxes is None else [s for s in p.sandboxes if s != "external-sandbox"],
        "allowedWindowsSandboxImplementations": p.win_impls,
        "allowedPermissionProfiles": p.profiles,
        "defaultPermissions": p.default_perm,
        "allowedWebSearchModes": _web_wire(p),
        "allowManagedHooksOnly": b["allow_managed_hooks_only"],
        "allowBrowserAndComputerUse": b["allow_browser_and_computer_use"],
        "allowAppshots": b["allow_appshots"],
        "allowRemoteControl": b["allow_remote_control"],
        "computerUse": t["computer"],
        "browserUse": t["browser"],
        "inAppBrowser": t["in_app"],
        "featureRequirements": dict(sorted(p.feature_list)) if p.feature_list else None,
        "hooks": t["hooks"],
        "enforceResidency": p.residency,
        "network": t["network"],
        "application": t["application"],
        "autoReview": t["auto_review"],
        "models": t["models"],
        "sqliteHome": _url(p.resolved_paths["sqlite_home"]),
        "logDir": _url(p.resolved_paths["log_dir"]),
        "modelCatalogJson": _url(p.resolved_paths["model_catalog_json"]),
        "checkForUpdateOnStartup": b["check_for_update_on_startup"],
        "allowLoginShell": b["allow_login_shell"],
        "feedback": t["feedback"],
        "otel": t["otel"],
    }


def _allow_lists(p: _Parsed) -> dict[str, _AllowList]:
    out: dict[str, _AllowList] = {}
    if p.approvals:
        out["approval_policy"] = _AllowList("approval_policy", tuple(p.approvals), p.ap_src)
    if p.reviewers:
        out["approvals_reviewer"] = _AllowList("approvals_reviewer", tuple(p.reviewers), p.rv_src)
    if p.sandboxes:
        out["sandbox_mode"] = _AllowList("sandbox_mode", tuple(p.sandboxes), p.sb_src)
    web = _web_wire(p)
    if web is not None:
        ordered = tuple(m for m in WEB_SEARCH_VARIANTS if m in web)
        out["web_search_mode"] = _AllowList("web_search_mode", ordered, p.src)
    return out


def _check_permission_profiles(
    profiles: Mapping[str, bool] | None, default: str | None, defined_profiles: Any
) -> None:
    if profiles is None:
        if default is not None:
            raise RequirementsError(
                "requirements.toml default_permissions requires allowed_permission_profiles"
            )
        return
    custom = set(defined_profiles) if isinstance(defined_profiles, dict) else set()
    for name in profiles:
        if name not in BUILTIN_PERMISSION_PROFILES and name not in custom:
            raise RequirementsError(
                f"requirements.toml allowed_permission_profiles refers to undefined profile `{name}`"
            )
    if default is None:
        if not (profiles.get(":workspace") and profiles.get(":read-only")):
            raise RequirementsError(
                "requirements.toml default_permissions must be set unless allowed_permission_profiles "
                "allows both `:workspace` and `:read-only`"
            )
        return
    if not profiles.get(default):
        raise RequirementsError(
            f"requirements.toml default_permissions `{default}` must be allowed by "
            "allowed_permission_profiles"
        )


def _check_model_catalog(path: str) -> None:
    """Startup checks of ``model_catalog_json`` (only the observed ones; the model schema is not modelled)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RequirementsError("No such file or directory (os error 2)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequirementsError(
            f"failed to parse model_catalog_json path `{path}` as JSON: {exc.msg} at line "
            f"{exc.lineno} column {exc.colno}"
        ) from None
    models = data.get("models") if isinstance(data, dict) else None
    if isinstance(models, list) and not models:
        raise RequirementsError(f"model_catalog_json path `{path}` must contain at least one model")
