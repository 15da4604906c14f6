"""Plain records the actors and the store exchange; importing this module costs nothing (the store
itself, with tomlkit and the config model, is imported only when the first config request comes).

These are domain values: ``protocol/results.py`` turns them into wire Structs; nothing here knows
JSON member names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

#: The kinds of layer the loader builds (spec §3.1), highest precedence first.
LayerKind = Literal["sessionFlags", "legacyManagedConfigTomlFromFile", "project", "user", "system"]


@dataclass(frozen=True, slots=True)
class LayerSource:
    """Where a layer comes from: its kind, its file (user, system, legacy managed file) or, for a
    project layer, its ``.codex`` folder; the user layer's profile (always None today)."""

    kind: LayerKind
    file: str | None = None
    folder: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class Edit:
    key_path: str
    value: Any
    merge_strategy: str


@dataclass(frozen=True, slots=True)
class LayerRef:
    """Which layer, at which version (a layer's identity in ``origins`` and overrides)."""

    source: LayerSource
    version: str


@dataclass(frozen=True, slots=True)
class LayerView:
    """One layer of a read: its identity, its TOML as JSON, why it is disabled (None: enabled)."""

    ref: LayerRef
    config: Mapping[str, Any]
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class ConfigView:
    """What config/read reports: the effective config, the layer that set each leaf, and the
    layers themselves (None unless asked for), highest precedence first."""

    config: dict[str, Any]
    origins: Mapping[str, LayerRef]
    layers: Sequence[LayerView] | None


@dataclass(frozen=True, slots=True)
class Override:
    """A written value that a higher layer overrides: the reference's message, that layer, and
    the value in effect."""

    message: str
    layer: LayerRef
    effective_value: Any


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    status: Literal["ok", "okOverridden"]
    version: str
    file_path: str
    overridden: Override | None
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
