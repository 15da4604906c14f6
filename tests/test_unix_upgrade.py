"""The unix socket's upgrade as codex-cli 0.169.0 answers it (config.md §11.5; measured with raw
requests on its ``--listen unix://`` socket): the 101 head of its own, any path, ``Origin`` and a
missing ``Host`` accepted, no health probes, anything else closed without a byte, and no
``--ws-auth`` on the socket (its file mode guards it).

Testing charter: raw requests on the real socket of a server in the test's trio run (and one CLI
process); every test is bounded by ``fail_after``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from chamberlain.actors.server import Settings
from chamberlain.actors.unix_listener import serve_unix

IO_BOUND_S = 10
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
UPGRADE = (b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Key: " + KEY + b"\r\n")
ACCEPT = base64.b64encode(hashlib.sha1(KEY + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
#: the reference's 101 on its unix socket, byte for byte
SWITCHING = (b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"
             b"sec-websocket-accept: " + ACCEPT + b"\r\n"
             b"x-codex-websocket-max-unfragmented-message-bytes: 16777216\r\n\r\n")


@asynccontextmanager
async def _socket(harness: Any, codex_home: Path, system_dir: Path, tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
        path = await nursery.start(serve_unix, server, tmp_path / "s.sock")
        yield str(await trio.Path(path).resolve())
        nursery.cancel_scope.cancel(reason="test finished")


async def _answer(path: str, request: bytes, *, until: bytes | None = None) -> bytes:
    """What the socket answers ``request``: everything up to its close, or up to ``until``."""
    stream = await trio.open_unix_socket(path)
    async with stream:
        await stream.send_all(request)
        data = b""
        while (until is None or until not in data) and (chunk := await stream.receive_some()):
            data += chunk
    return data


@pytest.fixture
async def sock(harness: Any, codex_home: Path, system_dir: Path, tmp_path: Path) -> AsyncIterator[str]:
    async with _socket(harness, codex_home, system_dir, tmp_path) as path:
        yield path


@pytest.mark.parametrize("request_head", [
    b"GET /rpc HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE,
    b"GET /any/path?x=1 HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE,
    b"GET / HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\n" + UPGRADE,
    b"GET /rpc HTTP/1.1\r\n" + UPGRADE,  # no Host
])
async def test_an_upgrade_gets_the_references_unix_socket_head(sock: str, request_head: bytes) -> None:
    with trio.fail_after(IO_BOUND_S):
        answer = await _answer(sock, request_head + b"\r\n", until=b"\r\n\r\n")
    assert answer == SWITCHING


@pytest.mark.parametrize("request_head", [
    b"GET /readyz HTTP/1.1\r\nHost: localhost\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n",
    b"GET /rpc HTTP/1.1\r\nHost: localhost\r\n",
    b"POST /rpc HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE,
    b"GET /rpc HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE.replace(b"Version: 13", b"Version: 12"),
    b"GET /rpc HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE.split(b"Sec-WebSocket-Key")[0],  # no key
])
async def test_anything_but_an_upgrade_is_closed_without_a_byte(sock: str, request_head: bytes) -> None:
    with trio.fail_after(IO_BOUND_S):
        answer = await _answer(sock, request_head + b"\r\n")
    assert answer == b""


async def test_a_session_without_a_host_header_is_served(sock: str, codex_home: Path) -> None:
    initialize = json.dumps({"id": 0, "method": "initialize",
                             "params": {"clientInfo": {"name": "raw", "version": "1"}}}).encode()
    assert len(initialize) < 126
    frame = bytes([0x81, 0x80 | len(initialize)]) + b"\0\0\0\0" + initialize  # a text frame, zero mask
    with trio.fail_after(IO_BOUND_S):
        stream = await trio.open_unix_socket(sock)
        async with stream:
            await stream.send_all(b"GET /rpc HTTP/1.1\r\n" + UPGRADE + b"\r\n")
            data = b""
            while not data.startswith(SWITCHING):
                data += await stream.receive_some()
            await stream.send_all(frame)  # after the 101, as clients do (the reference drops pipelined frames)
            while b"platformOs" not in data:
                data += await stream.receive_some()
    body = data.removeprefix(SWITCHING)
    assert body[0] == 0x81 and body[1] == 126  # one text frame, a 16-bit length
    assert json.loads(body[4:].split(b"}}", 1)[0] + b"}}")["result"]["codexHome"] == str(codex_home)


async def test_the_cli_asks_no_ws_auth_token_on_the_unix_socket(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    path = tmp_path / "cli.sock"
    command = [sys.executable, "-m", "chamberlain", "app-server", "--listen", f"unix://{path}",
               "--ws-auth", "capability-token", "--ws-token-file", str(token_file)]
    env = {**os.environ, "CODEX_HOME": str(tmp_path / "home"), "RUST_LOG": "warn"}
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            proc = await nursery.start(functools.partial(trio.run_process, command, env=env,
                                                         stderr=subprocess.DEVNULL, check=False))
            while not await trio.Path(path).is_symlink():  # noqa: ASYNC110 - another process
                await trio.sleep(0.05)
            real = str(await trio.Path(path).resolve())
            answer = await _answer(real, b"GET /rpc HTTP/1.1\r\nHost: localhost\r\n" + UPGRADE + b"\r\n",
                                   until=b"\r\n\r\n")
            proc.send_signal(signal.SIGTERM)
    assert answer == SWITCHING
