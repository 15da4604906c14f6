"""What the issuer remembers: authorization codes, device authorizations, token sets and their fate.

Times of codes, device codes and refresh tokens are trio times (they follow a MockClock); the
``exp``/``iat`` claims use the wall clock, as the clients reading them do.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, final

import trio

from .claims import Identity, Minter

__all__ = [
    "CodeGrant",
    "DeviceAuth",
    "DeviceState",
    "RefreshState",
    "TokenSet",
    "Grants",
    "s256",
]

#: Lifetime of an authorization code, seconds.
CODE_LIFETIME_S: Final = 600.0


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: base64url-no-pad(SHA-256(ASCII verifier))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@final
@dataclass
class CodeGrant:
    """An authorization code and what it was issued for."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    identity: Identity
    issued_at: float
    used: bool = False


class DeviceState(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CONSUMED = "consumed"


@final
@dataclass
class DeviceAuth:
    device_auth_id: str = field(repr=False)
    user_code: str
    client_id: str
    issued_at: float
    state: DeviceState = DeviceState.PENDING
    identity: Identity | None = None
    #: set on approval: the code and PKCE pair the poll hands out
    code: str | None = field(default=None, repr=False)
    verifier: str | None = field(default=None, repr=False)


class RefreshState(enum.Enum):
    ACTIVE = "active"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@final
@dataclass(frozen=True)
class TokenSet:
    """One issuance: what ``/oauth/token`` returns and ``auth.json`` stores."""

    id_token: str
    access_token: str
    refresh_token: str
    identity: Identity
    client_id: str

    def __repr__(self) -> str:
        return f"TokenSet(identity={self.identity.user_id!r}, client_id={self.client_id!r}, <tokens redacted>)"


@final
@dataclass
class _RefreshRecord:
    tokens: TokenSet
    issued_at: float
    state: RefreshState = RefreshState.ACTIVE


def _user_code() -> str:
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(4))
    digits = "".join(secrets.choice(string.digits) for _ in range(4))
    return f"{letters}-{digits}"


@final
@dataclass(repr=False)
class Grants:
    """The issuer's memory; every secret it hands out is also kept in ``minted`` (its secrets
    are the keys of its maps, so ``repr`` shows counts only)."""

    minter: Minter
    wall_clock: Callable[[], float]
    refresh_token_ttl_s: float | None = None
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    devices: dict[str, DeviceAuth] = field(default_factory=dict)
    refresh: dict[str, _RefreshRecord] = field(default_factory=dict)
    access: dict[str, Identity] = field(default_factory=dict)
    id_tokens: dict[str, Identity] = field(default_factory=dict)
    revoked_access: set[str] = field(default_factory=set)
    minted: set[str] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"Grants(codes={len(self.codes)}, devices={len(self.devices)}, refresh={len(self.refresh)})"

    def new_secret(self, prefix: str, nbytes: int = 24) -> str:
        value = prefix + secrets.token_urlsafe(nbytes)
        self.minted.add(value)
        return value

    def new_code(self, client_id: str, redirect_uri: str, challenge: str, who: Identity) -> str:
        code = self.new_secret("code-")
        self.codes[code] = CodeGrant(client_id, redirect_uri, challenge, who, trio.current_time())
        return code

    def code_is_live(self, grant: CodeGrant) -> bool:
        return not grant.used and trio.current_time() - grant.issued_at <= CODE_LIFETIME_S

    def new_device(self, client_id: str) -> DeviceAuth:
        dev = DeviceAuth(self.new_secret("deviceauth-"), _user_code(), client_id, trio.current_time())
        self.devices[dev.device_auth_id] = dev
        return dev

    def device_by_user_code(self, user_code: str) -> DeviceAuth | None:
        return next((d for d in self.devices.values() if d.user_code == user_code.strip().upper()), None)

    def approve_device(self, dev: DeviceAuth, who: Identity, redirect_uri: str) -> None:
        verifier = self.new_secret("", 64)
        dev.state = DeviceState.APPROVED
        dev.identity = who
        dev.verifier = verifier
        dev.code = self.new_code(dev.client_id, redirect_uri, s256(verifier), who)

    def issue(self, who: Identity, client_id: str, refresh_token: str | None = None,
              expires_in_s: float | None = None) -> TokenSet:
        now = self.wall_clock()
        tokens = TokenSet(
            id_token=self.minter.id_token(who, now),
            access_token=self.minter.access_token(who, now, expires_in_s),
            refresh_token=refresh_token if refresh_token is not None else self.new_secret("rt-", 32),
            identity=who,
            client_id=client_id,
        )
        self.minted.update((tokens.id_token, tokens.access_token, tokens.refresh_token))
        self.id_tokens[tokens.id_token] = who
        self.access[tokens.access_token] = who
        self.refresh[tokens.refresh_token] = _RefreshRecord(tokens, trio.current_time())
        return tokens

    def refresh_state(self, token: str) -> RefreshState:
        record = self.refresh.get(token)
        if record is None:
            return RefreshState.UNKNOWN
        ttl = self.refresh_token_ttl_s
        if record.state is RefreshState.ACTIVE and ttl is not None and trio.current_time() - record.issued_at > ttl:
            return RefreshState.EXPIRED
        return record.state

    def refresh_record(self, token: str) -> _RefreshRecord | None:
        return self.refresh.get(token)

    def access_identity(self, token: str | None) -> Identity | None:
        """The identity behind a live access token this issuer minted; None otherwise."""
        if token is None or token in self.revoked_access:
            return None
        who = self.access.get(token)
        if who is None:
            return None
        exp = self.minter.claims(token).get("exp")
        if isinstance(exp, int | float) and exp <= self.wall_clock():
            return None
        return who

    def revoke(self, token: str) -> None:
        record = self.refresh.get(token)
        if record is not None:
            record.state = RefreshState.REVOKED
        if token in self.access:
            self.revoked_access.add(token)
