"""What a ChatGPT id/access token says about its holder (spec account.md §15), the plan mapping
(§3.2) and the proactive-refresh rule (§14.2).

No signature is verified anywhere: the payload is the base64url-decoded second of three non-empty
dot-separated segments. Nothing here logs; a token never appears in an exception text or repr.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final, final

__all__ = [
    "AUTH_CLAIM",
    "PLAN_TYPES",
    "PROFILE_CLAIM",
    "PROACTIVE_REFRESH_WINDOW",
    "TOKEN_REFRESH_INTERVAL",
    "WORKSPACE_PLANS",
    "JwtFormatError",
    "TokenClaims",
    "access_token_exp",
    "decode_payload",
    "is_workspace_plan",
    "map_plan",
    "needs_refresh",
    "read_claims",
]

#: The namespaced claim objects of ChatGPT tokens.
AUTH_CLAIM: Final = "https://api.openai.com/auth"
PROFILE_CLAIM: Final = "https://api.openai.com/profile"

#: Every ``PlanType`` wire string (§3.2).
PLAN_TYPES: Final = frozenset({
    "free", "go", "plus", "pro", "prolite", "promax", "team", "self_serve_business_prolite",
    "self_serve_business_usage_based", "business", "ent26", "enterprise_cbp_automation",
    "enterprise_cbp_usage_based", "enterprise", "edu", "edu_plus", "edu_pro", "sci", "sci_plus", "unknown",
})
#: Raw plan names the reference reads as another plan.
_PLAN_ALIASES: Final = {"hc": "enterprise", "education": "edu"}
#: Plans whose login loads the cloud requirements first (§6.2.5), as observed on 0.169.0 for
#: every PlanType: not ``team`` nor the ``self_serve_business_*`` plans.
WORKSPACE_PLANS: Final = frozenset({
    "business", "ent26", "enterprise_cbp_automation", "enterprise_cbp_usage_based", "enterprise",
    "edu", "edu_plus", "edu_pro", "sci", "sci_plus",
})

#: An access token whose ``exp`` is this close is refreshed when used (§14.2, observed 275-320 s).
PROACTIVE_REFRESH_WINDOW: Final = dt.timedelta(minutes=5)
#: Tokens without an ``exp`` are refreshed when ``last_refresh`` is older than this.
TOKEN_REFRESH_INTERVAL: Final = dt.timedelta(days=8)


class JwtFormatError(ValueError):
    """Not a JWT: ``reason`` says which part failed (``segments``, ``base64``, ``json``, ``object``).

    The text names the failure only, never the token; callers word the client-visible error.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed JWT ({reason})")
        self.reason = reason


def decode_payload(token: str) -> dict[str, Any]:
    """The claims object of ``token``; raises ``JwtFormatError``."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise JwtFormatError("segments")
    segment = parts[1]
    try:
        raw = base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise JwtFormatError("base64") from None
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise JwtFormatError("json") from None
    if not isinstance(payload, dict):
        raise JwtFormatError("object")
    return payload


def map_plan(raw: str | None) -> str:
    """§3.2: case-insensitive; ``hc`` -> enterprise, ``education`` -> edu; a listed plan maps to itself,
    anything else (and no plan at all) to ``unknown``."""
    if raw is None:
        return "unknown"
    lowered = raw.lower()
    lowered = _PLAN_ALIASES.get(lowered, lowered)
    return lowered if lowered in PLAN_TYPES else "unknown"


def is_workspace_plan(plan: str) -> bool:
    """``plan`` (a mapped PlanType) belongs to a shared workspace."""
    return plan in WORKSPACE_PLANS


@final
@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The claims of one token that the server uses; absent claims are None (``fedramp`` False)."""

    email: str | None
    #: the raw ``chatgpt_plan_type`` claim; ``plan`` is its PlanType
    raw_plan: str | None
    user_id: str | None
    account_id: str | None
    fedramp: bool
    organization_id: str | None
    project_id: str | None
    completed_platform_onboarding: bool
    is_org_owner: bool
    #: top-level ``exp`` (Unix seconds)
    exp: int | None

    @property
    def plan(self) -> str:
        return map_plan(self.raw_plan)


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _flag(obj: dict[str, Any], key: str) -> bool:
    return obj.get(key) is True


def _object(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _exp(payload: dict[str, Any]) -> int | None:
    value = payload.get("exp")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def read_claims(token: str) -> TokenClaims:
    """The §15 claims of ``token`` (id_token for managed logins, the access token for external
    ones); raises ``JwtFormatError``."""
    payload = decode_payload(token)
    auth = _object(payload, AUTH_CLAIM)
    profile = _object(payload, PROFILE_CLAIM)
    return TokenClaims(
        email=_str(payload, "email") or _str(profile, "email"),
        raw_plan=_str(auth, "chatgpt_plan_type"),
        user_id=_str(auth, "chatgpt_user_id") or _str(auth, "user_id"),
        account_id=_str(auth, "chatgpt_account_id"),
        fedramp=_flag(auth, "chatgpt_account_is_fedramp"),
        organization_id=_str(auth, "organization_id"),
        project_id=_str(auth, "project_id"),
        completed_platform_onboarding=_flag(auth, "completed_platform_onboarding"),
        is_org_owner=_flag(auth, "is_org_owner"),
        exp=_exp(payload),
    )


def access_token_exp(access_token: str) -> int | None:
    """``exp`` of an access token; None when it has none or is not a JWT at all."""
    try:
        return _exp(decode_payload(access_token))
    except JwtFormatError:
        return None


def needs_refresh(access_token: str, last_refresh: dt.datetime | None, now: dt.datetime) -> str | None:
    """§14.2, on every use of managed credentials: ``"proactive_expiry"`` when the access token's
    ``exp`` is within `PROACTIVE_REFRESH_WINDOW` of ``now`` (or past); for a token without ``exp``
    (or not a JWT) ``"scheduled"`` when ``last_refresh`` is older than `TOKEN_REFRESH_INTERVAL`;
    else None. An old ``last_refresh`` alone never triggers while ``exp`` is far away; an unknown
    ``last_refresh`` never triggers (nothing says the token is old). Datetimes are timezone-aware."""
    exp = access_token_exp(access_token)
    if exp is not None:
        left = dt.datetime.fromtimestamp(exp, dt.UTC) - now
        return "proactive_expiry" if left <= PROACTIVE_REFRESH_WINDOW else None
    if last_refresh is not None and now - last_refresh > TOKEN_REFRESH_INTERVAL:
        return "scheduled"
    return None
