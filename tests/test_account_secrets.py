"""No API key, token or refresh token shows itself (issue 7): one trio run drives every account
flow and error path against the shipped fake issuer while everything a user or an operator could
read is captured, then scanned for every secret the fake minted or the test supplied.

Captured: every log record of every logger at level 1 (message with its arguments, their repr,
tracebacks), every byte the server wrote on the wire (except the ``getAuthStatus``
``includeToken`` answers, whose purpose is to carry the token), and ``repr``/``str`` of every
live Chamberlain object and exception, taken while flows are pending and after each session.
The test's own browser (httpx logging the callback URL with its code) is set aside, and serves
as the proof that records at that level reach the capture.
"""

from __future__ import annotations

import contextvars
import gc
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest
import trio
import trio.testing
from chamberlain.actors.server import Server, Settings
from chamberlain.actors.transports import LineTransport
from chamberlain.fake_openai import (
    Endpoint,
    FakeOpenAI,
    Identity,
    Reply,
    denied,
    oauth_error,
    pending,
    refresh_reused,
    unauthorized,
)

IO_BOUND_S = 90
#: what the test itself hands the server: none of it may come back outside the allowed answers
API_KEY = "sk-proj-supplied-" + secrets.token_urlsafe(24)
SUPPLIED = {
    "bad_jwt": "not-a-jwt-" + secrets.token_urlsafe(24),
    "file_key": "sk-in-a-broken-file-" + secrets.token_urlsafe(16),
    "file_token": "broken-id-token-" + secrets.token_urlsafe(16),
    "refreshed_access": "refreshed-access-" + secrets.token_urlsafe(16),
    "refreshed_rt": "rt-refreshed-" + secrets.token_urlsafe(16),
    "frame_key": "sk-in-a-bad-frame-" + secrets.token_urlsafe(16),
    "environment": "sk-in-the-environment-" + secrets.token_urlsafe(16),  # a host's OPENAI_API_KEY
}
IN_BROWSER: contextvars.ContextVar[bool] = contextvars.ContextVar("IN_BROWSER", default=False)


class Capture(logging.Handler):
    """Everything readable: ``texts`` is scanned; ``allowed`` and ``browser`` are not."""

    def __init__(self) -> None:
        super().__init__(level=1)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))  # with tracebacks
        self.texts: list[str] = []
        self.allowed: list[str] = []
        self.browser: list[str] = []
        self.heap_reprs = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{self.format(record)}\nargs={record.args!r} msg={record.msg!r}"
        (self.browser if IN_BROWSER.get() else self.texts).append(text)

    def heap(self) -> None:
        """``repr`` and ``str`` of every live Chamberlain object and every live exception."""
        for obj in gc.get_objects():
            kind = type(obj)
            if kind.__module__.startswith("chamberlain") or isinstance(obj, BaseException):
                for show in (repr, str):
                    try:
                        self.texts.append(show(obj))
                    except Exception as exc:  # a repr that fails says nothing
                        self.texts.append(f"<{kind.__name__} {show.__name__} failed: {exc}>")
                self.heap_reprs += 1

    def leaks(self, needles: set[str]) -> list[str]:
        """One line per kind of text that shows a secret: its start, and what precedes the secret."""
        found: dict[str, str] = {}
        for text in self.texts:
            for needle in needles:
                at = text.find(needle)
                if at >= 0:
                    found.setdefault(text[:40], f"{text[:60]!r} … {text[max(0, at - 60):at]!r}<SECRET>")
        return list(found.values())


@contextmanager
def every_log_record(capture: Capture) -> Iterator[None]:
    """The root and every logger at level 1, propagating (``__main__`` may have cut
    ``chamberlain`` off in this process), into ``capture``; all put back afterwards."""
    names = ["chamberlain", "httpx", "httpcore", "h11", "trio", *logging.root.manager.loggerDict]
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg, lg.level, lg.propagate, lg.disabled) for lg in loggers]
    root_level = logging.root.level
    logging.root.addHandler(capture)
    logging.root.setLevel(1)
    for lg in loggers:
        lg.setLevel(1)
        lg.propagate, lg.disabled = True, False
    try:
        yield
    finally:
        logging.root.removeHandler(capture)
        logging.root.setLevel(root_level)
        for lg, level, propagate, disabled in saved:
            lg.setLevel(level)
            lg.propagate, lg.disabled = propagate, disabled


class Wire:
    """A host on memory streams; every byte the server writes is recorded before it is read."""

    def __init__(self, to_server: trio.testing.MemorySendStream) -> None:
        self.to_server = to_server
        self.from_server = trio.testing.MemoryReceiveStream()
        self.written: list[bytes] = []
        self.allowed_ids: set[int] = set()
        self._buf = b""
        self._next = 0
        self.notifications: list[dict[str, Any]] = []

    def sink(self) -> trio.testing.MemorySendStream:
        out = trio.testing.MemorySendStream()

        async def pump() -> None:
            data = out.get_data_nowait()
            self.written.append(bytes(data))
            self.from_server.put_data(data)

        out.send_all_hook = pump
        return out

    async def send(self, frame: dict[str, Any] | bytes) -> None:
        data = frame if isinstance(frame, bytes) else json.dumps(frame).encode()
        await self.to_server.send_all(data + b"\n")

    async def recv(self) -> dict[str, Any]:
        while b"\n" not in self._buf:
            self._buf += await self.from_server.receive_some(65536)
        line, _, self._buf = self._buf.partition(b"\n")
        frame: dict[str, Any] = json.loads(line)
        return frame

    async def _until(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first frame ``wanted`` (frames met on the way are kept in ``notifications``)."""
        for i, msg in enumerate(self.notifications):
            if wanted(msg):
                return self.notifications.pop(i)
        while not wanted(msg := await self.recv()):
            self.notifications.append(msg)
        return msg

    async def call(self, method: str, params: Any = None, *, allowed: bool = False) -> dict[str, Any]:
        self._next += 1
        rid = self._next
        if allowed:
            self.allowed_ids.add(rid)
        await self.send({"id": rid, "method": method, **({} if params is None else {"params": params})})
        return await self._until(lambda m: m.get("id") == rid and "method" not in m)

    async def result(self, method: str, params: Any = None, *, allowed: bool = False) -> Any:
        reply = await self.call(method, params, allowed=allowed)
        assert "result" in reply, reply
        return reply["result"]

    async def note(self, method: str) -> dict[str, Any]:
        note = await self._until(lambda m: m.get("method") == method and "id" not in m)
        return note["params"]  # type: ignore[no-any-return]

    def sort(self, capture: Capture) -> None:
        for line in b"".join(self.written).splitlines():
            text = line.decode("utf-8", "replace")
            try:
                allowed = json.loads(line).get("id") in self.allowed_ids
            except ValueError:
                allowed = False
            (capture.allowed if allowed else capture.texts).append(text)


class Run:
    """One fake issuer and a fresh ``CODEX_HOME`` per session, all in the test's trio run."""

    def __init__(self, fake: FakeOpenAI, tmp: Path, capture: Capture) -> None:
        self.fake, self.tmp, self.capture = fake, tmp, capture

    def home(self) -> Path:
        home = self.tmp / f"home-{secrets.token_hex(4)}"
        home.mkdir()
        return home

    def seed(self, home: Path, **kwargs: Any) -> None:
        (home / "auth.json").write_text(json.dumps(self.fake.auth_json(self.fake.issue_tokens(**kwargs))))

    @asynccontextmanager
    async def session(self, home: Path | None = None, *, config: str = "", env: dict[str, str] | None = None,
                      **caps: Any) -> AsyncIterator[Wire]:
        home = home or self.home()
        (home / "config.toml").write_text(config if "chatgpt_base_url" in config else self.fake.config_toml() + config)
        system = self.tmp / "etc"
        system.mkdir(exist_ok=True)
        environ = {"TERM": "xterm", "OPENAI_API_KEY": SUPPLIED["environment"], **self.fake.codex_env(), **(env or {})}
        settings = Settings(home, system, (), environ=environ, login_callback_port=0)
        to_server, from_host = trio.testing.memory_stream_one_way_pair()
        wire = Wire(to_server)
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(Server(settings).run)
            nursery.start_soon(server.serve_connection, LineTransport(from_host, wire.sink(), max_frame_bytes=1 << 20))
            hello = {"clientInfo": {"name": "t", "version": "1"}, **({"capabilities": caps} if caps else {})}
            await wire.result("initialize", hello)
            await wire.send({"method": "initialized"})
            yield wire
            self.capture.heap()
            nursery.cancel_scope.cancel(reason="session finished")
        wire.sort(self.capture)


async def browse(url: str) -> httpx.Response:
    """The user's browser (its own log records are set aside, see the module text)."""
    token = IN_BROWSER.set(True)
    try:
        async with httpx.AsyncClient() as browser:
            return await browser.get(url)
    finally:
        IN_BROWSER.reset(token)


async def browser_login(c: Wire, fake: FakeOpenAI) -> bool:
    """Start a browser login and play the user through it (the redirect, ``/success``)."""
    started = await c.result("account/login/start", {"type": "chatgpt"})
    answer = await browse(fake.authorize(started["authUrl"]))
    if answer.status_code == 302:
        await browse(answer.headers["location"])
    return bool((await c.note("account/login/completed"))["success"])


def callback(auth_url: str, **query: str) -> str:
    """The loopback callback of ``auth_url`` with ``query`` and its state."""
    asked = dict(parse_qsl(urlsplit(auth_url).query))
    return f"{asked['redirect_uri']}?{urlencode({**query, 'state': asked['state']})}"


# -- the sessions ---------------------------------------------------------------------------------


async def api_key_session(run: Run) -> None:
    async with run.session() as c:
        assert await c.result("account/login/start", {"type": "apiKey", "apiKey": API_KEY}) == {"type": "apiKey"}
        status = await c.result("getAuthStatus", {"includeToken": True}, allowed=True)
        assert status["authToken"] == API_KEY
        await c.result("getAuthStatus", {"includeToken": False})
        await c.result("account/read", {"refreshToken": True})
        assert "error" in await c.call("account/rateLimits/read")
        assert "error" in await c.call("account/sendAddCreditsNudgeEmail", {"creditType": "credits"})
        assert "error" in await c.call("account/login/start", {"type": "apiKey", "apiKey": 42})
        assert "error" in await c.call("account/login/start", {"type": "chatgptAuthTokens", "accessToken": API_KEY})
        assert "error" in await c.call("account/login/cancel", {"loginId": "not-a-uuid"})
        bad = json.dumps({"type": "apiKey", "apiKey": SUPPLIED["frame_key"]})
        await c.send(b'{"id": "x", "method": "account/login/start", "params": ' + bad.encode())
        assert await c.result("account/logout") == {}


async def browser_session(run: Run) -> None:
    fake = run.fake
    async with run.session() as c:
        started = await c.result("account/login/start", {"type": "chatgpt"})
        run.capture.heap()  # a pending login: its PKCE pair, state and callback server are alive
        assert (await browse(callback(started["authUrl"], code="x") + "x")).status_code == 400
        other_route = callback(started["authUrl"]).replace("/auth/callback", "/elsewhere")
        assert (await browse(other_route)).status_code == 404
        redirect = await browse(fake.authorize(started["authUrl"]))
        assert (await browse(redirect.headers["location"])).status_code == 200
        assert (await c.note("account/login/completed"))["success"] is True
        await c.result("account/read", {})
        status = await c.result("getAuthStatus", {"includeToken": True}, allowed=True)
        assert status["authToken"] in fake.minted_secrets()
        for push, query in [
            ((Endpoint.TOKEN_CODE, oauth_error(400, "invalid_grant", "code already used")), None),
            ((Endpoint.TOKEN_API_KEY, Reply(status=500, text="exchange broke")), None),
            (None, {"error": "access_denied", "error_description": "missing_codex_entitlement"}),
            (None, {"code": ""}),
        ]:
            if push is not None:
                fake.push(*push)
            started = await c.result("account/login/start", {"type": "chatgpt"})
            url = fake.authorize(started["authUrl"]) if query is None else callback(started["authUrl"], **query)
            answer = await browse(url)
            if answer.status_code == 302:
                await browse(answer.headers["location"])
            await c.note("account/login/completed")
        started = await c.result("account/login/start", {"type": "chatgpt"})
        await c.result("account/login/start", {"type": "chatgpt"})  # replaces it
        pending_login = await c.result("account/login/start", {"type": "chatgpt"})
        await c.result("account/login/cancel", {"loginId": pending_login["loginId"]})
        await c.result("account/logout")


async def device_session(run: Run) -> None:
    fake = run.fake
    async with run.session() as c:
        fake.push(Endpoint.DEVICE_TOKEN, pending())
        started = await c.result("account/login/start", {"type": "chatgptDeviceCode"})
        run.capture.heap()  # polling: the device auth id is alive
        assert started["userCode"]
        assert (await c.note("account/login/completed"))["success"] is True
        await c.result("getAuthStatus", {"includeToken": True}, allowed=True)
        fake.push(Endpoint.DEVICE_TOKEN, denied())
        await c.result("account/login/start", {"type": "chatgptDeviceCode"})
        assert (await c.note("account/login/completed"))["success"] is False
        fake.push(Endpoint.DEVICE_USERCODE, Reply(status=500, text="no codes today"))
        assert "error" in await c.call("account/login/start", {"type": "chatgptDeviceCode"})
        fake.push(Endpoint.DEVICE_USERCODE, Reply(status=200, text="{not json"))
        assert "error" in await c.call("account/login/start", {"type": "chatgptDeviceCode"})
        await c.result("account/logout")


async def refresh_session(run: Run) -> None:
    fake = run.fake
    home = run.home()
    run.seed(home, refresh_token="rt-supplied-" + secrets.token_urlsafe(24))
    async with run.session(home) as c:
        await c.result("account/read", {"refreshToken": True})  # forced
        await c.result("getAuthStatus", {"includeToken": True, "refreshToken": True}, allowed=True)
        fake.push(Endpoint.TOKEN_REFRESH, Reply(status=500, body={"error": {"message": "issuer down"}}))
        await c.result("account/read", {"refreshToken": True})
        fake.push(Endpoint.TOKEN_REFRESH, Reply(status=200, body={
            "id_token": "not.a-jwt", "access_token": SUPPLIED["refreshed_access"],
            "refresh_token": SUPPLIED["refreshed_rt"]}))
        await c.result("account/read", {"refreshToken": True})
        fake.push(Endpoint.TOKEN_REFRESH, Reply(status=200, text="{broken"))
        await c.result("getAuthStatus", {"refreshToken": True})
        fake.push(Endpoint.TOKEN_REFRESH, refresh_reused())
        await c.result("account/read", {"refreshToken": True})
        await c.result("getAuthStatus", {"includeToken": True, "refreshToken": True})
        await c.result("account/read", {})
    home = run.home()
    run.seed(home, expires_in_s=60)
    async with run.session(home) as c:  # proactive, at the first use after initialize
        await c.result("getAuthStatus", {"includeToken": True}, allowed=True)
        await c.result("account/rateLimits/read")
    assert {r.json()["refresh_reason"] for r in fake.requests_to(Endpoint.TOKEN_REFRESH)} >= {
        "forced", "proactive_expiry"}


async def backend_session(run: Run) -> None:
    fake = run.fake
    revoked = len(fake.requests_to(Endpoint.REVOKE))
    home = run.home()
    run.seed(home)
    async with run.session(home) as c:
        await c.note("account/updated")  # the routing discovery after initialize
        c.notifications.clear()
        fake.push(Endpoint.ACCOUNTS_CHECK, unauthorized())
        run.seed(home)  # new credentials: a new routing discovery
        await c.call("account/read", {})  # 401 -> reload -> refresh -> again
        fake.push(Endpoint.ACCOUNTS_CHECK, unauthorized(), unauthorized())
        run.seed(home)
        await c.call("account/read", {})
        assert (await c.result("account/rateLimits/read"))["rateLimits"]
        for reply in (unauthorized(), Reply(status=200, text="{not json"), Reply(status=503, text="later")):
            fake.push(Endpoint.USAGE, reply)
            assert "error" in await c.call("account/rateLimits/read")
        fake.push(Endpoint.RESET_CREDITS, unauthorized())
        await c.result("account/rateLimits/read")
        assert (await c.result("account/sendAddCreditsNudgeEmail", {"creditType": "credits"}))["status"] == "sent"
        fake.push(Endpoint.NUDGE, Reply(status=429), unauthorized())
        await c.result("account/sendAddCreditsNudgeEmail", {"creditType": "usage_limit"})
        assert "error" in await c.call("account/sendAddCreditsNudgeEmail", {"creditType": "credits"})
        fake.push(Endpoint.REVOKE, Reply(status=500, text="revoke broke"))
        assert await c.result("account/logout") == {}
    home = run.home()
    run.seed(home)
    async with run.session(home) as c:
        assert await c.result("account/logout") == {}
    assert len(fake.requests_to(Endpoint.REVOKE)) == revoked + 2


async def external_session(run: Run) -> None:
    fake = run.fake
    async with run.session(experimentalApi=True) as c:
        token = fake.mint_access_token(Identity(plan="plus"))
        params = {"type": "chatgptAuthTokens", "accessToken": token, "chatgptAccountId": "acct-123"}
        await c.result("account/login/start", params)
        assert (await c.note("account/login/completed"))["success"] is True
        assert (await c.result("getAuthStatus", {"includeToken": True}, allowed=True))["authToken"] == token
        assert "error" in await c.call("account/login/start", {"type": "apiKey", "apiKey": API_KEY})
        assert "error" in await c.call("account/login/start", {**params, "accessToken": SUPPLIED["bad_jwt"]})
        await c.result("account/rateLimits/read")
        fake.push(Endpoint.USAGE, unauthorized())
        assert "error" in await c.call("account/rateLimits/read")
        fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=404))
        await c.result("account/login/start", {**params, "accessToken": fake.mint_access_token()})
        assert (await c.note("account/login/completed"))["success"] is False
        fake.push(Endpoint.CONFIG_BUNDLE, unauthorized())
        business = fake.mint_access_token(Identity(plan="business"))
        await c.result("account/login/start", {**params, "accessToken": business})
        assert (await c.note("account/login/completed"))["success"] is False
        await c.call("account/read", {"refreshToken": True})
        assert await c.result("account/logout") == {}
    config = 'forced_chatgpt_workspace_id = "acct-other"\n'
    async with run.session(config=config, experimentalApi=True) as c:
        token = fake.mint_access_token()
        assert "error" in await c.call("account/login/start", {**params, "accessToken": token})


async def storage_session(run: Run) -> None:
    fake = run.fake
    home = run.home()
    (home / "auth.json").mkdir()  # nothing can be stored: save, replace and delete fail
    async with run.session(home) as c:
        assert "error" in await c.call("account/login/start", {"type": "apiKey", "apiKey": API_KEY})
        assert not await browser_login(c, fake)
        await c.result("account/login/start", {"type": "chatgptDeviceCode"})
        assert (await c.note("account/login/completed"))["success"] is False
        await c.call("account/logout")
    home = run.home()
    broken = {"OPENAI_API_KEY": SUPPLIED["file_key"], "tokens": {"id_token": SUPPLIED["file_token"],
              "access_token": SUPPLIED["file_token"] + "a", "refresh_token": SUPPLIED["file_token"] + "r"}}
    for text in (json.dumps(broken), json.dumps(broken)[:-3], json.dumps(broken).replace(":", "::", 1)):
        (home / "auth.json").write_text(text)
        async with run.session(home) as c:
            await c.result("account/read", {"refreshToken": True})
            await c.result("getAuthStatus", {"includeToken": True})
    for mode in ("keyring", "auto", "ephemeral"):
        async with run.session(config=f'cli_auth_credentials_store = "{mode}"\n') as c:
            await c.call("account/login/start", {"type": "apiKey", "apiKey": API_KEY})
            await c.result("account/read", {})
            await browser_login(c, fake)
            await c.call("account/logout")


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1
    items: dict[tuple[str, str], str]

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


async def keyring_session(run: Run) -> None:
    backend = MemoryKeyring()  # type: ignore[no-untyped-call]
    backend.items = {}
    keyring.set_keyring(backend)  # the fixture puts the previous one back
    async with run.session(config='cli_auth_credentials_store = "keyring"\n') as c:
        await c.result("account/login/start", {"type": "apiKey", "apiKey": API_KEY})
        await c.result("getAuthStatus", {"includeToken": True}, allowed=True)
        assert await browser_login(c, run.fake)
        await c.result("account/read", {})  # no refresh: RefreshSession.commit deadlocks on keyring storage
        await c.result("getAuthStatus", {"includeToken": True}, allowed=True)
        assert await c.result("account/logout") == {}


async def unreachable_session(run: Run) -> None:
    dead = "http://127.0.0.1:9"  # nothing listens: every call is a transport failure
    home = run.home()
    run.seed(home)
    env = {"CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"{dead}/oauth/token", "CODEX_REVOKE_TOKEN_URL_OVERRIDE": f"{dead}/r"}
    async with run.session(home, config=f'chatgpt_base_url = "{dead}/backend-api"\n', env=env) as c:
        await c.call("account/read", {"refreshToken": True})
        await c.result("getAuthStatus", {"refreshToken": True})
        assert "error" in await c.call("account/rateLimits/read")
        assert "error" in await c.call("account/sendAddCreditsNudgeEmail", {"creditType": "credits"})
        assert await c.result("account/logout") == {}


SESSIONS: list[Callable[[Run], Awaitable[None]]] = [api_key_session, browser_session, device_session, refresh_session,
                                                    backend_session, external_session, storage_session,
                                                    keyring_session, unreachable_session]


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    yield  # pytest runs the rest whatever the test's outcome
    keyring.set_keyring(previous)


def needles(fake: FakeOpenAI) -> set[str]:
    """The secrets, and the signature of every JWT among them (a token half-shown is shown)."""
    found = set(fake.minted_secrets()) | set(SUPPLIED.values()) | {API_KEY}
    for req in fake.requests_to(Endpoint.TOKEN_CODE):  # the browser logins' PKCE verifiers
        found.add(str(req.fields()["code_verifier"]))
    found |= {s.rsplit(".", 1)[1] for s in list(found) if s.count(".") == 2}
    return {s for s in found if len(s) >= 16}


async def test_no_secret_reaches_a_log_line_a_frame_an_error_text_or_a_repr(tmp_path: Path, no_keyring: None) -> None:
    capture = Capture()
    with every_log_record(capture), trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
            run = Run(fake, tmp_path, capture)
            for session in SESSIONS:
                await session(run)
                assert not {e: fake.remaining(e) for e in Endpoint if fake.remaining(e)}, session.__name__
            capture.heap()
            nursery.cancel_scope.cancel(reason="sessions finished")
    secret_set = needles(fake)
    # the capture sees what it should: server-side httpx records, the allowed answers, the browser
    assert any(f"HTTP Request: POST {fake.token_url}" in t for t in capture.texts)
    assert any(API_KEY in t for t in capture.allowed)
    assert any(s in t for t in capture.browser for s in secret_set)
    assert capture.heap_reprs > 100 and any("BrowserLogin(" in t for t in capture.texts)
    assert len(secret_set) > 20
    leaks = capture.leaks(secret_set)
    assert not leaks, "\n".join(leaks[:20])
