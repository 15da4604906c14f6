"""Checks the reference makes after type validation, when it resolves a session from the merged
config (``failed to resolve feature override precedence: …`` on ``config/read``). Writes and
``configRequirements/read`` do not make them. Order as observed on codex-cli 0.169.0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

BUILTIN_PROVIDERS: Final = frozenset({"openai", "ollama", "lmstudio", "amazon-bedrock", "amazon-bedrock-runtime"})
BUILTIN_PERMISSION_PROFILES: Final = frozenset({":read-only", ":workspace", ":danger-full-access"})
_INSTRUCTION_FILES: Final = (
    ("model_instructions_file", "failed to read model instructions file {path}: {reason}"),
    ("experimental_compact_prompt_file", "failed to read experimental compact prompt file {path}: {reason}"),
    ("model_catalog_json", "{reason}"),
)


def resolution_error(config: Mapping[str, Any]) -> str | None:
    """The first reason the reference refuses to resolve a session from ``config`` (the rendered
    config/read object, paths already absolute), or None."""
    profile = config.get("profile")
    if isinstance(profile, str):
        return (
            f'legacy `profile = "{profile}"` config is no longer supported; '
            f"use `--profile {profile}` with `{profile}.config.toml` instead"
        )
    if config.get("experimental_thread_store_endpoint") is not None:
        return "`experimental_thread_store_endpoint` is no longer supported; remove it from config.toml"
    problem = _permissions_error(config.get("default_permissions"), config.get("permissions"))
    if problem is not None:
        return problem
    provider = config.get("model_provider")
    providers = config.get("model_providers") or {}
    if isinstance(provider, str) and provider not in BUILTIN_PROVIDERS and provider not in providers:
        return f"Model provider `{provider}` not found"
    for key, template in _INSTRUCTION_FILES:
        path = config.get(key)
        if isinstance(path, str):
            reason = _unreadable(path)
            if reason is not None:
                return template.format(path=path, reason=reason)
    return None


def _permissions_error(default: Any, profiles: Any) -> str | None:
    defined = profiles if isinstance(profiles, dict) else {}
    if not isinstance(default, str):
        return "config defines `[permissions]` profiles but does not set `default_permissions`" if defined else None
    if default.startswith(":"):
        known = default in BUILTIN_PERMISSION_PROFILES
        return None if known else f"default_permissions refers to unknown built-in profile `{default}`"
    if not defined:
        return "default_permissions requires a `[permissions]` table"
    return None if default in defined else f"default_permissions refers to undefined profile `{default}`"


def _unreadable(path: str) -> str | None:
    """Rust's io::Error text when ``path`` cannot be opened for reading, else None."""
    try:
        with open(path, "rb"):
            return None
    except OSError as exc:
        return f"{exc.strerror} (os error {exc.errno})"
