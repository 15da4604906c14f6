"""Many clients on one server (issue 8): 200 WebSocket clients at once, each initializing, reading
the config, writing its own key and reading it back; every request gets exactly one reply and no
write is lost. A ``-32001`` (the server's inbox full, spec §11.6) is retried after a jittered
pause, as the spec tells clients to; every request ends with a result.

Testing charter: the server and its listener run in the test's nursery on a loopback port (real
clock: writes fsync in a worker thread); the clients are trio-websocket's, all in the test's
nursery; the whole test is bounded by ``fail_after``.
"""

from __future__ import annotations

import json
import random
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
import trio
import trio_websocket
from chamberlain.actors.server import Settings
from chamberlain.actors.ws_transport import serve_websocket

CLIENTS: Final = 200
READS: Final = 3
IO_BOUND_S: Final = 60
OVERLOADED: Final = -32001
RETRIES: Final = 30  # jittered exponential back-off, at most 0.5 s between attempts


@pytest.fixture
async def ws_address(harness: Any, codex_home: Path, system_dir: Path) -> AsyncIterator[tuple[str, int]]:
    (codex_home / "config.toml").write_text('model = "o3"\n')
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
        yield await nursery.start(serve_websocket, server, "127.0.0.1", 0)
        nursery.cancel_scope.cancel(reason="test finished")


async def _call(ws: trio_websocket.WebSocketConnection, request_id: int, method: str, params: Any) -> Any:
    """One request; its reply. Replies to earlier requests never arrive late (each has one)."""
    for attempt in range(RETRIES):
        await ws.send_message(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await ws.get_message())
            if "id" in reply:
                break
        assert reply["id"] == request_id
        if reply.get("error", {}).get("code") != OVERLOADED:
            return reply
        await trio.sleep(random.uniform(0.5, 1.0) * min(0.5, 0.005 * 2**attempt))
    return reply


async def _one_client(url: str, n: int, replies: dict[tuple[int, int], Any]) -> None:
    async with trio_websocket.open_websocket_url(url) as ws:
        replies[n, 0] = await _call(ws, 0, "initialize", {"clientInfo": {"name": f"c{n}", "version": "1"}})
        await ws.send_message(json.dumps({"method": "initialized"}))
        for i in range(1, READS + 1):
            replies[n, i] = await _call(ws, i, "config/read", {})
        write = {"keyPath": f"desktop.client_{n}", "value": n, "mergeStrategy": "replace"}
        replies[n, READS + 1] = await _call(ws, READS + 1, "config/value/write", write)
        replies[n, READS + 2] = await _call(ws, READS + 2, "config/read", {})


async def test_two_hundred_websocket_clients_reading_and_writing_at_once_lose_no_reply(
    ws_address: tuple[str, int], codex_home: Path,
) -> None:
    host, port = ws_address
    replies: dict[tuple[int, int], Any] = {}
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            for n in range(CLIENTS):
                nursery.start_soon(_one_client, f"ws://{host}:{port}/", n, replies)
    assert len(replies) == CLIENTS * (READS + 3)
    assert [(k, r) for k, r in replies.items() if "result" not in r] == []
    assert all(replies[n, READS + 1]["result"]["status"] == "ok" for n in range(CLIENTS))
    # each client reads back its own write
    assert all(replies[n, READS + 2]["result"]["config"]["desktop"][f"client_{n}"] == n for n in range(CLIENTS))
    written = tomllib.loads((codex_home / "config.toml").read_text())
    assert written["desktop"] == {f"client_{n}": n for n in range(CLIENTS)}
