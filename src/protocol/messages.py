"""Wire messages: msgspec Structs named after the reference's Rust types (their names appear in
serde errors such as ``expected struct ConfigReadParams``).

Params Structs decode (results are in ``results.py``); notification Structs encode in the
reference's member order. ``UNSET`` means
"absent"; ``None`` is JSON ``null`` (STYLE rule 4).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

__all__ = [
    "ClientInfo",
    "ConfigBatchWriteParams",
    "ConfigEdit",
    "ConfigReadParams",
    "ConfigValueWriteParams",
    "ConfigWarningParams",
    "ExperimentalFeatureEnablementSetParams",
    "ExperimentalFeatureListParams",
    "InitializeCapabilities",
    "InitializeParams",
    "MergeStrategy",
    "MockExperimentalMethodParams",
    "RemoteControlStatusParams",
    "TextPosition",
    "TextRange",
]

U32 = Annotated[int, Meta(ge=0, le=2**32 - 1)]
MergeStrategy = Literal["replace", "upsert"]


class _Params(Struct, rename="camel"):
    """Base of request params: camelCase members, unknown members ignored."""


class ClientInfo(_Params):
    name: str
    version: str
    title: str | None = None


class InitializeCapabilities(_Params):
    experimental_api: bool = False
    opt_out_notification_methods: list[str] | None = None


class InitializeParams(_Params):
    client_info: ClientInfo
    capabilities: InitializeCapabilities | None = None


class ConfigReadParams(_Params):
    include_layers: bool = False
    cwd: str | None = None


class ConfigEdit(_Params):
    key_path: str
    value: Any
    merge_strategy: MergeStrategy


class ConfigValueWriteParams(_Params):
    key_path: str
    value: Any
    merge_strategy: MergeStrategy
    file_path: str | None = None
    expected_version: str | None = None


class ConfigBatchWriteParams(_Params):
    edits: list[ConfigEdit]
    file_path: str | None = None
    expected_version: str | None = None
    reload_user_config: bool = False


class ExperimentalFeatureListParams(_Params):
    cursor: str | None = None
    limit: U32 | None = None
    thread_id: str | None = None


class ExperimentalFeatureEnablementSetParams(_Params):
    enablement: dict[str, bool]


class MockExperimentalMethodParams(_Params):
    value: str | None = None


class _Result(Struct, rename="camel", omit_defaults=False):
    """Base of what the server encodes: camelCase members, every member written."""


# --- notifications ----------------------------------------------------------------------------


class TextPosition(_Result):
    line: int
    column: int


class TextRange(_Result):
    start: TextPosition
    end: TextPosition


class ConfigWarningParams(_Result):
    """``details`` is always written (``null`` when absent); ``path``/``range`` only when known
    (msgspec never encodes an ``UNSET`` member)."""

    summary: str
    details: str | None = None
    path: str | UnsetType = UNSET
    range: TextRange | UnsetType = UNSET


class RemoteControlStatusParams(_Result):
    status: str
    server_name: str
    installation_id: str
    environment_id: str | None
