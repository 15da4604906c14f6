"""The server -> client request ``account/chatgptAuthTokens/refresh`` (spec account.md §11).

While external ``chatgptAuthTokens`` are active and a backend call made with them gets a 401
(on this server: workspace-routing discovery, as on the reference, whose rate-limit and nudge
calls report the 401 as it is), the AuthActor asks the requesting client for fresh tokens. A
valid answer replaces the tokens in memory (plan precedence as for the login, §6.4); the
discovery that got the 401 then fails with ``ACCOUNT_CHANGED`` (0.169.0 does not retry it; the
next discovery runs with the new tokens). No ``account/updated`` is sent. Every
failure (no answer within ``EXTERNAL_REFRESH_TIMEOUT_S``, an error answer, a token that is not a
JWT, a workspace outside the policy) leaves the tokens as they were and is logged with the
reference's text; the 401 then stands.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import trio
from chamberlain.actors.credentials import Active, external_tokens
from chamberlain.errors import ClientGone, ClientRequestTimedOut
from chamberlain.protocol import account as acct
from chamberlain.remote.refresh import (
    EXTERNAL_REFRESH_TIMED_OUT,
    EXTERNAL_REFRESH_TIMEOUT_S,
    ExternalRefreshFailed,
    check_external_refresh,
)
from chamberlain.store.auth_jwt import JwtError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chamberlain.actors.caller import Caller
    from chamberlain.actors.credentials import Keeper

__all__ = ["ACCOUNT_CHANGED", "REFRESH_METHOD", "ask_client_for_tokens"]

logger = logging.getLogger(__name__)

REFRESH_METHOD: Final = "account/chatgptAuthTokens/refresh"
#: routing discovery whose external tokens the client replaced meanwhile (login completion error
#: or account/read error, as on the reference)
ACCOUNT_CHANGED: Final = "account changed during workspace routing discovery"


async def ask_client_for_tokens(
    keeper: Keeper, active: Active, caller: Caller, allowed_workspaces: Sequence[str] | None
) -> Active | None:
    """Ask ``caller`` for tokens to replace ``active``'s external ones; the new credentials (now
    the keeper's), or None when there are none to retry with."""
    if active.external is None or caller.handle is None:
        return None
    params = acct.ChatgptAuthTokensRefreshParams("unauthorized", active.account_id)
    try:
        reply = await caller.handle.request_client(
            REFRESH_METHOD, params, deadline=trio.current_time() + EXTERNAL_REFRESH_TIMEOUT_S
        )
        answer = await reply.wait()
    except ClientRequestTimedOut:
        logger.info("external token refresh failed: %s", EXTERNAL_REFRESH_TIMED_OUT)
        return None
    except ClientGone:
        logger.info("external token refresh failed: the client went away")
        return None
    try:
        tokens = check_external_refresh(answer, allowed_workspaces)
        external = external_tokens(tokens.access_token, tokens.chatgpt_account_id, tokens.chatgpt_plan_type)
    except ExternalRefreshFailed as exc:
        logger.info("external token refresh failed: %s", exc)
        return None
    except JwtError:
        logger.info("external token refresh failed: auth refresh returned invalid credentials")
        return None
    if keeper.external is not active.external:  # replaced or logged out meanwhile
        logger.info("external tokens changed while the client was asked; its answer is dropped")
        return None
    keeper.external = external
    return Active("chatgptAuthTokens", external=external)
