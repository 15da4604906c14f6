"""A server -> client request asked of several connections at once (``auth_external.ask_clients``),
as codex 0.169.0 asks ``account/chatgptAuthTokens/refresh`` of every initialized connection
(docs/multi-client.md): the first answer counts, a connection that leaves does not end the wait
while another may still answer, and the request fails only when all have left or at its deadline.

Testing charter: real ConnectionActors over memory streams in the test's trio run; time is trio's
MockClock (autojump): nothing runs in a thread.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from chamberlain.actors.auth_external import REFRESH_METHOD, ask_clients
from chamberlain.actors.connection import ConnectionActor
from chamberlain.actors.transports import LineTransport
from chamberlain.errors import ClientGone, ClientRequestTimedOut

DEADLINE_S = 10.0
PARAMS = {"reason": "unauthorized", "previousAccountId": "acct-123"}


class Peer:
    """The client end of one connection: reads the request, answers or hangs up."""

    def __init__(self, send: trio.testing.MemorySendStream, recv: trio.testing.MemoryReceiveStream) -> None:
        self._send, self._recv, self._buf = send, recv, b""

    async def request(self) -> dict[str, Any]:
        while b"\n" not in self._buf:
            self._buf += await self._recv.receive_some(65536)
        line, _, self._buf = self._buf.partition(b"\n")
        frame: dict[str, Any] = json.loads(line)
        return frame

    async def answer(self, request_id: int, token: str) -> None:
        await self._send.send_all(json.dumps({"id": request_id, "result": {"accessToken": token}}).encode() + b"\n")

    async def leave(self) -> None:
        await self._send.aclose()


@asynccontextmanager
async def connections(server: Any, count: int) -> AsyncIterator[list[tuple[ConnectionActor, Peer]]]:
    async with AsyncExitStack() as stack:
        pairs = [await stack.enter_async_context(_connection(server)) for _ in range(count)]
        yield pairs


@asynccontextmanager
async def _connection(server: Any) -> AsyncIterator[tuple[ConnectionActor, Peer]]:
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    async with trio.open_nursery() as nursery:
        actor = await nursery.start(server.serve_connection, LineTransport(c2s_recv, s2c_send))
        yield actor, Peer(c2s_send, s2c_recv)
        nursery.cancel_scope.cancel(reason="test finished")


@pytest.fixture
def settings(codex_home: Path, system_dir: Path, harness: Any) -> Any:
    return harness.Settings(codex_home, system_dir, environ={})


async def _ask(actors: list[ConnectionActor], outcome: list[Any]) -> None:
    try:
        outcome.append(await ask_clients(actors, REFRESH_METHOD, PARAMS, trio.current_time() + DEADLINE_S))
    except (ClientGone, ClientRequestTimedOut) as exc:
        outcome.append(exc)


def _token(outcome: list[Any]) -> str:
    (answer,) = outcome
    token: str = json.loads(answer.result)["accessToken"]
    return token


async def test_every_connection_is_asked_and_the_first_answer_counts(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock
) -> None:
    async with harness.open_server(settings) as server, connections(server, 3) as pairs:
        outcome: list[Any] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_ask, [actor for actor, _ in pairs], outcome)
            requests = [await peer.request() for _, peer in pairs]
            await pairs[1][1].answer(requests[1]["id"], "from-second")
        await pairs[0][1].answer(requests[0]["id"], "too-late")  # ignored, nothing breaks
    assert [r["method"] for r in requests] == [REFRESH_METHOD] * 3
    assert [r["params"] for r in requests] == [PARAMS] * 3
    assert _token(outcome) == "from-second"


async def test_a_connection_that_leaves_does_not_end_the_wait_for_the_others(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock
) -> None:
    async with harness.open_server(settings) as server, connections(server, 2) as pairs:
        (_, leaver), (_, helper) = pairs
        outcome: list[Any] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_ask, [actor for actor, _ in pairs], outcome)
            await leaver.request()
            request = await helper.request()
            await leaver.leave()
            await trio.sleep(1)
            assert outcome == []  # still waiting for the helper
            await helper.answer(request["id"], "from-helper")
    assert _token(outcome) == "from-helper"


async def test_the_request_fails_at_once_when_every_connection_has_left(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock
) -> None:
    async with harness.open_server(settings) as server, connections(server, 2) as pairs:
        outcome: list[Any] = []
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_ask, [actor for actor, _ in pairs], outcome)
            for _, peer in pairs:
                await peer.request()
                await peer.leave()
        took = trio.current_time() - start
    assert [type(o) for o in outcome] == [ClientGone]
    assert took < DEADLINE_S


async def test_unanswered_the_request_fails_at_its_deadline(
    settings: Any, harness: Any, autojump_clock: trio.testing.MockClock
) -> None:
    async with harness.open_server(settings) as server, connections(server, 2) as pairs:
        outcome: list[Any] = []
        start = trio.current_time()
        await _ask([actor for actor, _ in pairs], outcome)
        took = trio.current_time() - start
    assert [type(o) for o in outcome] == [ClientRequestTimedOut]
    assert took == pytest.approx(DEADLINE_S)
