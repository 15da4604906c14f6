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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from chamberlain.errors import RequirementsError
from chamberlain.serde_text import one_of
from chamberlain.store.requirements_document import ConfigRequirementsToml, read_document
from chamberlain.store.requirements_names import (
    ALLOWED_PERMISSIONS_NOTE,
    APPROVAL_VARIANTS,
    BUILTIN_MODEL_PROVIDERS,
    BUILTIN_PERMISSION_PROFILES,
    CONFIG_SANDBOX_VARIANTS,
    MANAGED_CONFIG_FILE_NAME,
    REQUIREMENTS_FILE_NAME,
    REVIEWER_VARIANTS,
    SANDBOX_DEBUG,
    WEB_SEARCH_VARIANTS,
)
from chamberlain.store.requirements_read import (
    _approval_policy,
    _file_url,
    _resolve_path,
    _SerdeError,
)
from chamberlain.store.requirements_structs import (
    otel_wire,
    to_wire,
)
from chamberlain.store.requirements_tables import (
    _all_none,
    _browser_use_empty,
    _computer_use_empty,
    _hooks,
    _hooks_empty,
    _model_providers,
    _network,
)
from chamberlain.store.requirements_value import (
    Pin,
    Requirements,
    RequirementsParseError,
    _AllowList,
    unrecognized_settings_warning,
)

__all__ = [
    "Pin",
    "Requirements",
    "RequirementsParseError",
    "load_requirements",
    "unrecognized_settings_warning",
    "REQUIREMENTS_FILE_NAME",
    "MANAGED_CONFIG_FILE_NAME",
]
_TOMLKIT_POS: Final = re.compile(r"\s+at line \d+ col \d+$")


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    import tomlkit  # only when a requirements file exists: kept off the start-up path
    import tomlkit.exceptions

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
        raise RequirementsError(_SerdeError("invalid type: unit variant, expected string only", key).render(prefix))
    if v not in variants:
        raise RequirementsError(_SerdeError(f"unknown variant `{v}`, expected {one_of(variants)}", key).render(prefix))
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
    doc: ConfigRequirementsToml
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
    unknown: list[str] = []
    doc = read_document(raw, unknown)
    p = _Parsed(raw, doc, src, [k for k in unknown if k != "allowed_permissions"], ap_src=src, rv_src=src, sb_src=src)
    _read_policies(p, managed, managed_src)
    _read_scalars(p, system_dir)
    _read_tables(p, system_dir)
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
    doc = p.doc
    if managed is not None and "approval_policy" in managed:
        p.approvals, p.ap_src = [_managed_approval(managed["approval_policy"])], managed_src
    elif doc.allowed_approval_policies is not None:
        p.approvals = [_approval_policy(x, "allowed_approval_policies") for x in doc.allowed_approval_policies]
    if managed is not None and "approvals_reviewer" in managed:
        r = _managed_variant(managed["approvals_reviewer"], REVIEWER_VARIANTS, "approvals_reviewer")
        r = "auto_review" if r == "guardian_subagent" else r
        p.reviewers, p.rv_src = (["auto_review", "user"] if r == "auto_review" else [r]), managed_src
    else:
        rl = doc.allowed_approvals_reviewers
        p.reviewers = None if rl is None else ["auto_review" if x == "guardian_subagent" else x for x in rl]
    if managed is not None and "sandbox_mode" in managed:
        s = _managed_variant(managed["sandbox_mode"], CONFIG_SANDBOX_VARIANTS, "sandbox_mode")
        p.sandboxes, p.sb_src = (["read-only"] if s == "read-only" else ["read-only", s]), managed_src
    else:
        p.sandboxes = _listed(doc.allowed_sandbox_modes)
    p.web = _listed(doc.allowed_web_search_modes)
    p.logins = _listed(doc.allowed_login_methods)


def _listed(items: Sequence[str] | None) -> list[str] | None:
    return None if items is None else list(items)


def _read_scalars(p: _Parsed, system_dir: Path) -> None:
    """Scalars, paths, feature pins, permission profiles and the windows table."""
    doc = p.doc
    p.bools = {k: getattr(doc, k) for k in _BOOL_KEYS}
    p.strings = {k: getattr(doc, k) for k in _STRING_KEYS}
    p.cli_store = doc.cli_auth_credentials_store
    p.residency = doc.enforce_residency
    p.paths = {k: getattr(doc, k) for k in _PATH_KEYS}
    p.resolved_paths = {k: (None if v is None else _resolve_path(v, system_dir)) for k, v in p.paths.items()}
    feat_key = next((k for k in ("features", "feature_requirements") if k in p.raw), None)
    if feat_key is not None:
        p.feature_list = tuple(getattr(doc, feat_key).items())
    p.profiles = None if doc.allowed_permission_profiles is None else dict(doc.allowed_permission_profiles)
    p.default_perm = doc.default_permissions
    if doc.windows is not None:
        p.win_impls = _listed(doc.windows.allowed_sandbox_implementations)


def _read_tables(p: _Parsed, system_dir: Path) -> None:
    """The nested tables (already checked in document order by `read_document`)."""
    doc, t = p.doc, p.tables
    t["network"] = None if doc.experimental_network is None else _network(doc.experimental_network)
    t["hooks"] = None if "hooks" not in p.raw else _hooks(p.raw["hooks"], "hooks")
    t["computer"] = to_wire(doc.computer_use)
    t["browser"] = to_wire(doc.browser_use)
    t["feedback"] = to_wire(doc.feedback)
    t["in_app"] = to_wire(doc.in_app_browser)
    t["auto_review"] = to_wire(doc.auto_review)
    t["models"] = to_wire(doc.models)
    t["otel"] = None if doc.otel is None else otel_wire(doc.otel, lambda raw: _resolve_path(raw, system_dir))
    t["application"] = to_wire(doc.application)
    t["providers"] = (
        None if "model_providers" not in p.raw else _model_providers(p.raw["model_providers"], "model_providers")
    )


def _is_defined(p: _Parsed) -> bool:
    """``ConfigRequirementsToml::is_empty`` negated, as observed."""
    t, raw = p.tables, p.raw
    simple = [
        p.approvals,
        p.reviewers,
        p.sandboxes,
        p.web,
        p.logins,
        p.residency,
        p.profiles,
        p.default_perm,
        p.win_impls,
        t["network"],
        p.cli_store,
        *p.bools.values(),
        *p.strings.values(),
        *p.paths.values(),
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


def _check_permission_profiles(profiles: Mapping[str, bool] | None, default: str | None, defined_profiles: Any) -> None:
    if profiles is None:
        if default is not None:
            raise RequirementsError("requirements.toml default_permissions requires allowed_permission_profiles")
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
            f"requirements.toml default_permissions `{default}` must be allowed by allowed_permission_profiles"
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
