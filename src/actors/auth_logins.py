"""``account/login/start`` for the AuthActor (spec account.md §6, §7, §10.1, §16): validation, the
one pending interactive login, and the LoginFlow tasks.

A pending login (browser or device code) runs in the AuthActor's nursery inside a cancel scope of
its own. Any validated start and ``account/logout`` cancel it and wait until it has reported its
own ``account/login/completed``; ``account/login/cancel`` answers first, then the flow reports.
A browser login is abandoned ``LOGIN_TIMEOUT_S`` after its start (``Login timed out``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import trio
from chamberlain.actors import auth_bedrock
from chamberlain.actors.credentials import Active, describe, external_tokens, storage_text
from chamberlain.actors.login_browser import BrowserLogin
from chamberlain.actors.login_device import DeviceLogin, request_device_code
from chamberlain.errors import ChamberlainError, InternalError, InvalidRequest
from chamberlain.protocol import account as acct
from chamberlain.remote.errors import LoginFailed
from chamberlain.remote.jwt_text import payload_error_text
from chamberlain.store.auth_file import AuthDotJson
from chamberlain.store.auth_jwt import JwtError
from chamberlain.store.auth_policy import check_external_workspace, check_login_allowed, forced_login_method
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import AuthStorageError

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from chamberlain.actors.auth_messages import StartLogin
    from chamberlain.actors.auth_settings import AuthSettings
    from chamberlain.actors.caller import Caller
    from chamberlain.actors.config_actor import ConfigMsg
    from chamberlain.actors.credentials import Keeper
    from chamberlain.remote.endpoints import Endpoints
    from chamberlain.remote.issuer import IssuedTokens

__all__ = ["LOGIN_TIMEOUT_S", "LoginHost", "Pending", "cancel_pending", "start"]

logger = logging.getLogger(__name__)

#: A browser login is abandoned this long after its start (the reference's LOGIN_CHATGPT_TIMEOUT).
LOGIN_TIMEOUT_S: Final = 600.0
EXTERNAL_ACTIVE: Final = (
    "External auth is active. Use account/login/start (chatgptAuthTokens) to update it or account/logout to clear it."
)
BROWSER_PREFIX: Final = "Login server error: "
NOT_COMPLETED: Final = "Login was not completed"
REPLACED: Final = "Login cancelled"
LoginKind = Literal["browser", "device"]


@dataclass(eq=False)
class Pending:
    """The one pending interactive login."""

    login_id: str
    kind: LoginKind
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    done: trio.Event = field(default_factory=trio.Event)
    #: the completion error when the actor cancels it (None when its deadline passed)
    cancel_error: str | None = None
    #: the ``onboardingEntrypoint`` its completion reports
    entrypoint: Callable[[], str | None] = lambda: None

    @property
    def prefix(self) -> str:
        return BROWSER_PREFIX if self.kind == "browser" else ""

    def cancel(self, error: str) -> None:
        if self.cancel_error is None:
            self.cancel_error = error
        self.scope.cancel(reason="login cancelled")


class LoginHost(Protocol):
    """What the login code uses of the AuthActor."""

    pending: Pending | None

    @property
    def keeper(self) -> Keeper: ...

    @property
    def flows(self) -> trio.Nursery: ...

    @property
    def config_inbox(self) -> trio.MemorySendChannel[ConfigMsg] | None: ...

    async def settings(self) -> AuthSettings: ...

    def endpoints_for(self, settings: AuthSettings) -> Endpoints: ...

    async def active(self, settings: AuthSettings) -> Active | None: ...

    async def routing(
        self, active: Active, endpoints: Endpoints, caller: Caller, settings: AuthSettings
    ) -> tuple[Active, acct.WorkspaceRouting, str | None]: ...

    def saw(self, stored: AuthDotJson | None) -> None: ...

    def completed(self, login_id: str | None, error: str | None, entrypoint: str | None = None) -> None: ...

    def updated(self, auth_mode: str | None, plan_type: str | None) -> None: ...


async def cancel_pending(actor: LoginHost, *, replaced_by_browser: bool) -> None:
    """Cancel the pending interactive login and wait until it has reported its completion. A
    browser login replaced by another one ends as the reference's does (its server got
    ``/cancel``); otherwise it was "not completed"."""
    pending = actor.pending
    if pending is None:
        return
    text = REPLACED if replaced_by_browser and pending.kind == "browser" else NOT_COMPLETED
    pending.cancel(pending.prefix + text)
    await pending.done.wait()


async def start(actor: LoginHost, msg: StartLogin) -> None:
    settings = await actor.settings()
    params = msg.params
    forced = forced_login_method(settings.forced_login_method)
    if not isinstance(params, acct.ChatgptAuthTokensLogin) and actor.keeper.external is not None:
        raise InvalidRequest(EXTERNAL_ACTIVE)
    match params:
        case acct.ApiKeyLogin():
            check_login_allowed(forced, "apiKey")
            await _api_key(actor, params.api_key, settings, msg)
        case acct.ChatgptLogin():
            check_login_allowed(forced, "chatgpt")
            await _browser(actor, params, settings, msg)
        case acct.ChatgptDeviceCodeLogin():
            check_login_allowed(forced, "chatgptDeviceCode")
            await _device(actor, settings, msg)
        case acct.ChatgptAuthTokensLogin():
            check_login_allowed(forced, "chatgptAuthTokens")
            await _external(actor, params, settings, msg)
        case _:
            check_login_allowed(forced, "amazonBedrock")
            auth = await auth_bedrock.prepare_login(
                actor, params, lambda: cancel_pending(actor, replaced_by_browser=False)
            )
            await _store_login(actor, settings, auth, "failed to save Amazon Bedrock auth", msg,
                               acct.AmazonBedrockLoginResponse())


async def _api_key(actor: LoginHost, key: str, settings: AuthSettings, msg: StartLogin) -> None:
    await cancel_pending(actor, replaced_by_browser=False)
    await _store_login(actor, settings, AuthDotJson.for_api_key(Secret(key)), "failed to save api key", msg,
                       acct.ApiKeyLoginResponse())


async def _store_login(
    actor: LoginHost, settings: AuthSettings, auth: AuthDotJson, failure: str, msg: StartLogin, response: Any
) -> None:
    """A synchronous login's end (API key, Bedrock): store, answer, then ``account/login/completed``
    (no login id) and ``account/updated``; a storage failure is ``-32603 <failure>: <cause>``."""
    try:
        await actor.keeper.save(settings, auth)
    except (AuthStorageError, OSError) as exc:
        raise InternalError(f"{failure}: {storage_text(exc)}") from None
    actor.saw(auth)
    msg.reply.set(response)
    actor.completed(None, None)
    actor.updated(auth.resolved_mode(), None)


def _persist(actor: LoginHost, settings: AuthSettings) -> Callable[[IssuedTokens], Awaitable[None]]:
    async def persist(tokens: IssuedTokens) -> None:
        auth = actor.keeper.chatgpt_auth(tokens, actor.endpoints_for(settings))
        await actor.keeper.save(settings, auth)
        actor.saw(auth)

    return persist


async def _browser(actor: LoginHost, params: acct.ChatgptLogin, settings: AuthSettings, msg: StartLogin) -> None:
    """A pending browser login ends before the new response (its callback server had to go); a
    pending device-code login ends after it (the order the reference shows)."""
    replaced = actor.pending
    if replaced is not None and replaced.kind == "browser":
        await cancel_pending(actor, replaced_by_browser=True)
        replaced = None
    pending = Pending(str(uuid.uuid4()), "browser")
    pending.scope.deadline = trio.current_time() + LOGIN_TIMEOUT_S
    login = BrowserLogin(
        client=actor.keeper.http,
        endpoints=actor.endpoints_for(settings),
        originator=msg.caller.originator,
        persist=_persist(actor, settings),
        allowed_workspace_ids=settings.forced_workspace_ids,
        codex_streamlined_login=params.codex_streamlined_login,
        use_hosted_login_success_page=params.use_hosted_login_success_page,
        app_brand=params.app_brand,
    )
    pending.entrypoint = lambda: login.onboarding_entrypoint
    auth_url: str = await actor.flows.start(_flow, actor, pending, login.run, msg.caller)
    msg.reply.set(acct.ChatgptLoginResponse(pending.login_id, auth_url))
    if replaced is not None:
        replaced.cancel(replaced.prefix + NOT_COMPLETED)
        await replaced.done.wait()


async def _device(actor: LoginHost, settings: AuthSettings, msg: StartLogin) -> None:
    endpoints = actor.endpoints_for(settings)
    code = await request_device_code(actor.keeper.http, endpoints)  # a failure leaves the pending one
    pending = Pending(str(uuid.uuid4()), "device")
    # the response goes out before the replaced login's completion (as on the reference); the
    # inbox serves nothing else until the new flow runs, so a cancel of the new id waits for it
    msg.reply.set(acct.ChatgptDeviceCodeLoginResponse(pending.login_id, code.verification_url, code.user_code))
    await cancel_pending(actor, replaced_by_browser=False)
    login = DeviceLogin(
        client=actor.keeper.http, endpoints=endpoints, code=code, persist=_persist(actor, settings),
        allowed_workspace_ids=settings.forced_workspace_ids,
    )
    await actor.flows.start(_flow, actor, pending, login.run, msg.caller)


async def _external(
    actor: LoginHost, params: acct.ChatgptAuthTokensLogin, settings: AuthSettings, msg: StartLogin
) -> None:
    """§6.4: memory only; cloud requirements before the response, routing after it."""
    check_external_workspace(settings.forced_workspace_ids, params.chatgpt_account_id)
    try:
        external = external_tokens(params.access_token, params.chatgpt_account_id, params.chatgpt_plan_type)
    except JwtError:
        raise InternalError(f"failed to set external auth: {payload_error_text(params.access_token)}") from None
    await cancel_pending(actor, replaced_by_browser=False)
    actor.keeper.external = external
    active = Active("chatgptAuthTokens", external=external)
    endpoints = actor.endpoints_for(settings)
    error: str | None = None
    try:
        await actor.keeper.cloud_requirements(active, endpoints, msg.caller)
    except ChamberlainError as exc:
        error = exc.message
    msg.reply.set(acct.ChatgptAuthTokensLoginResponse())
    if error is None:
        try:
            await actor.routing(active, endpoints, msg.caller, settings)
        except ChamberlainError as exc:
            error = exc.message
    actor.completed(None, error)
    if error is None:
        actor.updated("chatgptAuthTokens", external.plan)


class _Started:
    """Passes a flow's ``started`` through and remembers that it was called."""

    def __init__(self, task_status: trio.TaskStatus[Any]) -> None:
        self._task_status = task_status
        self.done = False

    def started(self, value: Any = None) -> None:
        self.done = True
        self._task_status.started(value)


async def _flow(
    actor: LoginHost,
    pending: Pending,
    run: Callable[..., Awaitable[None]],
    caller: Caller,
    *,
    task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
) -> None:
    """One LoginFlow: ``run`` in the pending scope; then its completion, reported once. A failure
    before ``started`` (no callback port) is the start request's error and no login at all."""
    started = _Started(task_status)
    error: str | None = None
    actor.pending = pending
    try:
        with pending.scope:
            await run(task_status=started)
        if pending.scope.cancelled_caught:
            error = pending.cancel_error or "Login timed out"
    except LoginFailed as exc:
        error = pending.prefix + exc.message
    except Exception as exc:
        if not started.done:
            raise
        logger.warning("login %s failed: %s", pending.login_id, describe(exc))
        error = pending.prefix + describe(exc)
    finally:
        if actor.pending is pending:
            actor.pending = None
        if not started.done:
            pending.done.set()
    active: Active | None = None
    if error is None:
        with trio.CancelScope(shield=True):
            active, error = await _after_login(actor, caller)
    actor.completed(pending.login_id, error, pending.entrypoint())
    if active is not None:
        actor.updated(active.mode, active.plan)
    pending.done.set()


async def _after_login(actor: LoginHost, caller: Caller) -> tuple[Active | None, str | None]:
    """§6.2.5: reload; cloud requirements for workspace plans; routing. The credentials to
    announce, or the completion's error text."""
    settings = await actor.settings()
    active = await actor.active(settings)
    if active is None or not active.is_chatgpt:
        return None, "Sign-in completed but credentials could not be saved locally."
    endpoints = actor.endpoints_for(settings)
    try:
        await actor.keeper.cloud_requirements(active, endpoints, caller)
        await actor.keeper.routing(active, endpoints, caller)
    except ChamberlainError as exc:
        return None, exc.message
    return active, None
