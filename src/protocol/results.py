"""Results: msgspec Structs in the reference's member order, and the builders that make them from
the store's domain values (``store/ops.py``). This is the only place that knows their JSON names.

Layer sources are a tagged union on ``type`` (``ConfigLayerSource``, spec §3.1), members in the
reference's order; a layer's ``disabledReason`` is omitted (not ``null``) when it is enabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import msgspec
from chamberlain.protocol import messages as m
from msgspec import UNSET, Struct, UnsetType

if TYPE_CHECKING:
    from chamberlain.store.ops import ConfigView, LayerRef, LayerSource, StartupWarning, WriteOutcome

__all__ = [
    "ConfigLayer",
    "ConfigLayerMetadata",
    "ConfigLayerSource",
    "ConfigReadResponse",
    "ConfigRequirementsReadResponse",
    "ConfigWriteResponse",
    "EmptyResult",
    "EnterpriseManagedLayer",
    "ExperimentalFeature",
    "ExperimentalFeatureEnablementSetResponse",
    "ExperimentalFeatureListResponse",
    "InitializeResponse",
    "LegacyManagedFileLayer",
    "LegacyManagedMdmLayer",
    "MdmLayer",
    "MockExperimentalMethodResponse",
    "OverriddenMetadata",
    "PackagedDefaultsLayer",
    "ProjectLayer",
    "SessionFlagsLayer",
    "SystemLayer",
    "UserLayer",
    "WireResult",
    "config_read_result",
    "config_warning",
    "layer_source",
    "write_result",
]


class _Result(Struct, rename="camel", omit_defaults=False):
    pass


class InitializeResponse(_Result):
    user_agent: str
    codex_home: str
    platform_family: str
    platform_os: str


# --- ConfigLayerSource (tagged on "type") ---------------------------------------------------


class _Source(Struct, rename="camel", tag_field="type", frozen=True):
    pass


class UserLayer(_Source, tag="user", frozen=True):
    file: str
    profile: str | None


class ProjectLayer(_Source, tag="project", frozen=True):
    dot_codex_folder: str


class SystemLayer(_Source, tag="system", frozen=True):
    file: str


class SessionFlagsLayer(_Source, tag="sessionFlags", frozen=True):
    pass


class LegacyManagedFileLayer(_Source, tag="legacyManagedConfigTomlFromFile", frozen=True):
    file: str


class LegacyManagedMdmLayer(_Source, tag="legacyManagedConfigTomlFromMdm", frozen=True):
    pass


class MdmLayer(_Source, tag="mdm", frozen=True):
    domain: str
    key: str


class EnterpriseManagedLayer(_Source, tag="enterpriseManaged", frozen=True):
    id: str
    name: str


class PackagedDefaultsLayer(_Source, tag="packagedDefaults", frozen=True):
    file: str


ConfigLayerSource = (
    UserLayer
    | ProjectLayer
    | SystemLayer
    | SessionFlagsLayer
    | LegacyManagedFileLayer
    | LegacyManagedMdmLayer
    | MdmLayer
    | EnterpriseManagedLayer
    | PackagedDefaultsLayer
)


class ConfigLayerMetadata(_Result):
    name: ConfigLayerSource
    version: str


class ConfigLayer(_Result):
    name: ConfigLayerSource
    version: str
    config: Any
    disabled_reason: str | UnsetType = UNSET


class ConfigReadResponse(_Result):
    """``layers`` is omitted unless ``includeLayers`` was true (spec §4.2)."""

    config: dict[str, Any]
    origins: dict[str, ConfigLayerMetadata]
    layers: list[ConfigLayer] | UnsetType = UNSET


# --- writes, requirements, features ---------------------------------------------------------


class OverriddenMetadata(_Result):
    message: str
    overriding_layer: ConfigLayerMetadata
    effective_value: Any


class ConfigWriteResponse(_Result):
    status: Literal["ok", "okOverridden"]
    version: str
    file_path: str
    overridden_metadata: OverriddenMetadata | None


class ConfigRequirementsReadResponse(_Result):
    supports_independent_speed_modes: bool
    requirements: dict[str, Any] | None


class ExperimentalFeature(_Result):
    name: str
    stage: str
    display_name: str | None
    description: str | None
    announcement: str | None
    enabled: bool
    default_enabled: bool


class ExperimentalFeatureListResponse(_Result):
    data: list[ExperimentalFeature]
    next_cursor: str | None


class ExperimentalFeatureEnablementSetResponse(_Result):
    enablement: dict[str, bool]


class MockExperimentalMethodResponse(_Result):
    echoed: str | None


class EmptyResult(_Result):
    pass


#: What a request's owner answers with: a result Struct, or a result already encoded.
WireResult = Struct | msgspec.Raw


# --- builders -------------------------------------------------------------------------------


def layer_source(source: LayerSource) -> ConfigLayerSource:
    """The wire source of a layer the loader built."""
    match source.kind:
        case "user":
            return UserLayer(_text(source.file), source.profile)
        case "project":
            return ProjectLayer(_text(source.folder))
        case "system":
            return SystemLayer(_text(source.file))
        case "sessionFlags":
            return SessionFlagsLayer()
        case "legacyManagedConfigTomlFromFile":
            return LegacyManagedFileLayer(_text(source.file))


def _text(value: str | None) -> str:
    assert value is not None, "the loader names the file or folder of this kind of layer"
    return value


def _metadata(ref: LayerRef) -> ConfigLayerMetadata:
    return ConfigLayerMetadata(layer_source(ref.source), ref.version)


def config_read_result(view: ConfigView) -> ConfigReadResponse:
    """The config/read result. Origins share one metadata Struct per layer (a file of 10,000
    keys has 10,000 origins but only a few layers)."""
    by_layer: dict[int, ConfigLayerMetadata] = {}
    origins: dict[str, ConfigLayerMetadata] = {}
    for path, ref in view.origins.items():
        meta = by_layer.get(id(ref))
        if meta is None:
            meta = by_layer[id(ref)] = _metadata(ref)
        origins[path] = meta
    result = ConfigReadResponse(view.config, origins)
    if view.layers is not None:
        result.layers = [
            ConfigLayer(
                layer_source(layer.ref.source),
                layer.ref.version,
                layer.config,
                UNSET if layer.disabled_reason is None else layer.disabled_reason,
            )
            for layer in view.layers
        ]
    return result


def write_result(outcome: WriteOutcome) -> ConfigWriteResponse:
    overridden = None
    if outcome.overridden is not None:
        o = outcome.overridden
        overridden = OverriddenMetadata(o.message, _metadata(o.layer), o.effective_value)
    return ConfigWriteResponse(outcome.status, outcome.version, outcome.file_path, overridden)


def config_warning(w: StartupWarning) -> m.ConfigWarningParams:
    params = m.ConfigWarningParams(w.summary, w.details)
    if w.path is not None:
        params.path = w.path
    if w.line is not None and w.column is not None:
        end = w.end_column if w.end_column is not None else w.column
        params.range = m.TextRange(m.TextPosition(w.line, w.column), m.TextPosition(w.line, end))
    return params
