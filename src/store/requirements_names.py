"""Names and texts of the admin requirements, as codex-cli 0.169.0 spells them: enum variants and
their Rust Debug names, the known keys of each table, the texts of the startup warnings.
Internal to `chamberlain.store.requirements`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

REQUIREMENTS_FILE_NAME: Final = "requirements.toml"
MANAGED_CONFIG_FILE_NAME: Final = "managed_config.toml"
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
#: Rust's Debug of the unit variants whose Rust name is not their PascalCase config name.
_DEBUG_NAMES: Final = {"untrusted": "UnlessTrusted", "guardian_subagent": "AutoReview"}


def rust_debug_name(variant: str) -> str:
    """Rust's Debug of a unit variant from its config name: ``read-only`` is ``ReadOnly``."""
    return _DEBUG_NAMES.get(variant) or "".join(part.capitalize() for part in re.split(r"[-_]", variant))
