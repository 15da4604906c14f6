"""Typed readers of requirement values (serde wording through the shared walker; maps and
sequences do not extend the error path, struct fields do) and the approval-policy reader.
Internal to `chamberlain.store.requirements`."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Final, TypeAlias

import msgspec
from chamberlain.serde_text import invalid_type
from chamberlain.serde_walk import first_error, toml_enum, type_info

APPROVAL_VARIANTS: Final = ("untrusted", "on-failure", "on-request", "granular", "never")


class _SerdeError(Exception):
    def __init__(self, detail: str, path: str | None) -> None:
        super().__init__(detail, path)
        self.detail = detail
        self.path = path

    def render(self, prefix: str) -> str:
        if self.path is None:
            return f"{prefix}{self.detail}"
        return f"{prefix}{self.detail}\nin `{self.path}`\n"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _read(v: Any, tp: Any, path: str) -> Any:
    """``v`` as type ``tp`` (msgspec), or the `_SerdeError` the shared serde walker words."""
    try:
        return msgspec.convert(v, tp)
    except msgspec.ValidationError:
        err = first_error(v, type_info(tp), path)
        raise _SerdeError(err.detail if err else invalid_type(v, "a value"), err.path if err else path) from None


def _resolve_path(raw: str, base: Path) -> str:
    if raw == "~" or raw.startswith("~/"):
        raw = str(Path.home()) + raw[1:]
    p = Path(raw)
    if not p.is_absolute():
        p = base / p
    return os.path.normpath(str(p))


def _file_url(path: str) -> str:
    return "file://" + urllib.parse.quote(path, safe="/:@!$&'()*+,;=-._~")


class GranularApprovalConfig(msgspec.Struct, frozen=True, kw_only=True):
    sandbox_approval: bool
    rules: bool
    skill_approval: bool = False
    request_permissions: bool = False
    mcp_elicitations: bool


#: ``AskForApproval``: unit variants and the ``granular`` struct variant, read from TOML.
APPROVAL: TypeAlias = Annotated[
    str | dict[str, Any], toml_enum(APPROVAL_VARIANTS, {"granular": GranularApprovalConfig})
]


def _approval_policy(v: Any, path: str) -> Any:
    """An approval policy as config/read shows it (``on-failure`` reads as ``on-request``)."""
    err = first_error(v, type_info(APPROVAL), path)
    if err is not None:
        raise _SerdeError(err.detail, err.path)
    name = next(iter(v)) if isinstance(v, dict) else v
    if name == "granular":
        granular = msgspec.convert(v["granular"], GranularApprovalConfig)
        return {"granular": msgspec.structs.asdict(granular)}
    return "on-request" if name == "on-failure" else name
