"""Test charter: the fake issuer/backend is driven over real loopback HTTP with httpx, as the
servers under test will drive it; assertions are on status codes, JSON bodies, redirect
locations, minted claims and the fake's request log. The fake runs in the test's own trio run,
so delay and expiry tests use ``autojump_clock``; the rest are bounded by ``fail_after``."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import trio
import trio.testing
from chamberlain.fake_openai import (
    AUTH_CLAIM,
    CLIENT_ID,
    Endpoint,
    FakeOpenAI,
    Identity,
    Minter,
    RefreshState,
    Reply,
    Succeed,
    Workspace,
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


async def test_device_user_code_without_interval_omits_the_member(
    nursery: trio.Nursery, http: httpx.AsyncClient
) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(device_interval_s=None).run)
    with trio.fail_after(IO_BOUND_S):
        code = await usercode(fake, http)
    assert set(code) == {"device_auth_id", "user_code", "expires_at"}


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


async def test_authorize_keeps_the_users_workspace_when_none_is_allowed(fake: FakeOpenAI) -> None:
    verifier, challenge = pkce()
    location = fake.authorize(authorize_url(fake, challenge, allowed_workspace_id="ws-other"))
    code = dict(parse_qsl(urlsplit(location).query))["code"]
    async with httpx.AsyncClient() as http:
        with trio.fail_after(IO_BOUND_S):
            resp = await http.post(fake.token_url, data=code_form(code, verifier))
    assert auth_claims(resp.json()["id_token"])["chatgpt_account_id"] == "acct-123"


async def test_auth_json_seeds_a_login_whose_refresh_goes_to_this_fake(
    nursery: trio.Nursery, http: httpx.AsyncClient
) -> None:
    fake: FakeOpenAI = await nursery.start(FakeOpenAI(wall_clock=lambda: 1_795_483_206.904109).run)
    tokens = fake.issue_tokens(expires_in_s=-60)
    seeded = fake.auth_json(tokens, api_key="sk-carried")
    provenance = seeded["tokens"]["oauth_provenance"]
    with trio.fail_after(IO_BOUND_S):
        resp = await http.post(f"{provenance['issuer']}/oauth/token",
                               json={**refresh_body(seeded["tokens"]["refresh_token"]),
                                     "client_id": provenance["client_id"]})
    assert seeded["auth_mode"] == "chatgpt" and seeded["OPENAI_API_KEY"] == "sk-carried"
    assert seeded["tokens"]["account_id"] == "acct-123"
    assert seeded["last_refresh"] == "2026-11-24T01:20:06.904109000Z"
    assert Minter.claims(tokens.access_token)["exp"] < 1_795_483_206
    assert resp.status_code == 200
    refreshed = Minter.claims(resp.json()["access_token"])
    assert refreshed["exp"] - refreshed["iat"] == 3600
