"""External tokens and the server -> client request ``account/chatgptAuthTokens/refresh`` (spec
account.md §11): a 401 from the backend (routing discovery) asks the client that made the request
for fresh tokens; a valid answer replaces them in memory; an error answer, a bad answer or no
answer within 10 s leaves the 401 standing. As on the reference (checked with refpeer,
tests/scenarios/account-external-refresh.jsonl), the discovery that got the 401 is not retried:
it fails with ``account changed during workspace routing discovery`` (a login's completion, or an
account/read error), the next one runs with the new tokens, and no ``account/updated`` is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from chamberlain.actors.server import Settings
from chamberlain.fake_openai import Endpoint, FakeOpenAI, Identity, Reply

IO_BOUND_S = 20
REFRESH = "account/chatgptAuthTokens/refresh"
UNAUTHORIZED = "workspace routing discovery unauthorized (401)"


@asynccontextmanager
async def external_session(harness: Any, home: Path, system_dir: Path, *, config: str = "") -> AsyncIterator[
    tuple[Any, FakeOpenAI]
]:
    async with trio.open_nursery() as nursery:
        fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
        (home / "config.toml").write_text(fake.config_toml() + config)
        settings = Settings(home, system_dir, (), environ={"TERM": "xterm", **fake.codex_env()}, login_callback_port=0)
        async with harness.open_server(settings) as server, harness.connect(server) as client:
            await client.initialize(experimentalApi=True)
            yield client, fake
        nursery.cancel_scope.cancel(reason="test finished")


async def next_frame(client: Any, *, method: str) -> dict[str, Any]:
    """The next frame naming ``method`` (a notification or a server request); others are kept."""
    for i, frame in enumerate(client.notifications):
        if frame.get("method") == method:
            return client.notifications.pop(i)  # type: ignore[no-any-return]
    while True:
        received: dict[str, Any] = await client.recv()
        if received.get("method") == method:
            return received
        client.notifications.append(received)


def login_params(token: str, plan: str | None = "plus") -> dict[str, Any]:
    return {"type": "chatgptAuthTokens", "accessToken": token, "chatgptAccountId": "acct-123", "chatgptPlanType": plan}


def bearer(request: Any) -> str:
    return str(request.headers.get("authorization", ""))


async def test_a_401_asks_the_client_and_a_valid_answer_replaces_the_tokens(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with external_session(harness, codex_home, system_dir) as (client, fake):
            old = fake.mint_access_token(Identity(plan="plus"))
            new = fake.mint_access_token(Identity(plan="pro", email="new@example.com"))
            fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=401, text="expired"))
            assert await client.result("account/login/start", login_params(old)) == {"type": "chatgptAuthTokens"}
            request = await next_frame(client, method=REFRESH)
            await client.send({"id": request["id"], "result": {"accessToken": new, "chatgptAccountId": "acct-123",
                                                                "chatgptPlanType": None}})
            completed = await next_frame(client, method="account/login/completed")
            account = await client.result("account/read", {})
            status = await client.result("getAuthStatus", {"includeToken": True})
            checks = fake.requests_to(Endpoint.ACCOUNTS_CHECK)
    params = {"reason": "unauthorized", "previousAccountId": "acct-123"}
    assert request == {"method": REFRESH, "id": 0, "params": params}
    assert completed["params"]["success"] is False
    assert completed["params"]["error"] == "account changed during workspace routing discovery"
    # the login's discovery was not retried; the read's went out with the new token
    assert [bearer(r) for r in checks] == [f"Bearer {old}", f"Bearer {new}"]
    # plan precedence as for the login: no parameter, so the new token's claim
    assert account["account"] == {"type": "chatgpt", "email": "new@example.com", "planType": "pro",
                                  "workspaceName": "Fake Workspace"}
    assert status == {"authMethod": "chatgptAuthTokens", "authToken": new, "requiresOpenaiAuth": True}
    assert not any(n.get("method") == "account/updated" for n in client.notifications)


async def test_an_error_answer_leaves_the_401_and_the_tokens(harness: Any, codex_home: Path, system_dir: Path) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with external_session(harness, codex_home, system_dir) as (client, fake):
            token = fake.mint_access_token(Identity(plan="plus"))
            fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=401, text="expired"))
            await client.result("account/login/start", login_params(token))
            request = await next_frame(client, method=REFRESH)
            await client.send({"id": request["id"], "error": {"code": -32000, "message": "host refused"}})
            completed = await next_frame(client, method="account/login/completed")
            status = await client.result("getAuthStatus", {"includeToken": True})
    assert completed["params"]["error"] == UNAUTHORIZED
    assert status["authToken"] == token


async def test_an_answer_that_is_not_a_jwt_or_names_another_workspace_is_refused(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    config = 'forced_chatgpt_workspace_id = ["acct-123"]\n'
    with trio.fail_after(IO_BOUND_S):
        async with external_session(harness, codex_home, system_dir, config=config) as (client, fake):
            token = fake.mint_access_token(Identity(plan="plus"))
            other = fake.mint_access_token(Identity(plan="pro"))
            fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=401), Reply(status=401))
            await client.result("account/login/start", login_params(token))
            first = await next_frame(client, method=REFRESH)
            not_jwt = {"accessToken": "not-a-jwt", "chatgptAccountId": "acct-123"}
            await client.send({"id": first["id"], "result": not_jwt})
            bad = await next_frame(client, method="account/login/completed")
            await client.send({"id": "r", "method": "account/read", "params": {}})
            second = await next_frame(client, method=REFRESH)
            await client.send({"id": second["id"], "result": {"accessToken": other, "chatgptAccountId": "ws-other"}})
            read = await client.response("r")
            status = await client.result("getAuthStatus", {"includeToken": True})
    assert bad["params"]["error"] == UNAUTHORIZED
    assert second["id"] == 1  # server-request ids count on per connection
    assert read["error"] == {"code": -32603, "message": UNAUTHORIZED}
    assert status["authToken"] == token


@pytest.fixture
def threaded_io_clock() -> trio.testing.MockClock:
    """Config and credentials are read in worker threads: a small autojump threshold lets that
    real work finish before virtual time moves (STYLE "Deterministic time")."""
    return trio.testing.MockClock(autojump_threshold=0.1)


async def test_no_answer_within_ten_seconds_leaves_the_401(
    harness: Any, codex_home: Path, system_dir: Path, threaded_io_clock: trio.testing.MockClock
) -> None:
    async with external_session(harness, codex_home, system_dir) as (client, fake):
        token = fake.mint_access_token(Identity(plan="plus"))
        fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=401))
        await client.result("account/login/start", login_params(token))
        request = await next_frame(client, method=REFRESH)
        asked = trio.current_time()
        completed = await next_frame(client, method="account/login/completed")
        waited = trio.current_time() - asked
        await client.send({"id": request["id"], "result": {"accessToken": token, "chatgptAccountId": "acct-123"}})
        account = await client.result("account/read", {})
    assert completed["params"]["error"] == UNAUTHORIZED
    assert 10.0 <= waited < 11.0
    # the late answer was dropped: the tokens are the login's (the read's own discovery succeeds)
    assert account["account"]["planType"] == "plus"
