"""AuthActor: owns the credentials of one server (``credentials.Keeper``), the one pending
interactive login and the account notifications (spec account.md).

One task serves the inbox, so account state changes in arrival order. Interactive logins run as
LoginFlow tasks (``login_browser``, ``login_device``) in the actor's nursery, each in a cancel
scope the actor cancels when the login is cancelled or replaced, or when its time is up; each
reports its own ``account/login/completed`` (``auth_logins.py`` starts them).

Notifications are published on the hub (every initialized connection that has not opted out);
the ``account/updated`` that follows a client's ``initialize`` goes to that client only.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any, Final, final

import httpx
import trio
from chamberlain.actors import auth_bedrock
from chamberlain.actors.auth_external import ACCOUNT_CHANGED, ask_client_for_tokens
from chamberlain.actors.auth_logins import Pending, cancel_pending
from chamberlain.actors.auth_logins import start as start_login
from chamberlain.actors.auth_messages import (
    AuthMsg,
    CancelLogin,
    ClientInitialized,
    GetAuthStatus,
    Logout,
    ReadAccount,
    ReadRateLimits,
    SendNudge,
    StartLogin,
)
from chamberlain.actors.auth_settings import AuthActorArgs, AuthSettings, read_auth_settings
from chamberlain.actors.credentials import Active, Keeper, describe, storage_text
from chamberlain.actors.reply import Reply
from chamberlain.errors import InternalError, InvalidRequest
from chamberlain.protocol import account as acct
from chamberlain.protocol.uuidtext import UuidError, parse_uuid
from chamberlain.remote import backend
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.refresh import RefreshFailed, revoke
from chamberlain.store.auth_file import AuthDotJson
from chamberlain.store.auth_store import AuthStorageError

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from chamberlain.actors.caller import Caller
    from chamberlain.actors.config_actor import ConfigMsg

__all__ = ["INBOX_SIZE", "AuthActor"]

logger = logging.getLogger(__name__)

INBOX_SIZE: Final = 128
#: Seconds one outbound HTTP request may take at most.
HTTP_TIMEOUT_S: Final = 60.0
_UNSEEN: Final = object()
#: account/read of a stored ChatGPT login without tokens (the reference's text)
PLAN_REQUIRED: Final = "plan type is required for chatgpt authentication"


@final
class AuthActor:
    def __init__(self, args: AuthActorArgs) -> None:
        self._config_now = args.config_now
        self.home = str(args.codex_home)
        self._config = args.config
        self.hub = args.hub
        self.endpoints = Endpoints.from_environ(args.environ, callback_port=args.callback_port)
        self.pending: Pending | None = None
        self._keeper: Keeper | None = None
        self._flows: trio.Nursery | None = None
        #: the stored credentials as last seen or written (``_UNSEEN`` before the first load);
        #: different ones on a later load were changed by someone else
        self._seen: AuthDotJson | object | None = _UNSEEN

    @property
    def keeper(self) -> Keeper:
        assert self._keeper is not None, "AuthActor.run has not started"
        return self._keeper

    @property
    def flows(self) -> trio.Nursery:
        assert self._flows is not None, "AuthActor.run has not started"
        return self._flows

    @property
    def config_inbox(self) -> trio.MemorySendChannel[ConfigMsg] | None:
        return self._config

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[trio.MemorySendChannel[AuthMsg]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        send, receive = trio.open_memory_channel[AuthMsg](INBOX_SIZE)
        try:
            # a bound for a request that hangs (a device poll); the spec's own deadlines (revoke
            # 10 s, routing 15 s, the refresh answer 10 s) are shorter and keep their texts
            async with httpx.AsyncClient(trust_env=False, timeout=HTTP_TIMEOUT_S) as http, trio.open_nursery() as flows:
                self._keeper, self._flows = Keeper(self.home, http, on_write=self.saw), flows
                async with receive:
                    task_status.started(send)
                    async for msg in receive:
                        await self._serve(msg)
                flows.cancel_scope.cancel(reason="auth actor stopped")
        finally:
            self._flows = None
            if self._config is not None:
                self._config.close()

    async def _serve(self, msg: AuthMsg) -> None:
        try:
            match msg:
                case ReadAccount():
                    msg.reply.set(await self._read_account(msg))
                case GetAuthStatus():
                    msg.reply.set(await self._auth_status(msg))
                case StartLogin():
                    await start_login(self, msg)
                case CancelLogin():
                    await self._cancel_login(msg)
                case Logout():
                    await self._logout(msg)
                case ReadRateLimits():
                    self.flows.start_soon(self._answer, msg.reply, self._rate_limits(msg))
                case SendNudge():
                    self.flows.start_soon(self._answer, msg.reply, self._nudge(msg))
                case ClientInitialized():
                    self.flows.start_soon(self._after_initialize, msg.caller)
        except Exception as exc:  # the requester's edge maps it; the actor serves on
            if not isinstance(msg, ClientInitialized):
                msg.reply.fail(exc)

    @staticmethod
    async def _answer(reply: Reply[Any], work: Awaitable[Any]) -> None:
        """Backend reads run beside the inbox, so a slow backend delays no other request."""
        try:
            reply.set(await work)
        except Exception as exc:
            reply.fail(exc)

    # -- settings and credentials -------------------------------------------------------------

    async def settings(self) -> AuthSettings:
        """The account keys of the effective config (the defaults when it cannot be read)."""
        return await read_auth_settings(self._config, self._config_now)

    def endpoints_for(self, settings: AuthSettings) -> Endpoints:
        return self.endpoints.with_backend(settings.backend_base)

    async def active(self, settings: AuthSettings) -> Active | None:
        stored = await self.keeper.load(settings)
        self._notice(stored)
        return self.keeper.active(stored, settings)

    def saw(self, stored: AuthDotJson | None) -> None:
        """What this actor itself just stored (no change to announce on the next load)."""
        self._seen = stored

    def _notice(self, stored: AuthDotJson | None) -> None:
        """Credentials changed by someone else (a ``codex login`` in a terminal, a sibling
        server) are adopted on this use, and every initialized connection hears of it (the
        reference keeps the stale ones until restart; docs/differences.md)."""
        seen, self._seen = self._seen, stored
        if seen is _UNSEEN or seen == stored or self.keeper.external is not None:
            return
        logger.info("stored credentials changed outside this server; adopting them")
        active = self.keeper.active(stored, AuthSettings()) if stored is not None else None
        self.updated(active.mode if active else None, active.plan if active else None)

    # -- reads ----------------------------------------------------------------------------------

    async def _read_account(self, msg: ReadAccount) -> acct.GetAccountResponse:
        settings = await self.settings()
        active = await self.active(settings)
        bedrock = auth_bedrock.read_account(settings, active)
        if bedrock is not None:
            return bedrock
        requires = settings.requires_openai_auth
        if active is None or not requires:
            return acct.GetAccountResponse(None, None, requires, None)
        if active.mode == "apikey":
            return acct.GetAccountResponse(acct.ApiKeyAccount(), None, requires, None)
        if active.tokenless:
            raise InvalidRequest(PLAN_REQUIRED)
        endpoints = self.endpoints_for(settings)
        active = await self._before_use(active, msg.refresh, settings, endpoints, msg.caller)
        if self.keeper.dead(active) is not None:
            return acct.GetAccountResponse(None, None, True, None)
        cloud = self.keeper.cloud_failure(active, endpoints)
        if cloud is not None:
            raise InternalError(cloud)
        active, routing, name = await self.routing(active, endpoints, msg.caller, settings)
        claims = active.claims
        account = acct.ChatgptAccount(claims.email, active.plan or "unknown", name)
        return acct.GetAccountResponse(account, claims.user_id, requires, routing)

    async def routing(
        self, active: Active, endpoints: Endpoints, caller: Caller, settings: AuthSettings
    ) -> tuple[Active, acct.WorkspaceRouting, str | None]:
        """Routing discovery with the 401 recovery of §14.3: managed credentials are reloaded,
        then refreshed, each time asking again; external tokens ask the client for new ones (§11)
        and fail with ``ACCOUNT_CHANGED`` when it gives them. The credentials the routing belongs
        to (``active`` unless the recovery replaced them)."""
        try:
            routing, name = await self.keeper.routing(active, endpoints, caller)
            return active, routing, name
        except backend.RoutingError as exc:
            if not exc.unauthorized or active.mode == "apikey":
                raise
            if active.mode == "chatgptAuthTokens":
                asked = [caller.handle] if caller.handle is not None else []
                renewed = await ask_client_for_tokens(self.keeper, active, asked, settings.forced_workspace_ids)
                if renewed is None:
                    raise
                # as on the reference, this discovery is not retried: the credentials it was
                # for are gone (the next one runs with the new tokens)
                raise backend.RoutingError(ACCOUNT_CHANGED) from None
        return await self._managed_recovery(active, endpoints, caller, settings)

    async def _managed_recovery(
        self, active: Active, endpoints: Endpoints, caller: Caller, settings: AuthSettings
    ) -> tuple[Active, acct.WorkspaceRouting, str | None]:
        """§14.3 as the reference does it: reload the stored credentials and ask again (even when
        they did not change), then refresh and ask again; a further 401 is final."""
        reloaded = await self.active(settings)
        if reloaded is not None and reloaded.mode == "chatgpt" and not reloaded.tokenless:
            try:
                routing, name = await self.keeper.routing(reloaded, endpoints, caller)
                return reloaded, routing, name
            except backend.RoutingError as exc:
                if not exc.unauthorized:
                    raise
            active = reloaded
        try:
            active = await self.keeper.refresh(active, "unauthorized_recovery", settings, endpoints, caller)
        except RefreshFailed as exc:
            raise InternalError(exc.message) from None
        routing, name = await self.keeper.routing(active, endpoints, caller)
        return active, routing, name

    async def _before_use(
        self, active: Active, forced: bool, settings: AuthSettings, endpoints: Endpoints, caller: Caller
    ) -> Active:
        """§14.2: a forced refresh (``refreshToken: true``, managed tokens only; its failure never
        fails the request), else the proactive one."""
        if not forced or active.mode != "chatgpt":
            return await self.keeper.fresh(active, settings, endpoints, caller)
        try:
            return await self.keeper.refresh(active, "forced", settings, endpoints, caller)
        except RefreshFailed as exc:
            logger.info("forced token refresh failed: %s", exc.message)
            return active

    async def _auth_status(self, msg: GetAuthStatus) -> acct.GetAuthStatusResponse:
        settings = await self.settings()
        if not settings.requires_openai_auth:
            return acct.GetAuthStatusResponse(None, None, False)
        active = await self.active(settings)
        if active is None or active.is_bedrock or active.tokenless or _empty_key(active):
            return acct.GetAuthStatusResponse(None, None, True)
        endpoints = self.endpoints_for(settings)
        active = await self._before_use(active, msg.refresh, settings, endpoints, msg.caller)
        token: str | None = None
        if msg.include_token and self.keeper.dead(active) is None:
            if active.mode == "apikey":
                key = active.stored.api_key if active.stored is not None else None
                token = key.reveal() if key is not None else None
            elif active.access_token is not None:
                token = active.access_token.reveal()
        return acct.GetAuthStatusResponse(active.mode, token, True)

    # -- cancel and logout -------------------------------------------------------------------------

    async def _cancel_login(self, msg: CancelLogin) -> None:
        try:
            login_id = str(parse_uuid(msg.login_id))
        except UuidError:
            raise InvalidRequest(f"invalid login id: {msg.login_id}") from None
        pending = self.pending
        if pending is None or pending.login_id != login_id:
            msg.reply.set(acct.CancelLoginAccountResponse("notFound"))
            return
        msg.reply.set(acct.CancelLoginAccountResponse("canceled"))
        # The completion follows the response (spec §7): the flow reports it as it ends.
        await cancel_pending(self, replaced_by_browser=False)

    async def _logout(self, msg: Logout) -> None:
        settings = await self.settings()
        bedrock = await auth_bedrock.provider_keys_to_clear(self, settings)
        await cancel_pending(self, replaced_by_browser=False)
        try:
            stored = await self.keeper.load(settings, strict=True)
        except AuthStorageError as exc:
            raise InternalError(f"logout failed: {storage_text(exc)}") from None
        tokens = stored.tokens if stored is not None and stored.resolved_mode() == "chatgpt" else None
        if tokens is not None and self.keeper.external is None:
            await revoke(self.keeper.http, self.endpoints_for(settings), tokens.refresh_token.reveal(),
                         tokens.access_token.reveal(), msg.caller.originator, msg.caller.user_agent)
        try:
            await self.keeper.delete(settings)
        except (AuthStorageError, OSError) as exc:
            raise InternalError(f"logout failed: {storage_text(exc)}") from None
        self.saw(None)
        await auth_bedrock.clear_provider_keys(self, bedrock)
        msg.reply.set(acct.LogoutAccountResponse())
        self.updated(None, None)

    # -- ChatGPT backend ---------------------------------------------------------------------------

    async def _chatgpt(self, caller: Caller, what: str) -> tuple[Active, Endpoints]:
        settings = await self.settings()
        active = await self.active(settings)
        if active is None:
            raise InvalidRequest(f"codex account authentication required to {what}")
        if not active.is_chatgpt:
            raise InvalidRequest(f"chatgpt authentication required to {what}")
        endpoints = self.endpoints_for(settings)
        return await self.keeper.fresh(active, settings, endpoints, caller), endpoints

    async def _rate_limits(self, msg: ReadRateLimits) -> acct.GetAccountRateLimitsResponse:
        active, endpoints = await self._chatgpt(msg.caller, "read rate limits")

        async def call(a: Active) -> acct.GetAccountRateLimitsResponse:
            return await backend.read_rate_limits(
                self.keeper.http, endpoints, a.backend_auth(msg.caller.user_agent),
                exclude_reset_credit_details=msg.exclude_reset_credit_details,
            )

        return await call(active)  # a 401 is final here: the reference recovers only for routing

    async def _nudge(self, msg: SendNudge) -> acct.SendAddCreditsNudgeEmailResponse:
        active, endpoints = await self._chatgpt(msg.caller, "notify workspace owner")

        async def call(a: Active) -> str:
            return await backend.send_nudge(
                self.keeper.http, endpoints, a.backend_auth(msg.caller.user_agent), msg.credit_type
            )

        return acct.SendAddCreditsNudgeEmailResponse(await call(active))

    async def _after_initialize(self, caller: Caller) -> None:
        """§10.2: with stored ChatGPT credentials, discover the routing in the background and
        tell the client that just initialized (only it) ``account/updated``."""
        try:
            settings = await self.settings()
            active = await self.active(settings)
            # the stored credentials only: external tokens set meanwhile announce themselves
            if active is None or active.mode != "chatgpt" or active.tokenless or caller.handle is None:
                return
            endpoints = self.endpoints_for(settings)
            # this discovery runs for the server, not a request: its User-Agent names no client
            # version (as the reference's)
            handle = caller.handle
            caller = dataclasses.replace(caller, user_agent=caller.user_agent.rsplit(" (", 1)[0])
            active = await self.keeper.fresh(active, settings, endpoints, caller)
            try:
                active, _, _ = await self.routing(active, endpoints, caller, settings)
            except backend.RoutingError:
                # a failed discovery is tried once more, recovery and all (as the reference's
                # start-up does: two rounds of requests)
                active, _, _ = await self.routing(active, endpoints, caller, settings)
            await handle.notify("account/updated", acct.AccountUpdatedNotification(active.mode, active.plan))
        except Exception as exc:  # a background task: its failure must not end the actor
            logger.info("account state after initialize: %s", describe(exc))

    # -- notifications --------------------------------------------------------------------------

    def completed(self, login_id: str | None, error: str | None, entrypoint: str | None = None) -> None:
        self.hub.publish(
            "account/login/completed",
            acct.AccountLoginCompletedNotification(login_id, error is None, error, entrypoint),
        )

    def updated(self, auth_mode: str | None, plan_type: str | None) -> None:
        self.hub.publish("account/updated", acct.AccountUpdatedNotification(auth_mode, plan_type))



def _empty_key(active: Active) -> bool:
    """getAuthStatus reads an empty stored API key as no credentials (account/read does not)."""
    key = active.stored.api_key if active.mode == "apikey" and active.stored is not None else None
    return key is not None and key.reveal() == ""
