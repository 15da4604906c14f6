"""Test charter: the device-code flow (spec account.md §6.3) against the fake issuer, everything in
one trio run on ``autojump_clock`` so intervals and the 15-minute limit are exact virtual times.
Assertions are on what the client would see (the user code, the verification URL, the failure
texts), on the poll times the fake logged and on what reached ``persist``."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
import trio
from chamberlain.actors.login_device import DeviceCode, DeviceLogin, request_device_code
from chamberlain.fake_openai import (
    CLIENT_ID,
    Endpoint,
    FakeOpenAI,
    Reply,
    expired,
    oauth_error,
    open_fake_openai,
    pending,
    slow_down,
)
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.errors import LoginFailed
from chamberlain.remote.issuer import IssuedTokens

#: Virtual-time bound of each test (the longest waits 15 minutes of polling).
BOUND_S = 3600


Persist = Callable[[IssuedTokens], Awaitable[None]]


class Saved:
    """A ``persist`` that records what it was given."""

    def __init__(self) -> None:
        self.tokens: list[IssuedTokens] = []

    async def __call__(self, tokens: IssuedTokens) -> None:
        self.tokens.append(tokens)


@asynccontextmanager
async def device_setup(**fake_options: Any) -> AsyncIterator[tuple[FakeOpenAI, httpx.AsyncClient, Endpoints]]:
    """A fake issuer (``fake_options``), a client and endpoints pointing at it; the whole block
    bounded by ``BOUND_S`` of virtual time."""
    options: dict[str, Any] = {"auto_approve_device": False, "device_lifetime_s": 7200.0, **fake_options}
    with trio.fail_after(BOUND_S):
        async with open_fake_openai(**options) as fake, httpx.AsyncClient() as client:
            yield fake, client, Endpoints(issuer=fake.issuer, callback_ports=(0,))


async def outcome(client: httpx.AsyncClient, endpoints: Endpoints, code: DeviceCode, persist: Persist | None = None,
                  **options: Any) -> str | None:
    """Run a device login for ``code`` to its end: None on success, else the failure text."""
    login = DeviceLogin(client=client, endpoints=endpoints, code=code, persist=persist or Saved(), **options)
    try:
        await login.run()
    except LoginFailed as exc:
        return exc.message
    return None


async def sign_in(client: httpx.AsyncClient, endpoints: Endpoints, persist: Persist | None = None,
                  **options: Any) -> str | None:
    """Request a device code and run its login to the end (the fake approves it, or answers as
    scripted): None on success, else the failure text."""
    code = await request_device_code(client, endpoints)
    return await outcome(client, endpoints, code, persist, **options)


def poll_times(fake: FakeOpenAI) -> list[float]:
    return [request.at for request in fake.requests_to(Endpoint.DEVICE_TOKEN)]


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


async def test_device_code_start_gives_the_issuer_verification_url_and_user_code(autojump_clock: Any) -> None:
    async with device_setup() as (fake, client, endpoints):
        code = await request_device_code(client, endpoints)
        assert code.verification_url == f"{fake.issuer}/codex/device"
        [request] = fake.requests_to(Endpoint.DEVICE_USERCODE)
        fake.approve_device(code.user_code)  # the code the user is shown is the one the issuer knows
        assert request.json() == {"client_id": CLIENT_ID}
        assert not fake.requests_to(Endpoint.DEVICE_TOKEN)


async def test_pending_polls_follow_the_interval_until_the_user_approves(autojump_clock: Any) -> None:
    async with device_setup(device_interval_s=5) as (fake, client, endpoints):
        saved = Saved()
        code = await request_device_code(client, endpoints)
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outcome, client, endpoints, code, saved)
            await fake.wait_for(Endpoint.DEVICE_TOKEN, 3, answered=True)
            fake.approve_device(code.user_code)
        times = poll_times(fake)
        assert times[0] == started
        assert gaps(times) == [5.0, 5.0, 5.0]
        [exchange] = fake.requests_to(Endpoint.TOKEN_CODE)
        form = exchange.form()
        assert form["redirect_uri"] == f"{fake.issuer}/deviceauth/callback"
        assert list(form) == ["grant_type", "client_id", "code", "redirect_uri", "code_verifier"]
        [tokens] = saved.tokens
        assert jwt.decode(tokens.id_token, options={"verify_signature": False})["email"] == "user@example.com"
        assert tokens.api_key is None
        assert not fake.requests_to(Endpoint.TOKEN_API_KEY)


async def test_poll_request_carries_the_device_auth_id_and_user_code(autojump_clock: Any) -> None:
    async with device_setup(auto_approve_device=True) as (fake, client, endpoints):
        code = await request_device_code(client, endpoints)
        assert await outcome(client, endpoints, code) is None
        [usercode] = fake.requests_to(Endpoint.DEVICE_USERCODE)
        [poll] = fake.requests_to(Endpoint.DEVICE_TOKEN)
        assert list(poll.json()) == ["device_auth_id", "user_code"]
        assert poll.status == 200  # the fake knew the device_auth_id it had handed out
        assert poll.json()["user_code"] == code.user_code
        assert poll.headers["content-type"] == "application/json"
        assert usercode.status == 200


async def test_without_an_interval_polls_run_back_to_back(autojump_clock: Any) -> None:
    async with device_setup(device_interval_s=0) as (fake, client, endpoints):
        code = await request_device_code(client, endpoints)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outcome, client, endpoints, code)
            await fake.wait_for(Endpoint.DEVICE_TOKEN, 4, answered=True)
            fake.approve_device(code.user_code)
        assert len(set(poll_times(fake))) == 1


async def test_a_404_poll_also_means_pending(autojump_clock: Any) -> None:
    async with device_setup(device_interval_s=2) as (fake, client, endpoints):
        saved = Saved()
        fake.push(Endpoint.DEVICE_TOKEN, Reply(404, text="Not Found"))
        code = await request_device_code(client, endpoints)
        fake.approve_device(code.user_code)
        assert await outcome(client, endpoints, code, saved) is None
        assert gaps(poll_times(fake)) == [2.0]
        assert len(saved.tokens) == 1


async def test_slow_down_adds_five_seconds_to_the_interval(autojump_clock: Any) -> None:
    async with device_setup(device_interval_s=1) as (fake, client, endpoints):
        fake.push(Endpoint.DEVICE_TOKEN, slow_down(), pending(), slow_down())
        code = await request_device_code(client, endpoints)
        fake.approve_device(code.user_code)
        assert await outcome(client, endpoints, code) is None
        assert gaps(poll_times(fake)) == [6.0, 6.0, 11.0]


async def test_gone_ends_the_attempt_with_the_status(autojump_clock: Any) -> None:
    async with device_setup() as (fake, client, endpoints):
        saved = Saved()
        fake.push(Endpoint.DEVICE_TOKEN, pending(), expired())
        failure = await sign_in(client, endpoints, saved)
        assert failure == "device auth failed with status 410 Gone"
        assert len(poll_times(fake)) == 2
        assert saved.tokens == []


async def test_fifteen_minutes_of_pending_polls_give_up(autojump_clock: Any) -> None:
    async with device_setup(device_interval_s=7) as (fake, client, endpoints):
        saved = Saved()
        code = await request_device_code(client, endpoints)
        started = trio.current_time()
        failure = await outcome(client, endpoints, code, saved)
        ended = trio.current_time()
        assert failure == "device auth timed out after 15 minutes"
        times = poll_times(fake)
        # polls every 7 s, the last wait shortened to land on the 15-minute mark, which is polled once more
        assert gaps(times) == [7.0] * 128 + [4.0]
        assert times[-1] - started == pytest.approx(900.0)
        assert ended - started == pytest.approx(900.0)
        assert saved.tokens == []


async def test_cancel_during_polling_stops_the_polls(autojump_clock: Any) -> None:
    async with device_setup(device_interval_s=5) as (fake, client, endpoints):
        saved = Saved()
        code = await request_device_code(client, endpoints)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(outcome, client, endpoints, code, saved)
            await fake.wait_for(Endpoint.DEVICE_TOKEN, 2, answered=True)
            nursery.cancel_scope.cancel("account/login/cancel")
        fake.approve_device(code.user_code)
        await trio.sleep(60)
        assert len(poll_times(fake)) == 2
        assert saved.tokens == []


async def test_a_foreign_workspace_is_refused_and_nothing_is_persisted(autojump_clock: Any) -> None:
    async with device_setup(auto_approve_device=True) as (fake, client, endpoints):
        saved = Saved()
        failure = await sign_in(client, endpoints, saved, allowed_workspace_ids=["ws-allowed"])
        assert failure == "Login is restricted to workspace id(s) ws-allowed."
        assert len(fake.requests_to(Endpoint.TOKEN_CODE)) == 1
        assert saved.tokens == []


async def test_an_allowed_workspace_is_persisted(autojump_clock: Any) -> None:
    async with device_setup(auto_approve_device=True) as (_fake, client, endpoints):
        saved = Saved()
        assert await sign_in(client, endpoints, saved, allowed_workspace_ids=["x", "acct-123"]) is None
        assert len(saved.tokens) == 1


async def test_a_failed_exchange_is_reported_with_the_device_prefix(autojump_clock: Any) -> None:
    async with device_setup(auto_approve_device=True) as (fake, client, endpoints):
        fake.push(Endpoint.TOKEN_CODE, oauth_error(400, "invalid_grant", "Invalid authorization code"))
        failure = await sign_in(client, endpoints)
        assert failure == (
            "device code exchange failed: token endpoint returned status 400 Bad Request: Invalid authorization code"
        )


@pytest.mark.parametrize(
    ("id_token", "failure"),
    [
        ("a.b", "invalid ID token format"),
        ("a.!!.c", "Invalid symbol 33, offset 0."),
        ("a.abcde.c", "Invalid input length: 5"),
        ("a.e30=.c", "Invalid padding"),
        ("a.bm9wZQ.c", "expected ident at line 1 column 2"),
        ("a.MQ.c", "invalid type: integer `1`, expected struct IdClaims at line 1 column 1"),
    ],
)
async def test_an_unreadable_id_token_ends_the_attempt_with_the_parser_text(
    autojump_clock: Any, id_token: str, failure: str
) -> None:
    async with device_setup(auto_approve_device=True) as (fake, client, endpoints):
        saved = Saved()
        fake.push(Endpoint.TOKEN_CODE, Reply(200, {"id_token": id_token, "access_token": "a", "refresh_token": "r"}))
        assert await sign_in(client, endpoints, saved) == failure
        assert saved.tokens == []


async def test_an_undecodable_token_answer_is_an_invalid_response(autojump_clock: Any) -> None:
    async with device_setup(auto_approve_device=True) as (fake, client, endpoints):
        fake.push(Endpoint.TOKEN_CODE, Reply(200, text="nope"))
        failure = await sign_in(client, endpoints)
        assert failure == "device code exchange failed: OAuth token response is invalid"


async def test_an_undecodable_poll_answer_ends_the_attempt(autojump_clock: Any) -> None:
    async with device_setup() as (fake, client, endpoints):
        fake.push(Endpoint.DEVICE_TOKEN, Reply(200, {"authorization_code": "c"}))
        failure = await sign_in(client, endpoints)
        assert failure == "error decoding response body"


async def test_a_persist_failure_propagates_unchanged(autojump_clock: Any) -> None:
    async def refuse(tokens: IssuedTokens) -> None:
        raise PermissionError(13, "Permission denied")

    async with device_setup(auto_approve_device=True) as (_fake, client, endpoints):
        code: DeviceCode = await request_device_code(client, endpoints)
        with pytest.raises(PermissionError):
            await DeviceLogin(client=client, endpoints=endpoints, code=code, persist=refuse).run()
