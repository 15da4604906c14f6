"""The feature-flag registry of the reference and the effective state of each flag."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

import msgspec


class FeatureSpec(msgspec.Struct, frozen=True, rename="camel"):
    name: str
    stage: str
    display_name: str | None
    description: str | None
    announcement: str | None
    default_enabled: bool


class _Registry(msgspec.Struct):
    features: tuple[FeatureSpec, ...]


#: Every feature flag of codex-cli 0.169.0 in its registry order (what experimentalFeature/list pages).
REGISTRY: Final = msgspec.json.decode(
    resources.files("chamberlain.data").joinpath("features.json").read_bytes(), type=_Registry
).features
BY_NAME: Final[Mapping[str, FeatureSpec]] = {f.name: f for f in REGISTRY}

#: The flags ``experimentalFeature/enablement/set`` accepts; also always present in
#: ``config/read`` → ``config.features``.
RUNTIME_KEYS: Final = tuple(
    "api_key_cyber_access_programs api_key_model_discovery auth_elicitation "
    "background_paginated_rollout_migration codex_apps_mcp_2026_07_28 daybreak_program_propagation "
    "mcp_2026_07_28 mcp_connection_sharing mcp_lazy_stdio_startup memories mentions_v2 remote_control "
    "remote_plugin tool_suggest windows_sandbox_service".split()
)
_RUNTIME: Final = frozenset(RUNTIME_KEYS)


def effective_features(
    merged: Mapping[str, Any], pins: Mapping[str, bool], runtime: Mapping[str, bool]
) -> dict[str, bool]:
    """The effective state of every registered flag, given the merged layers' data.

    Precedence (spec §7.1): requirement pin > config layers (session flags included) > runtime
    enablement (only for the runtime keys) > the built-in default.
    """
    configured = merged.get("features")
    configured = configured if isinstance(configured, dict) else {}
    out: dict[str, bool] = {}
    for spec in REGISTRY:
        name = spec.name
        if name in pins:
            out[name] = pins[name]
        elif isinstance(configured.get(name), bool):
            out[name] = configured[name]
        elif name in _RUNTIME and name in runtime:
            out[name] = runtime[name]
        else:
            out[name] = spec.default_enabled
    return out
