"""Typed readers of requirement values (serde wording through the shared walker; maps and
sequences do not extend the error path, struct fields do) and the approval-policy reader.
Internal to `chamberlain.store.requirements`."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, TypeAlias

import msgspec
from chamberlain.serde_text import invalid_type
from chamberlain.serde_walk import expecting, first_error, toml_enum, type_info, variants
from chamberlain.store.requirements_names import APPROVAL_VARIANTS
from msgspec import Meta


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
