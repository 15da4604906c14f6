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

The reference asks every initialized connection at once and takes the first answer; one that
leaves does not end the wait while another may still answer (docs/multi-client.md).
``ask_clients`` does that for the connections it is given; the AuthActor gives the requesting
connection only, until the hub can name the initialized ones (the difference is documented there).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import trio
from chamberlain.actors.credentials import Active, external_tokens
from chamberlain.errors import ClientGone, ClientRequestTimedOut
from chamberlain.protocol import account as acct
from chamberlain.protocol.codec import Response
from chamberlain.remote.refresh import (
    EXTERNAL_REFRESH_TIMED_OUT,
    EXTERNAL_REFRESH_TIMEOUT_S,
    ExternalRefreshFailed,
    check_external_refresh,
)
from chamberlain.store.auth_jwt import JwtError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chamberlain.actors.caller import ClientHandle
    from chamberlain.actors.credentials import Keeper

__all__ = ["ACCOUNT_CHANGED", "REFRESH_METHOD", "ask_client_for_tokens", "ask_clients"]

logger = logging.getLogger(__name__)

REFRESH_METHOD: Final = "account/chatgptAuthTokens/refresh"
#: routing discovery whose external tokens the client replaced meanwhile (login completion error
#: or account/read error, as on the reference)
ACCOUNT_CHANGED: Final = "account changed during workspace routing discovery"


async def ask_client_for_tokens(
    keeper: Keeper, active: Active, clients: Sequence[ClientHandle], allowed_workspaces: Sequence[str] | None
) -> Active | None:
    """Ask ``clients`` for tokens to replace ``active``'s external ones (the first answer counts);
    the new credentials (now the keeper's), or None when there are none to retry with."""
    if active.external is None or not clients:
        return None
    params = acct.ChatgptAuthTokensRefreshParams("unauthorized", active.account_id)
    try:
        answer = await ask_clients(clients, REFRESH_METHOD, params, trio.current_time() + EXTERNAL_REFRESH_TIMEOUT_S)
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


async def ask_clients(clients: Sequence[ClientHandle], method: str, params: Any, deadline: float) -> Response:
    """Send the server -> client request to every one of ``clients``; the first response (a
    result or an error). Raises ``ClientGone`` when every one of them left first, else
    ``ClientRequestTimedOut`` at ``deadline`` (trio clock)."""
    send, receive = trio.open_memory_channel[Response](len(clients))
    timed_out: list[ClientRequestTimedOut] = []
    first: Response | None = None
    async with trio.open_nursery() as nursery:
        with send:
            for handle in clients:
                nursery.start_soon(_ask_one, handle, method, params, deadline, send.clone(), timed_out)
        with receive:
            async for answer in receive:  # ends when every asker has given up
                first = answer
                nursery.cancel_scope.cancel(reason=f"{method} answered")
                break
    if first is not None:
        return first
    if timed_out:
        raise timed_out[0]
    raise ClientGone(f"every client left before answering {method}")


async def _ask_one(
    handle: ClientHandle, method: str, params: Any, deadline: float, send: trio.MemorySendChannel[Response],
    timed_out: list[ClientRequestTimedOut],
) -> None:
    async with send:
        try:
            reply = await handle.request_client(method, params, deadline=deadline)
            answer = await reply.wait()
        except ClientGone:
            logger.debug("%s left before answering %s", handle.label, method)
            return
        except ClientRequestTimedOut as exc:
            timed_out.append(exc)
            return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            logger.debug("%s closed before %s could be sent", handle.label, method)
            return
        send.send_nowait(answer)  # room for one answer per client
