"""The method table: which methods Chamberlain serves, their params types, and what the reference
knows (for its exact ``unknown variant`` and ``requires experimentalApi capability`` answers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Final

from chamberlain.protocol import messages as m

__all__ = ["Route", "ROUTES", "REFERENCE_METHODS", "EXPERIMENTAL_METHODS", "unknown_method_text"]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    #: msgspec Struct of the params, or None for methods that take no params (absent/null/{}).
    params_type: type | None
    experimental: bool = False


def _load_reference_methods() -> tuple[tuple[str, ...], frozenset[str]]:
    data = json.loads(resources.files("chamberlain.data").joinpath("client_methods.json").read_text())
    methods = tuple(data["methods"])
    return methods, frozenset(methods) - frozenset(data["stable"])


_LOADED: Final = _load_reference_methods()
#: Every client method of codex-cli 0.169.0, in its ClientRequest order.
REFERENCE_METHODS: Final[tuple[str, ...]] = _LOADED[0]
#: The reference methods that need ``capabilities.experimentalApi``.
EXPERIMENTAL_METHODS: Final[frozenset[str]] = _LOADED[1]

ROUTES: Final[dict[str, Route]] = {
    r.method: r
    for r in (
        Route("initialize", m.InitializeParams),
        Route("config/read", m.ConfigReadParams),
        Route("config/value/write", m.ConfigValueWriteParams),
        Route("config/batchWrite", m.ConfigBatchWriteParams),
        Route("configRequirements/read", None),
        Route("experimentalFeature/list", m.ExperimentalFeatureListParams),
        Route("experimentalFeature/enablement/set", m.ExperimentalFeatureEnablementSetParams),
        Route("config/mcpServer/reload", None),
        Route("mock/experimentalMethod", m.MockExperimentalMethodParams, experimental=True),
    )
}

_UNKNOWN_TAIL: Final = ", ".join(f"`{name}`" for name in REFERENCE_METHODS)


def unknown_method_text(method: str) -> str:
    """The reference's serde text for a method it does not know."""
    return f"unknown variant `{method}`, expected one of {_UNKNOWN_TAIL}"
