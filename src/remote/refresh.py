"""Token refresh and revocation against the OAuth issuer (spec account.md §8, §14), and the check
of a client's answer to ``account/chatgptAuthTokens/refresh`` (§11).

``refresh_tokens`` raises ``RefreshFailed`` classified as the reference classifies it (§14.4):
``permanent`` failures must not be retried for the same credentials. ``revoke`` never raises.
No token appears in a log line, an exception text or a repr.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, final

import httpx
import msgspec
import trio
from chamberlain.protocol import account as acct
from chamberlain.protocol.codec import Response
from chamberlain.serde_text import rust_debug_str

from .claims import JwtFormatError, decode_payload
from .endpoints import Endpoints
from .http import body_text, issuer_headers, json_body, status_text, transport_text

__all__ = [
    "EXTERNAL_REFRESH_TIMED_OUT",
    "EXTERNAL_REFRESH_TIMEOUT_S",
    "REFRESH_REASONS",
    "REVOKE_TIMEOUT_S",
    "ExternalRefreshFailed",
    "Provenance",
    "RefreshFailed",
    "RefreshedTokens",
    "check_external_refresh",
    "refresh_tokens",
    "revoke",
]

logger = logging.getLogger(__name__)

REFRESH_REASONS: Final = frozenset({"forced", "proactive_expiry", "scheduled", "unauthorized_recovery"})
#: Best-effort revocation gives up after this, seconds (§8).
REVOKE_TIMEOUT_S: Final = 10.0
#: A client has this long to answer ``account/chatgptAuthTokens/refresh``, seconds (§11).
EXTERNAL_REFRESH_TIMEOUT_S: Final = 10.0
EXTERNAL_REFRESH_TIMED_OUT: Final = "auth refresh request timed out after 10s"

REFRESH_EXPIRED: Final = ("Your access token could not be refreshed because your refresh token has expired. "
                          "Please log out and sign in again.")
REFRESH_REUSED: Final = ("Your access token could not be refreshed because your refresh token was already used. "
                         "Please log out and sign in again.")
REFRESH_INVALIDATED: Final = ("Your access token could not be refreshed because your refresh token was revoked. "
                              "Please log out and sign in again.")
REFRESH_UNKNOWN: Final = "Your access token could not be refreshed. Please log out and sign in again."
_PERMANENT_CODES: Final = {
    "refresh_token_expired": REFRESH_EXPIRED,
    "refresh_token_reused": REFRESH_REUSED,
    "refresh_token_invalidated": REFRESH_INVALIDATED,
}


class Provenance(Protocol):
    """Where the tokens were issued (``tokens.oauth_provenance`` of auth.json)."""

    @property
    def issuer(self) -> str: ...

    @property
    def client_id(self) -> str: ...


@final
@dataclass(frozen=True, slots=True)
class RefreshedTokens:
    """The members the issuer sent back; each present one replaces the stored one (§14.1)."""

    id_token: str | None = field(repr=False)
    access_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)


class RefreshFailed(Exception):
    """A refresh failed. ``permanent``: the refresh token is dead (remember it for these
    credentials, make no further request); else transient (retry on the next trigger)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# --- refresh (§14) ------------------------------------------------------------------------------


async def refresh_tokens(
    client: httpx.AsyncClient,
    endpoints: Endpoints,
    provenance: Provenance | None,
    refresh_token: str,
    reason: str,
    originator: str,
    user_agent: str,
) -> RefreshedTokens:
    """``POST {issuer}/oauth/token`` with the JSON refresh grant; the issuer and client id follow
    ``provenance`` (else the configured ones), ``CODEX_REFRESH_TOKEN_URL_OVERRIDE`` wins."""
    if reason not in REFRESH_REASONS:
        raise ValueError(f"unknown refresh reason {reason!r}")
    url = endpoints.refresh_url(provenance.issuer if provenance is not None else None)
    client_id = provenance.client_id if provenance is not None and provenance.client_id else endpoints.client_id
    body = {"client_id": client_id, "grant_type": "refresh_token", "refresh_reason": reason,
            "refresh_token": refresh_token}
    headers = {"Content-Type": "application/json", **issuer_headers(originator, user_agent)}
    try:
        response = await client.post(url, headers=headers, content=json_body(body))
    except httpx.HTTPError:
        raise RefreshFailed(transport_text(url), permanent=False) from None
    if response.is_success:
        return _refreshed(response.content)
    raise _classify(response.status_code, body_text(response))


def _refreshed(content: bytes) -> RefreshedTokens:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise RefreshFailed("error decoding response body", permanent=False) from None
    if not isinstance(data, dict):
        raise RefreshFailed("error decoding response body", permanent=False)
    values: dict[str, str | None] = {}
    for key in ("id_token", "access_token", "refresh_token"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise RefreshFailed("error decoding response body", permanent=False)
        values[key] = value
    if values["id_token"] is not None:  # re-read for its claims by the caller: it must be a JWT
        try:
            decode_payload(values["id_token"])
        except JwtFormatError:
            raise RefreshFailed("invalid ID token format", permanent=False) from None
    return RefreshedTokens(values["id_token"], values["access_token"], values["refresh_token"])


def _error_code(body: str) -> str | None:
    """``error.code`` (object form), ``error`` (string form), else top-level ``code``."""
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return str(error["code"])
    if isinstance(error, str):
        return error
    code = data.get("code")
    return code if isinstance(code, str) else None


def _error_message(body: str) -> str:
    """``error.message`` of a JSON body, else the body itself (``Unknown error`` when empty)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        message = data["error"].get("message")
        if isinstance(message, str):
            return message
    return body or "Unknown error"


def _classify(status: int, body: str) -> RefreshFailed:
    """§14.4: a known refresh-token code (any status), any 401, and a 400 ``invalid_grant`` are
    permanent; everything else is transient."""
    code = _error_code(body)
    lowered = code.lower() if code is not None else None
    logger.debug("refresh refused: status %s, code %s", status, lowered)
    known = _PERMANENT_CODES.get(lowered or "")
    if known is not None:
        return RefreshFailed(known, permanent=True)
    if status == 401 or (status == 400 and lowered == "invalid_grant"):
        return RefreshFailed(REFRESH_UNKNOWN, permanent=True)
    return RefreshFailed(f"Failed to refresh token: {status_text(status)}: {_error_message(body)}", permanent=False)


# --- revoke (§8) ------------------------------------------------------------------------------------


async def revoke(
    client: httpx.AsyncClient, endpoints: Endpoints, refresh_token: str, access_token: str, originator: str,
    user_agent: str,
) -> None:
    """Best-effort ``POST …/oauth/revoke`` at logout: the refresh token (with the configured client
    id, whatever the provenance says), or the access token when there is no refresh token; with
    ``originator`` and ``User-Agent`` as the reference sends them. Gives up after
    `REVOKE_TIMEOUT_S`; every failure is logged at debug (status or exception type only) and
    swallowed."""
    if refresh_token:
        body = {"token": refresh_token, "token_type_hint": "refresh_token", "client_id": endpoints.client_id}
    else:
        body = {"token": access_token, "token_type_hint": "access_token"}
    url = endpoints.revoke_url
    with trio.move_on_after(REVOKE_TIMEOUT_S) as scope:
        try:
            headers = {"Content-Type": "application/json", **issuer_headers(originator, user_agent)}
            response = await client.post(url, headers=headers, content=json_body(body))
        except httpx.HTTPError as exc:
            logger.debug("token revocation failed: %s", type(exc).__name__)
            return
        if not response.is_success:
            logger.debug("token revocation refused: status %s", response.status_code)
    if scope.cancelled_caught:
        logger.debug("token revocation timed out after %ss", REVOKE_TIMEOUT_S)


# --- the client's answer to account/chatgptAuthTokens/refresh (§11) ------------------------------


class ExternalRefreshFailed(Exception):
    """The client's tokens were not taken; ``message`` is the reference's text for the failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _ErrorCode(msgspec.Struct):
    code: Any = None


def check_external_refresh(
    answer: Response, allowed_workspaces: Sequence[str] | None
) -> acct.ChatgptAuthTokensRefreshResponse:
    """The new external tokens from the client's ``Response``, or ``ExternalRefreshFailed``: an
    error answer (``auth refresh request failed: code=<code>``), no ``accessToken``
    (``invalid auth refresh response``), a token that is not a JWT (``auth refresh returned invalid
    credentials``) or a workspace outside ``forced_chatgpt_workspace_id``. A missing answer is the
    caller's `EXTERNAL_REFRESH_TIMED_OUT`."""
    if answer.error is not None:
        try:
            code = msgspec.json.decode(answer.error, type=_ErrorCode).code
        except msgspec.DecodeError:
            code = None
        raise ExternalRefreshFailed(f"auth refresh request failed: code={code}")
    try:
        tokens = msgspec.json.decode(answer.result or b"null", type=acct.ChatgptAuthTokensRefreshResponse)
    except msgspec.DecodeError:
        raise ExternalRefreshFailed("invalid auth refresh response") from None
    try:
        decode_payload(tokens.access_token)
    except JwtFormatError:
        raise ExternalRefreshFailed("auth refresh returned invalid credentials") from None
    if allowed_workspaces and tokens.chatgpt_account_id not in allowed_workspaces:
        expected = ", ".join(rust_debug_str(w) for w in allowed_workspaces)
        raise ExternalRefreshFailed(f"external auth refresh returned workspace "
                                    f"{rust_debug_str(tokens.chatgpt_account_id)}, expected one of [{expected}]")
    return tokens
