"""Test charter: the fake issuer/backend is driven over real loopback HTTP with httpx, as the
servers under test will drive it; assertions are on status codes, JSON bodies, redirect
locations, minted claims and the fake's request log. The fake runs in the test's own trio run,
so delay and expiry tests use ``autojump_clock``; the rest are bounded by ``fail_after``."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import trio
import trio.testing
from chamberlain.fake_openai import (
    AUTH_CLAIM,
    CLIENT_ID,
    FOREVER,
    Endpoint,
    FakeOpenAI,
    Identity,
    Minter,
    RefreshState,
    Reply,
    Succeed,
    Workspace,
    open_fake_openai,
    pending,
    refresh_expired,
    slow_down,
)

IO_BOUND_S = 10
CALLBACK = "http://127.0.0.1:1455/auth/callback"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(fake: FakeOpenAI, challenge: str, state: str = "state-1", **extra: str) -> str:
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": CALLBACK, "code_challenge": challenge,
             "code_challenge_method": "S256", "state": state,
             "scope": "openid profile email offline_access", **extra}
    return f"{fake.issuer}/oauth/authorize?{urlencode(query)}"


def code_form(code: str, verifier: str, redirect_uri: str = CALLBACK) -> dict[str, str]:
    return {"grant_type": "authorization_code", "client_id": CLIENT_ID, "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}


def refresh_body(token: str, reason: str = "forced") -> dict[str, str]:
    return {"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_reason": reason, "refresh_token": token}


def auth_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = Minter.claims(token)[AUTH_CLAIM]
    return claims


@pytest.fixture
async def fake(nursery: trio.Nursery) -> FakeOpenAI:
    started: FakeOpenAI = await nursery.start(FakeOpenAI().run)
    return started


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # no httpx timeouts: under autojump_clock they would fire in virtual time; tests bound themselves
    async with httpx.AsyncClient(timeout=None) as client:
        yield client


async def browser_code(fake: FakeOpenAI, http: httpx.AsyncClient, challenge: str, state: str = "state-1") -> str:
    resp = await http.get(authorize_url(fake, challenge, state))
    assert resp.status_code == 302
    query = dict(parse_qsl(urlsplit(resp.headers["location"]).query))
    return query["code"]


async def login(fake: FakeOpenAI, http: httpx.AsyncClient) -> dict[str, Any]:
    verifier, challenge = pkce()
    code = await browser_code(fake, http, challenge)
    resp = await http.post(fake.token_url, data=code_form(code, verifier))
    assert resp.status_code == 200
    tokens: dict[str, Any] = resp.json()
    return tokens


def bearer(token: str, account: str = "acct-123") -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "chatgpt-account-id": account}


# --- browser authorization and the code exchange (§6.2)


async def test_authorize_redirects_the_browser_to_the_callback_with_code_and_state(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(IO_BOUND_S):
        resp = await http.get(authorize_url(fake, pkce()[1], state="xyz"))
    assert resp.status_code == 302
    location = urlsplit(resp.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = dict(parse_qsl(location.query))
    assert query["state"] == "xyz" and query["code"]


async def test_code_exchange_verifies_pkce_and_mints_tokens_with_the_identity_claims(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(IO_BOUND_S):
        tokens = await login(fake, http)
    assert set(tokens) >= {"id_token", "access_token", "refresh_token"}
    id_claims = Minter.claims(tokens["id_token"])
    assert id_claims["email"] == "user@example.com"
    assert id_claims["https://api.openai.com/profile"]["email"] == "user@example.com"
    auth = auth_claims(tokens["id_token"])
    assert (auth["chatgpt_account_id"], auth["chatgpt_plan_type"], auth["chatgpt_user_id"]) == ("acct-123", "pro",
                                                                                              "user-123")
    assert (auth["organization_id"], auth["project_id"], auth["is_org_owner"]) == ("org-abc", "proj-abc", False)
    access = Minter.claims(tokens["access_token"])
    assert access["exp"] > access["iat"]
    assert auth_claims(tokens["access_token"])["chatgpt_plan_type"] == "pro"


@pytest.mark.parametrize("wrong", ["verifier", "redirect_uri", "client_id", "code"])
async def test_code_exchange_refuses_a_wrong_verifier_redirect_client_or_code(
    fake: FakeOpenAI, http: httpx.AsyncClient, wrong: str
) -> None:
    verifier, challenge = pkce()
    with trio.fail_after(IO_BOUND_S):
        code = await browser_code(fake, http, challenge)
        form = code_form(code, verifier)
        form.update({"verifier": {"code_verifier": pkce()[0]}, "redirect_uri": {"redirect_uri": CALLBACK + "x"},
                     "client_id": {"client_id": "app_other"}, "code": {"code": "code-forged"}}[wrong])
        resp = await http.post(fake.token_url, data=form)
    assert resp.status_code == 400
    assert resp.json()["error"] in ("invalid_grant", "invalid_client")


async def test_an_authorization_code_works_once(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    with trio.fail_after(IO_BOUND_S):
        code = await browser_code(fake, http, challenge)
        first = await http.post(fake.token_url, data=code_form(code, verifier))
        second = await http.post(fake.token_url, data=code_form(code, verifier))
    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json() == {"error": "invalid_grant", "error_description": "Invalid authorization code"}


async def test_authorize_refuses_a_query_without_s256_pkce(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    url = authorize_url(fake, pkce()[1]).replace("code_challenge_method=S256", "code_challenge_method=plain")
    with trio.fail_after(IO_BOUND_S):
        resp = await http.get(url)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"


async def test_scripted_refusal_redirects_with_error_and_state(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    fake.push(Endpoint.AUTHORIZE, Reply(error="access_denied", error_description="missing_codex_entitlement"))
    with trio.fail_after(IO_BOUND_S):
        resp = await http.get(authorize_url(fake, pkce()[1], state="s9"))
    query = dict(parse_qsl(urlsplit(resp.headers["location"]).query))
    assert resp.status_code == 302
    assert query == {"error": "access_denied", "error_description": "missing_codex_entitlement", "state": "s9"}


async def test_programmatic_authorize_signs_in_another_identity(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    who = Identity(email="b@example.com", account_id="acct-b", plan="plus")
    location = fake.authorize(authorize_url(fake, challenge), identity=who)
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(fake.token_url, data=code_form(code, verifier))
    assert Minter.claims(resp.json()["id_token"])["email"] == "b@example.com"
    assert auth_claims(resp.json()["id_token"])["chatgpt_account_id"] == "acct-b"


async def test_allowed_workspace_id_picks_the_users_allowed_workspace(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    fake.identity = Identity(account_id="ws-a", workspaces=(Workspace("ws-a"), Workspace("ws-b", "B", "team")))
    verifier, challenge = pkce()
    location = fake.authorize(authorize_url(fake, challenge, allowed_workspace_id="ws-b,ws-c"))
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(fake.token_url, data=code_form(code, verifier))
    auth = auth_claims(resp.json()["id_token"])
    assert (auth["chatgpt_account_id"], auth["chatgpt_plan_type"]) == ("ws-b", "team")


# --- API-key token exchange (§6.2.3)


async def test_token_exchange_turns_an_issued_id_token_into_an_api_key(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    form = {"grant_type": TOKEN_EXCHANGE, "client_id": CLIENT_ID, "requested_token": "openai-api-key",
            "subject_token_type": ID_TOKEN_TYPE}
    with trio.fail_after(IO_BOUND_S):
        tokens = await login(fake, http)
        ok = await http.post(fake.token_url, data={**form, "subject_token": tokens["id_token"]})
        foreign = Minter("x", CLIENT_ID).id_token(Identity(), 0)
        bad = await http.post(fake.token_url, data={**form, "subject_token": foreign})
    assert ok.status_code == 200 and ok.json()["access_token"].startswith("sk-")
    assert ok.json()["access_token"] in fake.minted_secrets()
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


async def test_token_exchange_returns_the_identitys_fixed_api_key(
    nursery: trio.Nursery, http: httpx.AsyncClient
) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(identity=Identity(api_key="sk-fixed")).run)
    tokens = fake.issue_tokens()
    form = {"grant_type": TOKEN_EXCHANGE, "client_id": CLIENT_ID, "requested_token": "openai-api-key",
            "subject_token_type": ID_TOKEN_TYPE, "subject_token": tokens.id_token}
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(fake.token_url, data=form)
    assert resp.json()["access_token"] == "sk-fixed"


async def test_unknown_grant_type_is_unsupported(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(fake.token_url, data={"grant_type": "password"})
    assert (resp.status_code, resp.json()["error"]) == (400, "unsupported_grant_type")
    assert fake.requests[-1].endpoint == Endpoint.TOKEN_OTHER


# --- device code (§6.3)


async def usercode(fake: FakeOpenAI, http: httpx.AsyncClient) -> dict[str, Any]:
    resp = await http.post(f"{fake.issuer}/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID})
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


async def poll(fake: FakeOpenAI, http: httpx.AsyncClient, code: dict[str, Any]) -> httpx.Response:
    body = {"device_auth_id": code["device_auth_id"], "user_code": code["user_code"]}
    return await http.post(f"{fake.issuer}/api/accounts/deviceauth/token", json=body)


async def test_device_user_code_announces_the_interval_as_a_string(
    nursery: trio.Nursery, http: httpx.AsyncClient
) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(device_interval_s=5).run)
    with trio.fail_after(IO_BOUND_S):
        code = await usercode(fake, http)
    assert code["interval"] == "5"
    assert len(code["user_code"]) == 9 and code["user_code"][4] == "-"
    assert fake.requests[-1].json() == {"client_id": CLIENT_ID}


async def test_device_poll_succeeds_by_default_and_its_code_exchanges_with_the_device_redirect(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(IO_BOUND_S):
        code = await usercode(fake, http)
        resp = await poll(fake, http, code)
        got = resp.json()
        form = code_form(got["authorization_code"], got["code_verifier"], f"{fake.issuer}/deviceauth/callback")
        tokens = await http.post(fake.token_url, data=form)
        again = await poll(fake, http, code)
    assert resp.status_code == 200
    assert set(got) == {"authorization_code", "code_challenge", "code_verifier"}
    assert tokens.status_code == 200 and "refresh_token" in tokens.json()
    assert again.status_code == 400


async def test_device_poll_is_pending_until_the_user_approves(nursery: trio.Nursery, http: httpx.AsyncClient) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(auto_approve_device=False).run)
    with trio.fail_after(IO_BOUND_S):
        code = await usercode(fake, http)
        first = await poll(fake, http, code)
        fake.approve_device(code["user_code"], identity=Identity(plan="team"))
        second = await poll(fake, http, code)
        got = second.json()
        form = code_form(got["authorization_code"], got["code_verifier"], f"{fake.issuer}/deviceauth/callback")
        tokens = await http.post(fake.token_url, data=form)
    assert first.status_code == 403
    assert first.json()["error"]["code"] == "deviceauth_authorization_unknown"
    assert second.status_code == 200
    assert auth_claims(tokens.json()["id_token"])["chatgpt_plan_type"] == "team"


async def test_device_page_post_approves_and_deny_refuses(nursery: trio.Nursery, http: httpx.AsyncClient) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(auto_approve_device=False).run)
    with trio.fail_after(IO_BOUND_S):
        one, two = await usercode(fake, http), await usercode(fake, http)
        page = await http.get(f"{fake.issuer}/codex/device")
        ok = await http.post(f"{fake.issuer}/codex/device", data={"user_code": one["user_code"].lower()})
        no = await http.post(f"{fake.issuer}/codex/device", data={"user_code": two["user_code"], "deny": "1"})
        polled_one, polled_two = await poll(fake, http, one), await poll(fake, http, two)
    assert page.status_code == 200 and "<form" in page.text
    assert ok.status_code == 200 and no.status_code == 200
    assert polled_one.status_code == 200
    assert (polled_two.status_code, polled_two.json()["error"]) == (400, "access_denied")


async def test_deny_device_makes_the_next_poll_access_denied(nursery: trio.Nursery, http: httpx.AsyncClient) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(auto_approve_device=False).run)
    with trio.fail_after(IO_BOUND_S):
        code = await usercode(fake, http)
        fake.deny_device(code["user_code"])
        resp = await poll(fake, http, code)
    assert (resp.status_code, resp.json()["error"]) == (400, "access_denied")


async def test_device_code_expires_after_its_lifetime(
    nursery: trio.Nursery, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(auto_approve_device=False, device_lifetime_s=900).run)
    code = await usercode(fake, http)
    await trio.sleep(899)
    before = await poll(fake, http, code)
    await trio.sleep(2)
    after = await poll(fake, http, code)
    assert before.status_code == 403
    assert (after.status_code, after.json()["error"]) == (410, "expired_token")


async def test_scripted_device_polls_answer_in_order_then_default_success(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    fake.push(Endpoint.DEVICE_TOKEN, pending(), slow_down(), pending())
    with trio.fail_after(IO_BOUND_S):
        code = await usercode(fake, http)
        answers = [await poll(fake, http, code) for _ in range(4)]
    assert [a.status_code for a in answers] == [403, 400, 403, 200]
    assert answers[1].json()["error"] == "slow_down"
    assert fake.remaining(Endpoint.DEVICE_TOKEN) == 0


async def test_scripted_usercode_404_means_device_login_disabled(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    fake.push(Endpoint.DEVICE_USERCODE, Reply(404, {"detail": "Not Found"}))
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(f"{fake.issuer}/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID})
        later = await http.post(f"{fake.issuer}/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID})
    assert resp.status_code == 404 and later.status_code == 200


# --- refresh (§14) and revoke (§8)


async def test_refresh_rotates_and_the_old_refresh_token_is_then_reused(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(IO_BOUND_S):
        tokens = await login(fake, http)
        first = await http.post(fake.token_url, json=refresh_body(tokens["refresh_token"]))
        reuse = await http.post(fake.token_url, json=refresh_body(tokens["refresh_token"]))
        second = await http.post(fake.token_url, json=refresh_body(first.json()["refresh_token"]))
    assert first.status_code == 200
    assert set(first.json()) == {"id_token", "access_token", "refresh_token"}
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    assert first.json()["access_token"] != tokens["access_token"]
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "refresh_token_reused"
    assert second.status_code == 200
    assert fake.refresh_token_state(tokens["refresh_token"]) is RefreshState.USED


async def test_refresh_without_rotation_keeps_the_refresh_token(nursery: trio.Nursery, http: httpx.AsyncClient) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(rotate_refresh_tokens=False).run)
    tokens = fake.issue_tokens(refresh_token="refresh-1")
    with trio.fail_after(IO_BOUND_S):
        one = await http.post(fake.token_url, json=refresh_body("refresh-1"))
        two = await http.post(fake.token_url, json=refresh_body("refresh-1"))
    assert one.json()["refresh_token"] == two.json()["refresh_token"] == "refresh-1"
    assert one.json()["access_token"] != tokens.access_token


async def test_refresh_of_a_revoked_token_is_invalidated(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    tokens = fake.issue_tokens()
    revoke = {"token": tokens.refresh_token, "token_type_hint": "refresh_token", "client_id": CLIENT_ID}
    with trio.fail_after(IO_BOUND_S):
        revoked = await http.post(fake.revoke_url, json=revoke)
        resp = await http.post(fake.token_url, json=refresh_body(tokens.refresh_token))
    assert (revoked.status_code, revoked.json()) == (200, {})
    assert fake.is_revoked(tokens.refresh_token)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "refresh_token_invalidated"


async def test_refresh_token_expires_after_its_ttl(
    nursery: trio.Nursery, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(refresh_token_ttl_s=3600).run)
    tokens = fake.issue_tokens()
    await trio.sleep(3601)
    resp = await http.post(fake.token_url, json=refresh_body(tokens.refresh_token))
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "refresh_token_expired"


async def test_refresh_of_an_unknown_token_is_a_plain_401(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(fake.token_url, json=refresh_body("refresh-never-issued"))
    assert resp.status_code == 401
    assert resp.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}


async def test_refresh_with_another_client_id_is_refused(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    tokens = fake.issue_tokens()
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(fake.token_url, json={**refresh_body(tokens.refresh_token), "client_id": "app_x"})
    assert (resp.status_code, resp.json()["error"]) == (400, "invalid_client")


async def test_scripted_refresh_outcomes_error_then_a_new_plan(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    tokens = fake.issue_tokens()
    fake.push(Endpoint.TOKEN_REFRESH, refresh_expired(), Reply(500, {"error": {"message": "boom"}}),
              Succeed(identity=Identity(plan="plus")))
    with trio.fail_after(IO_BOUND_S):
        answers = [await http.post(fake.token_url, json=refresh_body(tokens.refresh_token)) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 500, 200]
    assert answers[0].json()["error"]["code"] == "refresh_token_expired"
    assert auth_claims(answers[2].json()["access_token"])["chatgpt_plan_type"] == "plus"


async def test_the_log_shows_exactly_one_refresh_with_its_json_body_and_headers(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    tokens = fake.issue_tokens()
    with trio.fail_after(IO_BOUND_S):
        await http.post(fake.token_url, json=refresh_body(tokens.refresh_token, "proactive_expiry"),
                        headers={"originator": "codex_cli_rs"})
        await http.get(f"{fake.chatgpt_base_url}/wham/usage", headers=bearer(tokens.access_token))
    [refresh] = fake.requests_to(Endpoint.TOKEN_REFRESH)
    assert (refresh.method, refresh.path, refresh.status) == ("POST", "/oauth/token", 200)
    assert refresh.headers["originator"] == "codex_cli_rs"
    assert refresh.json()["refresh_reason"] == "proactive_expiry"
    assert [r.endpoint for r in fake.requests] == [Endpoint.TOKEN_REFRESH, Endpoint.USAGE]


async def test_revoking_an_access_token_makes_the_backend_answer_401(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    tokens = fake.issue_tokens()
    with trio.fail_after(IO_BOUND_S):
        before = await http.get(f"{fake.chatgpt_base_url}/wham/accounts/check", headers=bearer(tokens.access_token))
        await http.post(fake.revoke_url, json={"token": tokens.access_token, "token_type_hint": "access_token"})
        after = await http.get(f"{fake.chatgpt_base_url}/wham/accounts/check", headers=bearer(tokens.access_token))
        missing = await http.post(fake.revoke_url, json={"token_type_hint": "access_token"})
    assert (before.status_code, after.status_code, missing.status_code) == (200, 401, 400)


# --- the ChatGPT backend (§9, §12, §17, §19)


async def test_accounts_check_lists_the_bearers_workspaces(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    who = Identity(account_id="ws-2", workspaces=(Workspace("ws-1", "One", "team"),
                                                   Workspace("ws-2", "Two", "business", "https://us.chatgpt.example",
                                                             "us")))
    tokens = fake.issue_tokens(who)
    with trio.fail_after(IO_BOUND_S):
        resp = await http.get(f"{fake.chatgpt_base_url}/wham/accounts/check", headers=bearer(tokens.access_token))
    body = resp.json()
    assert resp.status_code == 200
    assert body["account_ordering"] == ["ws-1", "ws-2"] and body["default_account_id"] == "ws-2"
    assert body["accounts"][1] == {"id": "ws-2", "plan_type": "business", "name": "Two",
                                   "workspace_backend_origin": "https://us.chatgpt.example",
                                   "account_routing_override": "us", "profile_picture_url": None,
                                   "structure": "workspace"}


async def test_backend_refuses_missing_foreign_and_expired_access_tokens(
    nursery: trio.Nursery, http: httpx.AsyncClient
) -> None:
    now = [1_000_000.0]
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(wall_clock=lambda: now[0]).run)
    url = f"{fake.chatgpt_base_url}/wham/accounts/check"
    tokens = fake.issue_tokens(Identity(access_ttl_s=60))
    foreign = Minter(fake.issuer, CLIENT_ID).access_token(Identity(), now[0])
    with trio.fail_after(IO_BOUND_S):
        live = await http.get(url, headers=bearer(tokens.access_token))
        none = await http.get(url)
        alien = await http.get(url, headers=bearer(foreign))
        now[0] += 61
        stale = await http.get(url, headers=bearer(tokens.access_token))
    assert [r.status_code for r in (live, none, alien, stale)] == [200, 401, 401, 401]
    assert stale.json()["error"]["code"] == "token_expired"


async def test_lenient_backend_answers_as_the_default_identity(nursery: trio.Nursery, http: httpx.AsyncClient) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(strict_bearer=False).run)
    with trio.fail_after(IO_BOUND_S):
        resp = await http.get(f"{fake.chatgpt_base_url}/wham/accounts/check")
    assert resp.json()["accounts"][0]["id"] == "acct-123"


async def test_codex_api_path_style_reaches_the_same_endpoints(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    token = fake.mint_access_token()
    with trio.fail_after(IO_BOUND_S):
        check = await http.get(f"{fake.base_url}/api/codex/accounts/check", headers=bearer(token))
        usage = await http.get(f"{fake.base_url}/api/codex/usage", headers=bearer(token))
    assert (check.status_code, usage.status_code) == (200, 200)
    assert [r.endpoint for r in fake.requests] == [Endpoint.ACCOUNTS_CHECK, Endpoint.USAGE]


async def test_usage_reports_the_callers_plan_and_reset_credits_and_bundle_answer(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    token = fake.mint_access_token(Identity(plan="team"))
    with trio.fail_after(IO_BOUND_S):
        usage = await http.get(f"{fake.chatgpt_base_url}/wham/usage", headers=bearer(token))
        credits = await http.get(f"{fake.chatgpt_base_url}/wham/rate-limit-reset-credits", headers=bearer(token))
        bundle = await http.get(f"{fake.chatgpt_base_url}/wham/config/bundle", headers=bearer(token))
    assert usage.json()["plan_type"] == "team"
    assert usage.json()["rate_limit"]["primary_window"]["limit_window_seconds"] == 18000
    assert credits.json() == {"credits": [], "available_count": 0, "total_earned_count": 0}
    assert (bundle.status_code, bundle.json()) == (200, {})


async def test_nudge_accepts_the_two_credit_types_and_scripted_429(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    url = f"{fake.chatgpt_base_url}/wham/accounts/send_add_credits_nudge_email"
    token = fake.mint_access_token()
    fake.push(Endpoint.NUDGE, Succeed(), Succeed(), Succeed(), Reply(429, {"error": {"message": "cooldown"}}))
    with trio.fail_after(IO_BOUND_S):
        answers = [await http.post(url, json={"credit_type": kind}, headers=bearer(token))
                   for kind in ("credits", "usage_limit", "bogus", "credits")]
    assert [a.status_code for a in answers] == [200, 200, 400, 429]
    assert fake.requests_to(Endpoint.NUDGE)[1].json() == {"credit_type": "usage_limit"}


async def test_scripted_backend_statuses_replace_the_answer_once(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    token = fake.mint_access_token()
    fake.push(Endpoint.ACCOUNTS_CHECK, Reply(404, {"detail": "nope"}))
    fake.push(Endpoint.CONFIG_BUNDLE, Reply(404, text="missing"))
    fake.push(Endpoint.USAGE, Reply(500, {"error": "boom"}))
    with trio.fail_after(IO_BOUND_S):
        check = await http.get(f"{fake.chatgpt_base_url}/wham/accounts/check", headers=bearer(token))
        bundle = await http.get(f"{fake.chatgpt_base_url}/wham/config/bundle", headers=bearer(token))
        usage = await http.get(f"{fake.chatgpt_base_url}/wham/usage", headers=bearer(token))
        check_again = await http.get(f"{fake.chatgpt_base_url}/wham/accounts/check", headers=bearer(token))
    assert (check.status_code, bundle.text, usage.status_code) == (404, "missing", 500)
    assert usage.headers["content-type"] == "application/json"
    assert check_again.status_code == 200


# --- delays, hangs, waiting on the log


async def test_a_delayed_reply_arrives_after_the_virtual_delay(
    fake: FakeOpenAI, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    fake.push(Endpoint.TOKEN_REFRESH, Succeed(delay_s=30))
    tokens = fake.issue_tokens()
    start = trio.current_time()
    resp = await http.post(fake.token_url, json=refresh_body(tokens.refresh_token))
    assert resp.status_code == 200
    assert trio.current_time() - start >= 30


async def test_a_hanging_reply_is_logged_and_unanswered_until_the_client_gives_up(
    fake: FakeOpenAI, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    fake.push(Endpoint.REVOKE, Reply(200, {}, delay_s=FOREVER))
    with trio.move_on_after(10) as scope:
        await http.post(fake.revoke_url, json={"token": "t"})
    assert scope.cancelled_caught
    [revoke] = fake.requests_to(Endpoint.REVOKE)
    assert revoke.status is None


async def test_wait_for_returns_once_the_requests_arrived(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    token = fake.mint_access_token()

    async def client() -> None:
        for _ in range(2):
            await http.get(f"{fake.chatgpt_base_url}/wham/usage", headers=bearer(token))

    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client)
            seen = await fake.wait_for(Endpoint.USAGE, 2, answered=True)
    assert [r.status for r in seen] == [200, 200]


async def test_unknown_routes_are_404_and_logged(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    with trio.fail_after(IO_BOUND_S):
        resp = await http.get(f"{fake.chatgpt_base_url}/ps/plugins/installed")
    assert (resp.status_code, resp.text) == (404, "Not Found")
    [seen] = fake.requests
    assert (seen.endpoint, seen.path, seen.status) == (None, "/backend-api/ps/plugins/installed", 404)


async def test_malformed_http_gets_400_and_the_fake_keeps_serving(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    port = int(urlsplit(fake.base_url).port or 0)
    with trio.fail_after(IO_BOUND_S):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"NONSENSE\r\n\r\n")
            reply = await stream.receive_some(4096)
        after = await http.get(f"{fake.base_url}/nowhere")
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert after.status_code == 404


async def test_connection_close_is_honoured(fake: FakeOpenAI) -> None:
    port = int(urlsplit(fake.base_url).port or 0)
    with trio.fail_after(IO_BOUND_S):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := await stream.receive_some(4096):
                data += chunk
    assert data.startswith(b"HTTP/1.1 404 Not Found\r\n") and data.endswith(b"Not Found")


# --- independence, environment, repr, CLI


async def test_two_fakes_in_one_process_do_not_share_tokens(http: httpx.AsyncClient) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with open_fake_openai() as one, open_fake_openai() as two:
            tokens = one.issue_tokens()
            here = await http.get(f"{one.chatgpt_base_url}/wham/usage", headers=bearer(tokens.access_token))
            there = await http.get(f"{two.chatgpt_base_url}/wham/usage", headers=bearer(tokens.access_token))
            refresh = await http.post(two.token_url, json=refresh_body(tokens.refresh_token))
    assert (here.status_code, there.status_code, refresh.status_code) == (200, 401, 401)
    assert one.base_url != two.base_url
    assert len(one.requests) == 1 and len(two.requests) == 2


async def test_codex_env_and_config_point_every_url_at_the_fake(nursery: trio.Nursery) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(client_id="app_custom").run)
    assert fake.codex_env() == {
        "CODEX_APP_SERVER_LOGIN_ISSUER": fake.base_url,
        "CODEX_REVOKE_TOKEN_URL_OVERRIDE": f"{fake.base_url}/oauth/revoke",
        "CODEX_APP_SERVER_LOGIN_CLIENT_ID": "app_custom",
    }
    assert fake.config_toml() == f'chatgpt_base_url = "{fake.base_url}/backend-api"\n'
    assert Minter.claims(fake.issue_tokens().id_token)["iss"] == fake.base_url


def test_base_url_before_start_says_how_to_start() -> None:
    with pytest.raises(RuntimeError, match=r"nursery\.start"):
        _ = FakeOpenAI().base_url


async def test_token_sets_do_not_show_their_secrets_in_repr(fake: FakeOpenAI) -> None:
    tokens = fake.issue_tokens()
    text = repr(tokens) + str(tokens)
    assert all(secret not in text for secret in (tokens.id_token, tokens.access_token, tokens.refresh_token))
    assert {tokens.id_token, tokens.access_token, tokens.refresh_token} <= fake.minted_secrets()


async def test_cli_prints_its_base_url_and_serves() -> None:
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            argv = [sys.executable, "-m", "chamberlain.fake_openai", "--port", "0", "--log"]
            run = functools.partial(trio.run_process, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    check=False)
            proc: trio.Process = await nursery.start(run)
            assert proc.stdout is not None and proc.stderr is not None
            line = b""
            while not line.endswith(b"\n"):
                chunk = await proc.stdout.receive_some(1)
                assert chunk, "the fake exited before printing its URL"
                line += chunk
            base = line.decode().strip()
            async with httpx.AsyncClient() as client:
                resp = await client.post(f"{base}/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID})
            echoed = await proc.stderr.receive_some(4096)
            proc.terminate()
    assert base.startswith("http://127.0.0.1:")
    assert resp.status_code == 200 and json.loads(resp.text)["interval"] == "1"
    assert echoed.startswith(b"POST /api/accounts/deviceauth/usercode -> 200")

