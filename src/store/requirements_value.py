"""The parsed requirements as one immutable value: wire member, pins, allow lists and the startup
warnings they produce. Internal to `chamberlain.store.requirements`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from chamberlain.errors import RequirementsError, TomlParseError
from chamberlain.serde_text import rust_debug_str

LOGIN_WIRE_ORDER: Final = ("api", "chatgpt")
#: Rust Debug of the read-only PermissionProfile the sandbox constraint falls back to.
READ_ONLY_PROFILE_DEBUG: Final = (
    "Managed { file_system: Restricted { entries: [FileSystemSandboxEntry { path: Special { value: "
    "Root }, access: Read, missing_path_behavior: None }], glob_scan_max_depth: None }, network: "
    "Restricted }"
)
#: Exact pins in the order the reference warns that they override a value, each with the default
#: it is compared against when no layer sets the key (None: only a configured value is compared).
_PIN_WARNINGS: Final[tuple[tuple[str, str | None], ...]] = (
    ("cli_auth_credentials_store", "file"),
    ("chatgpt_base_url", "https://chatgpt.com/backend-api/"),
    ("sqlite_home", None),
    ("log_dir", None),
    ("model_provider", None),
    ("check_for_update_on_startup", None),
    ("allow_login_shell", None),
)
_UNKNOWN_SUMMARY_HEAD: Final = (
    "Codex is ignoring {n} unrecognized configuration {noun}. Check for typos or deprecated settings."
)
_UNKNOWN_SUMMARY_MAX_LINES: Final = 3
#: Rust's Debug of the unit variants whose Rust name is not their PascalCase config name.
_DEBUG_NAMES: Final = {"untrusted": "UnlessTrusted", "guardian_subagent": "AutoReview"}


def rust_debug_name(variant: str) -> str:
    """Rust's Debug of a unit variant from its config name: ``read-only`` is ``ReadOnly``."""
    return _DEBUG_NAMES.get(variant) or "".join(part.capitalize() for part in re.split(r"[-_]", variant))


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


@final
@dataclass(frozen=True)
class AllowList:
    """An ``allowed_*`` constraint on a config field (for the "disallowed" startup warning)."""

    allowed: tuple[Any, ...]
    source: str


#: The config key each allow list constrains (the reference's name for it is the allow list's).
_CONSTRAINED: Final = {
    "approval_policy": "approval_policy",
    "approvals_reviewer": "approvals_reviewer",
    "sandbox_mode": "sandbox_mode",
    "web_search_mode": "web_search",
}
_ALIASES: Final = {"on-failure": "on-request", "guardian_subagent": "auto_review"}


@final
@dataclass(frozen=True)
class Requirements:
    """Parsed and merged requirements (immutable). Build with `load_requirements`."""

    members: Mapping[str, Any] | None = None  # None: requirements not defined
    login_methods: tuple[str, ...] | None = None
    exact_pins: Mapping[str, Pin] = field(default_factory=dict)
    feature_pin_list: tuple[tuple[str, bool], ...] = ()
    feature_source: str | None = None
    allow_lists: Mapping[str, AllowList] = field(default_factory=dict)
    unknown_lines: tuple[str, ...] = ()

    def wire(self, effective_config: Mapping[str, Any]) -> dict[str, Any] | None:
        """The ``requirements`` member of ``configRequirements/read`` (None when nothing is defined).

        Login methods are listed ``api`` before ``chatgpt``, narrowed by ``forced_login_method``;
        raises RequirementsError when nothing is left (the reference refuses to start).
        """
        if self.members is None:
            return None
        allowed = set(LOGIN_WIRE_ORDER if self.login_methods is None else self.login_methods)
        forced = effective_config.get("forced_login_method")
        if isinstance(forced, str):
            allowed &= {forced}
        methods = [m for m in LOGIN_WIRE_ORDER if m in allowed]
        if not methods:
            raise RequirementsError("authentication requirements do not permit any usable login method")
        return {**self.members, "allowedLoginMethods": methods}

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
        for key, pin in self.exact_pins.items():
            out[key] = pin.value
        if self.feature_pin_list:
            feats = dict(out.get("features") or {})
            for name, value in self.feature_pin_list:
                if name in feats:
                    feats[name] = value
            out["features"] = feats
        return out

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
        for key, default in _PIN_WARNINGS:
            pin = self.exact_pins.get(key)
            current = layered.get(key) if default is None else config_before_pins.get(key)
            current = default if current is None else current
            if pin is None or current is None or current == pin.value:
                continue
            out.append(
                f"Configured value for `{key}` is overridden by the required value "
                f"{_pin_debug(key, pin.value)} from {pin.source_path}."
            )
        for name, allow in self.allow_lists.items():
            text = _disallowed(name, allow, config_before_pins.get(_CONSTRAINED[name]))
            if text is not None:
                out.append(text)
        return out


def _disallowed(name: str, allow: AllowList, current: Any) -> str | None:
    """The "disallowed by requirements" warning for a config value outside its allow list."""
    if name == "web_search_mode":
        current = current or "cached"
    elif current is None:
        return None
    if isinstance(current, str):
        current = _ALIASES.get(current, current)
    if current in allow.allowed:
        return None
    listed, shown = ", ".join(map(_debug, allow.allowed)), _debug(current)
    if name == "sandbox_mode":
        return (
            "Configured value for `permission_profile` is disallowed by requirements; falling back to "
            f"required value {READ_ONLY_PROFILE_DEBUG}. Details: invalid value for `sandbox_mode`: "
            f"`{shown}` is not in the allowed set [{listed}] (set by {allow.source})"
        )
    fallback = allow.allowed[0]
    if name == "web_search_mode":
        fallback = next((m for m in allow.allowed if m != "disabled"), "disabled")
    return (
        f"Configured value for `{name}` is disallowed by requirements; falling back to required "
        f"value {_debug(fallback)}. Details: invalid value for `{name}`: `{shown}` is not in the "
        f"allowed set [{listed}] (set by {allow.source})"
    )


def _debug(value: Any) -> str:
    """Rust's Debug of an allow-listed value: a unit variant's name, or the granular approval."""
    if isinstance(value, str):
        return rust_debug_name(value)
    inner = ", ".join(f"{k}: {'true' if v else 'false'}" for k, v in value["granular"].items())
    return f"Granular(GranularApprovalConfig {{ {inner} }})"


def _pin_debug(key: str, value: Any) -> str:
    if key == "cli_auth_credentials_store":
        return rust_debug_name(value)
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
    all_lines, shown = sorted(lines), _UNKNOWN_SUMMARY_MAX_LINES
    if not all_lines:
        return None
    n = len(all_lines)
    parts = [_UNKNOWN_SUMMARY_HEAD.format(n=n, noun="setting" if n == 1 else "settings"), *all_lines[:shown]]
    if n > shown:
        parts.append(f"  ... and {n - shown} more ignored settings.")
    return "\n".join(parts)
