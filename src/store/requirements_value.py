"""The parsed requirements as one immutable value: wire member, pins, allow lists and the startup
warnings they produce. Internal to `chamberlain.store.requirements`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, final

from chamberlain.errors import RequirementsError, TomlParseError
from chamberlain.serde_text import rust_debug_str
from chamberlain.store.requirements_names import (
    BUILTIN_MODEL_PROVIDERS,
    CLI_STORE_DEBUG,
    LOGIN_WIRE_ORDER,
    PIN_DEFAULTS,
    PIN_WARNING_ORDER,
    READ_ONLY_PROFILE_DEBUG,
    REVIEWER_DEBUG,
    SANDBOX_DEBUG,
    UNKNOWN_SUMMARY_HEAD,
    UNKNOWN_SUMMARY_MAX_LINES,
    WEB_SEARCH_DEBUG,
    WIRE_ORDER,
)
from chamberlain.store.requirements_read import (
    _approval_debug,
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
