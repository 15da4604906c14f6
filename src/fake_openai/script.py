"""Scripted outcomes: per endpoint, a queue of what to answer next (default: the real behaviour).

A test pushes ``Reply`` (a literal status and body, optionally late) or ``Succeed`` (the normal
answer, optionally late or for another identity) onto an endpoint's queue; each request to that
endpoint takes the next one, and an empty queue means the fake's normal, successful behaviour.
Delays are ``trio.sleep`` calls, so they follow a MockClock when the fake runs in the test's run.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final, final

from .claims import Identity
from .wire import HttpResponse, json_response, text_response

__all__ = [
    "Endpoint",
    "Reply",
    "Succeed",
    "Outcome",
    "Script",
    "FOREVER",
    "oauth_error",
    "pending",
    "slow_down",
    "expired",
    "denied",
    "refresh_expired",
    "refresh_reused",
    "refresh_invalidated",
    "unauthorized",
]

#: A delay that never ends: the request hangs until the client gives up (timeout tests).
FOREVER: Final = math.inf


class Endpoint(enum.StrEnum):
    """What a request asks for; the token endpoint counts as three (one per grant type)."""

    AUTHORIZE = "authorize"
    TOKEN_CODE = "token.authorization_code"
    TOKEN_API_KEY = "token.token_exchange"
    TOKEN_REFRESH = "token.refresh_token"
    TOKEN_OTHER = "token.other"
    DEVICE_USERCODE = "device.usercode"
    DEVICE_TOKEN = "device.token"
    DEVICE_PAGE = "device.page"
    REVOKE = "revoke"
    ACCOUNTS_CHECK = "accounts_check"
    CONFIG_BUNDLE = "config_bundle"
    USAGE = "usage"
    RESET_CREDITS = "reset_credits"
    NUDGE = "nudge"


@final
@dataclass(frozen=True)
class Reply:
    """A literal answer: ``status`` and a JSON ``body`` (or ``text``), after ``delay_s`` seconds.

    For ``Endpoint.AUTHORIZE`` a ``Reply`` with ``error`` set is instead a redirect to the client's
    ``redirect_uri`` carrying ``error`` / ``error_description`` and the ``state`` (a refusal
    the browser brings back to the callback server).
    """

    status: int = 200
    body: Any = None
    text: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0
    error: str | None = None
    error_description: str | None = None

    def response(self) -> HttpResponse:
        if self.text is not None:
            return HttpResponse(self.status, self.text.encode(), self.headers)
        if self.body is None:
            return HttpResponse(self.status, b"", self.headers)
        return json_response(self.status, self.body, self.headers)


@final
@dataclass(frozen=True)
class Succeed:
    """The fake's normal answer, after ``delay_s`` seconds, minted for ``identity`` if given."""

    identity: Identity | None = None
    delay_s: float = 0.0


Outcome = Reply | Succeed


def oauth_error(status: int, error: str, description: str | None = None, *, delay_s: float = 0.0) -> Reply:
    """An RFC 6749 error body: ``{"error": ..., "error_description": ...}``."""
    body: dict[str, Any] = {"error": error}
    if description is not None:
        body["error_description"] = description
    return Reply(status, body, delay_s=delay_s)


def _api_error(status: int, code: str, message: str, delay_s: float) -> Reply:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return Reply(status, body, delay_s=delay_s)


# --- device-code polls (§6.3): the reference treats 403/404 as "pending", anything else as final


def pending(*, delay_s: float = 0.0) -> Reply:
    """Authorization pending: the user has not entered the code yet (403)."""
    return _api_error(403, "deviceauth_authorization_unknown", "Device authorization is pending.", delay_s)


def slow_down(*, delay_s: float = 0.0) -> Reply:
    """RFC 8628 §3.5 ``slow_down``: the client polls too fast and must add 5 s to its interval."""
    return oauth_error(400, "slow_down", "Polling too frequently; increase the interval by 5 seconds.",
                       delay_s=delay_s)


def expired(*, delay_s: float = 0.0) -> Reply:
    """The device code expired (410 Gone, as the reference was observed to report it)."""
    return oauth_error(410, "expired_token", "The device code has expired.", delay_s=delay_s)


def denied(*, delay_s: float = 0.0) -> Reply:
    """RFC 8628 ``access_denied``: the user refused the authorization."""
    return oauth_error(400, "access_denied", "The user denied the authorization request.", delay_s=delay_s)


# --- refresh failures, in the body shape the reference classifies (§14.4)


def refresh_expired(*, delay_s: float = 0.0) -> Reply:
    return _api_error(401, "refresh_token_expired", "Your refresh token has expired.", delay_s)


def refresh_reused(*, delay_s: float = 0.0) -> Reply:
    return _api_error(401, "refresh_token_reused", "Your refresh token has already been used.", delay_s)


def refresh_invalidated(*, delay_s: float = 0.0) -> Reply:
    return _api_error(401, "refresh_token_invalidated", "Your refresh token has been invalidated.", delay_s)


def unauthorized(*, delay_s: float = 0.0) -> Reply:
    """The backend's answer to a missing, foreign, expired or revoked access token (401)."""
    return _api_error(401, "token_expired", "Provided authentication token is expired. Please try signing in again.",
                      delay_s)


def not_found() -> HttpResponse:
    return text_response(404, "Not Found")


@final
@dataclass
class Script:
    """The queues of scripted outcomes, one per endpoint."""

    _queues: dict[Endpoint, deque[Outcome]] = field(default_factory=dict)

    def push(self, endpoint: Endpoint, outcomes: tuple[Outcome, ...]) -> None:
        self._queues.setdefault(endpoint, deque()).extend(outcomes)

    def next(self, endpoint: Endpoint) -> Outcome | None:
        queue = self._queues.get(endpoint)
        return queue.popleft() if queue else None

    def remaining(self, endpoint: Endpoint) -> int:
        return len(self._queues.get(endpoint, ()))

    def clear(self) -> None:
        self._queues.clear()
