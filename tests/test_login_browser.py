"""Test charter: the browser login's callback server (spec account.md §6.2) played as a browser
would: the fake issuer signs the user in (``fake.authorize``), and httpx GETs the callback URL and
follows the redirect to ``/success``. Assertions are on HTTP statuses, headers and bodies, on the
attempt's outcome text, on what reached ``persist`` and on the port being free again after every
outcome. Bind-schedule tests run on ``autojump_clock`` (the 200 ms retries and 2 s cancel bounds are
exact virtual times); every other test has a trio ``fail_after`` bound."""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import trio
import trio.testing
from chamberlain.actors.login_browser import BrowserLogin
from chamberlain.errors import InternalError
from chamberlain.fake_openai import FOREVER, Endpoint, FakeOpenAI, Identity, Reply
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.errors import LoginFailed
from chamberlain.remote.issuer import IssuedTokens
from support import port_is_free

IO_BOUND_S = 10
CANCEL_REQUEST = b"GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
Clients = tuple[httpx.AsyncClient, httpx.AsyncClient]


class Attempt:
    """A BrowserLogin run to its end in a nursery, with what it persisted and how it ended."""

    def __init__(self, fake: FakeOpenAI, client: httpx.AsyncClient, ports: tuple[int, ...] = (0,), *,
                 persist: Callable[[IssuedTokens], Awaitable[None]] | None = None, **options: Any) -> None:
        self.saved: list[IssuedTokens] = []
        self.login = BrowserLogin(client=client, endpoints=Endpoints(issuer=fake.issuer, callback_ports=ports),
                                  originator="probe", persist=persist or self._save, **options)
        self.done = trio.Event()
        self.failure: str | None = None
        self.auth_url = ""

    async def _save(self, tokens: IssuedTokens) -> None:
        self.saved.append(tokens)

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            await self.login.run(task_status=task_status)
        except LoginFailed as exc:
            self.failure = exc.message
        finally:
            self.done.set()

    async def start(self, nursery: trio.Nursery) -> Attempt:
        self.auth_url = await nursery.start(self.run)
        return self

    @property
    def port(self) -> int:
        port = urlsplit(self.query["redirect_uri"]).port
        assert port is not None
        return port

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.auth_url).query))

    def url(self, path: str, **params: str) -> str:
        return str(httpx.URL(f"http://127.0.0.1:{self.port}{path}", params=params))


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    """(the flow's client, the browser)"""
    async with httpx.AsyncClient() as flow, httpx.AsyncClient() as browser:
        yield flow, browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port




@asynccontextmanager
async def running(fake: FakeOpenAI, flow: httpx.AsyncClient, ports: tuple[int, ...] = (0,),
                  **options: Any) -> AsyncIterator[tuple[Attempt, trio.Nursery]]:
    """An attempt started in a nursery of its own, the whole block bounded by ``IO_BOUND_S``."""
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            yield await Attempt(fake, flow, ports, **options).start(nursery), nursery


async def sign_in(fake: FakeOpenAI, clients: Clients, *, follow_redirects: bool = False,
                  **options: Any) -> tuple[httpx.Response, Attempt]:
    """The user signs in at the fake and the browser GETs the callback (and, following redirects,
    the success page); returns the browser's last response once the attempt has ended."""
    flow, browser = clients
    async with running(fake, flow, **options) as (attempt, _nursery):
        page = await browser.get(fake.authorize(attempt.auth_url), follow_redirects=follow_redirects)
        await attempt.done.wait()
    return page, attempt

# --- the whole flow, played as a browser


async def test_playing_the_browser_signs_in_and_success_page_ends_the_attempt(
    fake: FakeOpenAI, clients: Clients
) -> None:
    flow, browser = clients
    async with running(fake, flow) as (attempt, _nursery):
        callback = await browser.get(fake.authorize(attempt.auth_url))
        assert callback.status_code == 302
        assert len(attempt.saved) == 1 and not attempt.done.is_set()  # persisted before /success
        page = await browser.get(callback.headers["location"])
        await attempt.done.wait()
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["connection"] == "close"
    assert "<title>Sign into Codex</title>" in page.text
    assert attempt.failure is None
    [tokens] = attempt.saved
    assert tokens.api_key is not None and tokens.api_key.startswith("sk-")
    assert port_is_free(attempt.port)


async def test_authorize_url_redirects_to_the_bound_port_with_the_pkce_challenge(
    fake: FakeOpenAI, clients: Clients
) -> None:
    _page, attempt = await sign_in(fake, clients, follow_redirects=True, allowed_workspace_ids=["acct-123"])
    query = attempt.query
    assert attempt.auth_url.startswith(f"{fake.issuer}/oauth/authorize?response_type=code&")
    assert query["redirect_uri"] == f"http://127.0.0.1:{attempt.port}/auth/callback"
    assert (query["originator"], query["allowed_workspace_id"]) == ("probe", "acct-123")
    [exchange] = fake.requests_to(Endpoint.TOKEN_CODE)
    assert exchange.form()["redirect_uri"] == query["redirect_uri"]
    assert exchange.status == 200  # the fake checked S256(code_verifier) against the challenge


async def test_success_redirect_carries_the_token_claims(fake: FakeOpenAI, clients: Clients) -> None:
    flow, browser = clients
    fake.identity = Identity(is_org_owner=True, completed_platform_onboarding=False, plan="business")
    async with running(fake, flow, codex_streamlined_login=True) as (attempt, _nursery):
        callback = await browser.get(fake.authorize(attempt.auth_url))
        await browser.get(attempt.url("/success"))
    id_token = attempt.saved[0].id_token
    assert callback.headers["location"] == (
        f"http://127.0.0.1:{attempt.port}/success?id_token={id_token}&needs_setup=true&org_id=org-abc"
        "&project_id=proj-abc&plan_type=business&platform_url=https%3A%2F%2Fplatform.api.openai.org"
        "&codex_streamlined_login=true"
    )


@pytest.mark.parametrize(
    ("suffix", "entrypoint"), [("", None), (".onboarding_entrypoint=life_sciences", "life_sciences")]
)
async def test_a_life_sciences_state_suffix_is_accepted_and_names_the_onboarding_entrypoint(
    fake: FakeOpenAI, clients: Clients, suffix: str, entrypoint: str | None
) -> None:
    flow, browser = clients
    async with running(fake, flow) as (attempt, _nursery):
        callback = httpx.URL(fake.authorize(attempt.auth_url))
        state = callback.params["state"] + suffix
        page = await browser.get(callback.copy_merge_params({"state": state}), follow_redirects=True)
        await attempt.done.wait()
    assert page.status_code == 200 and attempt.failure is None
    assert attempt.login.onboarding_entrypoint == entrypoint


async def test_hosted_success_page_completes_the_attempt_at_once(fake: FakeOpenAI, clients: Clients) -> None:
    callback, attempt = await sign_in(fake, clients, use_hosted_login_success_page=True, app_brand="chatgpt")
    assert callback.status_code == 302
    assert callback.headers["location"] == "https://chatgpt.com/codex/open-app?source=login&app_brand=chatgpt"
    assert attempt.failure is None and len(attempt.saved) == 1


# --- routes that keep the attempt waiting


async def test_state_mismatch_is_refused_and_the_attempt_keeps_waiting(fake: FakeOpenAI, clients: Clients) -> None:
    flow, browser = clients
    async with running(fake, flow) as (attempt, _nursery):
        wrong = await browser.get(attempt.url("/auth/callback", code="x", state="wrong"))
        missing = await browser.get(attempt.url("/auth/callback", code="x"))
        suffixed = await browser.get(attempt.url("/auth/callback", code="x", state=attempt.query["state"] + ".x"))
        other = await browser.get(attempt.url("/favicon.ico"))
        assert not attempt.done.is_set()
        await browser.get(fake.authorize(attempt.auth_url), follow_redirects=True)
        await attempt.done.wait()
    for refused in (wrong, missing, suffixed):
        assert (refused.status_code, refused.text) == (400, "State mismatch")
        assert refused.headers["content-type"] == "text/plain; charset=UTF-8"
    assert (other.status_code, other.text) == (404, "Not Found")
    assert other.headers["content-type"] == "text/plain; charset=UTF-8"
    assert attempt.failure is None
    assert not fake.requests_to(Endpoint.TOKEN_CODE)[1:]


async def read_until(stream: trio.SocketStream, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = await stream.receive_some(65536)
        assert chunk, f"connection closed before {marker!r}: {data!r}"
        data += chunk
    return data


async def test_replies_that_do_not_end_the_attempt_keep_the_connection_open(
    fake: FakeOpenAI, clients: Clients
) -> None:
    flow, _browser = clients
    request = "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    async with running(fake, flow) as (attempt, _nursery):
        async with await trio.open_tcp_stream("127.0.0.1", attempt.port) as stream:
            await stream.send_all(request.format("/nope").encode())
            not_found = await read_until(stream, b"Not Found")
            await stream.send_all(request.format("/auth/callback?state=wrong").encode())
            mismatch = await read_until(stream, b"State mismatch")
            await stream.send_all(request.format("/success").encode())
            success = await read_until(stream, b"</html>")
            assert await stream.receive_some(1024) == b""  # the final reply closes the connection
        await attempt.done.wait()
    assert not_found.startswith(b"HTTP/1.1 404 Not Found\r\n") and b"onnection" not in not_found
    assert mismatch.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"onnection" not in mismatch
    assert success.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in success
    assert attempt.failure is None


# --- routes that end the attempt with a failure


async def fail_with(fake: FakeOpenAI, clients: Clients, params: dict[str, str]) -> tuple[httpx.Response, Attempt]:
    flow, browser = clients
    async with running(fake, flow) as (attempt, _nursery):
        page = await browser.get(attempt.url("/auth/callback", state=attempt.query["state"], **params))
        await attempt.done.wait()
    assert port_is_free(attempt.port)
    return page, attempt


def assert_error_page(page: httpx.Response, attempt: Attempt, failure: str) -> None:
    """The browser was shown the sign-in error page and the attempt ended with ``failure``."""
    assert page.status_code == 200 and "<title>Codex Sign-in Error</title>" in page.text
    assert attempt.failure == failure


@pytest.mark.parametrize(
    ("params", "failure"),
    [
        ({"error": "access_denied", "error_description": "Account MISSING_CODEX_ENTITLEMENT here"},
         "Codex is not enabled for your workspace. Contact your workspace administrator to request access to Codex."),
        ({"error": "access_denied", "error_description": "The user said no"}, "Sign-in failed: The user said no"),
        ({"error": "server_error", "error_description": "  "}, "Sign-in failed: server_error"),
        ({"error": "missing_codex_entitlement"}, "Sign-in failed: missing_codex_entitlement"),
        ({"code": ""}, "Missing authorization code. Sign-in could not be completed."),
        ({}, "Missing authorization code. Sign-in could not be completed."),
        ({"code": "bogus"},
         "Token exchange failed: token endpoint returned status 400 Bad Request: Invalid authorization code"),
    ],
)
async def test_a_failed_callback_shows_the_error_page_and_ends_with_the_reference_text(
    fake: FakeOpenAI, clients: Clients, params: dict[str, str], failure: str
) -> None:
    page, attempt = await fail_with(fake, clients, params)
    assert_error_page(page, attempt, failure)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["connection"] == "close"
    assert attempt.saved == []


async def test_a_foreign_workspace_is_refused_before_anything_is_persisted(fake: FakeOpenAI, clients: Clients) -> None:
    page, attempt = await sign_in(fake, clients, allowed_workspace_ids=["ws-allowed"])
    assert_error_page(page, attempt, "Login is restricted to workspace id(s) ws-allowed.")
    assert attempt.saved == [] and not fake.requests_to(Endpoint.TOKEN_API_KEY)


async def test_credentials_that_cannot_be_saved_end_the_attempt(fake: FakeOpenAI, clients: Clients) -> None:
    async def refuse(tokens: IssuedTokens) -> None:
        raise OSError(28, "No space left on device")

    page, attempt = await sign_in(fake, clients, persist=refuse)
    assert_error_page(page, attempt, "Sign-in completed but credentials could not be saved locally.")


async def test_an_unreadable_id_token_is_not_saved(fake: FakeOpenAI, clients: Clients) -> None:
    fake.push(Endpoint.TOKEN_CODE, Reply(200, {"id_token": "a.b", "access_token": "a", "refresh_token": "r"}))
    page, attempt = await sign_in(fake, clients)
    assert_error_page(page, attempt, "Sign-in completed but credentials could not be saved locally.")
    assert attempt.saved == []


async def test_a_failed_api_key_exchange_still_signs_in_without_a_key(fake: FakeOpenAI, clients: Clients) -> None:
    fake.push(Endpoint.TOKEN_API_KEY, Reply(500, {"error": "boom"}))
    _page, attempt = await sign_in(fake, clients, follow_redirects=True)
    assert attempt.failure is None
    assert attempt.saved[0].api_key is None


async def test_cancel_route_ends_the_attempt_and_frees_the_port(fake: FakeOpenAI, clients: Clients) -> None:
    flow, browser = clients
    async with running(fake, flow) as (attempt, _nursery):
        reply = await browser.get(attempt.url("/cancel"))
        await attempt.done.wait()
    assert port_is_free(attempt.port)
    assert (reply.status_code, reply.text, reply.headers["connection"]) == (200, "Login cancelled", "close")
    assert "content-type" not in reply.headers
    assert attempt.failure == "Login cancelled"


async def test_cancelling_the_run_closes_the_listener_and_open_connections(fake: FakeOpenAI, clients: Clients) -> None:
    flow, _browser = clients
    async with running(fake, flow) as (attempt, nursery):
        idle = await trio.open_tcp_stream("127.0.0.1", attempt.port)  # a browser that never sends
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel("account/login/cancel")
    with trio.fail_after(IO_BOUND_S):
        async with idle:
            assert await idle.receive_some(1024) == b""  # closed by the server
    assert port_is_free(attempt.port)
    assert attempt.failure is None and attempt.saved == []


async def test_a_crashing_flow_still_frees_the_port(fake: FakeOpenAI, clients: Clients) -> None:
    _flow, browser = clients
    closed = httpx.AsyncClient()
    await closed.aclose()  # the token exchange raises RuntimeError: a bug, not a login failure
    attempt = Attempt(fake, closed)
    crashed: list[BaseException] = []

    async def run(*, task_status: trio.TaskStatus[str]) -> None:
        try:
            await attempt.login.run(task_status=task_status)
        except* RuntimeError as group:
            crashed.extend(group.exceptions)

    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            attempt.auth_url = await nursery.start(run)
            with pytest.raises(httpx.HTTPError):
                await browser.get(fake.authorize(attempt.auth_url))
    assert port_is_free(attempt.port)
    assert len(crashed) == 1


@pytest.mark.parametrize("stuck_in", ["token exchange", "persist"])
async def test_cancelling_mid_callback_closes_the_browser_connection_and_frees_the_port(
    fake: FakeOpenAI, clients: Clients, stuck_in: str
) -> None:
    async def never(tokens: IssuedTokens) -> None:
        await trio.sleep_forever()

    flow, browser = clients
    if stuck_in == "token exchange":
        fake.push(Endpoint.TOKEN_CODE, Reply(200, {}, delay_s=FOREVER))
    browser_error: list[Exception] = []

    async def play(callback: str) -> None:
        try:
            await browser.get(callback)
        except httpx.HTTPError as exc:
            browser_error.append(exc)

    persist = never if stuck_in == "persist" else None
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as browsing, running(fake, flow, persist=persist) as (attempt, nursery):
            browsing.start_soon(play, fake.authorize(attempt.auth_url))
            await fake.wait_for(Endpoint.TOKEN_API_KEY if stuck_in == "persist" else Endpoint.TOKEN_CODE)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel("account/login/cancel")
    assert port_is_free(attempt.port)
    assert len(browser_error) == 1  # the server closed the connection without an answer
    assert attempt.saved == []


async def test_cancelling_during_the_bind_retries_leaves_no_socket_behind(
    autojump_clock: Any, fake: FakeOpenAI, clients: Clients
) -> None:
    flow, _browser = clients
    fallback = free_port()
    with trio.fail_after(IO_BOUND_S):
        async with foreign_listener(answers=True) as (busy, received), trio.open_nursery() as nursery:
            nursery.start_soon(Attempt(fake, flow, (busy, fallback)).run)
            await trio.sleep(1.0)  # half way through the retries on the busy port
            nursery.cancel_scope.cancel("account/logout")
    assert received == [CANCEL_REQUEST % busy]
    assert port_is_free(fallback)


# --- binding: a stale login server, a foreign listener, both ports taken


@asynccontextmanager
async def foreign_listener(*, answers: bool) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A listener that is not ours: it records what it receives, answers it or stays silent."""
    [listener] = await trio.open_tcp_listeners(0, host="127.0.0.1")
    received: list[bytes] = []

    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                data += chunk
            received.append(data)
            if answers:
                await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            else:
                await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(functools.partial(trio.serve_listeners, handle, [listener]))
        yield listener.socket.getsockname()[1], received
        nursery.cancel_scope.cancel("test listener done")


async def test_a_new_login_cancels_a_stale_one_on_the_first_port(
    autojump_clock: Any, fake: FakeOpenAI, clients: Clients
) -> None:
    flow, _browser = clients
    async with running(fake, flow) as (stale, nursery):
        started = trio.current_time()
        fresh = await Attempt(fake, flow, (stale.port, free_port())).start(nursery)
        elapsed = trio.current_time() - started
        assert stale.done.is_set() and stale.failure == "Login cancelled"
        nursery.cancel_scope.cancel("test done")
    assert fresh.port == stale.port
    assert elapsed == pytest.approx(0.2)


@pytest.mark.parametrize(("answers", "fallback_after_s"), [(True, 2.0), (False, 4.0)])
async def test_a_foreign_listener_on_the_first_port_makes_the_login_fall_back(
    autojump_clock: Any, fake: FakeOpenAI, clients: Clients, answers: bool, fallback_after_s: float
) -> None:
    flow, _browser = clients
    fallback = free_port()
    async with foreign_listener(answers=answers) as (busy, received):
        started = trio.current_time()
        async with running(fake, flow, (busy, fallback)) as (attempt, nursery):
            elapsed = trio.current_time() - started
            nursery.cancel_scope.cancel("test done")
    assert received == [CANCEL_REQUEST % busy]
    assert attempt.query["redirect_uri"] == f"http://127.0.0.1:{fallback}/auth/callback"
    assert elapsed == pytest.approx(fallback_after_s)


async def test_both_ports_taken_fails_the_start_naming_the_last_port(
    autojump_clock: Any, fake: FakeOpenAI, clients: Clients
) -> None:
    flow, _browser = clients
    with trio.fail_after(IO_BOUND_S):
        async with foreign_listener(answers=True) as (first, to_first), foreign_listener(answers=True) as (
            second, to_second
        ):
            started = trio.current_time()
            async with trio.open_nursery() as nursery:
                with pytest.raises(InternalError) as caught:
                    await Attempt(fake, flow, (first, second)).start(nursery)
            elapsed = trio.current_time() - started
    assert caught.value.message == f"failed to start login server: Port 127.0.0.1:{second} is already in use"
    assert elapsed == pytest.approx(4.0)
    assert to_first == [CANCEL_REQUEST % first] and to_second == []
