"""Plain records the actors and the store exchange; importing this module costs nothing (the store
itself, with tomlkit and the config model, is imported only when the first config request comes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Edit", "WriteOutcome", "StartupWarning"]


@dataclass(frozen=True, slots=True)
class Edit:
    key_path: str
    value: Any
    merge_strategy: str


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    status: Literal["ok", "okOverridden"]
    version: str
    file_path: str
    overridden: dict[str, Any] | None
    changed: bool


@dataclass(frozen=True, slots=True)
class StartupWarning:
    """One ``configWarning``: ``line``/``column``/``end_column`` are 1-based, inclusive."""

    summary: str
    details: str | None = None
    path: str | None = None
    line: int | None = None
    column: int | None = None
    end_column: int | None = None
