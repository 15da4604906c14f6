"""Claims read from ChatGPT id and access tokens (spec account.md §15), without verifying any
signature, exactly as tolerant as codex-cli 0.169.0 (observed on the binary):

* three non-empty ``.``-separated segments (a fourth and later are ignored); the header and the
  signature are not looked at;
* the payload is base64url (``-_`` alphabet; ``=`` padding none or complete; a length of 1 mod 4, a space,
  ``+``/``/`` or non-zero unused trailing bits are refused) and holds one JSON object
  (surrounding whitespace allowed, nothing after it), or serde's array form ``[email]``;
* ``email``, the ``https://api.openai.com/profile`` and ``https://api.openai.com/auth`` objects
  and their ``email`` / ``chatgpt_plan_type`` / ``chatgpt_user_id`` / ``user_id`` /
  ``chatgpt_account_id`` members are typed: a wrong type or a repeated member makes the token
  invalid; everything else is ignored.

PyJWT is not used to read tokens: it insists on a JSON header, which the reference never reads
(a token whose header is ``%%%`` is accepted by it). The fake issuer mints with PyJWT.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Final

import msgspec

__all__ = [
    "AUTH_CLAIMS",
    "PROFILE_CLAIMS",
    "IdTokenClaims",
    "JsonObject",
    "JwtError",
    "json_object",
    "jwt_expiration",
    "parse_id_token",
    "plan_type_from_raw",
]

AUTH_CLAIMS: Final = "https://api.openai.com/auth"
PROFILE_CLAIMS: Final = "https://api.openai.com/profile"

_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class JwtError(ValueError):
    """A token the reference would refuse; the message is the reference's where it is shown on
    the wire (``invalid ID token format``)."""


class IdTokenClaims(msgspec.Struct, frozen=True, kw_only=True):
    """The claims Chamberlain uses. ``plan_type`` is the raw claim (map it with
    :func:`plan_type_from_raw`); ``user_id`` is ``chatgpt_user_id``, else ``user_id``."""

    email: str | None = None
    plan_type: str | None = None
    user_id: str | None = None
    account_id: str | None = None
    is_fedramp: bool = False
    organization_id: str | None = None
    project_id: str | None = None
    completed_platform_onboarding: bool | None = None
    is_org_owner: bool | None = None


def _payload(token: str) -> bytes:
    parts = token.split(".")
    if len(parts) < 3 or not all(parts[:3]):
        raise JwtError("invalid ID token format")
    segment = parts[1]
    body = segment.rstrip("=")
    padding = len(segment) - len(body)
    if not _B64URL.fullmatch(segment) or padding not in (0, -len(body) % 4) or len(body) % 4 == 1:
        raise JwtError("Invalid padding or symbol in base64 payload")
    tail = len(body) % 4
    if tail and _ALPHABET.index(body[-1]) & (0x0F if tail == 2 else 0x03):
        raise JwtError("Invalid last symbol in base64 payload")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the checks above exclude it
        raise JwtError(f"invalid base64 payload: {exc}") from None


class JsonObject(dict[str, Any]):
    """A JSON object that remembers which member names it saw more than once (serde refuses a
    repeated member of a typed struct; ``json.loads(…, object_pairs_hook=json_object)``)."""

    repeated: frozenset[str] = frozenset()


def json_object(items: list[tuple[str, Any]]) -> JsonObject:
    obj = JsonObject(items)
    if len(obj) != len(items):
        names = [name for name, _ in items]
        obj.repeated = frozenset(name for name in obj if names.count(name) > 1)
    return obj


_TYPED_TOP: Final = ("email", PROFILE_CLAIMS, AUTH_CLAIMS)
_TYPED_AUTH: Final = ("chatgpt_plan_type", "chatgpt_user_id", "user_id", "chatgpt_account_id")


def _claims_object(token: str) -> dict[str, Any]:
    raw = _payload(token)
    try:
        msgspec.json.decode(raw)  # the syntax check: strict JSON, UTF-8, nothing trailing
        claims = json.loads(raw, object_pairs_hook=json_object)
    except (msgspec.DecodeError, ValueError) as exc:
        raise JwtError(f"invalid JSON payload: {exc}") from None
    if isinstance(claims, list):  # serde's positional form; only [email] is known (observed)
        if any(value is not None for value in claims[1:]):
            raise JwtError("JWT payload array with members at unknown positions")
        claims = {"email": claims[0]} if claims else {}
    if not isinstance(claims, dict):
        raise JwtError("JWT payload is not an object")
    _check_members(claims, _TYPED_TOP)
    return claims


def _check_members(obj: dict[str, Any], typed: tuple[str, ...]) -> None:
    if isinstance(obj, JsonObject) and obj.repeated & set(typed):
        raise JwtError("duplicate claim")
    for key in typed:
        value = obj.get(key)
        if value is None:
            continue
        if key in (PROFILE_CLAIMS, AUTH_CLAIMS):
            if not isinstance(value, dict):
                raise JwtError(f"claim {key} is not an object")
            _check_members(value, ("email",) if key == PROFILE_CLAIMS else _TYPED_AUTH)
        elif not isinstance(value, str):
            raise JwtError(f"claim {key} is not a string")


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _opt_bool(obj: dict[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    return value if isinstance(value, bool) else None


def parse_id_token(token: str) -> IdTokenClaims:
    """The claims of an id token (or, for external auth, an access token). Raises JwtError."""
    claims = _claims_object(token)
    profile = claims.get(PROFILE_CLAIMS) or {}
    auth = claims.get(AUTH_CLAIMS) or {}
    return IdTokenClaims(
        email=_opt_str(claims, "email") or _opt_str(profile, "email"),
        plan_type=_opt_str(auth, "chatgpt_plan_type"),
        user_id=_opt_str(auth, "chatgpt_user_id") or _opt_str(auth, "user_id"),
        account_id=_opt_str(auth, "chatgpt_account_id"),
        is_fedramp=_opt_bool(auth, "chatgpt_account_is_fedramp") is True,
        organization_id=_opt_str(auth, "organization_id"),
        project_id=_opt_str(auth, "project_id"),
        completed_platform_onboarding=_opt_bool(auth, "completed_platform_onboarding"),
        is_org_owner=_opt_bool(auth, "is_org_owner"),
    )


def jwt_expiration(token: str) -> int | None:
    """The top-level ``exp`` (seconds since the epoch) of a JWT, None when it has none.
    Raises JwtError for a token that is not a JWT or whose ``exp`` is not an integer."""
    raw = _payload(token)
    try:
        claims = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise JwtError(f"invalid JSON payload: {exc}") from None
    if not isinstance(claims, dict):
        raise JwtError("JWT payload is not an object")
    exp = claims.get("exp")
    if exp is None:
        return None
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise JwtError("claim exp is not an integer")
    return exp


_PLANS: Final = frozenset(
    "free go plus pro prolite promax team self_serve_business_prolite self_serve_business_usage_based business"
    " ent26 enterprise_cbp_automation enterprise_cbp_usage_based enterprise edu edu_plus edu_pro sci sci_plus"
    " unknown".split()
)
_PLAN_ALIASES: Final = {"hc": "enterprise", "education": "edu"}


def plan_type_from_raw(raw: str | None) -> str:
    """The wire ``PlanType`` of a raw plan string (spec §3.2): case-insensitive, ``hc`` ->
    ``enterprise``, ``education`` -> ``edu``, anything unlisted (or no claim) -> ``unknown``."""
    if raw is None:
        return "unknown"
    lowered = raw.lower()
    lowered = _PLAN_ALIASES.get(lowered, lowered)
    return lowered if lowered in _PLANS else "unknown"
