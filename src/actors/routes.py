"""The route table: one row per served method — its params type, the actor that owns it, and how
its params become that actor's inbox message. Adding a method is one row here and one handler in
the owning actor; the connection actor looks rows up and never matches on method names.

``owner`` is ``"connection"`` for what a connection answers itself (the handshake, the
experimental echo) and ``"config"`` for the ConfigActor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, TypeVar

from chamberlain.actors import config_actor as ca
from chamberlain.actors.reply import Reply
from chamberlain.protocol import messages as m
from chamberlain.store.ops import Edit
from msgspec import Struct

__all__ = ["ROUTES", "EchoExperimental", "Initialize", "LocalMsg", "Owner", "Route", "RoutedMsg"]

Owner = Literal["connection", "config"]
P = TypeVar("P")


class Initialize(Struct, frozen=True):
    params: m.InitializeParams


class EchoExperimental(Struct, frozen=True):
    value: str | None


#: Messages a connection handles itself.
LocalMsg = Initialize | EchoExperimental
RoutedMsg = LocalMsg | ca.ConfigRequest


@dataclass(frozen=True, slots=True)
class Route(Generic[P]):
    method: str
    #: msgspec Struct of the params, or None for methods without params (absent, null or {}).
    params_type: type[P] | None
    owner: Owner
    build: Callable[[P], RoutedMsg]
    experimental: bool = False
    #: False only for ``initialize``, which is served before the handshake.
    needs_initialize: bool = True


def _value_write(p: m.ConfigValueWriteParams) -> ca.WriteConfig:
    edit = Edit(p.key_path, p.value, p.merge_strategy)
    return ca.WriteConfig((edit,), p.file_path, p.expected_version, False, Reply())


def _batch_write(p: m.ConfigBatchWriteParams) -> ca.WriteConfig:
    edits = tuple(Edit(e.key_path, e.value, e.merge_strategy) for e in p.edits)
    return ca.WriteConfig(edits, p.file_path, p.expected_version, p.reload_user_config, Reply())


_ROWS: Final[tuple[Route[Any], ...]] = (
    Route("initialize", m.InitializeParams, "connection", Initialize, needs_initialize=False),
    Route("config/read", m.ConfigReadParams, "config", lambda p: ca.ReadConfig(p.cwd, p.include_layers, Reply())),
    Route("config/value/write", m.ConfigValueWriteParams, "config", _value_write),
    Route("config/batchWrite", m.ConfigBatchWriteParams, "config", _batch_write),
    Route("configRequirements/read", None, "config", lambda _: ca.ReadRequirements(Reply())),
    Route(
        "experimentalFeature/list", m.ExperimentalFeatureListParams, "config",
        lambda p: ca.ListFeatures(p.cursor, p.limit, p.thread_id, Reply()),
    ),
    Route(
        "experimentalFeature/enablement/set", m.ExperimentalFeatureEnablementSetParams, "config",
        lambda p: ca.SetEnablement(p.enablement, Reply()),
    ),
    Route("config/mcpServer/reload", None, "config", lambda _: ca.ReloadMcpServers(Reply())),
    Route(
        "mock/experimentalMethod", m.MockExperimentalMethodParams, "connection",
        lambda p: EchoExperimental(p.value), experimental=True,
    ),
)

ROUTES: Final[dict[str, Route[Any]]] = {r.method: r for r in _ROWS}
