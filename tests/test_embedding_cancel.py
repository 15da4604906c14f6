"""Cancelling the scope that runs an embedded server stops it within one second and leaves nothing
behind: no traceback or warning logged, no task left in trio's task tree, the unix socket removed,
the WebSocket port and a pending browser login's callback port bindable again — with clients
connected, writes in flight and the login waiting for its callback.

Testing charter: real sockets and worker threads (config writes), so the real clock: the one-second
bound is measured on trio's clock and the whole test is bounded by ``fail_after``. The clients run
in a nursery outside the cancelled scope, as remote clients would.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import trio
import trio.lowlevel
import trio_websocket
from chamberlain.actors.unix_listener import _real_path
from chamberlain.embed import make_settings, memory_connection, open_server, serve_unix, serve_websocket
from support import port_is_free

IO_BOUND_S = 10
STOP_BOUND_S = 1.0
WRITES = 20
CLIENT_INFO = {"clientInfo": {"name": "host", "title": "Host", "version": "1.0.0"}}


def _task_tree() -> set[trio.lowlevel.Task]:
    """Every task of this trio run, from the root down."""
    found: set[trio.lowlevel.Task] = set()
    root = trio.lowlevel.current_root_task()
    assert root is not None
    todo = [root]
    while todo:
        task = todo.pop()
        found.add(task)
        for nursery in task.child_nurseries:
            todo.extend(nursery.child_tasks)
    return found




async def _answer(ws: trio_websocket.WebSocketConnection, request_id: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.get_message())
        if message.get("id") == request_id and "method" not in message:
            return message


async def _request(ws: trio_websocket.WebSocketConnection, request_id: Any, method: str, params: Any) -> Any:
    await ws.send_message(json.dumps({"id": request_id, "method": method, "params": params}))
    reply = await _answer(ws, request_id)
    assert "result" in reply, reply
    return reply["result"]


async def _closed_by_server(ws: trio_websocket.WebSocketConnection) -> bool:
    """Read what is left; True when the server closed the connection."""
    try:
        while True:
            await ws.get_message()
    except trio_websocket.ConnectionClosed:
        return True


def _write(i: int) -> str:
    params = {"keyPath": f"desktop.k{i}", "value": i, "mergeStrategy": "replace"}
    return json.dumps({"id": f"w{i}", "method": "config/value/write", "params": params})


async def test_cancelling_the_host_scope_stops_a_busy_server_within_a_second_leaving_nothing_behind(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    home = tmp_path / "home"
    settings = make_settings(home, system_dir=tmp_path / "etc", environ={"TERM": "xterm"}, login_callback_port=0)
    tasks_before = _task_tree()
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as clients:
            with trio.CancelScope() as host:
                async with open_server(settings) as server, trio.open_nursery() as listeners, \
                        memory_connection(server) as in_memory:
                    _, ws_port = await listeners.start(serve_websocket, server, "127.0.0.1", 0)
                    path = await listeners.start(serve_unix, server)
                    ws_stream = await trio.open_tcp_stream("127.0.0.1", ws_port)
                    ws = await trio_websocket.wrap_client_stream(clients, ws_stream, "127.0.0.1", "/")
                    unix_stream = await trio.open_unix_socket(str(await trio.Path(path).resolve()))
                    unix = await trio_websocket.wrap_client_stream(clients, unix_stream, "localhost", "/")
                    await _request(ws, 0, "initialize", CLIENT_INFO)
                    await _request(unix, 0, "initialize", CLIENT_INFO)
                    login = await _request(ws, 1, "account/login/start", {"type": "chatgpt"})
                    redirect = dict(parse_qsl(urlsplit(login["authUrl"]).query))["redirect_uri"]
                    callback_port = urlsplit(redirect).port or 0
                    assert callback_port and not port_is_free(callback_port)
                    await in_memory.initialize()
                    await in_memory.send({"id": "m", "method": "config/read", "params": {}})
                    for i in range(WRITES):
                        await unix.send_message(_write(i))
                    await _answer(unix, "w0")  # the others are queued or being written
                    stop_at = trio.current_time()
                    host.cancel(reason="the host stops")
            stopped_in = trio.current_time() - stop_at
            closed = [await _closed_by_server(ws), await _closed_by_server(unix)]
            await ws_stream.aclose()
            await unix_stream.aclose()
            clients.cancel_scope.cancel(reason="clients done")
    await trio.testing.wait_all_tasks_blocked()
    assert stopped_in < STOP_BOUND_S
    assert closed == [True, True]
    assert _task_tree() == tasks_before
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
    assert not (home / "app-server-control" / "app-server-control.sock").is_symlink()
    assert not _real_path(Path(path)).exists()
    assert port_is_free(ws_port) and port_is_free(callback_port)
    lines = (home / "config.toml").read_text().splitlines()  # each write whole, in order, or not at all
    assert lines == ["[desktop]", *(f"k{i} = {i}" for i in range(len(lines) - 1))]
