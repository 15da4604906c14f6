"""SIGTERM and SIGINT of ``chamberlain app-server`` on each transport (stdio, ``ws://``,
``unix://``): exit 0 within one second, no traceback, the unix socket removed, the WebSocket port
and a pending browser login's callback port released, and every write that was answered on disk
(the first signal is a graceful stop). A request still unanswered is given up at
``SIGNAL_GRACE_S``, or at once on a second signal.

The reference (codex-cli 0.169.0, measured): SIGTERM exits 0 in ~16 ms on all three transports;
SIGINT exits 0 on ``ws://`` and ``unix://`` and kills the stdio server (no handler: status -2);
the unix socket is removed (docs/differences.md).

Testing charter: real processes and the real clock, the client and the fake issuer in the test's
trio run; every wait is bounded by ``fail_after``; the stop time is measured on trio's clock from
the signal to the process's exit.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import pytest
import trio
import trio_websocket
from chamberlain.actors.unix_listener import _real_path
from chamberlain.cli_listen import SIGNAL_GRACE_S
from chamberlain.fake_openai import FOREVER, Endpoint, FakeOpenAI, Reply
from support import port_is_free

IO_BOUND_S = 20
STOP_BOUND_S = 1.0
WRITES = 20
CLIENT_INFO = {"clientInfo": {"name": "test", "title": "Test", "version": "1.0.0"}}
LISTEN: Final = {"stdio": "stdio://", "ws": "ws://127.0.0.1:0", "unix": "unix://"}
SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


def _env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CODEX_", "CHAMBERLAIN_", "OPENAI_")) and not k.lower().endswith("_proxy")}
    env.update(CODEX_HOME=str(tmp_path / "home"), CHAMBERLAIN_SYSTEM_CONFIG_DIR=str(tmp_path / "etc"),
               RUST_LOG="warn", **(extra or {}))
    return env




class Client:
    """One JSON-RPC client of the process: a WebSocket (TCP or unix) or its stdin/stdout."""

    def __init__(self, proc: trio.Process, stream: trio.abc.Stream | None = None,
                 ws: trio_websocket.WebSocketConnection | None = None) -> None:
        self._ws = ws
        self._stream = stream
        self._proc = proc
        self._buffer = b""

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws is not None:
            await self._ws.send_message(json.dumps(message))
            return
        assert self._proc.stdin is not None
        await self._proc.stdin.send_all(json.dumps(message).encode() + b"\n")

    async def receive(self) -> dict[str, Any] | None:
        """The next message; None once the server closed the connection."""
        if self._ws is not None:
            try:
                frame = await self._ws.get_message()
            except trio_websocket.ConnectionClosed:
                return None
            return dict(json.loads(frame))
        assert self._proc.stdout is not None
        while b"\n" not in self._buffer:
            chunk = await self._proc.stdout.receive_some()
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return dict(json.loads(line))

    async def answer(self, request_id: Any) -> dict[str, Any]:
        while True:
            message = await self.receive()
            assert message is not None, "the server closed the connection"
            if message.get("id") == request_id and "method" not in message:
                return message

    async def request(self, request_id: Any, method: str, params: Any) -> Any:
        await self.send({"id": request_id, "method": method, "params": params})
        reply = await self.answer(request_id)
        assert "result" in reply, reply
        return reply["result"]

    async def rest(self) -> list[dict[str, Any]]:
        """Everything until the server closes the connection (then closes the client's end)."""
        out = []
        while (message := await self.receive()) is not None:
            out.append(message)
        if self._stream is not None:
            await self._stream.aclose()
        return out


async def _start(nursery: trio.Nursery, kind: str, env: dict[str, str]) -> trio.Process:
    command = [sys.executable, "-m", "chamberlain", "app-server", "--listen", LISTEN[kind],
               "--login-callback-port", "0"]
    proc: trio.Process = await nursery.start(functools.partial(
        trio.run_process, command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        check=False))
    return proc


async def _stderr_lines(proc: trio.Process, count: int) -> list[str]:
    assert proc.stderr is not None
    data = b""
    while data.count(b"\n") < count:
        chunk = await proc.stderr.receive_some()
        assert chunk, data
        data += chunk
    return data.decode().splitlines()


async def _connect(nursery: trio.Nursery, kind: str, proc: trio.Process, home: Path) -> tuple[Client, list[str], int]:
    """The client, the stderr lines of the start-up and the WebSocket port (0 for others)."""
    if kind == "stdio":
        return Client(proc), await _stderr_lines(proc, 1), 0
    if kind == "ws":
        banner = await _stderr_lines(proc, 5)
        port = int(banner[1].rpartition(":")[2])
        stream: trio.abc.Stream = await trio.open_tcp_stream("127.0.0.1", port)
        ws = await trio_websocket.wrap_client_stream(nursery, stream, "127.0.0.1", "/")  # type: ignore[arg-type]
        return Client(proc, stream, ws), banner, port
    sock = home / "app-server-control" / "app-server-control.sock"
    while not sock.is_symlink():  # noqa: ASYNC110 - a separate process: nothing to wait on
        await trio.sleep(0.02)
    stream = await trio.open_unix_socket(str(sock.resolve()))
    ws = await trio_websocket.wrap_client_stream(nursery, stream, "localhost", "/")
    return Client(proc, stream, ws), [], 0


def _write(i: int) -> dict[str, Any]:
    return {"id": f"w{i}", "method": "config/value/write",
            "params": {"keyPath": f"desktop.k{i}", "value": i, "mergeStrategy": "replace"}}


@pytest.mark.parametrize("signum", SIGNALS)
@pytest.mark.parametrize("kind", ["stdio", "ws", "unix"])
async def test_a_signal_stops_a_busy_cli_server_within_a_second_leaving_nothing_behind(
    tmp_path: Path, kind: str, signum: int,
) -> None:
    home = tmp_path / "home"
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            proc = await _start(nursery, kind, _env(tmp_path))
            client, startup, ws_port = await _connect(nursery, kind, proc, home)
            await client.request(0, "initialize", CLIENT_INFO)
            login = await client.request(1, "account/login/start", {"type": "chatgpt"})
            callback_port = urlsplit(dict(parse_qsl(urlsplit(login["authUrl"]).query))["redirect_uri"]).port or 0
            assert callback_port and not port_is_free(callback_port)
            for i in range(WRITES):
                await client.send(_write(i))
            answered = [(await client.answer("w0"))["id"]]  # the others are queued or being written
            stop_at = trio.current_time()
            proc.send_signal(signum)
            answered += [m["id"] for m in await client.rest() if "id" in m and "result" in m]
            await proc.wait()
            stopped_in = trio.current_time() - stop_at
            stderr = await _stderr_lines(proc, 0)
            nursery.cancel_scope.cancel(reason="the process has exited")
    assert stopped_in < STOP_BOUND_S
    assert proc.returncode == 0
    assert stderr == [] and "Traceback" not in "\n".join(startup)
    assert not (home / "app-server-control" / "app-server-control.sock").is_symlink()
    assert not _real_path(home / "app-server-control" / "app-server-control.sock").exists()
    assert port_is_free(callback_port) and (not ws_port or port_is_free(ws_port))
    written = (home / "config.toml").read_text().splitlines()[1:]
    assert sorted(written) == sorted(f"k{i[1:]} = {i[1:]}" for i in answered)


@pytest.mark.parametrize("second_signal", [False, True], ids=["grace", "second-signal"])
async def test_an_unanswerable_request_is_given_up_at_the_grace_deadline_or_at_a_second_signal(
    tmp_path: Path, second_signal: bool,
) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
            fake.push(Endpoint.DEVICE_USERCODE, Reply(200, {}, delay_s=FOREVER))
            proc = await _start(nursery, "stdio", _env(tmp_path, fake.codex_env()))
            client, _, _ = await _connect(nursery, "stdio", proc, tmp_path / "home")
            await client.request(0, "initialize", CLIENT_INFO)
            await client.send({"id": "slow", "method": "account/login/start", "params": {"type": "chatgptDeviceCode"}})
            await fake.wait_for(Endpoint.DEVICE_USERCODE)  # the request is in flight, waiting for the issuer
            stop_at = trio.current_time()
            proc.send_signal(signal.SIGTERM)
            if second_signal:
                await trio.sleep(0.05)
                proc.send_signal(signal.SIGTERM)
            rest = await client.rest()
            await proc.wait()
            stopped_in = trio.current_time() - stop_at
            stderr = await _stderr_lines(proc, 0)
            nursery.cancel_scope.cancel(reason="the process has exited")
    assert proc.returncode == 0 and stderr == []
    assert [m for m in rest if m.get("id") == "slow"] == []
    if second_signal:
        assert stopped_in < SIGNAL_GRACE_S
    else:
        assert SIGNAL_GRACE_S <= stopped_in < STOP_BOUND_S
