"""Calls to the ChatGPT backend (spec account.md §6.2.5, §9, §12, §17, §19): workspace-routing
discovery, the cloud-requirements bundle, rate limits and the add-credits nudge.

Every function takes the caller's ``httpx.AsyncClient`` (give it ``timeout=None``: the deadlines
the spec fixes live here, the rest belong to the caller's cancel scope) and raises a
``BackendError`` — an ``InternalError`` (-32603) worded as the reference words it. ``status`` is
the HTTP status when there was one, so the caller can run its 401 recovery (§14.3) and call again.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx
import trio
from chamberlain.errors import InternalError
from chamberlain.protocol import account as acct

from .endpoints import Endpoints
from .http import BackendAuth, body_text, content_type, json_body, status_text, transport_text
from .serde_json_text import DecodeError
from .usage import parse_reset_credits, parse_usage, rate_limits_response

__all__ = [
    "CLOUD_RETRY_DELAYS_S",
    "ROUTING_TIMEOUT_S",
    "BackendError",
    "CloudRequirementsError",
    "RoutingError",
    "discover_routing",
    "load_cloud_requirements",
    "read_rate_limits",
    "send_nudge",
]

logger = logging.getLogger(__name__)

#: The whole routing read (request and answer) must finish within this, seconds (§12).
ROUTING_TIMEOUT_S: Final = 15.0
#: Pauses between the five attempts to fetch the cloud-requirements bundle, seconds (§6.2.5).
CLOUD_RETRY_DELAYS_S: Final = (0.25, 0.45, 0.84, 1.59)
ROUTING_OVERRIDES: Final = frozenset({"NO_CONSTRAINT", "us", "us_cr"})
#: ``workspace_backend_origin`` meaning "the configured backend's origin".
NO_CONSTRAINT: Final = "NO_CONSTRAINT"

ROUTING_FAILED: Final = "workspace routing discovery failed"
ROUTING_UNAUTHORIZED: Final = "workspace routing discovery unauthorized (401)"
ROUTING_NO_ACCOUNT: Final = "workspace routing requires a ChatGPT account id"
ROUTING_MISSING: Final = "selected workspace missing from routing discovery"
ROUTING_DUPLICATE: Final = "duplicate workspace in routing discovery"
ROUTING_NO_ORIGIN: Final = "workspace routing discovery missing backend origin"
ROUTING_BAD_OVERRIDE: Final = "workspace routing discovery has invalid account routing override"
ROUTING_NOT_HTTPS: Final = "workspace backend must use an HTTPS origin without credentials"
ROUTING_NOT_ORIGIN: Final = "workspace routing discovery must return an origin"
ROUTING_BAD_URL: Final = "invalid workspace backend URL"
ROUTING_TIMED_OUT: Final = "workspace routing discovery timed out"
CLOUD_PREFIX: Final = "failed to load workspace requirements: cloud config: request failed"
#: A 401 the caller's recovery could not cure (observed: attempt, reload, attempt, refresh, attempt).
CLOUD_UNAUTHORIZED: Final = "failed to load workspace requirements: cloud config: authentication failed (HTTP 401)"
RATE_LIMITS_PREFIX: Final = "failed to fetch codex rate limits: "
NUDGE_PREFIX: Final = "failed to notify workspace owner: "


class BackendError(InternalError):
    """A backend call failed; ``message`` is the client-visible text, ``status`` the HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def unauthorized(self) -> bool:
        return self.status == 401


class RoutingError(BackendError):
    """Workspace-routing discovery failed (§12); also a login completion's ``error``."""


class CloudRequirementsError(BackendError):
    """The workspace's cloud requirements could not be loaded (§6.2.5)."""


# --- workspace routing (§12) ----------------------------------------------------------------------


async def discover_routing(
    client: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth
) -> tuple[acct.WorkspaceRouting, str | None]:
    """``GET …/accounts/check`` and pick the entry of ``auth.account_id``: the routing and the
    workspace's name. Raises ``RoutingError`` with one of the §12 texts (``unauthorized`` on a 401:
    recover and call again; a second 401 is final with the same text)."""
    if not auth.account_id:
        raise RoutingError(ROUTING_NO_ACCOUNT)
    url = endpoints.backend("accounts/check")
    with trio.move_on_after(ROUTING_TIMEOUT_S) as scope:
        try:
            response = await client.get(url, headers=auth.headers())
        except httpx.HTTPError as exc:
            logger.debug("routing discovery: %s for %s", type(exc).__name__, url)
            raise RoutingError(ROUTING_FAILED) from None
    if scope.cancelled_caught:
        raise RoutingError(ROUTING_TIMED_OUT)
    if response.status_code == 401:
        raise RoutingError(ROUTING_UNAUTHORIZED, 401)
    if not response.is_success:
        logger.debug("routing discovery: %s from %s", response.status_code, url)
        raise RoutingError(ROUTING_FAILED, response.status_code)
    entry = _select_workspace(_routing_entries(response.content), auth.account_id)
    origin = _origin(str(entry["workspace_backend_origin"]), endpoints)
    override = entry.get("account_routing_override")
    routing = acct.WorkspaceRouting(chatgpt_account_id=entry["id"], backend_origin=origin,
                                    account_routing_override=str(override))
    name = entry.get("name")
    return routing, name if isinstance(name, str) else None


_ENTRY_TYPES: Final = {"id": str, "name": str, "workspace_backend_origin": str, "account_routing_override": str}


def _routing_entries(content: bytes) -> list[dict[str, Any]]:
    """The ``accounts`` list; an answer that does not decode (a map-shaped ``accounts`` of older
    backends included, as 0.169.0 reads it) fails the discovery; no ``accounts`` holds no entry."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise RoutingError(ROUTING_FAILED) from None
    if not isinstance(data, dict):
        raise RoutingError(ROUTING_FAILED)
    accounts = data.get("accounts")
    if accounts is None:
        return []
    if not isinstance(accounts, list):  # a map-shaped ``accounts`` (older backends) does not decode
        raise RoutingError(ROUTING_FAILED)
    for entry in accounts:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise RoutingError(ROUTING_FAILED)
        for key, tp in _ENTRY_TYPES.items():
            if entry.get(key) is not None and not isinstance(entry[key], tp):
                raise RoutingError(ROUTING_FAILED)
    return accounts


def _select_workspace(entries: list[dict[str, Any]], account_id: str) -> dict[str, Any]:
    matches = [entry for entry in entries if entry["id"] == account_id]
    if not matches:
        raise RoutingError(ROUTING_MISSING)
    if len(matches) > 1:
        raise RoutingError(ROUTING_DUPLICATE)
    entry = matches[0]
    if entry.get("workspace_backend_origin") is None:
        raise RoutingError(ROUTING_NO_ORIGIN)
    if entry.get("account_routing_override") not in ROUTING_OVERRIDES:
        raise RoutingError(ROUTING_BAD_OVERRIDE)
    return entry


def _origin(raw: str, endpoints: Endpoints) -> str:
    """The validated, normalized origin (lower-case host, no default port, no trailing slash);
    ``NO_CONSTRAINT`` is the configured backend's origin."""
    if raw == NO_CONSTRAINT:  # validated like any other (an http backend is refused, as by the reference)
        base = urlsplit(endpoints.backend("accounts/check"))
        raw = f"{base.scheme}://{base.netloc}"
    if raw != raw.strip():
        raise RoutingError(ROUTING_NOT_HTTPS)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise RoutingError(ROUTING_BAD_URL) from None
    if not parts.scheme or not parts.hostname:
        raise RoutingError(ROUTING_BAD_URL)
    if parts.scheme.lower() != "https" or parts.username is not None or parts.password is not None:
        raise RoutingError(ROUTING_NOT_HTTPS)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise RoutingError(ROUTING_NOT_ORIGIN)
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}" if port in (None, 443) else f"https://{host}:{port}"


# --- cloud requirements (§6.2.5) --------------------------------------------------------------------


async def load_cloud_requirements(client: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> dict[str, Any]:
    """``GET …/config/bundle`` for a workspace plan, five attempts apart by `CLOUD_RETRY_DELAYS_S`;
    the bundle object (``{}``: no requirements). Raises ``CloudRequirementsError`` with the last
    attempt's text; a 401 is raised at once, without the backoff (``unauthorized``: the reference
    reloads auth.json and calls again, then refreshes and calls again; the third 401's text is the
    failure)."""
    url = endpoints.backend("config/bundle")
    error = CloudRequirementsError(CLOUD_PREFIX)
    for attempt, delay in enumerate((0.0, *CLOUD_RETRY_DELAYS_S), start=1):
        if delay:
            await trio.sleep(delay)
        try:
            return await _bundle_attempt(client, url, auth)
        except CloudRequirementsError as exc:
            if exc.unauthorized:
                raise
            logger.debug("cloud requirements attempt %d failed: %s", attempt, exc.message)
            error = exc
    raise error


async def _bundle_attempt(client: httpx.AsyncClient, url: str, auth: BackendAuth) -> dict[str, Any]:
    try:
        response = await client.get(url, headers=auth.headers())
    except httpx.HTTPError:
        raise CloudRequirementsError(CLOUD_PREFIX) from None
    if response.status_code == 401:
        raise CloudRequirementsError(CLOUD_UNAUTHORIZED, 401)
    if not response.is_success:
        raise CloudRequirementsError(f"{CLOUD_PREFIX} (HTTP {response.status_code})", response.status_code)
    try:
        bundle = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise CloudRequirementsError(CLOUD_PREFIX) from None
    if not isinstance(bundle, dict):
        raise CloudRequirementsError(CLOUD_PREFIX)
    return bundle


# --- rate limits (§9) ---------------------------------------------------------------------------------


async def read_rate_limits(
    client: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth, *, exclude_reset_credit_details: bool
) -> acct.GetAccountRateLimitsResponse:
    """``GET …/usage`` and (unless excluded) ``GET …/rate-limit-reset-credits`` in parallel, mapped
    as §9.2. A failing usage call raises ``BackendError`` (``failed to fetch codex rate limits: …``);
    a failing reset-credits call only makes ``rateLimitResetCredits`` null."""
    usage: list[dict[str, Any] | BackendError] = []
    resets: list[acct.RateLimitResetCredits | None] = [None]

    async def fetch_usage() -> None:
        try:
            usage.append(await _usage(client, endpoints.backend("usage"), auth))
        except BackendError as exc:
            usage.append(exc)

    async def fetch_resets() -> None:
        resets[0] = await _reset_credits(client, endpoints.backend("rate-limit-reset-credits"), auth)

    async with trio.open_nursery() as nursery:
        if not exclude_reset_credit_details:
            nursery.start_soon(fetch_resets)
        nursery.start_soon(fetch_usage)
    if isinstance(usage[0], BackendError):
        raise usage[0]
    return rate_limits_response(usage[0], resets[0])


async def _get_text(client: httpx.AsyncClient, url: str, auth: BackendAuth, prefix: str) -> tuple[str, str]:
    """Body and content type of a 2xx answer; else ``BackendError`` with the reqwest-style text."""
    try:
        response = await client.get(url, headers=auth.headers())
    except httpx.HTTPError:
        raise BackendError(prefix + transport_text(url)) from None
    ct, body = content_type(response), body_text(response)
    if not response.is_success:
        raise BackendError(f"{prefix}GET {url} failed: {status_text(response.status_code)}; "
                           f"content-type={ct}; body={body}", response.status_code)
    return body, ct


async def _usage(client: httpx.AsyncClient, url: str, auth: BackendAuth) -> dict[str, Any]:
    body, ct = await _get_text(client, url, auth, RATE_LIMITS_PREFIX)
    try:
        return parse_usage(body)
    except DecodeError as exc:
        raise BackendError(f"{RATE_LIMITS_PREFIX}Decode error for {url}: {exc.text(body)}; "
                           f"content-type={ct}; body={body}") from None


async def _reset_credits(client: httpx.AsyncClient, url: str, auth: BackendAuth) -> acct.RateLimitResetCredits | None:
    try:
        body, _ct = await _get_text(client, url, auth, "")
        return parse_reset_credits(body)
    except BackendError as exc:
        logger.debug("reset credits unavailable: status %s", exc.status)
    except DecodeError as exc:
        logger.debug("reset credits undecodable: %s", exc.message)
    return None


# --- add-credits nudge (§19) ----------------------------------------------------------------------------


async def send_nudge(
    client: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth, credit_type: str
) -> Literal["sent", "cooldown_active"]:
    """``POST …/accounts/send_add_credits_nudge_email`` ``{"credit_type": …}``: 2xx ``sent``, 429
    ``cooldown_active``, anything else ``BackendError`` (``failed to notify workspace owner: …``)."""
    url = endpoints.backend("accounts/send_add_credits_nudge_email")
    headers = {**auth.headers(), "Content-Type": "application/json"}
    try:
        response = await client.post(url, headers=headers, content=json_body({"credit_type": credit_type}))
    except httpx.HTTPError:
        raise BackendError(NUDGE_PREFIX + transport_text(url)) from None
    if response.is_success:
        return "sent"
    if response.status_code == 429:
        return "cooldown_active"
    raise BackendError(f"{NUDGE_PREFIX}POST {url} failed: {status_text(response.status_code)}; "
                       f"content-type={content_type(response)}; body={body_text(response)}", response.status_code)
