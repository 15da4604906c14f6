"""The OAuth issuer (``auth.openai.com``): authorize, token grants, device code, revoke (spec §6, §8, §14)."""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final, final
from urllib.parse import parse_qsl, urlencode, urlsplit

import trio

from .claims import Identity
from .grants import DeviceState, Grants, RefreshState, TokenSet, s256
from .script import (
    Reply,
    denied,
    expired,
    oauth_error,
    pending,
    refresh_expired,
    refresh_invalidated,
    refresh_reused,
)
from .wire import HttpRequest, HttpResponse, json_response, text_response

__all__ = ["CLIENT_ID", "IssuerSettings", "Issuer"]

#: The Codex CLI's OAuth client id.
CLIENT_ID: Final = "app_EMoamEEZ73f0CkXaXp7hrann"
GRANT_CODE: Final = "authorization_code"
GRANT_REFRESH: Final = "refresh_token"
GRANT_TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:id_token"
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
#: Lifetime of access tokens as ``expires_in`` reports it, seconds (the `exp` claim rules).
DEFAULT_EXPIRES_IN_S: Final = 3600


@final
@dataclass
class IssuerSettings:
    """Behaviour of the issuer that tests tune (all mutable while the fake runs)."""

    identity: Identity
    #: the only client id accepted; None accepts any
    client_id: str | None = CLIENT_ID
    #: ``interval`` of a device user code, seconds (sent as a string, as the real issuer does);
    #: None leaves the member out (clients then poll back-to-back)
    device_interval_s: int | None = 1
    #: approve a pending device code at its first poll, as the default identity
    auto_approve_device: bool = True
    #: lifetime of a device code, seconds of trio time
    device_lifetime_s: float = 900.0
    #: a refresh hands out a new refresh token and retires the old one (reuse -> `refresh_token_reused`)
    rotate_refresh_tokens: bool = True


def _form_bad(description: str) -> HttpResponse:
    return oauth_error(400, "invalid_request", description).response()


@final
class Issuer:
    """Request handlers of the issuer; ``base_url`` is set once the fake has bound its port."""

    def __init__(self, settings: IssuerSettings, grants: Grants) -> None:
        self.settings = settings
        self.grants = grants
        self.base_url = ""

    # --- helpers

    def _client_ok(self, client_id: object) -> bool:
        expected = self.settings.client_id
        return isinstance(client_id, str) and bool(client_id) and (expected is None or client_id == expected)

    def _device_redirect_uri(self) -> str:
        return f"{self.base_url}/deviceauth/callback"

    @staticmethod
    def token_body(tokens: TokenSet) -> dict[str, Any]:
        return {
            "id_token": tokens.id_token,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_in": DEFAULT_EXPIRES_IN_S,
            "token_type": "Bearer",
            "scope": "openid profile email offline_access",
        }

    # --- browser authorization (§6.2.1): what the user's browser gets from GET /oauth/authorize

    def _check_authorize(self, q: dict[str, str]) -> str | None:
        """Why an authorize query is unacceptable, or None."""
        if q.get("response_type") != "code":
            return "response_type must be code"
        if not self._client_ok(q.get("client_id")):
            return "unknown client_id"
        uri = urlsplit(q.get("redirect_uri", ""))
        if uri.scheme != "http" or uri.hostname not in LOOPBACK_HOSTS or uri.port is None:
            return "redirect_uri must be an http loopback URL with a port"
        if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
            return "PKCE with code_challenge_method=S256 is required"
        if not q.get("state"):
            return "state is required"
        return None

    @staticmethod
    def _in_allowed_workspace(who: Identity, allowed: str) -> Identity:
        """With ``allowed_workspace_id``, log in to the first of the user's workspaces it allows."""
        ids = [part for part in allowed.split(",") if part]
        if not ids or who.account_id in ids:
            return who
        for ws in who.workspace_list():
            if ws.id in ids:
                return replace(who, account_id=ws.id, plan=ws.plan_type, workspace_name=ws.name)
        return who

    def authorize_location(self, q: dict[str, str], who: Identity | None = None) -> str:
        """Where the browser is sent after a successful sign-in: ``redirect_uri?code=…&state=…``.

        Raises ValueError for a query the issuer would refuse.
        """
        problem = self._check_authorize(q)
        if problem is not None:
            raise ValueError(problem)
        who = self._in_allowed_workspace(who or self.settings.identity, q.get("allowed_workspace_id", ""))
        code = self.grants.new_code(q["client_id"], q["redirect_uri"], q["code_challenge"], who)
        return f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"

    def authorize(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        try:
            location = self.authorize_location(req.query, who)
        except ValueError as exc:
            return _form_bad(str(exc))
        return HttpResponse(302, b"", (("location", location),))

    def authorize_refusal(self, req: HttpRequest, reply: Reply) -> HttpResponse:
        """A scripted refusal: back to the callback with ``error`` (and ``error_description``)."""
        q = req.query
        problem = self._check_authorize(q)
        if problem is not None:
            return _form_bad(problem)
        params = {"error": reply.error or "access_denied"}
        if reply.error_description is not None:
            params["error_description"] = reply.error_description
        params["state"] = q["state"]
        return HttpResponse(302, b"", (("location", f"{q['redirect_uri']}?{urlencode(params)}"),))

    # --- POST /oauth/token

    def token_code(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """authorization_code grant (§6.2.3, §6.3 step 4), PKCE S256 checked against the code's challenge."""
        f = req.fields()
        grant = self.grants.codes.get(str(f.get("code", "")))
        if grant is None or not self.grants.code_is_live(grant):
            return oauth_error(400, "invalid_grant", "Invalid authorization code").response()
        if f.get("client_id") != grant.client_id:
            return oauth_error(400, "invalid_client", "client_id does not match the authorization").response()
        if f.get("redirect_uri") != grant.redirect_uri:
            return oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization").response()
        verifier = f.get("code_verifier")
        if not isinstance(verifier, str) or s256(verifier) != grant.code_challenge:
            return oauth_error(400, "invalid_grant", "PKCE verification failed").response()
        grant.used = True
        tokens = self.grants.issue(who or grant.identity, grant.client_id)
        return json_response(200, self.token_body(tokens))

    def token_exchange(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """Token exchange of an id_token for an API key (§6.2.3, browser flow only)."""
        f = req.fields()
        if not self._client_ok(f.get("client_id")):
            return oauth_error(400, "invalid_client", "unknown client_id").response()
        if f.get("requested_token") != "openai-api-key" or f.get("subject_token_type") != ID_TOKEN_TYPE:
            return _form_bad("requested_token=openai-api-key with an id_token subject is required")
        owner = self.grants.id_tokens.get(str(f.get("subject_token", "")))
        if owner is None:
            return oauth_error(400, "invalid_grant", "Invalid subject token").response()
        who = who or owner
        key = who.api_key if who.api_key is not None else self.grants.new_secret("sk-proj-fake-", 24)
        self.grants.minted.add(key)
        body = {"access_token": key, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer"}
        return json_response(200, body)

    def token_refresh(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """refresh_token grant (§14.1): rotation, and the failure bodies the client classifies (§14.4)."""
        f = req.fields()
        token = str(f.get("refresh_token", ""))
        state = self.grants.refresh_state(token)
        failures: dict[RefreshState, Callable[[], Reply]] = {
            RefreshState.USED: refresh_reused,
            RefreshState.REVOKED: refresh_invalidated,
            RefreshState.EXPIRED: refresh_expired,
        }
        if state is RefreshState.UNKNOWN:
            return oauth_error(401, "invalid_grant", "Invalid refresh token").response()
        if state in failures:
            return failures[state]().response()
        record = self.grants.refresh_record(token)
        assert record is not None
        if f.get("client_id") != record.tokens.client_id:
            return oauth_error(400, "invalid_client", "client_id does not match the refresh token").response()
        if self.settings.rotate_refresh_tokens:
            record.state = RefreshState.USED
            tokens = self.grants.issue(who or record.tokens.identity, record.tokens.client_id)
        else:
            tokens = self.grants.issue(who or record.tokens.identity, record.tokens.client_id, refresh_token=token)
        body = {k: v for k, v in self.token_body(tokens).items() if k in ("id_token", "access_token", "refresh_token")}
        return json_response(200, body)

    def token_other(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        return oauth_error(400, "unsupported_grant_type", "grant_type is not supported").response()

    # --- device code (§6.3)

    def device_usercode(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        f = req.fields()
        if not self._client_ok(f.get("client_id")):
            return oauth_error(400, "invalid_client", "unknown client_id").response()
        dev = self.grants.new_device(str(f["client_id"]))
        if who is not None:
            self.grants.approve_device(dev, who, self._device_redirect_uri())
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=self.settings.device_lifetime_s)
        body = {"device_auth_id": dev.device_auth_id, "user_code": dev.user_code}
        if self.settings.device_interval_s is not None:
            body["interval"] = str(self.settings.device_interval_s)
        body["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json_response(200, body)

    def device_token(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """One poll: pending (403), expired (410), denied, or the code and PKCE pair (200)."""
        f = req.fields()
        dev = self.grants.devices.get(str(f.get("device_auth_id", "")))
        if dev is None or f.get("user_code") != dev.user_code:
            return _form_bad("unknown device authorization")
        if dev.state is DeviceState.CONSUMED:
            return oauth_error(400, "invalid_grant", "device authorization already used").response()
        if dev.state is DeviceState.PENDING and dev.issued_at + self.settings.device_lifetime_s <= trio.current_time():
            return expired().response()
        if dev.state is DeviceState.PENDING and (who is not None or self.settings.auto_approve_device):
            self.grants.approve_device(dev, who or self.settings.identity, self._device_redirect_uri())
        if dev.state is DeviceState.DENIED:
            return denied().response()
        if dev.state is DeviceState.PENDING:
            return pending().response()
        assert dev.code is not None and dev.verifier is not None
        dev.state = DeviceState.CONSUMED
        grant = self.grants.codes[dev.code]
        body = {"authorization_code": dev.code, "code_challenge": grant.code_challenge, "code_verifier": dev.verifier}
        return json_response(200, body)

    def device_page(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        """``{ISSUER}/codex/device``: GET shows a form; POST ``user_code=…`` approves (``deny=1`` refuses)."""
        if req.method == "GET":
            page = ("<!doctype html><title>Fake device sign-in</title><form method=post>"
                    "<input name=user_code><button>Continue</button></form>")
            return text_response(200, page, "text/html; charset=utf-8")
        f = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        dev = self.grants.device_by_user_code(f.get("user_code", ""))
        if dev is None or dev.state is not DeviceState.PENDING:
            return text_response(400, "Unknown or already used code")
        if f.get("deny"):
            dev.state = DeviceState.DENIED
            return text_response(200, f"Denied {html.escape(dev.user_code)}")
        self.grants.approve_device(dev, who or self.settings.identity, self._device_redirect_uri())
        return text_response(200, f"Approved {html.escape(dev.user_code)}")

    # --- POST /oauth/revoke (§8)

    def revoke(self, req: HttpRequest, who: Identity | None) -> HttpResponse:
        f = req.fields()
        token = f.get("token")
        if not isinstance(token, str) or not token:
            return _form_bad("token is required")
        if "client_id" in f and not self._client_ok(f.get("client_id")):
            return oauth_error(401, "invalid_client", "unknown client_id").response()
        self.grants.revoke(token)
        return json_response(200, {})

