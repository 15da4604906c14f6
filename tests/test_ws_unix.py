"""The unix-socket transport (config.md §11.5): WebSocket over a unix stream, mode 0600, removed at
stop, one live server per socket, a killed server's socket taken over.

Testing charter: listeners in the test's nursery (the real clock: binding takes a thread for the
start-up lock); a stale socket is a bound, never-listening socket whose process "died" (closed).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from chamberlain.actors.server import Server, Settings
from chamberlain.actors.unix_listener import ControlSocketInUse, _real_path, default_socket_path, serve_unix
from support import unix_websocket

IO_BOUND_S = 10
CLIENT_INFO = {"clientInfo": {"name": "test", "title": "Test", "version": "1.0.0"}}


@asynccontextmanager
async def _server(harness: Any, codex_home: Path, system_dir: Path) -> AsyncIterator[Server]:
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server:
        yield server




async def test_a_session_over_the_unix_socket(harness: Any, codex_home: Path, system_dir: Path,
                                              tmp_path: Path) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with _server(harness, codex_home, system_dir) as server, trio.open_nursery() as nursery:
            path = await nursery.start(serve_unix, server, tmp_path / "s.sock")
            async with unix_websocket(path) as ws:
                await ws.send_message(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}))
                reply = json.loads(await ws.get_message())
            nursery.cancel_scope.cancel(reason="test finished")
    assert path == str(tmp_path / "s.sock")
    assert reply["id"] == 0 and reply["result"]["codexHome"] == str(codex_home)


async def test_raw_json_lines_on_the_unix_socket_are_refused_and_closed(
    harness: Any, codex_home: Path, system_dir: Path, tmp_path: Path,
) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with _server(harness, codex_home, system_dir) as server, trio.open_nursery() as nursery:
            path = await nursery.start(serve_unix, server, tmp_path / "s.sock")
            stream = await trio.open_unix_socket(path)
            async with stream:
                await stream.send_all(b'{"id":0,"method":"initialize","params":{}}\n')
                got = b""
                while chunk := await stream.receive_some():
                    got += chunk
            nursery.cancel_scope.cancel(reason="test finished")
    assert got == b""  # closed without a byte, as the reference's socket


async def test_the_default_socket_is_0600_in_a_0700_directory_and_removed_at_stop(
    harness: Any, codex_home: Path, system_dir: Path,
) -> None:
    where = default_socket_path(codex_home)
    with trio.fail_after(IO_BOUND_S):
        async with _server(harness, codex_home, system_dir) as server, trio.open_nursery() as nursery:
            await nursery.start(serve_unix, server, where)
            real = where.resolve()
            modes = (stat.S_IMODE(real.stat().st_mode), stat.S_IMODE(real.parent.stat().st_mode),
                     stat.S_IMODE(where.parent.stat().st_mode))
            is_socket = stat.S_ISSOCK(where.stat().st_mode)
            nursery.cancel_scope.cancel(reason="test finished")
    assert where == codex_home / "app-server-control" / "app-server-control.sock"
    assert is_socket and modes == (0o600, 0o700, 0o700)
    assert real.name == hashlib.sha256(str(where).encode()).hexdigest()
    assert real.parent.name == f"codex-daemon-{os.getuid()}"
    assert not where.is_symlink() and not real.exists()
    assert not real.with_name(real.name + ".lock").exists()
    assert (where.parent / "app-server-startup.lock").is_file()


async def test_a_second_server_on_a_live_socket_is_refused(harness: Any, codex_home: Path, system_dir: Path,
                                                          tmp_path: Path) -> None:
    where = tmp_path / "s.sock"
    with trio.fail_after(IO_BOUND_S):
        async with _server(harness, codex_home, system_dir) as server, trio.open_nursery() as nursery:
            await nursery.start(serve_unix, server, where)
            with pytest.raises(ControlSocketInUse) as refused:
                await nursery.start(serve_unix, server, where)
            still_served = where.exists()
            nursery.cancel_scope.cancel(reason="test finished")
    assert str(refused.value) == f"app-server control socket is already in use at {where}"
    assert still_served and not where.is_symlink()


async def test_a_stale_socket_of_a_killed_server_is_taken_over(harness: Any, codex_home: Path,
                                                               system_dir: Path, tmp_path: Path) -> None:
    where = tmp_path / "s.sock"
    real = _real_path(where)
    real.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(real))
    dead.close()  # the files stay, nobody answers on them and nobody holds the lock
    where.symlink_to(real)
    real.with_name(real.name + ".lock").touch()
    with trio.fail_after(IO_BOUND_S):
        async with _server(harness, codex_home, system_dir) as server, trio.open_nursery() as nursery:
            path = await nursery.start(serve_unix, server, where)
            async with unix_websocket(path) as ws:
                await ws.send_message(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}))
                reply = json.loads(await ws.get_message())
            nursery.cancel_scope.cancel(reason="test finished")
    assert "result" in reply
    assert not where.is_symlink() and not real.exists()


async def test_a_path_that_is_not_a_socket_is_left_alone(harness: Any, codex_home: Path, system_dir: Path,
                                                         tmp_path: Path) -> None:
    where = tmp_path / "s.sock"
    where.write_text("keep me\n")
    async with _server(harness, codex_home, system_dir) as server, trio.open_nursery() as nursery:
        with pytest.raises(ControlSocketInUse, match="exists and is not a socket"):
            await nursery.start(serve_unix, server, where)
    assert where.read_text() == "keep me\n"
    assert not _real_path(where).with_name(_real_path(where).name + ".lock").exists()


async def test_embedding_serves_both_listeners_and_cleans_up_when_the_scope_is_cancelled(tmp_path: Path) -> None:
    from chamberlain.embed import default_socket_path as embed_default
    from chamberlain.embed import open_server, serve_websocket
    from chamberlain.embed import serve_unix as embed_serve_unix

    home = tmp_path / "home"
    where = embed_default(home)
    with trio.fail_after(IO_BOUND_S):
        async with open_server(home, system_dir=tmp_path / "etc") as server, trio.open_nursery() as nursery:
            host, port = await nursery.start(serve_websocket, server, "127.0.0.1", 0)
            path = await nursery.start(embed_serve_unix, server, where)
            async with unix_websocket(path) as ws:
                await ws.send_message(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}))
                reply = json.loads(await ws.get_message())
            nursery.cancel_scope.cancel(reason="host stops")
        with pytest.raises(OSError):
            await trio.open_tcp_stream(host, port)
    assert "result" in reply
    assert not where.is_symlink() and not _real_path(where).exists()
