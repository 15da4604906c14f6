"""The embedding API (``chamberlain.embed``, docs/embedding.md): the in-memory connection a host
tests with, the three transports as ``nursery.start`` tasks of one shape, and two servers on
different Codex homes in one process sharing nothing.

Testing charter: everything runs in the test's trio run; the real clock, each test bounded by
``fail_after`` (config writes and ``flock`` run in worker threads: STYLE "Deterministic time").
Assertions are on wire messages and file bytes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket
from chamberlain.actors.transports import LineTransport
from chamberlain.embed import (
    MemoryClient,
    ResponseError,
    Settings,
    make_settings,
    memory_connection,
    open_server,
    serve_stdio,
    serve_unix,
    serve_websocket,
)
from support import unix_websocket

IO_BOUND_S = 10
CLIENT_INFO = {"clientInfo": {"name": "host", "title": "Host", "version": "1.0.0"}}


def _settings(tmp_path: Path, name: str = "home", **options: Any) -> Settings:
    return make_settings(tmp_path / name, system_dir=tmp_path / "etc", environ={"TERM": "xterm"}, **options)


async def test_a_memory_client_initializes_writes_and_reads_back(tmp_path: Path) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path)) as server, memory_connection(server) as client:
            init = await client.initialize()
            await client.request("config/value/write", {"keyPath": "model", "value": "o3", "mergeStrategy": "replace"})
            config = await client.request("config/read", {})
            first = await client.receive()  # kept aside while waiting for the responses
    assert init["codexHome"] == str(tmp_path / "home")
    assert config["config"]["model"] == "o3"
    assert first["method"] == "remoteControl/status/changed"
    assert (tmp_path / "home" / "config.toml").read_text() == 'model = "o3"\n'


async def test_an_error_response_raises_response_error_with_the_wire_code_and_message(tmp_path: Path) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path)) as server, memory_connection(server) as client:
            with pytest.raises(ResponseError) as raised:
                await client.request("config/read", {})
            response = await client.call("nope/nope", {})
    assert (raised.value.code, raised.value.message) == (-32600, "Not initialized")
    assert raised.value.response["id"] == 0
    assert response["error"]["code"] == -32600
    assert response["error"]["message"].startswith("Invalid request: unknown variant `nope/nope`")


async def test_a_memory_frame_is_one_message_two_in_one_frame_are_dropped(tmp_path: Path) -> None:
    two = b'{"id":"a","method":"config/read","params":{}}{"id":"b","method":"config/read","params":{}}'
    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path)) as server, memory_connection(server) as client:
            await client.initialize()
            await client.send(two)
            await client.send('{"id":"c","method":"config/read","params":{}}')
            replies = [await client.receive() for _ in range(2)]
    assert [r.get("id", r.get("method")) for r in replies] == ["remoteControl/status/changed", "c"]


async def test_a_memory_frame_over_the_frame_limit_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chamberlain")
    big = json.dumps({"id": "big", "method": "config/read", "params": {"cwd": "x" * 200}})
    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path, max_frame_bytes=160)) as server, \
                memory_connection(server) as client:
            await client.send(big)
            reply = await client.call("initialize", CLIENT_INFO)
    assert reply["id"] == 0 and "result" in reply
    assert "dropping a frame larger than the maximum of 160 bytes" in caplog.text


async def test_closing_a_memory_client_answers_what_it_sent_then_ends_the_stream(tmp_path: Path) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path)) as server, memory_connection(server) as client:
            await client.initialize()
            for i in range(5):
                await client.send({"id": f"w{i}", "method": "config/value/write",
                                   "params": {"keyPath": f"k{i}", "value": i, "mergeStrategy": "replace"}})
            client.close()
            answered = await _drain(client)
    assert sorted(m["id"] for m in answered if "id" in m) == [f"w{i}" for i in range(5)]
    assert all("result" in m for m in answered if "id" in m)


async def _drain(client: MemoryClient) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(await client.receive())
        except trio.EndOfChannel:
            return out


async def test_serve_stdio_on_given_streams_starts_with_its_label_and_returns_at_end_of_input(
    tmp_path: Path,
) -> None:
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    frames = [{"id": 0, "method": "initialize", "params": CLIENT_INFO},
              {"id": 1, "method": "config/read", "params": {}}]
    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path)) as server, trio.open_nursery() as nursery:
            label = await nursery.start(serve_stdio, server, c2s_recv, s2c_send)
            await c2s_send.send_all(b"".join(json.dumps(f).encode() + b"\n" for f in frames))
            await c2s_send.aclose()
        # serve_stdio returned at end of input: the nursery closed without a cancel
        await s2c_send.aclose()
        data = b""
        while chunk := await s2c_recv.receive_some():
            data += chunk
    replies = [json.loads(line) for line in data.splitlines()]
    assert label == "stdio"
    assert [r["id"] for r in replies if "id" in r] == [0, 1]
    assert all("result" in r for r in replies if "id" in r)


async def test_a_transport_given_settings_runs_a_server_of_its_own(tmp_path: Path) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            host, port = await nursery.start(serve_websocket, _settings(tmp_path, "ws-home"))
            path = await nursery.start(serve_unix, _settings(tmp_path, "unix-home"))
            async with trio_websocket.open_websocket_url(f"ws://{host}:{port}/") as ws:
                ws_home = await _initialize(ws)
            async with unix_websocket(path) as ws:
                unix_home = await _initialize(ws)
            nursery.cancel_scope.cancel(reason="host stops")
    assert (host, ws_home, unix_home) == ("127.0.0.1", str(tmp_path / "ws-home"), str(tmp_path / "unix-home"))
    assert path == str(tmp_path / "unix-home" / "app-server-control" / "app-server-control.sock")
    assert not await trio.Path(path).is_symlink()


async def _initialize(ws: trio_websocket.WebSocketConnection) -> str:
    await ws.send_message(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}))
    reply = json.loads(await ws.get_message())
    return str(reply["result"]["codexHome"])




async def test_two_servers_on_different_homes_run_in_one_process_without_sharing_state(tmp_path: Path) -> None:
    a_done = trio.Event()
    seen_by_b: list[tuple[Any, Any]] = []

    async def on_a(client: MemoryClient) -> None:
        await client.request("config/value/write", {"keyPath": "model", "value": "o3", "mergeStrategy": "replace"})
        await client.request("account/login/start", {"type": "apiKey", "apiKey": "sk-only-a"})
        a_done.set()

    async def on_b(client: MemoryClient) -> None:
        while True:  # reads while A writes and logs in, and once more after
            finished = a_done.is_set()
            config = await client.request("config/read", {})
            account = await client.request("account/read", {})
            seen_by_b.append((config["config"].get("model"), account["account"]))
            if finished:
                return

    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path, "a")) as a, open_server(_settings(tmp_path, "b")) as b, \
                memory_connection(a) as client_a, memory_connection(b) as client_b:
            await client_a.initialize()
            await client_b.initialize()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(on_a, client_a)
                nursery.start_soon(on_b, client_b)
            account_a = await client_a.request("account/read", {})
            model_a = (await client_a.request("config/read", {}))["config"]["model"]
            client_b.close()
            b_frames = await _drain(client_b)
    assert (model_a, account_a["account"]) == ("o3", {"type": "apiKey"})
    assert len(seen_by_b) >= 2 and set(seen_by_b) == {(None, None)}
    assert not any(f.get("method", "").startswith("account/") for f in b_frames)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["installation_id"]
    assert (tmp_path / "a" / "config.toml").read_text() == 'model = "o3"\n'
    assert json.loads((tmp_path / "a" / "auth.json").read_text())["OPENAI_API_KEY"] == "sk-only-a"


async def test_serve_stdio_given_settings_runs_a_server_of_its_own_until_end_of_input(tmp_path: Path) -> None:
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_stdio, _settings(tmp_path, "own-home"), c2s_recv, s2c_send)
            await c2s_send.send_all(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}).encode())
            await c2s_send.aclose()
        await s2c_send.aclose()
        first = json.loads((await s2c_recv.receive_some()).splitlines()[0])
    assert first["result"]["codexHome"] == str(tmp_path / "own-home")


async def test_a_client_arriving_after_the_server_stopped_is_not_served_and_raises_nothing(tmp_path: Path) -> None:
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    with trio.fail_after(IO_BOUND_S):
        async with open_server(_settings(tmp_path)) as server:
            server.stop()
            await trio.testing.wait_all_tasks_blocked()  # run() has returned
            await c2s_send.send_all(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}).encode())
            await server.serve_connection(LineTransport(c2s_recv, s2c_send))
        await s2c_send.aclose()
        assert await s2c_recv.receive_some() == b""
