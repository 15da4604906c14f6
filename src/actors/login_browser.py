"""The browser login's flow (spec account.md §6.2): PKCE, the loopback callback server, the token
exchange and the redirect to the success page.

``BrowserLogin(...).run`` is started with ``nursery.start``: it binds the callback port, hands the
authorize URL to ``task_status.started`` and serves the callback routes until the attempt ends.
It returns on success (``/success`` was loaded, or at once with the hosted success page) and
raises ``LoginFailed`` with the reference's text otherwise (without the ``Login server error: ``
prefix, which the AuthActor adds). The listener and every connection are closed on every way
out, cancellation included, so the port can be bound again at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, final
from urllib.parse import parse_qsl, urlsplit

import h11
import httpx
import trio
from chamberlain.actors.callback_http import (
    LOOPBACK,
    HttpReply,
    bind_callback_listener,
    error_page,
    finish_request,
    read_request_target,
    success_page,
    text_reply,
    write_reply,
)
from chamberlain.remote import issuer
from chamberlain.remote.errors import LoginFailed
from chamberlain.remote.id_token import id_token_problem
from chamberlain.remote.issuer import IssuedTokens

if TYPE_CHECKING:
    from chamberlain.remote.endpoints import Endpoints

__all__ = ["BrowserLogin", "Persist", "success_location"]

logger = logging.getLogger(__name__)

#: Stores the tokens of a successful login; an exception means they could not be saved.
Persist = Callable[[IssuedTokens], Awaitable[None]]

CANCELLED: Final = "Login cancelled"
#: A callback ``state`` with this suffix (added by the issuer) marks the Life Sciences onboarding:
#: the completion then carries ``onboardingEntrypoint: "life_sciences"`` (observed on the reference).
LIFE_SCIENCES_STATE_SUFFIX: Final = ".onboarding_entrypoint=life_sciences"
LIFE_SCIENCES: Final = "life_sciences"
MISSING_CODE: Final = "Missing authorization code. Sign-in could not be completed."
NOT_SAVED: Final = "Sign-in completed but credentials could not be saved locally."
ENTITLEMENT: Final = (
    "Codex is not enabled for your workspace. Contact your workspace administrator to request access to Codex."
)


@final
@dataclass(frozen=True, slots=True)
class _Ended:
    """How the attempt ended: ``failure`` is None for a success."""

    failure: str | None


@final
@dataclass(frozen=True, slots=True)
class _Routed:
    reply: HttpReply
    ended: _Ended | None = None


def callback_error_message(error: str, description: str | None) -> str:
    """The text of a callback that came back with ``error=`` (§6.2.2)."""
    if error == "access_denied" and description is not None and "missing_codex_entitlement" in description.lower():
        return ENTITLEMENT
    if description is not None and description.strip():
        return f"Sign-in failed: {description}"
    return f"Sign-in failed: {error}"


def success_location(port: int, endpoints: Endpoints, tokens: IssuedTokens, streamlined: bool) -> str:
    """§6.2.4: ``/success`` with the id_token and the claims the success page shows."""
    id_claims = issuer.auth_claims(tokens.id_token)
    access_claims = issuer.auth_claims(tokens.access_token)

    def text(claims: dict[str, object], name: str) -> str:
        value = claims.get(name)
        return value if isinstance(value, str) else ""

    needs_setup = id_claims.get("completed_platform_onboarding") is not True and id_claims.get("is_org_owner") is True
    query = [
        ("id_token", tokens.id_token),
        ("needs_setup", "true" if needs_setup else "false"),
        ("org_id", text(id_claims, "organization_id")),
        ("project_id", text(id_claims, "project_id")),
        ("plan_type", text(access_claims, "chatgpt_plan_type")),
        ("platform_url", endpoints.platform_url),
    ]
    if streamlined:
        query.append(("codex_streamlined_login", "true"))
    return f"http://{LOOPBACK}:{port}/success?{issuer.form_encode(query)}"


@final
class BrowserLogin:
    """One browser login attempt (the LoginFlowActor of a ``chatgpt`` login)."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        endpoints: Endpoints,
        originator: str,
        persist: Persist,
        allowed_workspace_ids: Sequence[str] | None = None,
        codex_streamlined_login: bool = False,
        use_hosted_login_success_page: bool = False,
        app_brand: str | None = None,
    ) -> None:
        self._client = client
        self._endpoints = endpoints
        self._originator = originator
        self._persist = persist
        self._allowed = tuple(allowed_workspace_ids) if allowed_workspace_ids is not None else None
        self._streamlined = codex_streamlined_login
        self._hosted = use_hosted_login_success_page
        self._app_brand = app_brand or "codex"
        self._pkce = issuer.new_pkce()
        self._state = issuer.new_state()
        self._port = 0
        self._lock = trio.Lock()
        self._ended: _Ended | None = None
        self._finished = trio.Event()
        self._entrypoint: str | None = None

    def __repr__(self) -> str:
        return f"BrowserLogin(port={self._port}, ended={self._ended is not None})"

    @property
    def onboarding_entrypoint(self) -> str | None:
        """After a successful ``run``: the ``onboardingEntrypoint`` of the completion (None or
        ``"life_sciences"``), from the state of the callback that signed the user in."""
        return self._entrypoint

    @property
    def _redirect_uri(self) -> str:
        return issuer.redirect_uri(self._port)

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the authorize URL, serve until the attempt ends (see the module text).

        Raises InternalError before ``started`` when no callback port can be bound.
        """
        listener = await bind_callback_listener(self._endpoints.callback_ports)
        async with listener:
            self._port = listener.socket.getsockname()[1]
            task_status.started(
                issuer.authorize_url(
                    self._endpoints,
                    self._pkce.challenge,
                    self._state,
                    self._originator,
                    self._allowed,
                    callback_uri=self._redirect_uri,
                )
            )
            async with trio.open_nursery() as connections:
                connections.start_soon(self._accept, listener, connections)
                await self._finished.wait()
                connections.cancel_scope.cancel("login attempt finished")
        assert self._ended is not None
        if self._ended.failure is not None:
            raise LoginFailed(self._ended.failure)

    async def _accept(self, listener: trio.SocketListener, connections: trio.Nursery) -> None:
        while True:
            stream = await listener.accept()
            connections.start_soon(self._connection, stream)

    async def _connection(self, stream: trio.SocketStream) -> None:
        async with stream:
            conn = h11.Connection(h11.SERVER)
            try:
                while await self._exchange(stream, conn):
                    conn.start_next_cycle()
            except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError) as exc:
                logger.debug("login callback connection ended early: %s", type(exc).__name__)

    async def _exchange(self, stream: trio.SocketStream, conn: h11.Connection) -> bool:
        """Answer one request; True when the connection stays open for another."""
        target = await read_request_target(stream, conn)
        if target is None:
            return False
        # one request at a time, as the reference's server loop handles them
        async with self._lock:
            if self._ended is not None:
                return False
            routed = await self._route(target)
            self._ended = routed.ended
        try:
            await write_reply(stream, conn, routed.reply, close=routed.ended is not None)
        finally:
            if routed.ended is not None:
                self._finished.set()
        return routed.ended is None and await finish_request(stream, conn)

    async def _route(self, target: str) -> _Routed:
        parts = urlsplit(target)
        match parts.path:
            case "/auth/callback":
                return await self._callback(dict(parse_qsl(parts.query, keep_blank_values=True)))
            case "/success":
                return _Routed(success_page(), _Ended(None))
            case "/cancel":
                return _Routed(text_reply(200, CANCELLED, content_type=None), _Ended(CANCELLED))
            case _:
                return _Routed(text_reply(404, "Not Found"))

    async def _callback(self, params: dict[str, str]) -> _Routed:
        state = params.get("state")
        if state == self._state:
            entrypoint = None
        elif state == self._state + LIFE_SCIENCES_STATE_SUFFIX:
            entrypoint = LIFE_SCIENCES
        else:
            return _Routed(text_reply(400, "State mismatch"))
        error = params.get("error")
        if error is not None:
            return _failed(callback_error_message(error, params.get("error_description")))
        code = params.get("code")
        if not code:
            return _failed(MISSING_CODE)
        try:
            tokens = await issuer.exchange_code(
                self._client, self._endpoints, code, self._redirect_uri, self._pkce.verifier
            )
            issuer.check_workspace(tokens.id_token, self._allowed)
        except LoginFailed as exc:
            return _failed(exc.message)
        api_key = await issuer.exchange_api_key(self._client, self._endpoints, tokens.id_token)
        tokens = IssuedTokens(tokens.id_token, tokens.access_token, tokens.refresh_token, api_key)
        if id_token_problem(tokens.id_token) is not None:
            # the reference's persist step cannot read the claims
            return _failed(NOT_SAVED)
        try:
            await self._persist(tokens)
        except Exception as exc:
            logger.warning("login credentials could not be saved: %s", type(exc).__name__)
            return _failed(NOT_SAVED)
        self._entrypoint = entrypoint
        if self._hosted:
            location = f"{self._endpoints.hosted_success_page}?source=login&app_brand={self._app_brand}"
            return _Routed(HttpReply(302, location=location), _Ended(None))
        location = success_location(self._port, self._endpoints, tokens, self._streamlined)
        return _Routed(HttpReply(302, location=location))


def _failed(message: str) -> _Routed:
    return _Routed(error_page(message), _Ended(message))
