"""Test charter: the fake's ChatGPT backend, its HTTP transport, its scripting of delays and its
command line, driven over real loopback HTTP with httpx (the issuer's half is in
test_fake_openai.py). Assertions are on status codes, JSON bodies and the fake's request log;
delay tests run on ``autojump_clock`` (the fake is in the test's own trio run), the rest are
bounded by ``fail_after``."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest
import trio
import trio.testing
from chamberlain.fake_openai import (
    CLIENT_ID,
    FOREVER,
    Endpoint,
    FakeOpenAI,
    Identity,
    Minter,
    Reply,
    Succeed,
    Workspace,
    open_fake_openai,
)

IO_BOUND_S = 10


def bearer(token: str, account: str = "acct-123") -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "chatgpt-account-id": account}


def refresh_body(token: str) -> dict[str, str]:
    return {"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_reason": "forced", "refresh_token": token}


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


async def test_token_sets_and_logged_requests_do_not_show_secrets_in_repr(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    tokens = fake.issue_tokens()
    with trio.fail_after(IO_BOUND_S):
        await http.post(fake.token_url, json=refresh_body(tokens.refresh_token),
                        headers={"authorization": f"Bearer {tokens.access_token}"})
    text = repr(tokens) + str(tokens) + repr(fake.requests) + repr(fake)
    assert "POST /oauth/token" in text
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
            echoed = b""
            while not echoed.endswith(b"\n"):
                chunk = await proc.stderr.receive_some(4096)
                assert chunk, "the fake exited before echoing the request"
                echoed += chunk
            proc.terminate()
    assert base.startswith("http://127.0.0.1:")
    assert resp.status_code == 200 and json.loads(resp.text)["interval"] == "1"
    assert echoed.startswith(b"POST /api/accounts/deviceauth/usercode -> 200")

