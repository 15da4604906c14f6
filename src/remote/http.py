"""Headers and error wording shared by the outbound calls (spec account.md §1, §17).

The reference is a Rust client (reqwest): a status prints as ``500 Internal Server Error`` with the
canonical reason of the code (whatever the server sent), a failed send as
``error sending request for url (<url>)``. Bodies are read as UTF-8 with replacement, as it reads
them. Nothing here logs or holds a token beyond building one header dict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, final

import httpx

from .status import status_text

__all__ = [
    "BackendAuth",
    "backend_headers",
    "body_text",
    "content_type",
    "issuer_headers",
    "json_body",
    "status_text",
    "transport_text",
]

#: Canonical reasons where Rust's ``http`` crate words a code unlike Python's ``http.HTTPStatus``.


@final
@dataclass(frozen=True, slots=True)
class BackendAuth:
    """What a ChatGPT-backend call sends about its caller (§17): bearer token, workspace id,
    FedRAMP routing and the caller's User-Agent. ``repr`` never shows the token."""

    access_token: str = field(repr=False)
    account_id: str | None
    user_agent: str
    fedramp: bool = False

    def headers(self) -> dict[str, str]:
        return backend_headers(self.access_token, self.account_id, self.user_agent, fedramp=self.fedramp)


def backend_headers(
    access_token: str, account_id: str | None, user_agent: str, *, fedramp: bool = False
) -> dict[str, str]:
    """``User-Agent``, ``Authorization: Bearer`` (when there is a token), ``ChatGPT-Account-Id`` (when known) and
    ``X-OpenAI-Fedramp: true`` for FedRAMP workspaces; no ``originator`` (the reference sends
    none on these calls)."""
    headers = {"User-Agent": user_agent}
    if access_token:  # a ChatGPT login without tokens sends none (as the reference does)
        headers["Authorization"] = f"Bearer {access_token}"
    if account_id:
        headers["ChatGPT-Account-Id"] = account_id
    if fedramp:
        headers["X-OpenAI-Fedramp"] = "true"
    return headers


def issuer_headers(originator: str, user_agent: str) -> dict[str, str]:
    """Calls to the OAuth issuer: ``originator`` and ``User-Agent``, never an Authorization."""
    return {"originator": originator, "User-Agent": user_agent}


def json_body(obj: Any) -> bytes:
    """A JSON request body as serde_json writes it: compact, members in the given order."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def content_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", ""))


def body_text(response: httpx.Response) -> str:
    return response.content.decode("utf-8", "replace")


def transport_text(url: str) -> str:
    """reqwest's text for a request that got no response (connect, TLS, reset, timeout)."""
    return f"error sending request for url ({url})"
