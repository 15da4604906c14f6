"""JSON-RPC over the WebSocket transport (config.md §11.3): one message per text message, each
connection with its own handshake state, binary and two-message frames dropped, the 16 MiB limit.

Testing charter: the server and its listener run in the test's nursery on a loopback port; the
client is trio-websocket's; every test is bounded by ``fail_after``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_websocket
from chamberlain.actors.server import Settings
from chamberlain.actors.ws_transport import MAX_MESSAGE_BYTES, serve_websocket
from support import ws_call

IO_BOUND_S = 10
CLIENT_INFO = {"clientInfo": {"name": "test", "title": "Test", "version": "1.0.0"}}


@pytest.fixture
async def ws_url(harness: Any, codex_home: Path, system_dir: Path) -> AsyncIterator[str]:
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
        host, port = await nursery.start(serve_websocket, server, "127.0.0.1", 0)
        yield f"ws://{host}:{port}/"
        nursery.cancel_scope.cancel(reason="test finished")


@asynccontextmanager
async def _client(url: str) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """trio-websocket's client on a TCP stream the test closes itself: its own close leaves the
    socket open when the server closed first (``aclose`` returns early then)."""
    host, _, port = url.removeprefix("ws://").rstrip("/").rpartition(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream, trio.open_nursery() as nursery:
        ws = await trio_websocket.wrap_client_stream(nursery, stream, host, "/",
                                                     max_message_size=64 * 1024 * 1024)
        yield ws
        await ws.aclose()
        nursery.cancel_scope.cancel(reason="client finished")




async def _initialize(ws: trio_websocket.WebSocketConnection) -> Any:
    reply = await ws_call(ws, 0, "initialize", CLIENT_INFO)
    await ws.send_message(json.dumps({"method": "initialized"}))
    return reply


async def test_a_session_over_websocket_reads_the_config(ws_url: str, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('model = "o3"\n')
    with trio.fail_after(IO_BOUND_S):
        async with _client(ws_url) as ws:
            init = await _initialize(ws)
            read = await ws_call(ws, 1, "config/read", {})
    assert init["result"]["codexHome"] == str(codex_home)
    assert read["result"]["config"]["model"] == "o3"


async def test_each_connection_has_its_own_handshake_state(ws_url: str) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with _client(ws_url) as first, _client(ws_url) as second:
            await _initialize(first)
            before = await ws_call(second, 1, "config/read", {})
            again = await ws_call(first, 1, "initialize", CLIENT_INFO)
            late = await _initialize(second)
    assert before["error"]["message"] == "Not initialized"
    assert again["error"]["message"] == "Already initialized"
    assert "result" in late


async def test_a_binary_message_is_dropped(ws_url: str) -> None:
    request = json.dumps({"id": 5, "method": "initialize", "params": CLIENT_INFO})
    with trio.fail_after(IO_BOUND_S):
        async with _client(ws_url) as ws:
            await ws.send_message(request.replace('"id": 5', '"id": 4').encode())
            await ws.send_message(request)
            reply = json.loads(await ws.get_message())
    assert reply["id"] == 5 and "result" in reply


async def test_two_messages_in_one_text_message_are_dropped(ws_url: str) -> None:
    one = json.dumps({"id": 1, "method": "initialize", "params": CLIENT_INFO})
    with trio.fail_after(IO_BOUND_S):
        async with _client(ws_url) as ws:
            await ws.send_message(one + one.replace('"id": 1', '"id": 2'))
            await ws.send_message(one.replace('"id": 1', '"id": 3'))
            reply = json.loads(await ws.get_message())
    assert reply["id"] == 3 and "result" in reply


async def test_a_message_over_16_mib_closes_the_connection(ws_url: str) -> None:
    huge = json.dumps({"id": 1, "method": "config/read", "params": {"cwd": "x" * MAX_MESSAGE_BYTES}})
    with trio.fail_after(IO_BOUND_S):
        async with _client(ws_url) as ws:
            await ws.send_message(huge)
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
    assert closed.value.reason is not None and closed.value.reason.code == 1009


async def test_a_message_of_exactly_16_mib_is_served(ws_url: str) -> None:
    head = json.dumps({"id": 1, "method": "initialize", "params": CLIENT_INFO})
    message = head + " " * (MAX_MESSAGE_BYTES - len(head))
    with trio.fail_after(IO_BOUND_S):
        async with _client(ws_url) as ws:
            await ws.send_message(message)
            reply = json.loads(await ws.get_message())
    assert reply["id"] == 1 and "result" in reply


async def test_a_ping_is_answered_with_its_payload(ws_url: str) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with _client(ws_url) as ws:
            await ws.ping(b"are you there")  # returns once the matching pong arrived


async def test_cancelling_the_listener_closes_the_connections_and_the_port(
    harness: Any, codex_home: Path, system_dir: Path,
) -> None:
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    listener = trio.CancelScope()

    async def listen(server: Any, *, task_status: trio.TaskStatus[tuple[str, int]]) -> None:
        with listener:
            await serve_websocket(server, "127.0.0.1", 0, task_status=task_status)

    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
            host, port = await nursery.start(listen, server)
            async with _client(f"ws://{host}:{port}/") as ws:
                await _initialize(ws)
                listener.cancel(reason="host stops listening")
                with pytest.raises(trio_websocket.ConnectionClosed):
                    while True:  # notifications sent after initialize may come first
                        await ws.get_message()
            with pytest.raises(OSError):
                await trio.open_tcp_stream(host, port)
