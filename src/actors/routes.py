"""The route table: one row per served method — its params type, the actor that owns it, and how
its params become that actor's inbox message. Adding a method is one row here and one handler in
the owning actor; the connection actor looks rows up and never matches on method names.

``owner`` is ``"connection"`` for what a connection answers itself (the handshake, the
experimental echo), ``"config"`` for the ConfigActor, ``"auth"`` for the AuthActor and
``"threads"`` for the ThreadRegistryActor. A builder
gets the decoded params and the requesting connection's ``Caller`` (its originator, capabilities
and handle); it may refuse with a ChamberlainError (a variant gated on ``experimentalApi``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, TypeVar

from chamberlain.actors import auth_messages as aa
from chamberlain.actors import config_actor as ca
from chamberlain.actors import thread_registry as tr
from chamberlain.actors.caller import Caller
from chamberlain.actors.reply import Reply
from chamberlain.errors import InvalidRequest
from chamberlain.protocol import account as acct
from chamberlain.protocol import messages as m
from chamberlain.protocol import models as mdl
from chamberlain.protocol import thread as wt
from chamberlain.protocol.decode import decode_params, decode_unit_params
from chamberlain.store.ops import Edit
from msgspec import Struct

__all__ = ["ROUTES", "EchoExperimental", "Initialize", "LocalMsg", "Owner", "Route", "RoutedMsg"]

Owner = Literal["connection", "config", "auth", "threads"]
P = TypeVar("P")


class Initialize(Struct, frozen=True):
    params: m.InitializeParams


class EchoExperimental(Struct, frozen=True):
    value: str | None


#: Messages a connection handles itself.
LocalMsg = Initialize | EchoExperimental
RoutedMsg = LocalMsg | ca.ConfigRequest | aa.AuthRequest | tr.ThreadRequest


@dataclass(frozen=True, slots=True)
class Route(Generic[P]):
    method: str
    #: msgspec Struct of the params, or None for methods without params (absent, null or {}).
    params_type: type[P] | None
    owner: Owner
    build: Callable[[P, Caller], RoutedMsg]
    experimental: bool = False
    #: False only for ``initialize``, which is served before the handshake.
    needs_initialize: bool = True
    #: A decoder of the raw params instead of ``params_type``'s (an internally tagged enum,
    #: optional params).
    decoder: Callable[[bytes | None], P] | None = None

    def decode(self, raw: bytes | None) -> P:
        if self.decoder is not None:
            return self.decoder(raw)
        if self.params_type is None:
            decode_unit_params(raw)
            return None  # type: ignore[return-value]  # P is None for routes without params
        result: P = decode_params(raw, self.params_type)
        return result


def _value_write(p: m.ConfigValueWriteParams, _: Caller) -> ca.WriteConfig:
    edit = Edit(p.key_path, p.value, p.merge_strategy)
    return ca.WriteConfig((edit,), p.file_path, p.expected_version, False, Reply())


def _batch_write(p: m.ConfigBatchWriteParams, _: Caller) -> ca.WriteConfig:
    edits = tuple(Edit(e.key_path, e.value, e.merge_strategy) for e in p.edits)
    return ca.WriteConfig(edits, p.file_path, p.expected_version, p.reload_user_config, Reply())


#: Login variants gated on ``capabilities.experimentalApi``, by the name the refusal gives.
_EXPERIMENTAL_LOGINS: Final = {
    acct.ChatgptAuthTokensLogin: "chatgptAuthTokens",
    acct.AmazonBedrockLogin: "amazonBedrock",
    acct.AmazonBedrockAccessKeysLogin: "amazonBedrockAccessKeys",
}


def _login(p: acct.LoginParams, caller: Caller) -> aa.StartLogin:
    gated = _EXPERIMENTAL_LOGINS.get(type(p))
    if gated is not None and not caller.experimental_api:
        raise InvalidRequest(f"account/login/start.{gated} requires experimentalApi capability")
    return aa.StartLogin(p, caller, Reply())


def _rate_limits_params(raw: bytes | None) -> acct.GetAccountRateLimitsParams:
    result: acct.GetAccountRateLimitsParams = acct.decode_optional_params(raw, acct.GetAccountRateLimitsParams)
    return result


def _thread_start(p: wt.ThreadStartParams, caller: Caller) -> tr.StartThread:
    # a relative cwd is the server process's working directory's (as the reference's)
    return tr.StartThread(tr.start_request(p, caller.experimental_api, os.getcwd()), caller, Reply())


#: Chamberlain's own methods carry this prefix (no reference method has it).
CHAMBERLAIN_PREFIX: Final = "chamberlain/"

_ROWS: Final[tuple[Route[Any], ...]] = (
    Route("initialize", m.InitializeParams, "connection", lambda p, _: Initialize(p), needs_initialize=False),
    Route("config/read", m.ConfigReadParams, "config", lambda p, _: ca.ReadConfig(p.cwd, p.include_layers, Reply())),
    Route("config/value/write", m.ConfigValueWriteParams, "config", _value_write),
    Route("config/batchWrite", m.ConfigBatchWriteParams, "config", _batch_write),
    Route("configRequirements/read", None, "config", lambda _p, _c: ca.ReadRequirements(Reply())),
    Route(
        "experimentalFeature/list", m.ExperimentalFeatureListParams, "config",
        lambda p, _: ca.ListFeatures(p.cursor, p.limit, p.thread_id, Reply()),
    ),
    Route(
        "experimentalFeature/enablement/set", m.ExperimentalFeatureEnablementSetParams, "config",
        lambda p, _: ca.SetEnablement(p.enablement, Reply()),
    ),
    Route("model/list", mdl.ModelListParams, "config", lambda p, _: ca.ListModels(p, Reply())),
    Route("config/mcpServer/reload", None, "config", lambda _p, _c: ca.ReloadMcpServers(Reply())),
    Route(
        "mock/experimentalMethod", m.MockExperimentalMethodParams, "connection",
        lambda p, _: EchoExperimental(p.value), experimental=True,
    ),
    Route(
        "account/read", acct.GetAccountParams, "auth", lambda p, c: aa.ReadAccount(p.refresh_token, c, Reply())
    ),
    Route(
        "getAuthStatus", acct.GetAuthStatusParams, "auth",
        lambda p, c: aa.GetAuthStatus(bool(p.include_token), bool(p.refresh_token), c, Reply()),
    ),
    Route("account/login/start", None, "auth", _login, decoder=acct.decode_login_params),
    Route(
        "account/login/cancel", acct.CancelLoginAccountParams, "auth", lambda p, _: aa.CancelLogin(p.login_id, Reply())
    ),
    Route("account/logout", None, "auth", lambda _p, c: aa.Logout(c, Reply())),
    Route(
        "account/rateLimits/read", None, "auth",
        lambda p, c: aa.ReadRateLimits(p.exclude_reset_credit_details, c, Reply()), decoder=_rate_limits_params,
    ),
    Route(
        "account/sendAddCreditsNudgeEmail", acct.SendAddCreditsNudgeEmailParams, "auth",
        lambda p, c: aa.SendNudge(p.credit_type, c, Reply()),
    ),
    Route("thread/start", wt.ThreadStartParams, "threads", _thread_start),
    Route(
        "thread/read", wt.ThreadReadParams, "threads",
        lambda p, _: tr.ReadThread(p.thread_id, p.include_turns, Reply()),
    ),
    Route(
        "thread/loaded/list", wt.ThreadLoadedListParams, "threads",
        lambda p, _: tr.ListLoaded(p.cursor, p.limit, Reply()),
    ),
    Route(
        f"{CHAMBERLAIN_PREFIX}thread/effectiveConfig", wt.ThreadEffectiveConfigParams, "threads",
        lambda p, _: tr.ReadThreadConfig(p.thread_id, Reply()),
    ),
)

ROUTES: Final[dict[str, Route[Any]]] = {r.method: r for r in _ROWS}
