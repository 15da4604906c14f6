"""The AuthActor's inbox: one frozen Struct per account request (STYLE rule 2). Secrets travel in
the params Structs of ``protocol/account.py``, whose ``repr`` redacts them."""

from __future__ import annotations

from chamberlain.actors.caller import Caller
from chamberlain.actors.reply import Reply
from chamberlain.protocol import account as acct
from msgspec import Struct

__all__ = [
    "AuthMsg",
    "AuthRequest",
    "CancelLogin",
    "ClientInitialized",
    "GetAuthStatus",
    "Logout",
    "ReadAccount",
    "ReadRateLimits",
    "SendNudge",
    "StartLogin",
]


class ReadAccount(Struct, frozen=True):
    refresh: bool
    caller: Caller
    reply: Reply[acct.GetAccountResponse]


class GetAuthStatus(Struct, frozen=True):
    include_token: bool
    refresh: bool
    caller: Caller
    reply: Reply[acct.GetAuthStatusResponse]


class StartLogin(Struct, frozen=True):
    params: acct.LoginParams
    caller: Caller
    reply: Reply[acct.ApiKeyLoginResponse | acct.ChatgptLoginResponse | acct.ChatgptDeviceCodeLoginResponse
                 | acct.ChatgptAuthTokensLoginResponse | acct.AmazonBedrockLoginResponse]


class CancelLogin(Struct, frozen=True):
    login_id: str
    reply: Reply[acct.CancelLoginAccountResponse]


class Logout(Struct, frozen=True):
    caller: Caller
    reply: Reply[acct.LogoutAccountResponse]


class ReadRateLimits(Struct, frozen=True):
    exclude_reset_credit_details: bool
    caller: Caller
    reply: Reply[acct.GetAccountRateLimitsResponse]


class SendNudge(Struct, frozen=True):
    credit_type: str
    caller: Caller
    reply: Reply[acct.SendAddCreditsNudgeEmailResponse]


class ClientInitialized(Struct, frozen=True):
    """A connection finished ``initialize``: with stored ChatGPT credentials, discover the
    workspace routing and tell that connection ``account/updated`` (spec account.md §10.2)."""

    caller: Caller


AuthRequest = ReadAccount | GetAuthStatus | StartLogin | CancelLogin | Logout | ReadRateLimits | SendNudge
AuthMsg = AuthRequest | ClientInitialized
