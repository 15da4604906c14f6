"""``FakeOpenAI``: the issuer and the backend behind one loopback HTTP port, scripted per test.

Start it in a nursery and point clients at it::

    fake = await nursery.start(FakeOpenAI().run)
    env = fake.codex_env()                 # CODEX_APP_SERVER_LOGIN_ISSUER, CODEX_REVOKE_TOKEN_URL_OVERRIDE
    config = fake.config_toml()            # chatgpt_base_url = "http://127.0.0.1:P/backend-api"
    fake.push(Endpoint.TOKEN_REFRESH, refresh_reused())
    ...
    assert len(fake.requests_to(Endpoint.TOKEN_REFRESH)) == 1

Nothing is global: two fakes in one process are independent (own port, own signing key).
"""

from __future__ import annotations

import datetime
import functools
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, final
from urllib.parse import parse_qsl, urlsplit

import trio

from .backend import Backend, BackendSettings
from .claims import Identity, Minter
from .grants import DeviceState, Grants, RefreshState, TokenSet
from .issuer import CLIENT_ID, GRANT_CODE, GRANT_REFRESH, GRANT_TOKEN_EXCHANGE, Issuer, IssuerSettings
from .script import Endpoint, Outcome, Reply, Script, Succeed, not_found
from .wire import HttpRequest, HttpResponse, serve_http

__all__ = ["FakeOpenAI", "open_fake_openai"]

logger = logging.getLogger(__name__)

#: Path prefixes of the backend: ChatGPT style (base URL with /backend-api) and Codex-API style (§9).
BACKEND_PREFIXES: Final = ("/backend-api/wham", "/api/codex")
_BACKEND_ROUTES: Final = {
    ("GET", "/accounts/check"): Endpoint.ACCOUNTS_CHECK,
    ("GET", "/config/bundle"): Endpoint.CONFIG_BUNDLE,
    ("GET", "/usage"): Endpoint.USAGE,
    ("GET", "/rate-limit-reset-credits"): Endpoint.RESET_CREDITS,
    ("POST", "/accounts/send_add_credits_nudge_email"): Endpoint.NUDGE,
}
_ISSUER_ROUTES: Final = {
    ("GET", "/oauth/authorize"): Endpoint.AUTHORIZE,
    ("POST", "/api/accounts/deviceauth/usercode"): Endpoint.DEVICE_USERCODE,
    ("POST", "/api/accounts/deviceauth/token"): Endpoint.DEVICE_TOKEN,
    ("GET", "/codex/device"): Endpoint.DEVICE_PAGE,
    ("POST", "/codex/device"): Endpoint.DEVICE_PAGE,
    ("POST", "/oauth/revoke"): Endpoint.REVOKE,
}
_GRANTS: Final = {
    GRANT_CODE: Endpoint.TOKEN_CODE,
    GRANT_TOKEN_EXCHANGE: Endpoint.TOKEN_API_KEY,
    GRANT_REFRESH: Endpoint.TOKEN_REFRESH,
}

Handler = Callable[[HttpRequest, Identity | None], HttpResponse]


def _classify(req: HttpRequest) -> Endpoint | None:
    path = req.path.rstrip("/") or "/"
    if req.method == "POST" and path == "/oauth/token":
        return _GRANTS.get(str(req.fields().get("grant_type", "")), Endpoint.TOKEN_OTHER)
    found = _ISSUER_ROUTES.get((req.method, path))
    if found is not None:
        return found
    for prefix in BACKEND_PREFIXES:
        if path.startswith(prefix + "/"):
            return _BACKEND_ROUTES.get((req.method, path[len(prefix):]))
    return None


@final
class FakeOpenAI:
    """A scripted fake of ``auth.openai.com`` and ``chatgpt.com/backend-api`` on one loopback port.

    Every request is logged (``requests``) before it is answered. Each endpoint answers with the
    next scripted outcome (``push``) or, when none is queued, with the normal successful behaviour.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        identity: Identity | None = None,
        client_id: str | None = CLIENT_ID,
        device_interval_s: int | None = 1,
        auto_approve_device: bool = True,
        device_lifetime_s: float = 900.0,
        rotate_refresh_tokens: bool = True,
        refresh_token_ttl_s: float | None = None,
        strict_bearer: bool = True,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._host = host
        self._port = port
        self._base_url: str | None = None
        self.issuer_settings = IssuerSettings(
            identity=identity or Identity(),
            client_id=client_id,
            device_interval_s=device_interval_s,
            auto_approve_device=auto_approve_device,
            device_lifetime_s=device_lifetime_s,
            rotate_refresh_tokens=rotate_refresh_tokens,
        )
        self.backend_settings = BackendSettings(strict_bearer=strict_bearer)
        self._minter = Minter("", client_id or CLIENT_ID)
        self._grants = Grants(self._minter, wall_clock, refresh_token_ttl_s)
        self._issuer = Issuer(self.issuer_settings, self._grants)
        self._backend = Backend(self.backend_settings, self._grants, lambda: self.issuer_settings.identity)
        self._script = Script()
        self._log: list[HttpRequest] = []
        self._changed = trio.Event()
        self._handlers: dict[Endpoint, Handler] = {
            Endpoint.AUTHORIZE: self._issuer.authorize,
            Endpoint.TOKEN_CODE: self._issuer.token_code,
            Endpoint.TOKEN_API_KEY: self._issuer.token_exchange,
            Endpoint.TOKEN_REFRESH: self._issuer.token_refresh,
            Endpoint.TOKEN_OTHER: self._issuer.token_other,
            Endpoint.DEVICE_USERCODE: self._issuer.device_usercode,
            Endpoint.DEVICE_TOKEN: self._issuer.device_token,
            Endpoint.DEVICE_PAGE: self._issuer.device_page,
            Endpoint.REVOKE: self._issuer.revoke,
            Endpoint.ACCOUNTS_CHECK: self._backend.accounts_check,
            Endpoint.CONFIG_BUNDLE: self._backend.config_bundle,
            Endpoint.USAGE: self._backend.usage,
            Endpoint.RESET_CREDITS: self._backend.reset_credits,
            Endpoint.NUDGE: self._backend.nudge,
        }

    def __repr__(self) -> str:
        return f"FakeOpenAI(base_url={self._base_url!r}, requests={len(self._log)})"

    # --- lifecycle

    async def run(self, *, task_status: trio.TaskStatus[FakeOpenAI] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; ``task_status.started(self)`` once the port is bound."""
        async with trio.open_nursery() as nursery:
            serve = functools.partial(trio.serve_tcp, self._connection, self._port, host=self._host,
                                      handler_nursery=nursery)
            listeners: list[trio.SocketListener] = await nursery.start(serve)
            port = listeners[0].socket.getsockname()[1]
            host = f"[{self._host}]" if ":" in self._host else self._host
            self._base_url = f"http://{host}:{port}"
            self._issuer.base_url = self._base_url
            self._minter.issuer = self._base_url
            logger.debug("fake OpenAI listening on %s", self._base_url)
            task_status.started(self)

    async def _connection(self, stream: trio.SocketStream) -> None:
        await serve_http(stream, self._handle)

    # --- URLs and client settings

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the fake is not running yet: start it with nursery.start(fake.run)")
        return self._base_url

    @property
    def issuer(self) -> str:
        """``ISSUER``: the value of ``CODEX_APP_SERVER_LOGIN_ISSUER``."""
        return self.base_url

    @property
    def chatgpt_base_url(self) -> str:
        """``BACKEND``: the value of config ``chatgpt_base_url``."""
        return f"{self.base_url}/backend-api"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.base_url}/oauth/revoke"

    def codex_env(self) -> dict[str, str]:
        """Environment that points a codex app-server (or Chamberlain) at this fake (§18)."""
        env = {
            "CODEX_APP_SERVER_LOGIN_ISSUER": self.issuer,
            "CODEX_REVOKE_TOKEN_URL_OVERRIDE": self.revoke_url,
        }
        if self.issuer_settings.client_id not in (None, CLIENT_ID):
            env["CODEX_APP_SERVER_LOGIN_CLIENT_ID"] = str(self.issuer_settings.client_id)
        return env

    def config_toml(self) -> str:
        """The ``config.toml`` line that points the backend traffic here."""
        return f'chatgpt_base_url = "{self.chatgpt_base_url}"\n'

    # --- scripting

    @property
    def identity(self) -> Identity:
        """Who signs in when nothing else is said (the browser, device approvals)."""
        return self.issuer_settings.identity

    @identity.setter
    def identity(self, who: Identity) -> None:
        self.issuer_settings.identity = who

    def push(self, endpoint: Endpoint, *outcomes: Outcome) -> None:
        """Queue what ``endpoint`` answers next, one outcome per request, in order."""
        self._script.push(endpoint, outcomes)

    def remaining(self, endpoint: Endpoint) -> int:
        """Scripted outcomes not used yet."""
        return self._script.remaining(endpoint)

    # --- playing the user

    def authorize(self, auth_url: str, *, identity: Identity | None = None) -> str:
        """Sign in through ``auth_url`` as a browser would; returns the callback URL (code + state).

        The same as ``GET auth_url`` and reading ``Location``; raises ValueError for an
        authorize URL the issuer refuses.
        """
        query = dict(parse_qsl(urlsplit(auth_url).query, keep_blank_values=True))
        return self._issuer.authorize_location(query, identity)

    def approve_device(self, user_code: str, *, identity: Identity | None = None) -> None:
        """The user enters ``user_code`` and signs in: the next poll succeeds."""
        dev = self._grants.device_by_user_code(user_code)
        if dev is None:
            raise KeyError(user_code)
        self._grants.approve_device(dev, identity or self.identity, f"{self.base_url}/deviceauth/callback")

    def deny_device(self, user_code: str) -> None:
        """The user refuses: the next poll answers ``access_denied``."""
        dev = self._grants.device_by_user_code(user_code)
        if dev is None:
            raise KeyError(user_code)
        dev.state = DeviceState.DENIED

    # --- tokens for tests that write auth.json themselves

    def issue_tokens(self, identity: Identity | None = None, *, refresh_token: str | None = None,
                     client_id: str | None = None, expires_in_s: float | None = None) -> TokenSet:
        """Mint and register a token set as if a login had happened (its refresh token works).

        ``expires_in_s`` sets this access token's ``exp`` relative to now (negative: already
        expired) without changing the identity, so the tokens a refresh mints later are fresh.
        """
        cid = client_id or self.issuer_settings.client_id or CLIENT_ID
        return self._grants.issue(identity or self.identity, cid, refresh_token, expires_in_s)

    def auth_json(self, tokens: TokenSet, *, api_key: str | None = None,
                  last_refresh_s: float | None = None) -> dict[str, Any]:
        """The reference's ``auth.json`` object (§13.1) for ``tokens``, its provenance naming this fake.

        ``last_refresh_s`` is a Unix time (default: now); write the result with
        ``json.dumps(obj, indent=2)`` to pre-seed a ``CODEX_HOME``.
        """
        when = self._grants.wall_clock() if last_refresh_s is None else last_refresh_s
        stamp = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return {
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": api_key,
            "tokens": {
                "id_token": tokens.id_token,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "oauth_provenance": {"issuer": self.issuer, "client_id": tokens.client_id},
                "login_owner_id": secrets.token_urlsafe(32),
                "account_id": tokens.identity.account_id,
            },
            "last_refresh": f"{stamp}000Z",
        }

    def mint_access_token(self, identity: Identity | None = None) -> str:
        """A live access token for ``identity`` (e.g. for ``chatgptAuthTokens`` external auth)."""
        return self.issue_tokens(identity).access_token

    def refresh_token_state(self, token: str) -> RefreshState:
        return self._grants.refresh_state(token)

    def is_revoked(self, token: str) -> bool:
        return token in self._grants.revoked_access or self.refresh_token_state(token) is RefreshState.REVOKED

    def minted_secrets(self) -> frozenset[str]:
        """Every token, code, verifier and API key this fake handed out (for no-secret-in-logs scans)."""
        return frozenset(self._grants.minted)

    # --- the request log

    @property
    def requests(self) -> list[HttpRequest]:
        """Every request received, in arrival order (a copy)."""
        return list(self._log)

    def requests_to(self, endpoint: Endpoint) -> list[HttpRequest]:
        return [r for r in self._log if r.endpoint == endpoint]

    def clear_log(self) -> None:
        self._log.clear()

    async def wait_for(self, endpoint: Endpoint, count: int = 1, *, answered: bool = False) -> list[HttpRequest]:
        """Wait until ``count`` requests to ``endpoint`` arrived (or were answered); returns them."""

        def seen() -> list[HttpRequest]:
            return [r for r in self._log if r.endpoint == endpoint and (not answered or r.status is not None)]

        await self.wait_until(lambda _log: len(seen()) >= count)
        return seen()

    async def wait_until(self, predicate: Callable[[list[HttpRequest]], bool]) -> None:
        """Wait until ``predicate(log)`` holds; it is re-checked on every arrival and every answer."""
        while not predicate(self._log):
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # --- dispatch

    async def _handle(self, req: HttpRequest) -> HttpResponse:
        endpoint = _classify(req)
        req.endpoint = endpoint
        self._log.append(req)
        self._notify()
        resp = not_found() if endpoint is None else await self._answer(endpoint, req)
        req.status = resp.status
        self._notify()
        return resp

    async def _answer(self, endpoint: Endpoint, req: HttpRequest) -> HttpResponse:
        outcome = self._script.next(endpoint)
        handler = self._handlers[endpoint]
        match outcome:
            case None:
                return handler(req, None)
            case Succeed(identity=who, delay_s=delay):
                await _sleep(delay)
                return handler(req, who)
            case Reply() as reply:
                await _sleep(reply.delay_s)
                if endpoint is Endpoint.AUTHORIZE and reply.error is not None:
                    return self._issuer.authorize_refusal(req, reply)
                return reply.response()


async def _sleep(seconds: float) -> None:
    if math.isinf(seconds):
        await trio.sleep_forever()
    elif seconds > 0:
        await trio.sleep(seconds)


@asynccontextmanager
async def open_fake_openai(**kwargs: Any) -> AsyncIterator[FakeOpenAI]:
    """``async with open_fake_openai() as fake:`` — a running fake, stopped on exit."""
    async with trio.open_nursery() as nursery:
        fake: FakeOpenAI = await nursery.start(FakeOpenAI(**kwargs).run)
        try:
            yield fake
        finally:
            nursery.cancel_scope.cancel("fake OpenAI no longer needed")

