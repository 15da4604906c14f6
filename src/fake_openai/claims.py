"""Who logs in, and the JWTs the fake issuer mints for them (claims of spec account.md §15).

Tokens are HS256-signed with a key private to one fake: the fake can tell its own tokens from
anyone else's, while clients (which never verify signatures, §15) read the claims as usual.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any, Final, final

import jwt

__all__ = ["AUTH_CLAIM", "PROFILE_CLAIM", "Identity", "Workspace", "Minter"]

#: The namespaced claim objects of ChatGPT tokens (§15).
AUTH_CLAIM: Final = "https://api.openai.com/auth"
PROFILE_CLAIM: Final = "https://api.openai.com/profile"
#: Audience of ChatGPT access tokens.
ACCESS_AUDIENCE: Final = "https://api.openai.com/v1"


@final
@dataclass(frozen=True)
class Workspace:
    """One entry of the ``accounts/check`` answer (§12)."""

    id: str
    name: str = "Fake Workspace"
    plan_type: str = "pro"
    backend_origin: str | None = "https://chatgpt.com"
    routing_override: str = "NO_CONSTRAINT"
    structure: str = "workspace"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "plan_type": self.plan_type, "name": self.name}
        if self.backend_origin is not None:
            out["workspace_backend_origin"] = self.backend_origin
        out["account_routing_override"] = self.routing_override
        out["profile_picture_url"] = None
        out["structure"] = self.structure
        return out


@final
@dataclass(frozen=True)
class Identity:
    """A ChatGPT user as the issuer sees them; every field becomes a claim or a backend answer.

    ``None`` leaves a claim out (``plan=None``: no ``chatgpt_plan_type``; ``access_ttl_s=None``:
    an access token without ``exp``). ``workspaces=None`` means one workspace named after
    ``workspace_name`` with the id ``account_id``.
    """

    email: str | None = "user@example.com"
    user_id: str = "user-123"
    account_id: str | None = "acct-123"
    plan: str | None = "pro"
    organization_id: str = "org-abc"
    project_id: str = "proj-abc"
    completed_platform_onboarding: bool = True
    is_org_owner: bool = False
    fedramp: bool = False
    workspace_name: str = "Fake Workspace"
    workspaces: tuple[Workspace, ...] | None = None
    #: lifetime of minted access tokens, seconds from minting (`exp` claim); None: no `exp`
    access_ttl_s: float | None = 3600.0
    #: lifetime of the id_token, seconds from minting
    id_ttl_s: float = 3600.0
    #: the API key the token-exchange grant returns; None: a fresh random key per exchange
    api_key: str | None = None
    extra_auth_claims: tuple[tuple[str, Any], ...] = field(default=())

    def workspace_list(self) -> tuple[Workspace, ...]:
        if self.workspaces is not None:
            return self.workspaces
        if self.account_id is None:
            return ()
        return (Workspace(self.account_id, self.workspace_name, self.plan or "unknown"),)


@final
class Minter:
    """Mints id/access tokens for an issuer; ``owns`` tells its own tokens from foreign ones."""

    def __init__(self, issuer: str, client_id: str) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._key = secrets.token_bytes(32)

    def _auth_claims(self, who: Identity, *, full: bool) -> dict[str, Any]:
        auth: dict[str, Any] = {}
        if who.plan is not None:
            auth["chatgpt_plan_type"] = who.plan
        auth["chatgpt_user_id"] = who.user_id
        auth["user_id"] = who.user_id
        if who.account_id is not None:
            auth["chatgpt_account_id"] = who.account_id
        if who.fedramp:
            auth["chatgpt_account_is_fedramp"] = True
        if full:
            auth["organization_id"] = who.organization_id
            auth["project_id"] = who.project_id
            auth["completed_platform_onboarding"] = who.completed_platform_onboarding
            auth["is_org_owner"] = who.is_org_owner
        auth.update(dict(who.extra_auth_claims))
        return auth

    def _encode(self, payload: dict[str, Any]) -> str:
        return jwt.encode(payload, self._key, algorithm="HS256")

    def id_token(self, who: Identity, now_s: float) -> str:
        payload: dict[str, Any] = {"iss": self.issuer, "aud": self.client_id, "sub": who.user_id}
        if who.email is not None:
            payload["email"] = who.email
            payload["email_verified"] = True
        payload["iat"] = int(now_s)
        payload["exp"] = int(now_s + who.id_ttl_s)
        payload["jti"] = str(uuid.uuid4())
        payload[AUTH_CLAIM] = self._auth_claims(who, full=True)
        if who.email is not None:
            payload[PROFILE_CLAIM] = {"email": who.email, "email_verified": True}
        return self._encode(payload)

    def access_token(self, who: Identity, now_s: float, expires_in_s: float | None = None) -> str:
        """An access token; ``expires_in_s`` (may be negative) overrides the identity's lifetime."""
        payload: dict[str, Any] = {"iss": self.issuer, "aud": [ACCESS_AUDIENCE], "sub": who.user_id}
        payload["client_id"] = self.client_id
        payload["iat"] = int(now_s)
        ttl = who.access_ttl_s if expires_in_s is None else expires_in_s
        if ttl is not None:
            payload["exp"] = int(now_s + ttl)
        payload["jti"] = str(uuid.uuid4())
        payload["scp"] = ["openid", "profile", "email", "offline_access"]
        payload[AUTH_CLAIM] = self._auth_claims(who, full=False)
        if who.email is not None:
            payload[PROFILE_CLAIM] = {"email": who.email, "email_verified": True}
        return self._encode(payload)

    def owns(self, token: str) -> bool:
        """True for a token this minter signed (expiry is not checked here)."""
        try:
            jwt.decode(token, self._key, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False})
        except jwt.PyJWTError:
            return False
        return True

    @staticmethod
    def claims(token: str) -> dict[str, Any]:
        """The payload of any JWT, unverified (what clients do, §15)."""
        payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return payload
