"""The WebSocket listener's plain-HTTP answers (config.md §11.3), byte for byte as the reference's.

Testing charter: a real server in the test's nursery on a loopback port, raw TCP requests; the
``date`` header is the only varying part and is checked for shape, then cut out.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import trio
from chamberlain.actors.server import Settings
from chamberlain.actors.ws_transport import NonLoopbackWithoutAuth, serve_websocket

IO_BOUND_S = 10
DATE = re.compile(rb"date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")
UPGRADE = (b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


async def _exchange(port: int, request: bytes, *, until_close: bool = False) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        out = b""
        while True:
            with trio.move_on_after(0.3 if not until_close else IO_BOUND_S):
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return out
                out += chunk
                continue
            return out


def _undated(response: bytes, count: int = 1) -> bytes:
    assert len(DATE.findall(response)) == count, response
    return DATE.sub(b"", response)


@pytest.fixture
async def ws_port(harness: Any, codex_home: Path, system_dir: Path) -> Any:
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
        _, port = await nursery.start(serve_websocket, server, "127.0.0.1", 0)
        yield port
        nursery.cancel_scope.cancel(reason="test finished")


@pytest.mark.parametrize("path", [b"/readyz", b"/healthz"])
async def test_health_probes_answer_200_empty(ws_port: int, path: bytes) -> None:
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
    assert _undated(got) == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


async def test_probe_connection_stays_open_for_a_second_request(ws_port: int) -> None:
    request = b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, request + b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _undated(got, 2) == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n" * 2


@pytest.mark.parametrize("request_head", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\n" + UPGRADE + b"\r\n",
])
async def test_any_request_with_an_origin_is_403_empty(ws_port: int, request_head: bytes) -> None:
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, request_head)
    assert _undated(got) == b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"


async def test_a_plain_request_elsewhere_is_400_connection_without_upgrade(ws_port: int) -> None:
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _undated(got) == (
        b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 43\r\n\r\n"
        b"Connection header did not include 'upgrade'"
    )


@pytest.mark.parametrize(("request_head", "status", "body"), [
    (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", b"405 Method Not Allowed",
     b"Request method must be `GET`"),
    (b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", b"400 Bad Request",
     b"`Upgrade` header did not include 'websocket'"),
    (b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 12\r\n\r\n",
     b"400 Bad Request", b"`Sec-WebSocket-Version` header did not include '13'"),
    (b"GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
     b"400 Bad Request", b"`Sec-WebSocket-Key` header missing"),
])
async def test_a_bad_upgrade_is_refused_with_the_reference_text(
    ws_port: int, request_head: bytes, status: bytes, body: bytes,
) -> None:
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, request_head)
    assert _undated(got) == (b"HTTP/1.1 %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                             b"content-length: %d\r\n\r\n%s" % (status, len(body), body))


async def test_another_method_on_a_probe_path_is_405_with_allow(ws_port: int) -> None:
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, b"POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert _undated(got) == b"HTTP/1.1 405 Method Not Allowed\r\nallow: GET,HEAD\r\ncontent-length: 0\r\n\r\n"


@pytest.mark.parametrize("garbage", [b"garbage\r\n\r\n", b'{"id":1}\n'])
async def test_a_malformed_request_is_400_and_closed(ws_port: int, garbage: bytes) -> None:
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, garbage, until_close=True)
    assert _undated(got) == b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


async def test_the_upgrade_answers_101_without_the_offered_extensions(ws_port: int) -> None:
    offer = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n"
    with trio.fail_after(IO_BOUND_S):
        got = await _exchange(ws_port, b"GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE + offer + b"\r\n")
    assert _undated(got) == (
        b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n"
        b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    )


async def test_the_auth_hook_answers_the_upgrade_but_not_the_probes(harness: Any, codex_home: Path,
                                                                    system_dir: Path) -> None:
    refusal = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 4\r\n\r\nnope"
    seen: list[list[tuple[bytes, bytes]]] = []

    def check(headers: list[tuple[bytes, bytes]]) -> bytes | None:
        seen.append(headers)
        return refusal

    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
            _, port = await nursery.start(
                lambda task_status: serve_websocket(server, "0.0.0.0", 0, check_upgrade=check,
                                                    task_status=task_status))
            probe = await _exchange(port, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            upgrade = await _exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
                                      + UPGRADE + b"\r\n", until_close=True)
            nursery.cancel_scope.cancel(reason="test finished")
    assert _undated(probe) == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    assert upgrade == refusal
    assert len(seen) == 1 and (b"authorization", b"Bearer t") in seen[0]


async def test_a_non_loopback_listener_without_auth_is_refused_before_binding(
    harness: Any, codex_home: Path, system_dir: Path,
) -> None:
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
        with pytest.raises(NonLoopbackWithoutAuth) as caught:
            await nursery.start(serve_websocket, server, "0.0.0.0", 47902)
    assert str(caught.value) == (
        "refusing to start non-loopback websocket listener 0.0.0.0:47902 without auth; "
        "configure `--ws-auth capability-token` or `--ws-auth signed-bearer-token`"
    )
