"""Admin requirements: ``<system>/requirements.toml`` plus the legacy ``managed_config.toml`` keys.

Everything here was observed on codex-cli 0.169.0 (``shared/spec/config.md`` §6, §9 and the probes
listed in ``tests/test_requirements.py``). The module reads one file and turns it into a
:class:`Requirements`: the ``requirements`` member of ``configRequirements/read``, the exact-value
and feature pins, the allow lists and the startup ``configWarning`` summaries.

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

import json
import os
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from chamberlain.errors import RequirementsError
from chamberlain.serde_text import one_of
from chamberlain.store.requirements_document import (
    REVIEWER_VARIANTS,
    SANDBOX_VARIANTS,
    WEB_SEARCH_VARIANTS,
    ConfigRequirementsToml,
    read_document,
)
from chamberlain.store.requirements_structs import (
    APPROVAL_VARIANTS,
    _approval_policy,
    _camel,
    _SerdeError,
    otel_wire,
    to_wire,
)
from chamberlain.store.requirements_tables import EMPTINESS, _hooks, _model_providers, _network
from chamberlain.store.requirements_value import (
    AllowList,
    Pin,
    Requirements,
    RequirementsParseError,
    rust_debug_name,
    unrecognized_settings_warning,
)
from chamberlain.store.resolve import BUILTIN_PERMISSION_PROFILES, BUILTIN_PROVIDERS

__all__ = ["Pin", "Requirements", "RequirementsParseError", "load_requirements", "unrecognized_settings_warning"]
REQUIREMENTS_FILE_NAME: Final = "requirements.toml"
MANAGED_CONFIG_FILE_NAME: Final = "managed_config.toml"
ALLOWED_PERMISSIONS_NOTE: Final = (
    " Use [allowed_permission_profiles] and default_permissions; the old allowlist is ignored even "
    "when both forms are present."
)
_TOMLKIT_POS: Final = re.compile(r"\s+at line \d+ col \d+$")
_OPAQUE_KEYS: Final = ("mcp_servers", "plugins", "apps", "rules", "permissions", "remote_sandbox_config")
#: Members of the document whose wire name is not their camelCase name; ``None``: not on the wire.
_WIRE_NAMES: Final[Mapping[str, str | None]] = {
    "windows": "allowedWindowsSandboxImplementations",
    "features": "featureRequirements",
    "feature_requirements": None,
    "experimental_network": "network",
    **dict.fromkeys((*_OPAQUE_KEYS, "guardian_policy_config")),
}
_PATH_KEYS: Final = ("sqlite_home", "log_dir", "model_catalog_json")
#: Exact-value pins, in the order ``config/read`` lists the ones no layer sets.
_PINNED: Final = (
    "chatgpt_base_url",
    "model_provider",
    "cli_auth_credentials_store",
    "allow_login_shell",
    "check_for_update_on_startup",
    *_PATH_KEYS,
    "model_providers",
)
_MANAGED_PREFIX: Final = "Failed to parse config requirements as TOML: "


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    import tomlkit  # only when a requirements file exists: kept off the start-up path
    import tomlkit.exceptions

    try:
        return dict(tomlkit.parse(text).unwrap())
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


def _resolve_path(raw: str, base: Path) -> str:
    if raw == "~" or raw.startswith("~/"):
        raw = str(Path.home()) + raw[1:]
    p = Path(raw)
    if not p.is_absolute():
        p = base / p
    return os.path.normpath(str(p))


def _file_url(path: str) -> str:
    return "file://" + urllib.parse.quote(path, safe="/:@!$&'()*+,;=-._~")


def load_requirements(system_dir: Path, managed_config: Mapping[str, Any] | None) -> Requirements:
    """Read ``<system_dir>/requirements.toml`` and merge the legacy managed_config keys (§6.1, §6.6)."""
    req_path = system_dir / REQUIREMENTS_FILE_NAME
    shown = str(req_path)
    try:
        text: str | None = req_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    raw = _parse_toml(text, shown) if text is not None else {}
    try:
        return _build(raw, shown, system_dir, managed_config or {}, str(system_dir / MANAGED_CONFIG_FILE_NAME))
    except _SerdeError as exc:
        message = exc.render(f"failed to parse requirements layer {shown}: ")
        if exc.path is not None and exc.path.split(".")[0] == "application":
            raise RequirementsParseError(shown, 0, 0, exc.detail, message) from None
        raise RequirementsError(message) from None


def _managed_variant(v: Any, names: Sequence[str], key: str) -> str:
    if not isinstance(v, str):
        detail = "invalid type: unit variant, expected string only"
    elif v not in names:
        detail = f"unknown variant `{v}`, expected {one_of(names)}"
    else:
        return v
    raise RequirementsError(_SerdeError(detail, key).render(_MANAGED_PREFIX))


def _managed_approval(v: Any) -> Any:
    if isinstance(v, dict):
        try:
            return _approval_policy(v, "approval_policy")
        except _SerdeError as exc:
            raise RequirementsError(exc.render(_MANAGED_PREFIX)) from None
    name = _managed_variant(v, APPROVAL_VARIANTS, "approval_policy")
    return "on-request" if name == "on-failure" else name


def _policies(doc: ConfigRequirementsToml, managed: Mapping[str, Any], managed_src: str, src: str) -> dict[str, Any]:
    """The approval, reviewer and sandbox lists, each with the file that sets it: a legacy
    managed_config key wins over ``requirements.toml``, field by field."""
    out: dict[str, Any] = {}
    if "approval_policy" in managed:
        out["approval_policy"] = [_managed_approval(managed["approval_policy"])], managed_src
    elif doc.allowed_approval_policies is not None:
        listed = [_approval_policy(x, "allowed_approval_policies") for x in doc.allowed_approval_policies]
        out["approval_policy"] = listed, src
    if "approvals_reviewer" in managed:
        r = _managed_variant(managed["approvals_reviewer"], REVIEWER_VARIANTS, "approvals_reviewer")
        out["approvals_reviewer"] = (["auto_review", "user"] if r != "user" else [r]), managed_src
    elif doc.allowed_approvals_reviewers is not None:
        listed = ["auto_review" if x == "guardian_subagent" else x for x in doc.allowed_approvals_reviewers]
        out["approvals_reviewer"] = listed, src
    if "sandbox_mode" in managed:
        s = _managed_variant(managed["sandbox_mode"], SANDBOX_VARIANTS[:3], "sandbox_mode")
        out["sandbox_mode"] = (["read-only"] if s == "read-only" else ["read-only", s]), managed_src
    elif doc.allowed_sandbox_modes is not None:
        out["sandbox_mode"] = list(doc.allowed_sandbox_modes), src
    web = doc.allowed_web_search_modes
    if web is not None:
        out["web_search_mode"] = (list(web) if "disabled" in web else [*web, "disabled"]), src
    return out


def _build(
    raw: dict[str, Any], src: str, system_dir: Path, managed: Mapping[str, Any], managed_src: str
) -> Requirements:
    unknown: list[str] = []
    doc = read_document(raw, unknown)
    policies = _policies(doc, managed, managed_src, src)
    paths = {k: None if (v := getattr(doc, k)) is None else _resolve_path(v, system_dir) for k in _PATH_KEYS}
    feature_key = next((k for k in ("features", "feature_requirements") if k in raw), None)
    features = () if feature_key is None else tuple(getattr(doc, feature_key).items())
    members = _wire_members(doc, raw, policies, paths, features, system_dir)
    _validate(doc, raw, policies, paths, members["modelProviders"])
    values = {k: getattr(doc, k) for k in _PINNED} | paths | {"model_providers": members["modelProviders"]}
    lines = [f"  requirements ({src}): `{k}` is ignored." for k in unknown if k != "allowed_permissions"]
    if "allowed_permissions" in raw:
        lines.append(f"  requirements ({src}): `allowed_permissions` is ignored.{ALLOWED_PERMISSIONS_NOTE}")
    allow_lists = {k: AllowList(tuple(v), s) for k, (v, s) in policies.items() if v}
    if "web_search_mode" in allow_lists:
        ordered = tuple(m for m in WEB_SEARCH_VARIANTS if m in allow_lists["web_search_mode"].allowed)
        allow_lists["web_search_mode"] = AllowList(ordered, src)
    guardian = raw.get("guardian_policy_config")
    defined = (  # ``ConfigRequirementsToml::is_empty`` negated, as observed
        any(not EMPTINESS.get(k, _is_none)(v) for k, v in members.items())
        or doc.allowed_login_methods is not None
        or any(raw.get(k) not in (None, {}, []) for k in _OPAQUE_KEYS)
        or (isinstance(guardian, str) and guardian.strip() != "")
    )
    return Requirements(
        members=members if defined else None,
        login_methods=None if doc.allowed_login_methods is None else tuple(doc.allowed_login_methods),
        exact_pins={k: Pin(values[k], src) for k in _PINNED if values[k] is not None},
        feature_pin_list=features,
        feature_source=src if features else None,
        allow_lists=allow_lists,
        unknown_lines=tuple(lines),
    )


def _is_none(value: Any) -> bool:
    return value is None


def _wire_members(
    doc: ConfigRequirementsToml,
    raw: Mapping[str, Any],
    policies: Mapping[str, tuple[list[Any], str]],
    paths: Mapping[str, str | None],
    features: tuple[tuple[str, bool], ...],
    system_dir: Path,
) -> dict[str, Any]:
    """The members of ``configRequirements/read`` in wire order (the document's declaration order;
    ``allowedLoginMethods`` depends on the effective config: `Requirements.wire` fills it in)."""
    listed = {k: v for k, (v, _src) in policies.items()}
    sandboxes, windows = listed.get("sandbox_mode"), doc.windows
    impls = None if windows is None else windows.allowed_sandbox_implementations
    read: dict[str, Any] = {  # the tables with readers of their own, in this order: the first error wins
        "experimental_network": None if doc.experimental_network is None else _network(doc.experimental_network),
        "hooks": _hooks(raw["hooks"], "hooks") if "hooks" in raw else None,
        "otel": None if doc.otel is None else otel_wire(doc.otel, lambda p: _resolve_path(p, system_dir)),
        "model_providers": _model_providers(raw["model_providers"]) if "model_providers" in raw else None,
        "allowed_login_methods": None,
        "allowed_approval_policies": listed.get("approval_policy"),
        "allowed_approvals_reviewers": listed.get("approvals_reviewer"),
        "allowed_sandbox_modes": None if sandboxes is None else [s for s in sandboxes if s != "external-sandbox"],
        "windows": None if impls is None else list(impls),
        "allowed_web_search_modes": listed.get("web_search_mode"),
        "allowed_permission_profiles": doc.allowed_permission_profiles,  # document order, unlike to_wire's
        "features": dict(sorted(features)) if features else None,
        **{k: None if v is None else _file_url(v) for k, v in paths.items()},
    }
    out: dict[str, Any] = {}
    for name in doc.__struct_fields__:
        wire = _WIRE_NAMES.get(name, _camel(name))
        if wire is not None:
            out[wire] = read[name] if name in read else to_wire(getattr(doc, name))
    return out


def _validate(
    doc: ConfigRequirementsToml,
    raw: Mapping[str, Any],
    policies: Mapping[str, tuple[list[Any], str]],
    paths: Mapping[str, str | None],
    providers: Mapping[str, Any] | None,
) -> None:
    """The semantic checks that refuse to start."""
    for key, name in (("approval_policy", "approval_policies"), ("approvals_reviewer", "approvals_reviewers")):
        if key in policies and not policies[key][0]:
            raise RequirementsError(f"field `allowed_{name}` cannot be empty")
    sandboxes, source = policies.get("sandbox_mode", (["read-only"], ""))
    if "read-only" not in sandboxes:
        raise RequirementsError(
            f"invalid value for `allowed_sandbox_modes`: `[{', '.join(map(rust_debug_name, sandboxes))}]` is not "
            f"in the allowed set must include 'read-only' to allow any PermissionProfile (set by {source})"
        )
    if doc.windows is not None and doc.windows.allowed_sandbox_implementations == []:
        raise RequirementsError("field `windows.allowed_sandbox_implementations` cannot be empty")
    if doc.allowed_login_methods == []:
        raise RequirementsError("authentication requirements do not permit any usable login method")
    _check_permission_profiles(doc.allowed_permission_profiles, doc.default_permissions, raw.get("permissions"))
    if paths["model_catalog_json"] is not None:
        _check_model_catalog(paths["model_catalog_json"])
    provider = doc.model_provider
    if provider is not None and provider not in BUILTIN_PROVIDERS | set(providers or {}):
        raise RequirementsError(f"Model provider `{provider}` not found")


def _check_permission_profiles(profiles: Mapping[str, bool] | None, default: str | None, defined: Any) -> None:
    if profiles is None:
        if default is not None:
            raise RequirementsError("requirements.toml default_permissions requires allowed_permission_profiles")
        return
    known = BUILTIN_PERMISSION_PROFILES | (set(defined) if isinstance(defined, dict) else set())
    name = next((n for n in profiles if n not in known), None)
    if name is not None:
        raise RequirementsError(f"requirements.toml allowed_permission_profiles refers to undefined profile `{name}`")
    if default is None and not (profiles.get(":workspace") and profiles.get(":read-only")):
        raise RequirementsError(
            "requirements.toml default_permissions must be set unless allowed_permission_profiles "
            "allows both `:workspace` and `:read-only`"
        )
    if default is not None and not profiles.get(default):
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
