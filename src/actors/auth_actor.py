"""AuthActor: owns the credentials of one server — what is stored (auth.json, the keyring or
memory, per ``cli_auth_credentials_store``), the external ``chatgptAuthTokens`` held in memory,
the one pending interactive login, and the permanent-refresh-failure marker (spec account.md).

One task serves the inbox, so account state changes in arrival order. Interactive logins run as
LoginFlow tasks in the actor's nursery, each in a cancel scope the actor cancels when the login is
cancelled or replaced, or when its time is up; each reports its own ``account/login/completed``.
Blocking storage calls (flock, fsync, the OS keyring) run in a worker thread.

Notifications are published on the hub (every initialized connection that has not opted out);
the ``account/updated`` that follows a client's ``initialize`` goes to that client only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, final

import httpx
import trio
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
from chamberlain.actors.auth_settings import AuthSettings
from chamberlain.actors.reply import Reply
from chamberlain.errors import ChamberlainError, InternalError, InvalidRequest
from chamberlain.protocol import account as acct
from chamberlain.protocol.uuidtext import UuidError, parse_uuid
from chamberlain.remote.endpoints import Endpoints
from chamberlain.store.auth_file import AuthDotJson
from chamberlain.store.auth_jwt import JwtError, plan_type_from_raw
from chamberlain.store.auth_policy import check_login_allowed, forced_login_method, stored_auth_allowed
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import AuthStorage, AuthStorageError, CredentialsStoreMode, create_auth_storage

if TYPE_CHECKING:
    from chamberlain.actors.caller import Caller
    from chamberlain.actors.config_actor import ConfigMsg
    from chamberlain.actors.hub import Hub

__all__ = ["INBOX_SIZE", "LOGIN_TIMEOUT_S", "AuthActor"]

logger = logging.getLogger(__name__)

INBOX_SIZE: Final = 128
#: A browser login is abandoned this long after its start (the reference's LOGIN_CHATGPT_TIMEOUT).
LOGIN_TIMEOUT_S: Final = 600.0
_EXTERNAL_ACTIVE: Final = (
    "External auth is active. Use account/login/start (chatgptAuthTokens) to update it or account/logout to clear it."
)
_BROWSER_PREFIX: Final = "Login server error: "
_NOT_COMPLETED: Final = "Login was not completed"
_UNSEEN: Final = object()

LoginKind = Literal["browser", "device"]


@dataclass(eq=False)
class _Pending:
    """The one pending interactive login."""

    login_id: str
    kind: LoginKind
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    done: trio.Event = field(default_factory=trio.Event)
    #: the completion error when the actor cancels it (None: the deadline passed)
    cancel_error: str | None = None

    def cancel(self, error: str) -> None:
        if self.cancel_error is None:
            self.cancel_error = error
        self.scope.cancel(reason=error)


@final
class AuthActor:
    def __init__(
        self,
        codex_home: Path,
        environ: dict[str, str],
        config: trio.MemorySendChannel[ConfigMsg] | None,
        hub: Hub,
        callback_port: int | None = None,
    ) -> None:
        """``config``: the ConfigActor's inbox (a clone this actor owns), for the settings of the
        effective config; None runs on the defaults."""
        self.home = str(codex_home)
        self.environ = environ
        self._config = config
        self.hub = hub
        self._endpoints_base = Endpoints.from_environ(environ, callback_port=callback_port)
        self._storages: dict[str, AuthStorage] = {}
        self._pending: _Pending | None = None
        self._flows: trio.Nursery | None = None
        self._http: httpx.AsyncClient | None = None
        #: The credentials as this actor last saw or wrote them; ``_UNSEEN`` before the first
        #: load. Stored credentials that differ on a later load were changed by someone else.
        self._seen: AuthDotJson | object | None = _UNSEEN

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[trio.MemorySendChannel[AuthMsg]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        send, receive = trio.open_memory_channel[AuthMsg](INBOX_SIZE)
        try:
            async with httpx.AsyncClient(trust_env=False) as http, trio.open_nursery() as flows:
                self._http, self._flows = http, flows
                async with receive:
                    task_status.started(send)
                    async for msg in receive:
                        await self._serve(msg)
                flows.cancel_scope.cancel(reason="auth actor stopped")
        finally:
            self._http = self._flows = None
            if self._config is not None:
                self._config.close()

    async def _serve(self, msg: AuthMsg) -> None:
        try:
            await self._handle(msg)
        except Exception as exc:  # the requester's edge maps it; the actor serves on
            if isinstance(msg, ClientInitialized):
                logger.warning("account state after initialize: %s", _describe(exc))
            else:
                msg.reply.fail(exc)

    async def _handle(self, msg: AuthMsg) -> None:
        match msg:
            case ReadAccount():
                msg.reply.set(await self._read_account(msg))
            case GetAuthStatus():
                msg.reply.set(await self._auth_status(msg))
            case StartLogin():
                await self._start_login(msg)
            case CancelLogin():
                await self._cancel_login(msg)
            case Logout():
                await self._logout(msg)
            case ReadRateLimits():
                await self._rate_limits(msg)
            case SendNudge():
                await self._nudge(msg)
            case ClientInitialized():
                await self._after_initialize(msg.caller)

    # -- settings and stored credentials ----------------------------------------------------

    async def _settings(self) -> AuthSettings:
        """The account keys of the effective config; the defaults when it cannot be read (the
        config methods report that problem; account methods work on)."""
        if self._config is None:
            return AuthSettings()
        from chamberlain.actors.config_actor import ReadEffective

        reply: Reply[dict[str, Any]] = Reply()
        try:
            self._config.send_nowait(ReadEffective(reply))
            return AuthSettings.from_config(await reply.wait())
        except (trio.WouldBlock, trio.ClosedResourceError, ChamberlainError) as exc:
            logger.debug("account settings from defaults: %s", _describe(exc))
            return AuthSettings()

    def _storage(self, settings: AuthSettings) -> AuthStorage:
        mode = settings.store_mode
        storage = self._storages.get(mode)
        if storage is None:
            storage = self._storages[mode] = create_auth_storage(self.home, CredentialsStoreMode(mode))
        return storage

    async def _stored(self, settings: AuthSettings) -> AuthDotJson | None:
        """The stored credentials the policy allows (others are ignored, never deleted)."""
        storage = self._storage(settings)
        try:
            auth = await trio.to_thread.run_sync(storage.load)
        except AuthStorageError as exc:
            logger.warning("cannot load credentials: %s", exc)
            return None
        self._notice(auth)
        if auth is None:
            return None
        forced = forced_login_method(settings.forced_login_method)
        return auth if stored_auth_allowed(auth, forced, settings.forced_workspace_ids) else None

    def _notice(self, auth: AuthDotJson | None) -> None:
        """Credentials changed by someone else (a ``codex login`` in a terminal, a sibling
        server) are adopted on this use, and every initialized connection hears of it (the
        reference keeps the stale ones until restart; docs/differences.md)."""
        seen, self._seen = self._seen, auth
        if seen is _UNSEEN or seen == auth:
            return
        logger.info("stored credentials changed outside this server; adopting them")
        if auth is None:
            self._updated(None, None)
        else:
            self._updated(auth.resolved_mode(), _plan_of(auth))

    # -- reads ----------------------------------------------------------------------------------

    async def _read_account(self, msg: ReadAccount) -> acct.GetAccountResponse:
        settings = await self._settings()
        auth = await self._stored(settings)
        requires = settings.requires_openai_auth
        if auth is None:
            return acct.GetAccountResponse(None, None, requires, None)
        if auth.resolved_mode() == "apikey":
            return acct.GetAccountResponse(acct.ApiKeyAccount(), None, requires, None)
        raise InternalError("workspace routing discovery failed")

    async def _auth_status(self, msg: GetAuthStatus) -> acct.GetAuthStatusResponse:
        settings = await self._settings()
        if not settings.requires_openai_auth:
            return acct.GetAuthStatusResponse(None, None, False)
        auth = await self._stored(settings)
        if auth is None:
            return acct.GetAuthStatusResponse(None, None, True)
        mode = auth.resolved_mode()
        token: str | None = None
        if msg.include_token:
            if mode == "apikey" and auth.api_key is not None:
                token = auth.api_key.reveal()
            elif auth.tokens is not None:
                token = auth.tokens.access_token.reveal()
        return acct.GetAuthStatusResponse(mode, token, True)

    # -- logins ---------------------------------------------------------------------------------

    async def _start_login(self, msg: StartLogin) -> None:
        settings = await self._settings()
        params = msg.params
        match params:
            case acct.ApiKeyLogin():
                check_login_allowed(forced_login_method(settings.forced_login_method), "apiKey")
                await self._login_api_key(params.api_key, settings, msg)
            case _:
                raise InvalidRequest(
                    f"Invalid request: login type `{type(params).__name__}` is not served by this server (Chamberlain)"
                )

    async def _login_api_key(self, key: str, settings: AuthSettings, msg: StartLogin) -> None:
        await self._cancel_pending(_BROWSER_PREFIX + _NOT_COMPLETED, _NOT_COMPLETED)
        storage = self._storage(settings)
        auth = AuthDotJson.for_api_key(Secret(key))
        try:
            await trio.to_thread.run_sync(storage.save, auth)
        except (AuthStorageError, OSError) as exc:
            raise InternalError(f"failed to save api key: {_storage_text(exc)}") from None
        self._seen = auth
        msg.reply.set(acct.ApiKeyLoginResponse())
        self._completed(None, None)
        self._updated("apikey", None)

    async def _cancel_login(self, msg: CancelLogin) -> None:
        try:
            login_id = str(parse_uuid(msg.login_id))
        except UuidError:
            raise InvalidRequest(f"invalid login id: {msg.login_id}") from None
        pending = self._pending
        if pending is None or pending.login_id != login_id:
            msg.reply.set(acct.CancelLoginAccountResponse("notFound"))
            return
        msg.reply.set(acct.CancelLoginAccountResponse("canceled"))
        # The completion follows the response (spec §7): the flow reports it as it ends.
        pending.cancel(self._cancel_text(pending, browser=_BROWSER_PREFIX + _NOT_COMPLETED, device=_NOT_COMPLETED))
        await pending.done.wait()

    async def _cancel_pending(self, browser: str, device: str) -> None:
        """Cancel the pending interactive login and wait until it has reported its completion."""
        pending = self._pending
        if pending is None:
            return
        pending.cancel(self._cancel_text(pending, browser=browser, device=device))
        await pending.done.wait()

    @staticmethod
    def _cancel_text(pending: _Pending, *, browser: str, device: str) -> str:
        return browser if pending.kind == "browser" else device

    async def _logout(self, msg: Logout) -> None:
        settings = await self._settings()
        await self._cancel_pending(_BROWSER_PREFIX + _NOT_COMPLETED, _NOT_COMPLETED)
        storage = self._storage(settings)
        try:
            await trio.to_thread.run_sync(storage.delete)
        except (AuthStorageError, OSError) as exc:
            raise InternalError(f"logout failed: {_storage_text(exc)}") from None
        self._seen = None
        msg.reply.set(acct.LogoutAccountResponse())
        self._updated(None, None)

    # -- ChatGPT backend ---------------------------------------------------------------------------

    async def _rate_limits(self, msg: ReadRateLimits) -> None:
        settings = await self._settings()
        auth = await self._stored(settings)
        if auth is None:
            raise InvalidRequest("codex account authentication required to read rate limits")
        raise InvalidRequest("chatgpt authentication required to read rate limits")

    async def _nudge(self, msg: SendNudge) -> None:
        settings = await self._settings()
        auth = await self._stored(settings)
        if auth is None:
            raise InvalidRequest("codex account authentication required to notify workspace owner")
        raise InvalidRequest("chatgpt authentication required to notify workspace owner")

    async def _after_initialize(self, caller: Caller) -> None:
        return

    # -- notifications --------------------------------------------------------------------------

    def _completed(self, login_id: str | None, error: str | None) -> None:
        self.hub.publish(
            "account/login/completed", acct.AccountLoginCompletedNotification(login_id, error is None, error)
        )

    def _updated(self, auth_mode: str | None, plan_type: str | None) -> None:
        self.hub.publish("account/updated", acct.AccountUpdatedNotification(auth_mode, plan_type))


def _plan_of(auth: AuthDotJson) -> str | None:
    """The wire plan of stored ChatGPT credentials (None for an API key)."""
    if auth.tokens is None or auth.resolved_mode() == "apikey":
        return None
    try:
        return plan_type_from_raw(auth.tokens.id_claims().plan_type)
    except JwtError:
        return "unknown"


def _storage_text(exc: BaseException) -> str:
    if isinstance(exc, AuthStorageError):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _describe(exc: BaseException) -> str:
    """A log-safe description: the type and the message of our own errors (never a token)."""
    if isinstance(exc, ChamberlainError):
        return exc.message
    return type(exc).__name__
