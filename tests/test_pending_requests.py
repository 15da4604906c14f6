"""Server -> client requests (issue 6 §2, spec §1.7): each connection numbers its own requests
from 0, routes the client's responses to the waiting requester, ignores late or unknown
responses, and fails a request whose deadline passes. Time is trio's MockClock (autojump): every
peer runs in the test's trio run, nothing runs in a thread."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from chamberlain.actors.connection import ConnectionActor
from chamberlain.actors.transports import LineTransport
from chamberlain.errors import ClientGone, ClientRequestTimedOut

METHOD = "account/chatgptAuthTokens/refresh"
DEADLINE_S = 30.0


class RawClient:
    def __init__(self, send: trio.testing.MemorySendStream, recv: trio.testing.MemoryReceiveStream) -> None:
        self._send, self._recv, self._buf = send, recv, b""

    async def send(self, frame: dict[str, Any]) -> None:
        await self._send.send_all(json.dumps(frame).encode() + b"\n")

    async def recv_line(self) -> bytes:
        while b"\n" not in self._buf:
            chunk = await self._recv.receive_some(65536)
            if not chunk:
                raise EOFError
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    async def close(self) -> None:
        await self._send.aclose()


@asynccontextmanager
async def connection(server: Any) -> AsyncIterator[tuple[ConnectionActor, RawClient]]:
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    async with trio.open_nursery() as nursery:
        actor = await nursery.start(server.serve_connection, LineTransport(c2s_recv, s2c_send))
        yield actor, RawClient(c2s_send, s2c_recv)
        nursery.cancel_scope.cancel(reason="test finished")


@pytest.fixture
def settings(codex_home: Path, system_dir: Path, harness: Any) -> Any:
    return harness.Settings(codex_home, system_dir, environ={})


async def test_server_requests_are_numbered_per_connection_and_answers_reach_the_requester(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock
) -> None:
    async with harness.open_server(settings) as server, connection(server) as (a, ca), connection(server) as (b, cb):
        deadline = trio.current_time() + DEADLINE_S
        first = await a.request_client(METHOD, {"reason": "unauthorized"}, deadline=deadline)
        second = await a.request_client(METHOD, {"reason": "again"}, deadline=deadline)
        other = await b.request_client(METHOD, {"reason": "b"}, deadline=deadline)
        expected = b'{"method":"%s","id":0,"params":{"reason":"unauthorized"}}' % METHOD.encode()
        assert await ca.recv_line() == expected
        assert json.loads(await ca.recv_line())["id"] == 1
        assert json.loads(await cb.recv_line())["id"] == 0
        await ca.send({"id": 1, "result": {"accessToken": "t1"}})
        await ca.send({"id": 0, "error": {"code": -32000, "message": "no"}})
        await cb.send({"id": 0, "result": {"accessToken": "tb"}})
        assert json.loads((await second.wait()).result or b"") == {"accessToken": "t1"}
        assert json.loads((await first.wait()).error or b"") == {"code": -32000, "message": "no"}
        assert json.loads((await other.wait()).result or b"") == {"accessToken": "tb"}


async def test_a_request_unanswered_by_its_deadline_fails_and_a_late_answer_is_ignored(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chamberlain")
    async with harness.open_server(settings) as server, connection(server) as (actor, client):
        start = trio.current_time()
        reply = await actor.request_client(METHOD, {}, deadline=start + DEADLINE_S)
        await client.recv_line()
        with pytest.raises(ClientRequestTimedOut):
            await reply.wait()
        assert trio.current_time() - start == pytest.approx(DEADLINE_S)
        await client.send({"id": 0, "result": {}})
        # the connection still serves: the next request is answered
        await client.send({"id": "after", "method": "config/read", "params": {}})
        assert await client.recv_line() == b'{"error":{"code":-32600,"message":"Not initialized"},"id":"after"}'
    assert any("ignoring response 0 matching no pending request" in r.getMessage() for r in caplog.records)


async def test_each_request_has_its_own_deadline(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock
) -> None:
    async with harness.open_server(settings) as server, connection(server) as (actor, client):
        start = trio.current_time()
        slow = await actor.request_client(METHOD, {}, deadline=start + 60)
        fast = await actor.request_client(METHOD, {}, deadline=start + 5)
        with pytest.raises(ClientRequestTimedOut):
            await fast.wait()
        assert trio.current_time() - start == pytest.approx(5)
        await client.recv_line()
        await client.recv_line()
        await client.send({"id": 0, "result": {"ok": True}})
        assert json.loads((await slow.wait()).result or b"") == {"ok": True}
        assert trio.current_time() - start < 60


async def test_a_response_with_an_unknown_id_is_ignored(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chamberlain")
    async with harness.open_server(settings) as server, connection(server) as (actor, client):
        reply = await actor.request_client(METHOD, {}, deadline=trio.current_time() + DEADLINE_S)
        await client.recv_line()
        await client.send({"id": 7, "result": {}})
        await client.send({"id": "0", "result": {}})  # a string id is not the integer 0
        await client.send({"id": 0, "result": {"right": 1}})
        assert json.loads((await reply.wait()).result or b"") == {"right": 1}
    ignored = [r.getMessage() for r in caplog.records if "matching no pending request" in r.getMessage()]
    assert ignored == ["stdio: ignoring response 7 matching no pending request",
                       "stdio: ignoring response '0' matching no pending request"]


async def test_requests_pending_when_the_client_leaves_fail(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock
) -> None:
    async with harness.open_server(settings) as server, connection(server) as (actor, client):
        start = trio.current_time()
        reply = await actor.request_client(METHOD, {}, deadline=start + DEADLINE_S)
        await client.recv_line()
        await client.close()
        with pytest.raises(ClientGone):
            await reply.wait()
        assert trio.current_time() - start < DEADLINE_S
