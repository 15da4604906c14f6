"""Backpressure and overload (config.md §11.6): a request that cannot be queued is answered
``-32001`` at once; a client that does not read blocks its own connection on stdio, and is
disconnected as a slow client on WebSocket without slowing anyone else.

Testing charter: connections are driven through ``ConnectionActor`` with scripted transports (a
gate holds the client's reads), or over real loopback WebSockets in the test's trio run. Time is a
``MockClock`` that jumps after 0.1 s of real idleness (the initialize warnings run in a worker
thread: STYLE "Deterministic time"); every test is bounded by ``fail_after``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Final

import pytest
import trio
import trio.lowlevel
import trio.testing
import trio_websocket
from chamberlain.actors import config_actor as ca
from chamberlain.actors.connection import MAX_IN_FLIGHT, OUTBOX_SIZE, SLOW_CLIENT_S, ConnectionActor, ServerInfo
from chamberlain.actors.server import Server, Settings
from support import GatedTransport, ws_call

IO_BOUND_S: Final = 60  # seconds of the (mock) trio clock
INFO: Final = ServerInfo("/home", "(Linux 1.0.0; x86_64) xterm", "0.169.0", "unix", "linux", "host", "id")
OVERLOADED: Final = b'{"error":{"code":-32001,"message":"Server overloaded; retry later."},"id":%d}'


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.1)


def _init() -> dict[str, Any]:
    return {"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}




def _reads(first: int, count: int) -> list[bytes]:
    return [b'{"id":%d,"method":"config/read","params":{}}' % i for i in range(first, first + count)]


class Recorder:
    """A client that reads everything at once; tells when ``expected`` frames have arrived."""

    def __init__(self, frames: list[bytes], expected: int) -> None:
        self.frames = frames
        self.sent: list[bytes] = []
        self.expected = expected
        self.done = trio.Event()
        self.hold = trio.Event()  # input ends only when set

    async def receive_frame(self) -> bytes | None:
        await trio.lowlevel.checkpoint()
        if self.frames:
            return self.frames.pop(0)
        await self.hold.wait()
        return None

    async def send_frame(self, frame: bytes) -> None:
        self.sent.append(frame)
        if len(self.sent) >= self.expected:
            self.done.set()


async def _stuck_config_actor(inbox: trio.MemoryReceiveChannel[ca.ConfigMsg]) -> None:
    """Answers the initialize warnings, then never takes another message (a busy actor)."""
    msg = await inbox.receive()
    assert isinstance(msg, ca.GetWarnings)
    msg.reply.set([])
    await trio.sleep_forever()


async def _overload_run(inbox_size: int, count: int) -> list[bytes]:
    """initialize, then ``count`` config/reads at a config actor that has stopped taking
    messages; the answers (notifications left out), in order."""
    send, receive = trio.open_memory_channel[ca.ConfigMsg](inbox_size)
    frames = [json.dumps(_init()).encode(), *_reads(1, count)]
    rejected = count - min(count, inbox_size, MAX_IN_FLIGHT)
    transport = Recorder(frames, expected=1 + rejected)
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stuck_config_actor, receive)
            nursery.start_soon(ConnectionActor(transport, INFO, {"config": send}).run)
            await transport.done.wait()
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel(reason="test finished")
    return [f for f in transport.sent if not f.startswith(b"{\"method\"")]


async def test_a_request_beyond_a_full_actor_inbox_is_answered_overloaded_at_once(
    clock: trio.testing.MockClock,
) -> None:
    answers = await _overload_run(inbox_size=4, count=10)
    assert answers[1:] == [OVERLOADED % i for i in range(5, 11)]


async def test_a_request_beyond_the_connections_requests_in_flight_is_answered_overloaded(
    clock: trio.testing.MockClock,
) -> None:
    count = MAX_IN_FLIGHT + 3
    answers = await _overload_run(inbox_size=4 * MAX_IN_FLIGHT, count=count)
    assert answers[1:] == [OVERLOADED % i for i in range(MAX_IN_FLIGHT + 1, count + 1)]


async def test_a_stdio_client_that_never_reads_blocks_its_connection_and_loses_nothing(
    clock: trio.testing.MockClock, codex_home: Path, system_dir: Path, harness: Any,
) -> None:
    count = 4 * OUTBOX_SIZE
    transport = GatedTransport([json.dumps(_init()).encode(), *_reads(1, count)])
    settings = Settings(codex_home, system_dir, environ={})
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
            nursery.start_soon(server.serve_connection, transport)
            await trio.sleep(2 * SLOW_CLIENT_S)  # longer than a WebSocket client is given
            unread = len(transport.frames)
            transport.gate.set()
            await transport.input_done.wait()
    replies = [json.loads(f) for f in transport.sent if b'"id"' in f]
    assert unread > count // 2  # it stopped reading, and was not disconnected ...
    assert [r["id"] for r in replies] == list(range(count + 1))  # ... nor lost a reply
    assert all("result" in r for r in replies)


class StuckSocket(GatedTransport):
    """A WebSocket-like transport whose client never reads: writes wait on a gate never opened."""

    disconnects_slow_clients: Final = True

    def __init__(self, frames: list[bytes]) -> None:
        super().__init__(frames)
        self.hold = trio.Event()

    async def receive_frame(self) -> bytes | None:
        frame = await super().receive_frame()
        if frame is None:
            await self.hold.wait()  # the client stays connected
        return frame


async def test_a_websocket_client_whose_outbox_stays_full_is_disconnected_after_the_slow_client_delay(
    clock: trio.testing.MockClock, codex_home: Path, system_dir: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    transport = StuckSocket([json.dumps(_init()).encode(), *_reads(1, 2 * OUTBOX_SIZE)])
    settings = Settings(codex_home, system_dir, environ={})
    with trio.fail_after(IO_BOUND_S), caplog.at_level(logging.WARNING):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(Server(settings).run)
            started = trio.current_time()  # the outbox fills at once
            await server.serve_connection(transport, label="ws slow")
            ended = trio.current_time()
            nursery.cancel_scope.cancel(reason="test finished")
    assert SLOW_CLIENT_S <= ended - started < SLOW_CLIENT_S + 2
    assert transport.sent == []
    assert any("disconnecting slow client" in r.getMessage() for r in caplog.records)




def _raw_frame(text: bytes) -> bytes:
    """A masked client text frame (mask key 0: the payload as is)."""
    n = len(text)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + b"\0\0\0\0" + text


async def _raw_client(host: str, port: int) -> trio.SocketStream:
    """A WebSocket client on a socket with a tiny receive buffer that will never be read."""
    sock = trio.socket.socket()
    sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 4096)
    await sock.connect((host, port))
    stream = trio.SocketStream(sock)
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive_some(1)
    assert head.startswith(b"HTTP/1.1 101 ")
    return stream


async def _drain_to_end(stream: trio.SocketStream) -> int:
    """Read until the server closes: the bytes read."""
    total = 0
    try:
        while chunk := await stream.receive_some(1 << 16):
            total += len(chunk)
    except trio.BrokenResourceError:
        pass
    return total


async def test_a_websocket_client_that_never_reads_is_disconnected_while_a_fast_one_keeps_its_latency(
    clock: trio.testing.MockClock, ws_server: tuple[str, int], codex_home: Path,
) -> None:
    host, port = ws_server
    sent = 600
    with trio.fail_after(IO_BOUND_S):
        slow = await _raw_client(host, port)
        async with slow, trio_websocket.open_websocket_url(f"ws://{host}:{port}/") as fast:
            await ws_call(fast, 0, "initialize", _init()["params"])
            await slow.send_all(_raw_frame(json.dumps(_init()).encode()))
            await slow.send_all(b"".join(_raw_frame(f) for f in _reads(1, sent)))
            latencies = []
            for i in range(1, 41):
                t0 = time.perf_counter()
                reply = await ws_call(fast, i, "config/read", {})
                latencies.append(time.perf_counter() - t0)
                assert "result" in reply
            reply_bytes = len(json.dumps(reply, separators=(",", ":")))
            await trio.sleep(SLOW_CLIENT_S + 2)  # the slow client's outbox stays full meanwhile
            received = await _drain_to_end(slow)
            after = await ws_call(fast, 99, "config/read", {})
    assert max(latencies) < 0.5
    assert "result" in after
    assert received < sent * reply_bytes  # disconnected: not every reply was written


@pytest.fixture
async def ws_server(harness: Any, codex_home: Path, system_dir: Path) -> Any:
    """A server with a 2,000-key user config (about 100 KB per config/read reply) on a port."""
    from chamberlain.actors.ws_transport import serve_websocket

    keys = "".join(f'K{i:05d} = "{"v" * 30}"\n' for i in range(2000))
    (codex_home / "config.toml").write_text("[shell_environment_policy.set]\n" + keys)
    settings = Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
        yield await nursery.start(serve_websocket, server, "127.0.0.1", 0)
        nursery.cancel_scope.cancel(reason="test finished")


class GatedSocket(GatedTransport):
    """A gated client on a transport that disconnects slow clients (WebSocket-like)."""

    disconnects_slow_clients: Final = True


async def _broadcast_into_a_full_outbox(transport: GatedTransport) -> tuple[int, int, list[bytes]]:
    """initialize, then unknown methods while the client does not read, until the connection
    stops reading (its outbox full); a broadcast then; then the client reads. Returns the hub's
    deliveries, the id of the last request read before the broadcast, the frames received."""
    from chamberlain.actors.hub import Hub

    hub = Hub()
    send, receive = trio.open_memory_channel[ca.ConfigMsg](8)
    transport.frames = [json.dumps(_init()).encode()]
    count = 3 * OUTBOX_SIZE
    transport.frames += [b'{"id":%d,"method":"nope/nope"}' % i for i in range(1, count + 1)]
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stuck_config_actor, receive)
            nursery.start_soon(ConnectionActor(transport, INFO, {"config": send}, hub).run)
            await trio.testing.wait_all_tasks_blocked()
            last_read = count - len(transport.frames)
            delivered = hub.publish("account/updated", {"authMode": None, "planType": None})
            transport.gate.set()
            await transport.input_done.wait()
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel(reason="test finished")
    return delivered, last_read, transport.sent


async def test_a_broadcast_to_a_websocket_client_with_a_full_outbox_waits_and_arrives_in_order(
    clock: trio.testing.MockClock,
) -> None:
    delivered, last_read, sent = await _broadcast_into_a_full_outbox(GatedSocket([]))
    updated = [i for i, f in enumerate(sent) if f.startswith(b'{"method":"account/updated"')]
    assert delivered == 1
    assert len(updated) == 1
    assert sent[updated[0] - 1].endswith(b'"id":%d}' % last_read)  # right behind what was queued


async def test_a_broadcast_to_a_stdio_client_with_a_full_outbox_is_dropped(clock: trio.testing.MockClock) -> None:
    delivered, _, sent = await _broadcast_into_a_full_outbox(GatedTransport([]))
    assert delivered == 0
    assert not any(f.startswith(b'{"method":"account/updated"') for f in sent)
