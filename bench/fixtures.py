"""The config.toml files the bench runs on, and the edits it makes to them."""
from __future__ import annotations

from typing import Any, Final

USER_CONFIG: Final = """\
# Personal Codex settings (bench fixture: a few keys, a table, a comment)
model = "o3"
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[features]
memories = true  # trying the memory feature

[sandbox_workspace_write]
network_access = false
"""

# The big files: the small fixture plus one table of N string keys, a map the config model knows
# (environment variables set for shell tools), so neither server warns about unknown keys.
BIG_TABLE: Final = "shell_environment_policy.set"
WRITE_VALUES: Final = ("o4-mini", "o3")


def big_config(keys: int) -> str:
    width = len(str(keys - 1))
    lines = [USER_CONFIG, f"\n[{BIG_TABLE}]\n"]
    lines.extend(f'VAR_{i:0{width}d} = "value {i}"\n' for i in range(keys))
    return "".join(lines)


def big_key(keys: int) -> str:
    """The key edited in the big file: one in the middle of the table."""
    width = len(str(keys - 1))
    return f"{BIG_TABLE}.VAR_{keys // 2:0{width}d}"


def batch_edit(key_path: str, value: Any) -> dict[str, Any]:
    return {"edits": [{"keyPath": key_path, "value": value, "mergeStrategy": "replace"}]}


def value_write(key_path: str, value: Any, expected_version: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"keyPath": key_path, "value": value, "mergeStrategy": "replace"}
    if expected_version is not None:
        params["expectedVersion"] = expected_version
    return params
