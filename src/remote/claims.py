"""The JWT format check of tokens the server is handed, the plans that load workspace requirements
(§6.2.5) and the proactive-refresh rule (§14.2). The claims themselves (§15) and the plan mapping
(§3.2) are ``chamberlain.store.auth_jwt``'s.

No signature is verified anywhere: the payload is the base64url-decoded second of three non-empty
dot-separated segments. Nothing here logs; a token never appears in an exception text or repr.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any, Final

__all__ = [
    "PLAN_TYPES",
    "PROACTIVE_REFRESH_WINDOW",
    "TOKEN_REFRESH_INTERVAL",
    "WORKSPACE_PLANS",
    "JwtFormatError",
    "access_token_exp",
    "decode_payload",
    "is_workspace_plan",
    "needs_refresh",
]

#: Every ``PlanType`` wire string (§3.2).
PLAN_TYPES: Final = frozenset({
    "free", "go", "plus", "pro", "prolite", "promax", "team", "self_serve_business_prolite",
    "self_serve_business_usage_based", "business", "ent26", "enterprise_cbp_automation",
    "enterprise_cbp_usage_based", "enterprise", "edu", "edu_plus", "edu_pro", "sci", "sci_plus", "unknown",
})
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


def is_workspace_plan(plan: str) -> bool:
    """``plan`` (a mapped PlanType) belongs to a shared workspace."""
    return plan in WORKSPACE_PLANS


def _exp(payload: dict[str, Any]) -> int | None:
    value = payload.get("exp")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


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
