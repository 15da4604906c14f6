"""RFC 6455 framing of the WebSocket transport (``actors/ws_frames.py``: wsproto's sans-IO
``Connection`` driven from the connection's own task, which replaced trio-websocket on the data
path for throughput and memory per connection): fragmented messages, control frames inside them,
the close handshake, and the protocol errors that close the connection.

Testing charter: the server and its listener run in the test's nursery on a loopback port; the
client writes frames byte by byte on a raw socket, so the test controls masking, fragmentation
and reserved bits; every test is bounded by ``fail_after``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
import trio
from chamberlain.actors.server import Settings
from chamberlain.actors.ws_transport import serve_websocket

IO_BOUND_S: Final = 10
INIT: Final = json.dumps({"id": 1, "method": "initialize",
                          "params": {"clientInfo": {"name": "t", "version": "1"}}}).encode()


@pytest.fixture
async def address(harness: Any, codex_home: Path, system_dir: Path) -> AsyncIterator[tuple[str, int]]:
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
        yield await nursery.start(serve_websocket, server, "127.0.0.1", 0)
        nursery.cancel_scope.cancel(reason="test finished")


def _frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = b"\x01\x02\x03\x04") -> bytes:
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    masked = 0x80 if mask is not None else 0
    head = bytes([first, masked | n]) if n < 126 else bytes([first, masked | 126]) + struct.pack("!H", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawClient:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buf = b""

    async def frame(self) -> tuple[int, bytes]:
        """The next server frame: (opcode, payload); server frames are never masked."""
        while True:
            if len(self.buf) >= 2:
                n, off = self.buf[1] & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack("!H", self.buf[2:4])[0], 4
                if n != 126 and len(self.buf) >= off + n:
                    opcode, payload = self.buf[0] & 0x0F, self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return opcode, payload
            chunk = await self.stream.receive_some(65536)
            assert chunk, "the server closed without a close frame"
            self.buf += chunk

    async def reply(self, request_id: int) -> Any:
        while True:
            opcode, payload = await self.frame()
            if opcode == 1 and json.loads(payload).get("id") == request_id:
                return json.loads(payload)


async def _connect(address: tuple[str, int]) -> RawClient:
    stream = await trio.open_tcp_stream(*address)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive_some(4096)
    client = RawClient(stream)
    client.buf = head.partition(b"\r\n\r\n")[2]
    return client


async def test_a_fragmented_text_message_with_a_ping_inside_is_served_and_the_ping_answered(
    address: tuple[str, int],
) -> None:
    with trio.fail_after(IO_BOUND_S):
        client = await _connect(address)
        async with client.stream:
            await client.stream.send_all(_frame(1, INIT[:10], fin=False) + _frame(9, b"hi")
                                         + _frame(0, INIT[10:30], fin=False) + _frame(0, INIT[30:]))
            pong = await client.frame()
            reply = await client.reply(1)
    assert pong == (0xA, b"hi")
    assert "result" in reply


@pytest.mark.parametrize(("frame", "code"), [
    (_frame(1, INIT, mask=None), 1002),  # a client frame must be masked
    (_frame(1, b'{"id":1,"method":"\xff"}'), 1007),  # text must be UTF-8
    (bytes([0xC1]) + _frame(1, INIT)[1:], 1002),  # a reserved bit without an extension
    (_frame(0, INIT), 1002),  # a continuation without a message
    (_frame(3, INIT), 1002),  # a reserved opcode
    (bytes([0x89, 0xFE]) + struct.pack("!H", 126) + b"\1\2\3\4" + bytes(126), 1002),  # a ping over 125 bytes
    (_frame(9, b"hi", fin=False), 1002),  # a fragmented control frame
    (_frame(8, struct.pack("!H", 1005)), 1002),  # a close code no endpoint may send
    (_frame(8, struct.pack("!H", 999)), 1002),  # a close code below the range
])
async def test_a_protocol_error_closes_the_connection_with_its_code(
    address: tuple[str, int], frame: bytes, code: int,
) -> None:
    with trio.fail_after(IO_BOUND_S):
        client = await _connect(address)
        async with client.stream:
            await client.stream.send_all(frame)
            opcode, payload = await client.frame()
    assert (opcode, struct.unpack("!H", payload[:2])[0]) == (8, code)


async def test_a_close_from_the_client_is_answered_with_its_code(address: tuple[str, int]) -> None:
    with trio.fail_after(IO_BOUND_S):
        client = await _connect(address)
        async with client.stream:
            await client.stream.send_all(_frame(8, struct.pack("!H", 1001)))
            closing = await client.frame()
            rest = await client.stream.receive_some(65536)
    assert closing == (8, struct.pack("!H", 1001))
    assert rest == b""  # then the server ends the connection


async def test_a_close_without_a_code_is_answered_with_a_close_without_a_code(address: tuple[str, int]) -> None:
    with trio.fail_after(IO_BOUND_S):
        client = await _connect(address)
        async with client.stream:
            await client.stream.send_all(_frame(8, b""))
            closing = await client.frame()
            rest = await client.stream.receive_some(65536)
    assert closing == (8, b"")  # RFC 6455 §5.5.1: no code to echo (1005 is never sent)
    assert rest == b""


async def test_a_binary_message_is_dropped_and_the_next_text_message_served(address: tuple[str, int]) -> None:
    with trio.fail_after(IO_BOUND_S):
        client = await _connect(address)
        async with client.stream:
            await client.stream.send_all(_frame(2, b"\xff" * 200, fin=False) + _frame(0, INIT) + _frame(1, INIT))
            reply = await client.reply(1)
    assert "result" in reply  # the binary message was not taken as (invalid) text: no 1007
