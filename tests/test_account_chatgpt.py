"""ChatGPT accounts end to end: a server in the test's trio run, pointed at the shipped fake issuer
and backend exactly as the reference is pointed at it (spec account.md §18), driven on the wire
the way a host and a browser drive them (§6.2-§6.4, §8, §9, §12, §14, §19)."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from chamberlain.actors.server import Settings
from chamberlain.fake_openai import Endpoint, FakeOpenAI, Identity, Reply, TokenSet, refresh_reused

IO_BOUND_S = 20


@asynccontextmanager
async def chatgpt_session(
    harness: Any, home: Path, system_dir: Path, *, config: str = "", **capabilities: Any
) -> AsyncIterator[tuple[Any, FakeOpenAI]]:
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
            (home / "config.toml").write_text(fake.config_toml() + config)
            settings = Settings(home, system_dir, (), environ={"TERM": "xterm", **fake.codex_env()},
                                login_callback_port=0)
            async with harness.open_server(settings) as server, harness.connect(server) as client:
                await client.initialize(**capabilities)
                yield client, fake
            nursery.cancel_scope.cancel(reason="test finished")


def seed_chatgpt(home: Path, fake: FakeOpenAI, **issue: Any) -> TokenSet:
    """A ChatGPT login already on disk: tokens ``fake`` issued (``issue``: its ``issue_tokens``
    options) in ``home/auth.json`` as the reference writes it."""
    tokens = fake.issue_tokens(**issue)
    (home / "auth.json").write_text(json.dumps(fake.auth_json(tokens)))
    return tokens


async def notification(client: Any, method: str) -> dict[str, Any]:
    """The next notification ``method`` (earlier ones stay in ``client.notifications``)."""
    for i, n in enumerate(client.notifications):
        if n["method"] == method:
            return client.notifications.pop(i)["params"]  # type: ignore[no-any-return]
    while True:
        msg = await client.recv()
        if msg.get("method") == method and "id" not in msg:
            return msg["params"]  # type: ignore[no-any-return]
        client.notifications.append(msg)


async def play_browser(fake: FakeOpenAI, auth_url: str) -> httpx.Response:
    """What a browser does: the issuer's redirect to the callback, then the success page."""
    callback = fake.authorize(auth_url)
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(callback)
        assert answer.status_code == 302, answer.text
        return await browser.get(answer.headers["location"])


async def test_browser_login_stores_tokens_and_reads_as_a_chatgpt_account(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        started = await client.result("account/login/start", {"type": "chatgpt"})
        assert started["type"] == "chatgpt"
        assert started["authUrl"].startswith(f"{fake.issuer}/oauth/authorize?response_type=code&client_id=")
        success = await play_browser(fake, started["authUrl"])
        assert success.status_code == 200
        completed = await notification(client, "account/login/completed")
        updated = await notification(client, "account/updated")
        account = await client.result("account/read", {})
    assert completed == {"loginId": started["loginId"], "success": True, "error": None, "onboardingEntrypoint": None}
    assert updated == {"authMode": "chatgpt", "planType": "pro"}
    assert account == {
        "account": {
            "type": "chatgpt", "email": "user@example.com", "planType": "pro", "workspaceName": "Fake Workspace"
        },
        "userId": "user-123",
        "requiresOpenaiAuth": True,
        "workspaceRouting": {
            "chatgptAccountId": "acct-123",
            "backendOrigin": "https://chatgpt.com",
            "accountRoutingOverride": "NO_CONSTRAINT",
        },
    }
    stored = json.loads((codex_home / "auth.json").read_text())
    assert list(stored) == ["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"]
    assert list(stored["tokens"]) == [
        "id_token", "access_token", "refresh_token", "oauth_provenance", "login_owner_id", "account_id"
    ]
    assert stored["tokens"]["oauth_provenance"]["issuer"] == fake.issuer
    assert stored["OPENAI_API_KEY"] is not None  # the API-key exchange of the browser flow
    assert stat.S_IMODE((codex_home / "auth.json").stat().st_mode) == 0o600


async def test_cancelling_a_browser_login_answers_first_and_releases_its_port(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, _fake):
        started = await client.result("account/login/start", {"type": "chatgpt"})
        port = int(started["authUrl"].split("127.0.0.1%3A")[1].split("%2F")[0])
        cancel = await client.result("account/login/cancel", {"loginId": started["loginId"]})
        completed = await notification(client, "account/login/completed")
        again = await client.result("account/login/cancel", {"loginId": started["loginId"]})
    assert cancel == {"status": "canceled"}
    assert completed["error"] == "Login server error: Login was not completed"
    assert completed["success"] is False
    assert again == {"status": "notFound"}
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", port))  # nobody listens there any more


async def test_a_new_login_replaces_the_pending_one_which_reports_first(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, _fake):
        first = await client.result("account/login/start", {"type": "chatgpt"})
        await client.send({"id": 7, "method": "account/login/start", "params": {"type": "chatgpt"}})
        frames = [await client.recv(), await client.recv()]
    assert frames[0]["method"] == "account/login/completed"
    assert frames[0]["params"]["loginId"] == first["loginId"]
    assert frames[0]["params"]["error"] == "Login server error: Login cancelled"
    assert frames[1]["id"] == 7 and frames[1]["result"]["loginId"] != first["loginId"]


async def test_device_code_login_completes_when_the_user_approves(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        started = await client.result("account/login/start", {"type": "chatgptDeviceCode"})
        completed = await notification(client, "account/login/completed")
        updated = await notification(client, "account/updated")
    assert started["verificationUrl"] == f"{fake.issuer}/codex/device"
    assert started["userCode"]
    assert completed == {"loginId": started["loginId"], "success": True, "error": None, "onboardingEntrypoint": None}
    assert updated == {"authMode": "chatgpt", "planType": "pro"}
    assert json.loads((codex_home / "auth.json").read_text())["OPENAI_API_KEY"] is None


async def test_logout_revokes_the_refresh_token_and_forgets_the_account(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        tokens = seed_chatgpt(codex_home, fake)
        assert await client.result("account/logout") == {}
        account = await client.result("account/read", {})
    [revoke] = fake.requests_to(Endpoint.REVOKE)
    assert revoke.json() == {"token": tokens.refresh_token, "token_type_hint": "refresh_token",
                             "client_id": "app_EMoamEEZ73f0CkXaXp7hrann"}
    assert account["account"] is None
    assert not (codex_home / "auth.json").exists()


async def test_a_forced_refresh_rotates_the_stored_tokens(harness: Any, codex_home: Path, system_dir: Path) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        tokens = seed_chatgpt(codex_home, fake)
        account = await client.result("account/read", {"refreshToken": True})
    [refresh] = fake.requests_to(Endpoint.TOKEN_REFRESH)
    assert refresh.json()["refresh_reason"] == "forced"
    assert refresh.json()["refresh_token"] == tokens.refresh_token
    stored = json.loads((codex_home / "auth.json").read_text())["tokens"]
    assert stored["refresh_token"] != tokens.refresh_token
    assert account["account"]["type"] == "chatgpt"


async def test_a_permanent_refresh_failure_hides_the_account_and_its_token(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        seed_chatgpt(codex_home, fake)
        fake.push(Endpoint.TOKEN_REFRESH, refresh_reused())
        account = await client.result("account/read", {"refreshToken": True})
        status = await client.result("getAuthStatus", {"includeToken": True, "refreshToken": True})
    assert account == {"account": None, "userId": None, "requiresOpenaiAuth": True, "workspaceRouting": None}
    assert status == {"authMethod": "chatgpt", "authToken": None, "requiresOpenaiAuth": True}
    assert len(fake.requests_to(Endpoint.TOKEN_REFRESH)) == 1  # no second request for dead tokens


async def test_an_access_token_about_to_expire_is_refreshed_on_use(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        tokens = seed_chatgpt(codex_home, fake, expires_in_s=120)
        status = await client.result("getAuthStatus", {"includeToken": True})
    [refresh] = fake.requests_to(Endpoint.TOKEN_REFRESH)
    assert refresh.json()["refresh_reason"] == "proactive_expiry"
    assert status["authToken"] not in (None, tokens.access_token)


async def test_rate_limits_are_read_from_the_backend(harness: Any, codex_home: Path, system_dir: Path) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        seed_chatgpt(codex_home, fake)
        limits = await client.result("account/rateLimits/read")
        nudge = await client.result("account/sendAddCreditsNudgeEmail", {"creditType": "credits"})
    assert limits["rateLimits"]["limitId"] == "codex"
    assert nudge == {"status": "sent"}


async def test_a_routing_failure_fails_the_read(harness: Any, codex_home: Path, system_dir: Path) -> None:
    async with chatgpt_session(harness, codex_home, system_dir) as (client, fake):
        # the post-initialize discovery may already see the file: it tries twice (as the reference)
        fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=404), Reply(status=404), Reply(status=404))
        seed_chatgpt(codex_home, fake)
        reply = await client.call("account/read", {})
    assert reply["error"] == {"code": -32603, "message": "workspace routing discovery failed"}


async def test_external_tokens_live_in_memory_and_block_other_logins(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir, experimentalApi=True) as (client, fake):
        token = fake.mint_access_token(Identity(plan="plus"))
        params = {"type": "chatgptAuthTokens", "accessToken": token, "chatgptAccountId": "acct-123"}
        assert await client.result("account/login/start", params) == {"type": "chatgptAuthTokens"}
        completed = await notification(client, "account/login/completed")
        updated = await notification(client, "account/updated")
        status = await client.result("getAuthStatus", {"includeToken": True})
        refused = await client.call("account/login/start", {"type": "apiKey", "apiKey": "sk-x"})
        bad = await client.call("account/login/start", {**params, "accessToken": "not-a-jwt"})
    assert completed["success"] is True and completed["loginId"] is None
    assert updated == {"authMode": "chatgptAuthTokens", "planType": "plus"}
    assert status == {"authMethod": "chatgptAuthTokens", "authToken": token, "requiresOpenaiAuth": True}
    assert refused["error"]["message"].startswith("External auth is active.")
    assert bad["error"] == {"code": -32603, "message": "failed to set external auth: invalid ID token format"}
    assert not (codex_home / "auth.json").exists()


@pytest.mark.parametrize("forced", ['"api"'])
async def test_forced_api_refuses_chatgpt_logins(
    harness: Any, codex_home: Path, system_dir: Path, forced: str
) -> None:
    async with chatgpt_session(harness, codex_home, system_dir, config=f"forced_login_method = {forced}\n") as (c, _):
        browser = await c.call("account/login/start", {"type": "chatgpt"})
        device = await c.call("account/login/start", {"type": "chatgptDeviceCode"})
    assert browser["error"] == {"code": -32600, "message": "ChatGPT login is disabled. Use API key login instead."}
    assert device["error"] == browser["error"]


async def test_stopping_the_server_during_a_browser_login_releases_its_port(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
            (codex_home / "config.toml").write_text(fake.config_toml())
            settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm", **fake.codex_env()},
                                login_callback_port=0)
            async with harness.open_server(settings) as server, harness.connect(server) as client:
                await client.initialize()
                started = await client.result("account/login/start", {"type": "chatgpt"})
            # the server's nursery is cancelled on leaving open_server: the login goes with it
            nursery.cancel_scope.cancel(reason="test finished")
    port = int(started["authUrl"].split("127.0.0.1%3A")[1].split("%2F")[0])
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", port))
