"""The OAuth issuer's login calls (spec account.md §6.2.1, §6.2.3, §6.3): PKCE, the authorize URL,
the authorization-code and API-key exchanges, the device user code and its polling.

Every function takes the caller's ``httpx.AsyncClient`` and ``Endpoints``; nothing here keeps
state. Failures carry the reference's texts: ``LoginFailed`` where the text ends a login attempt
(``account/login/completed.error``), ``InvalidRequest``/``InternalError`` where it is a JSON-RPC
error. Secrets (codes, verifiers, tokens, keys) never enter an exception text, a log line or a
``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, final
from urllib.parse import quote_plus

import httpx
import msgspec
import trio
from chamberlain.errors import InternalError, InvalidRequest
from chamberlain.remote.errors import LoginFailed
from chamberlain.remote.status import status_text
from chamberlain.remote.usercode_json import decode_user_code

if TYPE_CHECKING:
    from chamberlain.remote.endpoints import Endpoints

__all__ = [
    "AUTH_CLAIM",
    "DEVICE_MAX_WAIT_S",
    "DeviceGrant",
    "IssuedTokens",
    "Pkce",
    "UserCode",
    "auth_claims",
    "authorize_url",
    "check_workspace",
    "exchange_api_key",
    "exchange_code",
    "exchange_device_code",
    "form_encode",
    "jwt_payload",
    "new_pkce",
    "new_state",
    "poll_device_token",
    "redirect_uri",
    "request_user_code",
]

logger = logging.getLogger(__name__)

#: The namespaced claim object of ChatGPT tokens (§15).
AUTH_CLAIM: Final = "https://api.openai.com/auth"
SCOPE: Final = "openid profile email offline_access api.connectors.read api.connectors.invoke"
#: Random bytes of a PKCE verifier (86 base64url characters) and of a ``state`` (43 characters).
VERIFIER_BYTES: Final = 64
STATE_BYTES: Final = 32
GRANT_TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:id_token"
#: The device-code flow gives up after this long of pending polls, seconds (§6.3 step 3).
DEVICE_MAX_WAIT_S: Final = 15 * 60.0
#: RFC 8628 §3.5: a ``slow_down`` answer adds this to the poll interval, seconds.
SLOW_DOWN_STEP_S: Final = 5.0
FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
#: Headers a shared client (or httpx itself) may add that the reference's issuer calls never send:
#: they carry only Content-Type and Accept (checked side by side on one fake; §6.2.3, §17).
_NOT_FOR_ISSUER: Final = (
    "user-agent", "originator", "authorization", "chatgpt-account-id", "accept-encoding", "connection",
)
_DECODE_ERROR: Final = "error decoding response body"


# --- PKCE, state and the authorize URL (§6.2.1)


@final
@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str = field(repr=False)
    challenge: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_pkce() -> Pkce:
    """A verifier of 64 random bytes, base64url without padding, and its S256 challenge."""
    verifier = _b64url(secrets.token_bytes(VERIFIER_BYTES))
    return Pkce(verifier, _b64url(hashlib.sha256(verifier.encode("ascii")).digest()))


def new_state() -> str:
    return _b64url(secrets.token_bytes(STATE_BYTES))


def form_encode(pairs: Sequence[tuple[str, str]]) -> str:
    """``application/x-www-form-urlencoded`` as the reference writes it: space as ``+``, only
    ASCII letters, digits and ``*-._`` left as they are."""
    return "&".join(f"{_form_part(k)}={_form_part(v)}" for k, v in pairs)


def _form_part(text: str) -> str:
    return quote_plus(text, safe="*").replace("~", "%7E")


def redirect_uri(port: int) -> str:
    """The callback URL registered with the issuer: literal ``127.0.0.1``, never ``localhost``."""
    return f"http://127.0.0.1:{port}/auth/callback"


def authorize_url(
    endpoints: Endpoints,
    challenge: str,
    state: str,
    originator: str,
    allowed_workspace_ids: Sequence[str] | None,
    *,
    callback_uri: str,
) -> str:
    """``{ISSUER}/oauth/authorize?…`` with the query members in the reference's order."""
    query = [
        ("response_type", "code"),
        ("client_id", endpoints.client_id),
        ("redirect_uri", callback_uri),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", state),
        ("scope", SCOPE),
        ("id_token_add_organizations", "true"),
        ("codex_cli_simplified_flow", "true"),
        ("originator", originator),
    ]
    if allowed_workspace_ids is not None:
        query.append(("allowed_workspace_id", ",".join(allowed_workspace_ids)))
    return f"{endpoints.authorize_url}?{form_encode(query)}"


# --- tokens and their claims (§15)


@final
@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """What a login obtained; ``api_key`` only from the browser flow's API-key exchange."""

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    api_key: str | None = field(default=None, repr=False)


def jwt_payload(token: str) -> dict[str, Any]:
    """The JSON payload of a JWT, unverified (§15): three non-empty segments, base64url JSON.

    Raises ValueError (with a text that never contains the token) otherwise.
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("invalid ID token format")
    segment = parts[1]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("invalid ID token payload") from exc
    if not isinstance(payload, dict):
        raise ValueError("invalid ID token payload")
    return payload


def auth_claims(token: str) -> dict[str, Any]:
    """The ``https://api.openai.com/auth`` object of a JWT, or ``{}`` when it cannot be read."""
    try:
        claims = jwt_payload(token).get(AUTH_CLAIM)
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def check_workspace(id_token: str, allowed: Sequence[str] | None) -> None:
    """§6.2.3: with ``forced_chatgpt_workspace_id``, the id_token's ``chatgpt_account_id`` must be
    one of the allowed ids."""
    if allowed is None:
        return
    actual = auth_claims(id_token).get("chatgpt_account_id")
    if not isinstance(actual, str):
        raise LoginFailed(
            "Login is restricted to a specific workspace, but the token did not include an "
            "chatgpt_account_id claim."
        )
    if actual not in allowed:
        raise LoginFailed(f"Login is restricted to workspace id(s) {', '.join(allowed)}.")


# --- HTTP plumbing


class _NoResponse(Exception):
    """A request that got no usable response; ``text`` is the reference HTTP client's wording."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


async def _post(client: httpx.AsyncClient, url: str, body: bytes, content_type: str) -> httpx.Response:
    """POST without the client's identifying defaults. Raises _NoResponse when no response came
    (``error sending request for url (<url>)``) or its body could not be read."""
    request = client.build_request("POST", url, content=body, headers={"Content-Type": content_type})
    for name in _NOT_FOR_ISSUER:
        request.headers.pop(name, None)
    try:
        return await client.send(request)
    except httpx.DecodingError:
        raise _NoResponse(_DECODE_ERROR) from None
    except httpx.RequestError as exc:
        logger.debug("issuer request failed: %s", type(exc).__name__)
        raise _NoResponse(f"error sending request for url ({url})") from None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        value = json.loads(response.content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _token_error_detail(body: str) -> str:
    """§6.2.3: ``error_description``, else ``error.message``, else the ``error`` string (or
    ``error.code``), else the trimmed body, else ``unknown error``."""
    text = body.strip()
    if not text:
        return "unknown error"
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if not isinstance(value, dict):
        return text
    error = value.get("error")
    nested = error if isinstance(error, dict) else {}
    candidates = (value.get("error_description"), nested.get("message"), error, nested.get("code"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return text


# --- authorization code and API key (§6.2.3)


async def exchange_code(
    client: httpx.AsyncClient,
    endpoints: Endpoints,
    code: str,
    redirect_uri: str,
    verifier: str,
    *,
    failure_prefix: str = "Token exchange failed: ",
) -> IssuedTokens:
    """The authorization-code grant; raises LoginFailed with ``failure_prefix`` + the reason."""
    body = form_encode([
        ("grant_type", "authorization_code"),
        ("client_id", endpoints.client_id),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ])
    try:
        response = await _post(client, endpoints.token_url, body.encode(), FORM)
    except _NoResponse as exc:
        raise LoginFailed(failure_prefix + exc.text) from None
    if not response.is_success:
        detail = _token_error_detail(response.text)
        raise LoginFailed(
            f"{failure_prefix}token endpoint returned status {status_text(response.status_code)}: {detail}"
        )
    tokens = _json_object(response) or {}
    names = ("id_token", "access_token", "refresh_token")
    values = [tokens.get(name) for name in names]
    if not all(isinstance(value, str) for value in values):
        raise LoginFailed(failure_prefix + "OAuth token response is invalid")
    id_token, access_token, refresh_token = (str(value) for value in values)
    return IssuedTokens(id_token, access_token, refresh_token)


async def exchange_api_key(client: httpx.AsyncClient, endpoints: Endpoints, id_token: str) -> str | None:
    """Token exchange of the id_token for an API key; best effort: None on any failure."""
    body = form_encode([
        ("grant_type", GRANT_TOKEN_EXCHANGE),
        ("client_id", endpoints.client_id),
        ("requested_token", "openai-api-key"),
        ("subject_token", id_token),
        ("subject_token_type", ID_TOKEN_TYPE),
    ])
    try:
        response = await _post(client, endpoints.token_url, body.encode(), FORM)
    except _NoResponse:
        return None
    if not response.is_success:
        logger.debug("API key exchange failed with status %s", response.status_code)
        return None
    key = (_json_object(response) or {}).get("access_token")
    return key if isinstance(key, str) else None


# --- device code (§6.3)


@final
@dataclass(frozen=True, slots=True)
class UserCode:
    """The issuer's answer to the user-code request."""

    device_auth_id: str = field(repr=False)
    user_code: str
    #: seconds between polls; 0 = back to back
    interval_s: int


@final
@dataclass(frozen=True, slots=True)
class DeviceGrant:
    """A successful poll: the authorization code and the PKCE pair to exchange it with."""

    authorization_code: str = field(repr=False)
    code_challenge: str = field(repr=False)
    code_verifier: str = field(repr=False)


async def request_user_code(client: httpx.AsyncClient, endpoints: Endpoints) -> UserCode:
    """Step 1. Raises InvalidRequest (404: device code login not enabled) or InternalError."""
    url = endpoints.device_usercode_url
    prefix = "failed to request device code: "
    try:
        response = await _post(client, url, msgspec.json.encode({"client_id": endpoints.client_id}), JSON)
    except _NoResponse as exc:
        raise InternalError(prefix + exc.text) from None
    if response.status_code == 404:
        raise InvalidRequest(
            "device code login is not enabled for this Codex server. "
            "Use the browser login or verify the server URL."
        )
    if not response.is_success:
        raise InternalError(f"{prefix}device code request failed with status {status_text(response.status_code)}")
    try:
        device_auth_id, user_code, interval_s = decode_user_code(response.content.decode("utf-8", "replace"))
    except ValueError as exc:
        raise InternalError(prefix + str(exc)) from None
    return UserCode(device_auth_id, user_code, interval_s)


def _is_slow_down(response: httpx.Response) -> bool:
    """RFC 8628 §3.5: ``{"error": "slow_down"}`` (also as ``error.code``) on a 400."""
    if response.status_code != 400:
        return False
    error = (_json_object(response) or {}).get("error")
    if isinstance(error, dict):
        error = error.get("code")
    return error == "slow_down"


async def poll_device_token(client: httpx.AsyncClient, endpoints: Endpoints, code: UserCode) -> DeviceGrant:
    """Step 3: poll until the user approved. 403/404 = pending: sleep ``interval`` and poll again;
    ``slow_down`` adds 5 s to the interval (RFC 8628); 15 minutes of waiting give up; any other
    status ends the attempt. This is the one sleep loop the issuer mandates (STYLE rule 6)."""
    url = endpoints.device_token_url
    body = msgspec.json.encode({"device_auth_id": code.device_auth_id, "user_code": code.user_code})
    started = trio.current_time()
    interval = float(code.interval_s)
    while True:
        try:
            response = await _post(client, url, body, JSON)
        except _NoResponse as exc:
            raise LoginFailed(exc.text) from None
        if response.is_success:
            return _device_grant(_json_object(response))
        if _is_slow_down(response):
            interval += SLOW_DOWN_STEP_S
        elif response.status_code not in (403, 404):
            raise LoginFailed(f"device auth failed with status {status_text(response.status_code)}")
        elapsed = trio.current_time() - started
        if elapsed >= DEVICE_MAX_WAIT_S:
            raise LoginFailed("device auth timed out after 15 minutes")
        await trio.sleep(min(interval, DEVICE_MAX_WAIT_S - elapsed))


def _device_grant(body: dict[str, Any] | None) -> DeviceGrant:
    names = ("authorization_code", "code_challenge", "code_verifier")
    values = [(body or {}).get(name) for name in names]
    if not all(isinstance(value, str) for value in values):
        raise LoginFailed(_DECODE_ERROR)
    code, challenge, verifier = (str(value) for value in values)
    return DeviceGrant(code, challenge, verifier)


async def exchange_device_code(client: httpx.AsyncClient, endpoints: Endpoints, grant: DeviceGrant) -> IssuedTokens:
    """Step 4: the code grant with ``{ISSUER}/deviceauth/callback`` and the poll's verifier."""
    return await exchange_code(
        client,
        endpoints,
        grant.authorization_code,
        endpoints.device_redirect_uri,
        grant.code_verifier,
        failure_prefix="device code exchange failed: ",
    )
