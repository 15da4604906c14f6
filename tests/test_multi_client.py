"""Several WebSocket clients on one server (ISSUE 8 point 6, docs/multi-client.md): each connection
has its own handshake, opt-outs and experimental capability; ``account/login/completed`` and
``account/updated`` go to every initialized connection that has not opted out, whoever caused
them; ``configWarning`` goes to each connection once, right after its own ``initialize``; a
client that disconnects — mid-request, with a login it started pending, or while the server asks
it something — never affects another. The rules were observed on codex 0.169.0 with the same
clients (transcripts in docs/multi-client.md).

Testing charter: the server, its WebSocket listener and the fake issuer/backend run in the test's
trio run on loopback; clients are trio-websocket's, each with a reader task keeping every frame;
every test is bounded by ``fail_after`` on the real clock (the store works in threads).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, final
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import trio
import trio_websocket
from chamberlain.actors.server import Settings
from chamberlain.actors.ws_transport import serve_websocket
from chamberlain.fake_openai import Endpoint, FakeOpenAI, Identity, Reply

IO_BOUND_S = 20
COMPLETED = "account/login/completed"
UPDATED = "account/updated"
REFRESH = "account/chatgptAuthTokens/refresh"

Frame = dict[str, Any]


@final
class WsClient:
    """One WebSocket client: every frame it receives is kept, in order."""

    def __init__(self, name: str, ws: trio_websocket.WebSocketConnection) -> None:
        self.name = name
        self.ws = ws
        self.frames: list[Frame] = []
        self._arrived = trio.Event()
        self._next_id = 0
        self.closed = False

    async def pump(self) -> None:
        try:
            while True:
                self.frames.append(json.loads(await self.ws.get_message()))
                self._arrived.set()
                self._arrived = trio.Event()
        except trio_websocket.ConnectionClosed:
            self.closed = True
            self._arrived.set()

    async def send(self, frame: Frame) -> None:
        await self.ws.send_message(json.dumps(frame))

    async def wait_for(self, match: Callable[[Frame], bool]) -> Frame:
        """The first kept frame that ``match``es (waiting for it if needed)."""
        while True:
            for frame in self.frames:
                if match(frame):
                    return frame
            assert not self.closed, f"{self.name}: connection closed"
            await self._arrived.wait()

    async def call(self, method: str, params: Any = None) -> Frame:
        self._next_id += 1
        request_id = f"{self.name}-{self._next_id}"
        frame: Frame = {"id": request_id, "method": method}
        if params is not None:
            frame["params"] = params
        await self.send(frame)
        return await self.wait_for(lambda f: f.get("id") == request_id and "method" not in f)

    async def result(self, method: str, params: Any = None) -> Any:
        reply = await self.call(method, params)
        assert "result" in reply, reply
        return reply["result"]

    async def notification(self, method: str, count: int = 1) -> list[Any]:
        """The params of the first ``count`` notifications ``method`` (waiting for them)."""
        await self.wait_for(lambda _: len(self.notified(method)) >= count)
        return self.notified(method)[:count]

    def notified(self, method: str) -> list[Any]:
        return [f["params"] for f in self.frames if f.get("method") == method and "id" not in f]

    def methods_before(self, frame: Frame) -> list[str]:
        """The notification methods received before ``frame``."""
        return [f["method"] for f in self.frames[: self.frames.index(frame)] if "method" in f]

    async def initialize(self, **capabilities: Any) -> Frame:
        params: Frame = {"clientInfo": {"name": self.name, "version": "1.0"}}
        if capabilities:
            params["capabilities"] = capabilities
        reply = await self.call("initialize", params)
        await self.send({"method": "initialized"})
        return reply


@final
class Clients:
    """Opens clients on one server's WebSocket listener."""

    def __init__(self, url: str, fake: FakeOpenAI, home: Path, nursery: trio.Nursery) -> None:
        self.url, self.fake, self.home, self._nursery = url, fake, home, nursery
        self._streams: list[trio.SocketStream] = []
        self._clients: list[WsClient] = []

    async def open(self, name: str) -> WsClient:
        host, _, port = self.url.removeprefix("ws://").rstrip("/").rpartition(":")
        stream = await trio.open_tcp_stream(host, int(port))
        self._streams.append(stream)  # closed by ``close``: trio-websocket leaves it open at times
        ws = await trio_websocket.wrap_client_stream(self._nursery, stream, host, "/")
        client = WsClient(name, ws)
        self._clients.append(client)
        self._nursery.start_soon(client.pump)
        return client

    async def initialized(self, *names: str, **capabilities: Any) -> list[WsClient]:
        clients = [await self.open(name) for name in names]
        for client in clients:
            await client.initialize(**capabilities)
        return clients

    async def say_goodbye(self) -> None:
        """Close every client's WebSocket (the server then ends its connection at once)."""
        with trio.move_on_after(1):
            for client in self._clients:
                await client.ws.aclose()

    async def close(self) -> None:
        for stream in self._streams:
            await stream.aclose()


@asynccontextmanager
async def _listening(harness: Any, home: Path, system_dir: Path, environ: dict[str, str],
                     reference: Path | None) -> AsyncIterator[str]:
    """Chamberlain in this trio run (``reference`` None) or the reference as a process, listening
    on a loopback WebSocket port; yields its URL."""
    if reference is None:
        settings = Settings(home, system_dir, (), environ=environ, login_callback_port=0)
        async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
            host, port = await nursery.start(serve_websocket, server, "127.0.0.1", 0)
            yield f"ws://{host}:{port}/"
            nursery.cancel_scope.cancel(reason="test finished")
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
    # only the fake is reachable: every other request goes to a closed port
    env.update(environ, CODEX_HOME=str(home), RUST_LOG="error", HTTP_PROXY=_DEAD, HTTPS_PROXY=_DEAD,
               ALL_PROXY=_DEAD, NO_PROXY="127.0.0.1,localhost")
    async with trio.open_nursery() as nursery:
        proc: trio.Process = await nursery.start(functools.partial(
            trio.run_process, [str(reference), "app-server", "--listen", "ws://127.0.0.1:0"], env=env,
            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False))
        assert proc.stderr is not None
        banner = b""
        while not re.search(rb"listening on: ws://127\.0\.0\.1:\d+\n", banner):
            chunk = await proc.stderr.receive_some()
            assert chunk, banner
            banner += chunk
        nursery.start_soon(_drain, proc.stderr)
        port = int(re.findall(rb"listening on: ws://127\.0\.0\.1:(\d+)", banner)[0])
        try:
            yield f"ws://127.0.0.1:{port}/"
        finally:
            proc.kill()


_DEAD = "http://127.0.0.1:9"


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    async for _ in stream:
        pass


@asynccontextmanager
async def _server(harness: Any, home: Path, system_dir: Path, config: str = "", reference: Path | None = None,
                  *, chatgpt_login: bool = False) -> AsyncIterator[Clients]:
    """A server on a home pointed at a fake issuer and backend; ``chatgpt_login``: with its
    stored ChatGPT tokens."""
    async with trio.open_nursery() as nursery:
        fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
        (home / "config.toml").write_text(fake.config_toml() + config)
        if chatgpt_login:
            (home / "auth.json").write_text(json.dumps(fake.auth_json(fake.issue_tokens())))
        environ = {"TERM": "xterm", **fake.codex_env()}
        async with _listening(harness, home, system_dir, environ, reference) as url, \
                trio.open_nursery() as clients:
            opened = Clients(url, fake, home, clients)
            try:
                yield opened
                await opened.say_goodbye()
            finally:
                clients.cancel_scope.cancel(reason="test finished")
                with trio.CancelScope(shield=True):
                    await opened.close()
        nursery.cancel_scope.cancel(reason="test finished")


@pytest.fixture
async def clients(harness: Any, codex_home: Path, system_dir: Path) -> AsyncIterator[Clients]:
    async with _server(harness, codex_home, system_dir) as opened:
        yield opened


@pytest.fixture(params=["chamberlain", "reference"])
def server_binary(request: pytest.FixtureRequest) -> Path | None:
    """None for Chamberlain, else the reference codex (skipped when not installed)."""
    if request.param == "chamberlain":
        return None
    binary: Path = request.getfixturevalue("reference_binary")
    return binary


@pytest.fixture
async def either(
    harness: Any, codex_home: Path, system_dir: Path, server_binary: Path | None,
) -> AsyncIterator[Clients]:
    """``clients`` on Chamberlain, then on the reference: the rule holds for both."""
    async with _server(harness, codex_home, system_dir, reference=server_binary) as opened:
        yield opened


async def _browser(fake: FakeOpenAI, auth_url: str) -> int:
    """The browser's part of a login: the issuer's redirect to the callback, then the success page."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(fake.authorize(auth_url))
        assert answer.status_code == 302, answer.text
        return (await browser.get(answer.headers["location"])).status_code


def _callback_port(auth_url: str) -> int:
    redirect = parse_qs(urlsplit(auth_url).query)["redirect_uri"][0]
    port = urlsplit(redirect).port
    assert port is not None
    return port


async def _port_open(port: int) -> bool:
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return False
    await stream.aclose()
    return True


# -- handshake state per connection -------------------------------------------------------------


async def test_the_experimental_capability_is_per_connection(either: Clients) -> None:
    clients = either
    with trio.fail_after(IO_BOUND_S):
        (experimental,) = await clients.initialized("exp", experimentalApi=True)
        (plain,) = await clients.initialized("plain")
        allowed = await experimental.call("mock/experimentalMethod", {"value": "x"})
        refused = await plain.call("mock/experimentalMethod", {"value": "x"})
    assert allowed["result"] == {"echoed": "x"}
    assert refused["error"] == {"code": -32600,
                                "message": "mock/experimentalMethod requires experimentalApi capability"}


async def test_an_opt_out_silences_only_the_connection_that_asked(either: Clients) -> None:
    clients = either
    with trio.fail_after(IO_BOUND_S):
        (quiet,) = await clients.initialized("quiet", optOutNotificationMethods=["remoteControl/status/changed"])
        (loud,) = await clients.initialized("loud")
        status = await loud.notification("remoteControl/status/changed")
        read = await quiet.call("config/read", {})
    assert status[0]["status"] == "disabled"
    assert "remoteControl/status/changed" not in quiet.methods_before(read)


# -- account notifications ------------------------------------------------------------------------


async def test_an_api_key_login_is_announced_to_every_initialized_connection(either: Clients) -> None:
    clients = either
    with trio.fail_after(IO_BOUND_S):
        late = await clients.open("late")  # connected, not initialized yet
        first, second = await clients.initialized("first", "second")
        (no_updates,) = await clients.initialized("no_updates", optOutNotificationMethods=[UPDATED])
        answer = await first.result("account/login/start", {"type": "apiKey", "apiKey": "sk-multi"})
        announced = {c.name: (await c.notification(COMPLETED), await c.notification(UPDATED))
                     for c in (first, second)}
        completed_only = await no_updates.notification(COMPLETED)
        read = await no_updates.call("config/read", {})
        late_init = await late.initialize()
    expected = ([{"loginId": None, "success": True, "error": None, "onboardingEntrypoint": None}],
                [{"authMode": "apikey", "planType": None}])
    assert answer == {"type": "apiKey"}
    assert announced == {"first": expected, "second": expected}
    assert completed_only == expected[0]
    assert UPDATED not in no_updates.methods_before(read)
    assert late.methods_before(late_init) == []  # nothing before its initialize


async def test_a_logout_by_one_client_is_announced_to_the_others(either: Clients) -> None:
    clients = either
    with trio.fail_after(IO_BOUND_S):
        first, second = await clients.initialized("first", "second")
        await first.result("account/login/start", {"type": "apiKey", "apiKey": "sk-multi"})
        await second.notification(UPDATED)
        assert await second.result("account/logout") == {}
        updates = await first.notification(UPDATED, count=2)
    assert updates[1] == {"authMode": None, "planType": None}


async def test_a_browser_login_completion_reaches_every_connection(clients: Clients) -> None:
    with trio.fail_after(IO_BOUND_S):
        starter, other = await clients.initialized("starter", "other")
        started = await starter.result("account/login/start", {"type": "chatgpt"})
        assert await _browser(clients.fake, started["authUrl"]) == 200
        seen = [(await c.notification(COMPLETED))[0] for c in (starter, other)]
        updated = [(await c.notification(UPDATED))[0] for c in (starter, other)]
    assert seen == [{"loginId": started["loginId"], "success": True, "error": None, "onboardingEntrypoint": None}] * 2
    assert updated == [{"authMode": "chatgpt", "planType": "pro"}] * 2


async def test_config_warnings_go_to_each_connection_after_its_own_initialize(
    harness: Any, codex_home: Path, system_dir: Path, server_binary: Path | None,
) -> None:
    async with _server(harness, codex_home, system_dir, "unknown_top = 1\n", server_binary) as opened:
        with trio.fail_after(IO_BOUND_S):
            (first,) = await opened.initialized("first")
            read_first = await first.call("config/read", {})
            (second,) = await opened.initialized("second")
            (opted,) = await opened.initialized("opted", optOutNotificationMethods=["configWarning"])
            read_second = await second.call("config/read", {})
            read_opted = await opted.call("config/read", {})
            again_first = await first.call("config/read", {})
    warned_first, warned_second = first.notified("configWarning"), second.notified("configWarning")
    assert "`unknown_top` is ignored" in warned_first[0]["summary"]
    assert warned_second == warned_first
    assert first.methods_before(again_first) == first.methods_before(read_first)  # nothing new for "second"
    assert second.methods_before(read_second).count("configWarning") == len(warned_second)
    assert "configWarning" not in opted.methods_before(read_opted)


# -- a client that goes away ----------------------------------------------------------------------


async def test_a_login_whose_starter_disconnected_completes_for_the_others(clients: Clients) -> None:
    with trio.fail_after(IO_BOUND_S):
        starter, other = await clients.initialized("starter", "other")
        started = await starter.result("account/login/start", {"type": "chatgpt"})
        await starter.ws.aclose()
        port = _callback_port(started["authUrl"])
        still_listening = await _port_open(port)
        assert await _browser(clients.fake, started["authUrl"]) == 200
        completed = await other.notification(COMPLETED)
        updated = await other.notification(UPDATED)
        account = await other.result("account/read", {})
        released = not await _port_open(port)
    assert still_listening
    assert completed == [{"loginId": started["loginId"], "success": True, "error": None, "onboardingEntrypoint": None}]
    assert updated == [{"authMode": "chatgpt", "planType": "pro"}]
    assert account["account"]["type"] == "chatgpt"
    assert released


async def test_another_client_can_cancel_a_login_whose_starter_left(clients: Clients) -> None:
    with trio.fail_after(IO_BOUND_S):
        starter, other = await clients.initialized("starter", "other")
        started = await starter.result("account/login/start", {"type": "chatgpt"})
        await starter.ws.aclose()
        cancel = await other.result("account/login/cancel", {"loginId": started["loginId"]})
        completed = await other.notification(COMPLETED)
        released = not await _port_open(_callback_port(started["authUrl"]))
    assert cancel == {"status": "canceled"}
    assert completed == [{"loginId": started["loginId"], "success": False,
                          "error": "Login server error: Login was not completed", "onboardingEntrypoint": None}]
    assert released


async def test_a_login_from_another_client_replaces_the_one_whose_starter_left(clients: Clients) -> None:
    with trio.fail_after(IO_BOUND_S):
        starter, other = await clients.initialized("starter", "other")
        orphan = await starter.result("account/login/start", {"type": "chatgpt"})
        await starter.ws.aclose()
        reply = await other.call("account/login/start", {"type": "chatgpt"})
        completed = await other.notification(COMPLETED)
    assert completed == [{"loginId": orphan["loginId"], "success": False,
                          "error": "Login server error: Login cancelled", "onboardingEntrypoint": None}]
    assert reply["result"]["loginId"] != orphan["loginId"]
    assert COMPLETED in other.methods_before(reply)  # the replaced one ends before the new response


async def test_a_device_code_login_whose_starter_left_completes_for_the_others(either: Clients) -> None:
    with trio.fail_after(IO_BOUND_S):  # the fake approves the code: the first poll (after 1 s) succeeds
        starter, other = await either.initialized("starter", "other")
        started = await starter.result("account/login/start", {"type": "chatgptDeviceCode"})
        await starter.ws.aclose()
        completed = await other.notification(COMPLETED)
        updated = await other.notification(UPDATED)
    assert completed == [{"loginId": started["loginId"], "success": True, "error": None, "onboardingEntrypoint": None}]
    assert updated == [{"authMode": "chatgpt", "planType": "pro"}]


async def test_a_client_leaving_mid_request_does_not_disturb_another(
    harness: Any, codex_home: Path, system_dir: Path, server_binary: Path | None,
) -> None:
    async with _server(harness, codex_home, system_dir, reference=server_binary, chatgpt_login=True) as clients:
        await _leave_mid_request(clients)


async def _leave_mid_request(clients: Clients) -> None:
    fake = clients.fake
    with trio.fail_after(IO_BOUND_S):
        leaver, stayer = await clients.initialized("leaver", "stayer")
        fake.push(Endpoint.USAGE, Reply(status=200, body={"plan_type": "pro"}, delay_s=0.5))
        await leaver.send({"id": 1, "method": "account/rateLimits/read"})
        await fake.wait_for(Endpoint.USAGE)
        await leaver.ws.aclose()
        limits = await stayer.call("account/rateLimits/read")
        read = await stayer.call("config/read", {})
    assert "result" in limits, limits
    assert "result" in read
    assert len(fake.requests_to(Endpoint.USAGE)) == 2


async def test_a_client_leaving_while_asked_for_tokens_fails_the_request_at_once(clients: Clients) -> None:
    fake = clients.fake
    with trio.fail_after(IO_BOUND_S):
        asked, other = await clients.initialized("asked", "other", experimentalApi=True)
        fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=401, text="expired"))
        token = fake.mint_access_token(Identity(plan="plus"))
        params = {"type": "chatgptAuthTokens", "accessToken": token, "chatgptAccountId": "acct-123",
                  "chatgptPlanType": "plus"}
        await asked.send({"id": 1, "method": "account/login/start", "params": params})
        request = await asked.wait_for(lambda f: f.get("method") == REFRESH)
        left_at = trio.current_time()
        await asked.ws.aclose()
        completed = await other.notification(COMPLETED)
        waited = trio.current_time() - left_at
        read = await other.call("config/read", {})
    assert request["params"] == {"reason": "unauthorized", "previousAccountId": "acct-123"}
    assert completed[0]["success"] is False  # the 401 stands: nobody gave new tokens
    assert waited < 5  # not the 10 s answer deadline: the request failed when its client left
    assert "result" in read


# -- where the reference differs (docs/multi-client.md): its behaviour, recorded -----------------


async def test_the_reference_names_every_client_after_the_first_one(
    harness: Any, codex_home: Path, system_dir: Path, reference_binary: Path,
) -> None:
    async with _server(harness, codex_home, system_dir, reference=reference_binary) as opened:
        with trio.fail_after(IO_BOUND_S):
            first, second = await opened.open("first"), await opened.open("second")
            agents = [(await c.initialize())["result"]["userAgent"] for c in (first, second)]
    assert agents[0].startswith("first/0.169.0 (") and agents[0].endswith(" (first; 1.0)")
    assert agents[1].startswith("first/0.169.0 (") and agents[1].endswith(" (second; 1.0)")


async def test_the_reference_asks_every_initialized_connection_for_tokens(
    harness: Any, codex_home: Path, system_dir: Path, reference_binary: Path,
) -> None:
    async with _server(harness, codex_home, system_dir, reference=reference_binary) as opened:
        fake = opened.fake
        with trio.fail_after(IO_BOUND_S):
            asker, helper = await opened.initialized("asker", "helper", experimentalApi=True)
            (plain,) = await opened.initialized("plain", optOutNotificationMethods=[REFRESH])
            bystander = await opened.open("bystander")  # not initialized
            fake.push(Endpoint.ACCOUNTS_CHECK, Reply(status=401, text="expired"))
            old, new = fake.mint_access_token(Identity(plan="plus")), fake.mint_access_token(Identity(plan="pro"))
            params = {"type": "chatgptAuthTokens", "accessToken": old, "chatgptAccountId": "acct-123",
                      "chatgptPlanType": "plus"}
            await asker.send({"id": 1, "method": "account/login/start", "params": params})
            asked = [await c.wait_for(lambda f: f.get("method") == REFRESH) for c in (asker, helper, plain)]
            await asker.ws.aclose()  # the one whose login it is leaves without answering
            await helper.send({"id": asked[1]["id"], "result": {"accessToken": new, "chatgptAccountId": "acct-123"}})
            completed = await helper.notification(COMPLETED)
            updated = await plain.notification(UPDATED)
            late = await bystander.initialize()
    assert [a["id"] for a in asked] == [0, 0, 0]  # one request, one server-wide id
    assert completed == [{"loginId": None, "success": True, "error": None, "onboardingEntrypoint": None}]
    assert updated == [{"authMode": "chatgptAuthTokens", "planType": "pro"}]
    assert REFRESH not in bystander.methods_before(late)


async def test_the_reference_warns_later_clients_with_its_start_up_warnings(
    harness: Any, codex_home: Path, system_dir: Path, reference_binary: Path,
) -> None:
    async with _server(harness, codex_home, system_dir, "unknown_top = 1\n", reference_binary) as opened:
        with trio.fail_after(IO_BOUND_S):
            (writer,) = await opened.initialized("writer")
            edit = {"keyPath": "another_unknown", "value": 2, "mergeStrategy": "replace"}
            assert (await writer.result("config/batchWrite", {"edits": [edit]}))["status"] == "ok"
            (late,) = await opened.initialized("late")
            await late.call("config/read", {})
    unknown = [w["summary"] for w in late.notified("configWarning") if "unrecognized" in w["summary"]]
    assert unknown == [w["summary"] for w in writer.notified("configWarning") if "unrecognized" in w["summary"]]
    assert "ignoring 1 unrecognized configuration setting" in unknown[0]
    assert "another_unknown = 2" in (codex_home / "config.toml").read_text()  # the write landed: not in the warning
