"""The credentials an AuthActor works with: what is stored (per ``cli_auth_credentials_store``),
the external ``chatgptAuthTokens`` held in memory (they take precedence), token refresh with its
permanent-failure marker, and the workspace routing of ChatGPT credentials (spec account.md §12-§15).

``Keeper`` belongs to one AuthActor and is used from its task only. Blocking storage calls run in
a worker thread. A refresh holds the cross-process auth lock across its HTTP request, re-reads the
stored credentials under it and refreshes only if they are still the stale ones: a sibling process
that already rotated them is adopted, and one refresh token is never spent twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, final

import msgspec
import trio
from chamberlain.errors import InternalError
from chamberlain.remote import backend
from chamberlain.remote.claims import needs_refresh
from chamberlain.remote.http import BackendAuth
from chamberlain.remote.refresh import RefreshFailed, refresh_tokens
from chamberlain.store.auth_file import AuthDotJson, OAuthProvenance, Timestamp, TokenData
from chamberlain.store.auth_jwt import IdTokenClaims, JwtError, parse_id_token, plan_type_from_raw
from chamberlain.store.auth_policy import forced_login_method, stored_auth_allowed
from chamberlain.store.auth_refresh import AuthFileWatch, RefreshSession
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import AuthStorage, AuthStorageError, CredentialsStoreMode, create_auth_storage

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx
    from chamberlain.actors.auth_settings import AuthSettings
    from chamberlain.actors.caller import Caller
    from chamberlain.protocol import account as acct
    from chamberlain.remote.endpoints import Endpoints
    from chamberlain.remote.issuer import IssuedTokens

__all__ = ["OTHER_ACCOUNT", "Active", "External", "Keeper", "describe", "external_tokens", "storage_text"]

logger = logging.getLogger(__name__)

#: §14.3: the stored credentials belong to another account than the ones that got the 401.
OTHER_ACCOUNT: Final = (
    "Your access token could not be refreshed because you have since logged out or signed in to another "
    "account. Please sign in again."
)
Mode = Literal["apikey", "chatgpt", "chatgptAuthTokens", "bedrockApiKey", "bedrockAccessKeys"]


@final
@dataclass(frozen=True, slots=True)
class External:
    """Host-managed tokens (``chatgptAuthTokens``): memory only, claims from the access token."""

    access_token: Secret
    account_id: str
    plan: str
    claims: IdTokenClaims = field(repr=False)


@final
@dataclass(frozen=True, slots=True)
class Active:
    """The credentials in use: stored ones (``stored``) or external ones (``external``)."""

    mode: Mode
    stored: AuthDotJson | None = None
    external: External | None = None

    @property
    def is_chatgpt(self) -> bool:
        return self.mode in ("chatgpt", "chatgptAuthTokens")

    @property
    def is_bedrock(self) -> bool:
        """Codex-managed Amazon Bedrock credentials (``auth_bedrock``)."""
        return self.mode in ("bedrockApiKey", "bedrockAccessKeys")

    @property
    def tokenless(self) -> bool:
        """A stored ChatGPT login without tokens (``{"auth_mode": "chatgpt"}`` alone)."""
        return self.mode == "chatgpt" and (self.stored is None or self.stored.tokens is None)

    @property
    def claims(self) -> IdTokenClaims:
        if self.external is not None:
            return self.external.claims
        tokens = self.stored.tokens if self.stored is not None else None
        if tokens is None:
            return IdTokenClaims()
        try:
            return tokens.id_claims()
        except JwtError:
            return IdTokenClaims()

    @property
    def plan(self) -> str | None:
        if self.external is not None:
            return self.external.plan
        return plan_type_from_raw(self.claims.plan_type) if self.is_chatgpt else None

    @property
    def account_id(self) -> str | None:
        if self.external is not None:
            return self.external.account_id
        tokens = self.stored.tokens if self.stored is not None else None
        if tokens is not None and isinstance(tokens.account_id, str):
            return tokens.account_id
        return self.claims.account_id

    @property
    def access_token(self) -> Secret | None:
        if self.external is not None:
            return self.external.access_token
        tokens = self.stored.tokens if self.stored is not None else None
        return tokens.access_token if tokens is not None else None

    def backend_auth(self, user_agent: str) -> BackendAuth:
        token = self.access_token
        return BackendAuth(token.reveal() if token is not None else "", self.account_id, user_agent,
                           fedramp=self.claims.is_fedramp)


def external_tokens(access_token: str, account_id: str, plan_param: str | None) -> External:
    """§6.4: claims from the access token (raises JwtError when it is not a JWT); plan from the
    parameter, else the claim, else ``unknown``."""
    claims = parse_id_token(access_token)
    plan = plan_type_from_raw(plan_param if plan_param is not None else claims.plan_type)
    return External(Secret(access_token), account_id, plan, claims)


def _login_owner_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


@final
class Keeper:
    def __init__(
        self, home: str, http: httpx.AsyncClient, on_write: Callable[[AuthDotJson | None], None] | None = None
    ) -> None:
        """``on_write`` hears of every credential this keeper stores by itself (a refresh), so its
        owner does not take it for a change made by someone else."""
        self.home = home
        self.http = http
        self._on_write = on_write
        self.external: External | None = None
        self._storages: dict[str, AuthStorage] = {}
        self._watch = AuthFileWatch(home)
        #: the stored credentials whose refresh failed for good, and the reference's text
        self._dead: tuple[AuthDotJson, str] | None = None
        self._routing: dict[tuple[str, str, str, str], tuple[acct.WorkspaceRouting, str | None]] = {}
        #: the cloud-requirements outcome of the latest credentials: their key and the failure
        #: text (None: loaded)
        self._cloud: tuple[tuple[str, ...], str | None] | None = None

    # -- storage ---------------------------------------------------------------------------------

    def storage(self, settings: AuthSettings) -> AuthStorage:
        mode = settings.store_mode
        storage = self._storages.get(mode)
        if storage is None:
            storage = self._storages[mode] = create_auth_storage(self.home, CredentialsStoreMode(mode))
        return storage

    async def load(self, settings: AuthSettings, *, strict: bool = False) -> AuthDotJson | None:
        """The stored credentials. ``file``: from the stat-signature watch (one ``stat`` when
        nothing changed, the config files' racy rule; a read of a small file when it did), in
        this task; ``ephemeral``: memory; the keyring in a worker thread (D-Bus may block). A store
        that cannot be read has none (logged), or with ``strict`` raises its AuthStorageError
        (logout reports it)."""
        mode = settings.store_mode
        if mode == "file":
            return self._watch.get()
        storage = self.storage(settings)
        if mode == "ephemeral":
            return storage.load()
        try:
            return await trio.to_thread.run_sync(storage.load)
        except AuthStorageError as exc:
            if strict:
                raise
            logger.warning("cannot load credentials: %s", exc)
            return None

    def active(self, stored: AuthDotJson | None, settings: AuthSettings) -> Active | None:
        """External tokens first; stored ones only when the policy allows them (others are
        ignored, never deleted, §16)."""
        if self.external is not None:
            return Active("chatgptAuthTokens", external=self.external)
        if stored is None:
            return None
        if not stored_auth_allowed(stored, forced_login_method(settings.forced_login_method),
                                   settings.forced_workspace_ids):
            return None
        mode = stored.resolved_mode()
        if mode == "apikey":
            return Active("apikey", stored) if stored.api_key is not None else None
        if mode == "bedrockApiKey" or mode == "bedrockAccessKeys":  # usable with the member it names
            member = stored.bedrock_api_key if mode == "bedrockApiKey" else stored.bedrock_access_keys
            return Active(mode, stored) if member is not None else None
        if stored.tokens is None:
            # the reference keeps a ChatGPT login without tokens: backend calls go out without a
            # bearer token and account/read fails for want of a plan (``Active.tokenless``)
            return Active("chatgpt", stored)
        # ChatGPT tokens without ``last_refresh`` read as no credentials on the reference
        if stored.last_refresh is None:
            return None
        return Active("chatgpt", stored)

    async def save(self, settings: AuthSettings, auth: AuthDotJson) -> None:
        await trio.to_thread.run_sync(self.storage(settings).save, auth)

    async def delete(self, settings: AuthSettings) -> None:
        await trio.to_thread.run_sync(self.storage(settings).delete)
        self.external = None
        self._dead = None
        self._cloud = None  # a later login of the same tokens loads them again

    def chatgpt_auth(self, tokens: IssuedTokens, endpoints: Endpoints) -> AuthDotJson:
        """What a browser or device login stores (§13.1)."""
        try:
            account_id = parse_id_token(tokens.id_token).account_id
        except JwtError:
            account_id = None
        data = TokenData(
            Secret(tokens.id_token), Secret(tokens.access_token), Secret(tokens.refresh_token),
            OAuthProvenance(endpoints.issuer, endpoints.client_id), _login_owner_id(), account_id,
        )
        key = Secret(tokens.api_key) if tokens.api_key is not None else None
        return AuthDotJson("chatgpt", key, data, Timestamp.now())

    # -- refresh -----------------------------------------------------------------------------------

    def dead(self, active: Active | None) -> str | None:
        """The permanent refresh failure recorded for exactly these stored credentials."""
        if active is None or active.stored is None or self._dead is None:
            return None
        return self._dead[1] if self._dead[0] == active.stored else None

    async def fresh(self, active: Active, settings: AuthSettings, endpoints: Endpoints, caller: Caller) -> Active:
        """§14.2 on use: refresh managed tokens that expire within minutes (or are 8 days old
        without an expiry). A failure leaves the credentials as they were (logged)."""
        if active.mode != "chatgpt" or active.stored is None or active.stored.tokens is None:
            return active
        reason = _stale_reason(active.stored)
        if reason is None or self.dead(active) is not None:
            return active
        try:
            return await self.refresh(active, reason, settings, endpoints, caller)
        except RefreshFailed as exc:
            logger.info("token refresh (%s) failed: %s", reason, exc.message)
            return active

    async def refresh(
        self, active: Active, reason: str, settings: AuthSettings, endpoints: Endpoints, caller: Caller
    ) -> Active:
        """Refresh the stored tokens of ``active`` under the auth lock (module text). Raises
        RefreshFailed; a permanent failure is remembered for these credentials."""
        dead = self.dead(active)
        if dead is not None:
            raise RefreshFailed(dead, permanent=True)
        session = await trio.to_thread.run_sync(RefreshSession.open, self.storage(settings))
        try:
            current = session.current
            if current is None or current.tokens is None:
                raise RefreshFailed(OTHER_ACCOUNT, permanent=True)
            # a sibling refreshed (or someone logged in) meanwhile: adopt it
            if current != active.stored and (reason != "forced" or _account(current) != active.account_id):
                return Active("chatgpt", current)
            tokens = current.tokens
            try:
                new = await refresh_tokens(
                    self.http, endpoints, tokens.oauth_provenance, tokens.refresh_token.reveal(), reason,
                    caller.originator, caller.user_agent,
                )
            except RefreshFailed as exc:
                if exc.permanent:
                    self._dead = (current, exc.message)
                raise
            replaced = msgspec.structs.replace(
                tokens,
                id_token=Secret(new.id_token) if new.id_token is not None else tokens.id_token,
                access_token=Secret(new.access_token) if new.access_token is not None else tokens.access_token,
                refresh_token=Secret(new.refresh_token) if new.refresh_token is not None else tokens.refresh_token,
            )
            updated = msgspec.structs.replace(current, tokens=replaced, last_refresh=Timestamp.now())
            await trio.to_thread.run_sync(session.commit, updated)
            if self._on_write is not None:
                self._on_write(updated)
            return Active("chatgpt", updated)
        finally:
            session.close()

    # -- workspace routing --------------------------------------------------------------------------

    @staticmethod
    def _key(active: Active, endpoints: Endpoints) -> tuple[str, str, str, str]:
        token = active.access_token
        return (token.reveal() if token is not None else "", active.account_id or "", active.plan or "",
                endpoints.backend_base)

    async def routing(
        self, active: Active, endpoints: Endpoints, caller: Caller
    ) -> tuple[acct.WorkspaceRouting, str | None]:
        """§12, cached for the latest credentials (token, account, plan) and backend, as the
        reference's per-generation cache; raises RoutingError (InternalError). Failures are not
        cached."""
        key = self._key(active, endpoints)
        hit = self._routing.get(key)
        if hit is None:
            hit = await backend.discover_routing(self.http, endpoints, active.backend_auth(caller.user_agent))
            self._routing = {key: hit}  # the latest credentials only, as the reference's cache
        return hit

    def _cloud_key(self, active: Active, endpoints: Endpoints) -> tuple[str, ...]:
        return (*self._key(active, endpoints)[:2], endpoints.backend_base)  # not per plan

    async def cloud_requirements(self, active: Active, endpoints: Endpoints, caller: Caller) -> None:
        """§6.2.5 step 1 for workspace plans; raises CloudRequirementsError (InternalError). As
        on the reference, the outcome is kept for the latest credentials only: a login of the
        same tokens after a success does not load them again; other credentials, or a logout,
        forget it."""
        from chamberlain.remote.claims import is_workspace_plan

        key = self._cloud_key(active, endpoints)
        if self._cloud is not None and self._cloud[0] != key:
            self._cloud = None
        if active.plan is None or not is_workspace_plan(active.plan):
            return
        if self._cloud is not None and self._cloud[1] is None:
            return
        try:
            await backend.load_cloud_requirements(self.http, endpoints, active.backend_auth(caller.user_agent))
        except backend.CloudRequirementsError as exc:
            self._cloud = (key, exc.message)
            raise
        self._cloud = (key, None)

    def cloud_failure(self, active: Active, endpoints: Endpoints) -> str | None:
        """The text of the failed cloud-requirements load of these credentials: account/read
        reports it while it stands (the reference does not load them again for a read)."""
        if self._cloud is None or self._cloud[0] != self._cloud_key(active, endpoints):
            return None
        return self._cloud[1]


def _account(auth: AuthDotJson) -> str | None:
    return Active("chatgpt", auth).account_id


def _stale_reason(auth: AuthDotJson) -> str | None:
    tokens = auth.tokens
    if tokens is None:
        return None
    last = None
    if auth.last_refresh is not None:
        last = dt.datetime.fromtimestamp(auth.last_refresh.seconds, dt.UTC)
    return needs_refresh(tokens.access_token.reveal(), last, dt.datetime.now(dt.UTC))


def storage_text(exc: BaseException) -> str:
    """The cause part of ``failed to save api key: …`` / ``logout failed: …``."""
    if isinstance(exc, AuthStorageError):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def describe(exc: BaseException) -> str:
    """The client-facing text of an expected failure."""
    if isinstance(exc, InternalError | RefreshFailed):
        return exc.message
    return type(exc).__name__
