"""``chamberlain app-server --listen ws://…|unix://…`` as a process (config.md §11.1, §11.3, §11.5):
the reference's banner and refusals, SIGTERM removes the socket; and the reference's own
``codex app-server proxy --sock`` talks to Chamberlain's unix socket (skipped without codex).

Testing charter: real processes with the real clock; every wait is bounded by ``fail_after``.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trio_websocket

IO_BOUND_S = 20
CLIENT_INFO = {"clientInfo": {"name": "test", "title": "Test", "version": "1.0.0"}}


def _command(*listen: str) -> list[str]:
    return [sys.executable, "-m", "chamberlain", "app-server", *listen]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "CODEX_HOME": str(home), "RUST_LOG": "warn"}


async def _read_lines(stream: trio.abc.ReceiveStream, count: int) -> list[str]:
    data = b""
    while data.count(b"\n") < count:
        chunk = await stream.receive_some()
        assert chunk, data
        data += chunk
    return data.decode().splitlines()[:count]


async def test_a_websocket_listener_prints_the_reference_banner_and_answers(tmp_path: Path) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            proc = await nursery.start(functools.partial(
                trio.run_process, _command("--listen", "ws://127.0.0.1:0"), env=_env(tmp_path / "home"),
                stderr=subprocess.PIPE, check=False))
            assert proc.stderr is not None
            banner = await _read_lines(proc.stderr, 5)
            port = int(banner[1].rpartition(":")[2])
            async with trio_websocket.open_websocket_url(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send_message(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}))
                reply = json.loads(await ws.get_message())
            proc.send_signal(signal.SIGTERM)
    assert banner == [
        "codex app-server (WebSockets)",
        f"  listening on: ws://127.0.0.1:{port}",
        f"  readyz: http://127.0.0.1:{port}/readyz",
        f"  healthz: http://127.0.0.1:{port}/healthz",
        "  note: binds localhost only (use SSH port-forwarding for remote access)",
    ]
    assert reply["id"] == 0 and "result" in reply
    assert proc.returncode == 0


def test_a_non_loopback_listener_without_auth_refuses_to_start(tmp_path: Path) -> None:
    proc = subprocess.run(_command("--listen", "ws://0.0.0.0:47902"), env=_env(tmp_path / "home"),
                          capture_output=True, timeout=IO_BOUND_S, check=False)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "Error: refusing to start non-loopback websocket listener 0.0.0.0:47902 without auth; "
        "configure `--ws-auth capability-token` or `--ws-auth signed-bearer-token`"
    ]


@pytest.mark.parametrize(("url", "reason"), [
    ("tcp://1.2.3.4:5", "unsupported --listen URL `tcp://1.2.3.4:5`; expected `stdio://`, `unix://`, `unix://PATH`, "
                        "`ws://IP:PORT`, or `off`"),
    ("ws://nope", "invalid websocket --listen URL `ws://nope`; expected `ws://IP:PORT`"),
    ("ws://127.0.0.1:99999", "invalid websocket --listen URL `ws://127.0.0.1:99999`; expected `ws://IP:PORT`"),
])
def test_a_listen_value_the_reference_does_not_parse_is_a_usage_error_with_its_reason(
    tmp_path: Path, url: str, reason: str,
) -> None:
    proc = subprocess.run(_command("--listen", url), env=_env(tmp_path / "home"),
                          capture_output=True, timeout=IO_BOUND_S, check=False)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines()[-1] == f"chamberlain app-server: error: argument --listen: {reason}"
    assert proc.stderr.decode().startswith("usage: chamberlain app-server")


def test_listen_off_is_refused_as_the_reference_refuses_it(tmp_path: Path) -> None:
    proc = subprocess.run(_command("--listen", "off"), env=_env(tmp_path / "home"),
                          capture_output=True, timeout=IO_BOUND_S, check=False)
    assert proc.returncode == 1
    refusal = "Error: no transport configured; use --listen or enable remote control"
    assert proc.stderr.decode().splitlines() == [refusal]


async def test_a_second_cli_server_on_the_default_socket_is_refused_and_sigterm_removes_it(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    sock = home / "app-server-control" / "app-server-control.sock"
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            first = await nursery.start(functools.partial(
                trio.run_process, _command("--listen", "unix://"), env=_env(home), check=False))
            while not sock.is_symlink():  # noqa: ASYNC110 - a separate process: nothing to wait on
                await trio.sleep(0.05)
            second = await trio.run_process(_command("--listen", "unix://"), env=_env(home),
                                            capture_stderr=True, check=False)
            first.send_signal(signal.SIGTERM)
    assert second.returncode == 1
    assert second.stderr.decode().splitlines() == [
        f"Error: app-server control socket is already in use at {sock}"
    ]
    assert first.returncode == 0
    assert not sock.is_symlink()


async def test_the_reference_proxy_reaches_chamberlains_unix_socket(
    tmp_path: Path, reference_binary: Path,
) -> None:
    home = tmp_path / "home"
    sock = tmp_path / "s.sock"
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(functools.partial(
                trio.run_process, _command("--listen", f"unix://{sock}"), env=_env(home), check=False))
            while not sock.is_symlink():  # noqa: ASYNC110 - a separate process: nothing to wait on
                await trio.sleep(0.05)
            proxy = await nursery.start(functools.partial(
                trio.run_process, [str(reference_binary), "app-server", "proxy", "--sock", str(sock)],
                env=_env(tmp_path / "proxy-home"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, check=False))
            assert proxy.stdin is not None and proxy.stdout is not None
            pipe = trio.StapledStream(proxy.stdin, proxy.stdout)
            async with trio.open_nursery() as client:
                # trio-websocket types its stream as a socket, but any trio Stream works
                ws = await trio_websocket.wrap_client_stream(client, pipe, "localhost", "/")  # type: ignore[arg-type]
                await ws.send_message(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}))
                reply = json.loads(await ws.get_message())
                client.cancel_scope.cancel(reason="client finished")
            proxy.kill()
            server.send_signal(signal.SIGTERM)
    assert reply["id"] == 0 and reply["result"]["codexHome"] == str(home)


async def test_ws_auth_capability_token_guards_the_upgrade_of_the_cli_listener(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    args = ("--listen", "ws://127.0.0.1:0", "--ws-auth", "capability-token", "--ws-token-file", str(token_file))
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            proc = await nursery.start(functools.partial(
                trio.run_process, _command(*args), env=_env(tmp_path / "home"), stderr=subprocess.PIPE, check=False))
            assert proc.stderr is not None
            port = int((await _read_lines(proc.stderr, 5))[1].rpartition(":")[2])
            refused = await _upgrade(port, None)
            wrong = await _upgrade(port, "Bearer nope")
            async with trio_websocket.open_websocket_url(
                f"ws://127.0.0.1:{port}/", extra_headers=[(b"Authorization", b"bearer s3cret-token")]
            ) as ws:
                await ws.send_message(json.dumps({"id": 0, "method": "initialize", "params": CLIENT_INFO}))
                reply = json.loads(await ws.get_message())
            proc.send_signal(signal.SIGTERM)
    assert refused.startswith(b"HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain; charset=utf-8\r\n")
    assert refused.endswith(b"\r\n\r\nmissing websocket bearer token")
    assert wrong.endswith(b"\r\n\r\ninvalid websocket bearer token")
    assert "result" in reply
    assert proc.returncode == 0


async def _upgrade(port: int, authorization: str | None) -> bytes:
    """A raw upgrade request; the whole answer of a server that closes after a refusal."""
    lines = [f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"]
    if authorization is not None:
        lines.append(f"Authorization: {authorization}\r\n")
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(("".join(lines) + "\r\n").encode())
        data = b""
        while chunk := await stream.receive_some():
            data += chunk
    return data


def test_ws_auth_flag_errors_refuse_to_start_before_the_listener(tmp_path: Path) -> None:
    proc = subprocess.run(_command("--listen", "ws://0.0.0.0:47903", "--ws-auth", "capability-token"),
                          env=_env(tmp_path / "home"), capture_output=True, timeout=IO_BOUND_S, check=False)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "Error: `--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set"
    ]
