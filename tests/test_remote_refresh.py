"""Test charter: token refresh (spec account.md §14.1, §14.4), revocation at logout (§8) and the
check of a client's answer to ``account/chatgptAuthTokens/refresh`` (§11), against the fake
issuer in the test's own trio run: request bodies and headers as the fake logged them, the
permanent/transient classification with the exact texts, and no token in any text or repr."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx
import pytest
import trio
from chamberlain.fake_openai import (
    CLIENT_ID,
    FOREVER,
    Endpoint,
    FakeOpenAI,
    Reply,
    refresh_expired,
    refresh_invalidated,
    refresh_reused,
)
from chamberlain.protocol.codec import Response
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.http import BackendAuth
from chamberlain.remote.refresh import (
    ExternalRefreshFailed,
    RefreshFailed,
    check_external_refresh,
    refresh_tokens,
    revoke,
)

UA = "remote_test/0.169.0 (Debian 12.0.0; x86_64) xterm (remote_test; 1.0)"
EXPIRED = ("Your access token could not be refreshed because your refresh token has expired. "
           "Please log out and sign in again.")
REUSED = ("Your access token could not be refreshed because your refresh token was already used. "
          "Please log out and sign in again.")
INVALIDATED = ("Your access token could not be refreshed because your refresh token was revoked. "
               "Please log out and sign in again.")
UNKNOWN = "Your access token could not be refreshed. Please log out and sign in again."


@dataclass(frozen=True)
class Issued:
    issuer: str
    client_id: str


def assert_sent_once_as_json(fake: FakeOpenAI, endpoint: Endpoint, body: str) -> None:
    """``endpoint`` got one request: exactly ``body``, as JSON from originator ``my_client`` with
    ``UA``, and no bearer token."""
    (req,) = fake.requests_to(endpoint)
    assert req.body == body.encode()
    assert (req.headers["content-type"], req.headers["originator"], req.headers["user-agent"]) == (
        "application/json", "my_client", UA)
    assert "authorization" not in req.headers


async def refresh_failure(http: httpx.AsyncClient, endpoints: Endpoints, fake: FakeOpenAI,
                          *answers: Reply) -> RefreshFailed:
    fake.push(Endpoint.TOKEN_REFRESH, *answers)
    with pytest.raises(RefreshFailed) as caught:
        await refresh_tokens(http, endpoints, Issued(fake.issuer, CLIENT_ID), "refresh-1", "forced", "cli", UA)
    return caught.value


async def test_refresh_rotates_the_tokens_and_sends_the_reference_body(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints) -> None:
    old = fake.issue_tokens()
    new = await refresh_tokens(http, endpoints, Issued(fake.issuer, CLIENT_ID), old.refresh_token,
                               "proactive_expiry", "my_client", UA)
    assert new.refresh_token and new.refresh_token != old.refresh_token
    assert new.access_token and new.access_token != old.access_token and new.id_token
    assert_sent_once_as_json(fake, Endpoint.TOKEN_REFRESH, f'{{"client_id":"{CLIENT_ID}","grant_type":"refresh_token",'
                             f'"refresh_reason":"proactive_expiry","refresh_token":"{old.refresh_token}"}}')


async def test_refresh_follows_the_recorded_issuer_and_client_id(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    old = fake.issue_tokens(client_id="app_custom")
    endpoints = Endpoints(issuer="http://127.0.0.1:1")  # the configured issuer is not asked
    await refresh_tokens(http, endpoints, Issued(fake.issuer, "app_custom"), old.refresh_token, "forced", "cli", UA)
    (req,) = fake.requests_to(Endpoint.TOKEN_REFRESH)
    assert json.loads(req.body)["client_id"] == "app_custom"


async def test_refresh_url_override_replaces_the_recorded_issuer(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    old = fake.issue_tokens()
    endpoints = Endpoints(refresh_override=fake.token_url)
    await refresh_tokens(http, endpoints, Issued("http://127.0.0.1:1", CLIENT_ID), old.refresh_token, "scheduled",
                         "cli", UA)
    assert json.loads(fake.requests_to(Endpoint.TOKEN_REFRESH)[0].body)["refresh_reason"] == "scheduled"


@pytest.mark.parametrize(("answer", "message"), [
    (refresh_expired(), EXPIRED), (refresh_reused(), REUSED), (refresh_invalidated(), INVALIDATED),
    (Reply(401, {"code": "refresh_token_reused"}), REUSED),
    (Reply(403, {"error": "refresh_token_expired"}), EXPIRED),
    (Reply(401, {"error": "invalid_grant"}), UNKNOWN),
    (Reply(400, {"error": "invalid_grant", "error_description": "bad"}), UNKNOWN),
])
async def test_permanent_refresh_failures(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                          answer: Reply, message: str) -> None:
    failed = await refresh_failure(http, endpoints, fake, answer)
    assert (failed.message, failed.permanent) == (message, True)


async def test_reused_refresh_token_of_the_fake_is_permanent(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints) -> None:
    old = fake.issue_tokens()
    issued = Issued(fake.issuer, CLIENT_ID)
    await refresh_tokens(http, endpoints, issued, old.refresh_token, "forced", "cli", UA)
    with pytest.raises(RefreshFailed) as caught:
        await refresh_tokens(http, endpoints, issued, old.refresh_token, "forced", "cli", UA)
    assert (caught.value.message, caught.value.permanent) == (REUSED, True)


@pytest.mark.parametrize(("answer", "message"), [
    (Reply(500, {"error": {"message": "upstream exploded"}}), "Failed to refresh token: 500 Internal Server Error: "
                                                              "upstream exploded"),
    (Reply(400, {"error": {"message": "nope", "code": "whatever"}}), "Failed to refresh token: 400 Bad Request: nope"),
    (Reply(503, text="down"), "Failed to refresh token: 503 Service Unavailable: down"),
    (Reply(500, text=""), "Failed to refresh token: 500 Internal Server Error: Unknown error"),
    (Reply(200, text="garbage"), "error decoding response body"),
    (Reply(200, {"access_token": 5}), "error decoding response body"),
    (Reply(200, {"id_token": "not-a-jwt", "access_token": "a"}), "invalid ID token format"),
])
async def test_transient_refresh_failures(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                          answer: Reply, message: str) -> None:
    failed = await refresh_failure(http, endpoints, fake, answer)
    assert (failed.message, failed.permanent) == (message, False)


async def test_unreachable_issuer_is_a_transient_failure(http: httpx.AsyncClient) -> None:
    with pytest.raises(RefreshFailed) as caught:
        await refresh_tokens(http, Endpoints(), Issued("http://127.0.0.1:1", CLIENT_ID), "refresh-1", "forced",
                             "cli", UA)
    assert (caught.value.message, caught.value.permanent) == (
        "error sending request for url (http://127.0.0.1:1/oauth/token)", False)


# --- revoke (§8)


async def test_revoke_sends_the_refresh_token_with_the_client_id(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints) -> None:
    tokens = fake.issue_tokens()
    await revoke(http, endpoints, tokens.refresh_token, tokens.access_token, "my_client", UA)
    assert_sent_once_as_json(fake, Endpoint.REVOKE, f'{{"token":"{tokens.refresh_token}",'
                             f'"token_type_hint":"refresh_token","client_id":"{CLIENT_ID}"}}')
    assert fake.is_revoked(tokens.refresh_token)


async def test_revoke_without_refresh_token_sends_the_access_token(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints) -> None:
    tokens = fake.issue_tokens()
    await revoke(http, endpoints, "", tokens.access_token, "cli", UA)
    (req,) = fake.requests_to(Endpoint.REVOKE)
    assert req.body == f'{{"token":"{tokens.access_token}","token_type_hint":"access_token"}}'.encode()


async def test_revoke_failure_is_swallowed_and_logged_without_secrets(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, caplog: pytest.LogCaptureFixture) -> None:
    fake.push(Endpoint.REVOKE, Reply(500, {"error": {"message": "revoke broke"}}))
    with caplog.at_level(logging.DEBUG, logger="chamberlain.remote"):
        await revoke(http, endpoints, "refresh-secret", "access-secret", "cli", UA)
    assert len(fake.requests_to(Endpoint.REVOKE)) == 1
    assert "500" in caplog.text
    assert "refresh-secret" not in caplog.text and "access-secret" not in caplog.text


async def test_unreachable_revoke_is_swallowed(http: httpx.AsyncClient) -> None:
    await revoke(http, Endpoints(revoke_override="http://127.0.0.1:1/oauth/revoke"), "refresh-1", "access-1", "cli",
                 UA)


async def test_revoke_gives_up_after_ten_seconds(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                                 autojump_clock: trio.testing.MockClock) -> None:
    fake.push(Endpoint.REVOKE, Reply(200, {}, delay_s=FOREVER))
    start = trio.current_time()
    await revoke(http, endpoints, "refresh-1", "access-1", "cli", UA)
    assert trio.current_time() - start == pytest.approx(10.0)


# --- the client's answer to account/chatgptAuthTokens/refresh (§11)


def answer(result: object = None, error: object = None) -> Response:
    return Response(0, None if result is None else json.dumps(result).encode(),
                    None if error is None else json.dumps(error).encode())


async def test_valid_client_answer_gives_the_new_tokens(fake: FakeOpenAI) -> None:
    token = fake.mint_access_token()
    tokens = check_external_refresh(answer({"accessToken": token, "chatgptAccountId": "ws-1",
                                            "chatgptPlanType": "plus"}), ["ws-1", "ws-3"])
    assert (tokens.access_token, tokens.chatgpt_account_id, tokens.chatgpt_plan_type) == (token, "ws-1", "plus")
    assert token not in repr(tokens)


def test_error_answer_names_its_code() -> None:
    with pytest.raises(ExternalRefreshFailed) as caught:
        check_external_refresh(answer(error={"code": -32000, "message": "host refused"}), None)
    assert caught.value.message == "auth refresh request failed: code=-32000"


def test_answer_without_access_token_is_invalid() -> None:
    with pytest.raises(ExternalRefreshFailed) as caught:
        check_external_refresh(answer({"chatgptAccountId": "ws-1"}), None)
    assert caught.value.message == "invalid auth refresh response"


def test_answer_with_a_non_jwt_token_is_invalid_credentials() -> None:
    with pytest.raises(ExternalRefreshFailed) as caught:
        check_external_refresh(answer({"accessToken": "not-a-jwt", "chatgptAccountId": "ws-1"}), None)
    assert caught.value.message == "auth refresh returned invalid credentials"
    assert "not-a-jwt" not in str(caught.value)


async def test_answer_for_a_workspace_outside_the_policy_is_rejected(fake: FakeOpenAI) -> None:
    token = fake.mint_access_token()
    with pytest.raises(ExternalRefreshFailed) as caught:
        check_external_refresh(answer({"accessToken": token, "chatgptAccountId": "ws-2"}), ["ws-1", "ws-3"])
    assert caught.value.message == 'external auth refresh returned workspace "ws-2", expected one of ["ws-1", "ws-3"]'


async def test_secret_holders_never_show_their_tokens(fake: FakeOpenAI) -> None:
    tokens = fake.issue_tokens()
    auth = BackendAuth(tokens.access_token, "acct-123", UA)
    assert tokens.access_token not in repr(auth)
    failed = RefreshFailed(UNKNOWN, permanent=True)
    assert tokens.refresh_token not in repr(failed)


async def test_no_minted_secret_reaches_a_log_line_or_error_text(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, caplog: pytest.LogCaptureFixture) -> None:
    from chamberlain.remote.backend import discover_routing, read_rate_limits, send_nudge

    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        tokens = fake.issue_tokens()
        new = await refresh_tokens(http, endpoints, Issued(fake.issuer, CLIENT_ID), tokens.refresh_token, "forced",
                                   "cli", UA)
        assert new.access_token is not None and new.refresh_token is not None
        auth = BackendAuth(new.access_token, "acct-123", UA)
        texts += [repr(new), repr(auth), repr(await discover_routing(http, endpoints, auth))]
        texts.append(repr(await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=False)))
        texts.append(await send_nudge(http, endpoints, auth, "credits"))
        for failing in (refresh_reused(), Reply(500, {"error": {"message": "x"}})):
            fake.push(Endpoint.TOKEN_REFRESH, failing)
            with pytest.raises(RefreshFailed) as caught:
                await refresh_tokens(http, endpoints, Issued(fake.issuer, CLIENT_ID), new.refresh_token, "forced",
                                     "cli", UA)
            texts += [str(caught.value), repr(caught.value)]
        assert fake.remaining(Endpoint.TOKEN_REFRESH) == 0
        fake.push(Endpoint.REVOKE, Reply(500, {}))
        await revoke(http, endpoints, new.refresh_token, new.access_token, "cli", UA)
    assert fake.remaining(Endpoint.REVOKE) == 0
    seen = caplog.text + "\n".join(texts)
    assert fake.minted_secrets() and not [s for s in fake.minted_secrets() if s in seen]
